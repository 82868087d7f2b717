"""One training run end to end: features → hold-out split → stack → evaluation, with timings.

Both faces of the product call `train_twin`: the CLI and the app's Train page.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from twin_core.config import RunConfig
from twin_core.engine import Engine
from twin_core.errors import MemoryBudgetError, SessionTooShortError
from twin_core.evaluate import Evaluation, evaluate_run, scores
from twin_core.budget import check_training, describe_budget
from twin_core.features import (OTHER_WORKLOAD, FeatureLayout, FeatureMatrix, FeatureSpec, build_features,
                                choose_workload_categories, complete_rows, feature_count)
from twin_core.layercache import LayerCache, layer_keys
from twin_core.models import make_estimator
from twin_core.runs import TwinModel, run_metrics, with_target
from twin_core.splits import FoldPlan, HoldoutSplit, cv_folds, holdout_split
from twin_core.stack import CancelCheck, FittedLayer, HierarchicalStack, ProgressCallback
from twin_core.telemetry import SESSION, WORKLOAD, Telemetry


def default_threads() -> int:
    """The physical cores: threads for one model when fits run one after another, or parallel fits."""
    return max(1, joblib.cpu_count(only_physical_cores=True))


def parallel_fits(n_jobs: int | None) -> int:
    """How many fits run at once: as configured, or one per physical core when unset."""
    return default_threads() if n_jobs is None else n_jobs


def build_stack(config: RunConfig, features: FeatureMatrix, folds, *, trusted_dir: str | Path | None = None
                ) -> HierarchicalStack:
    """The unfitted estimator a config describes, with each first-layer model on its own feature set."""
    jobs = parallel_fits(config.stack.n_jobs)
    threads = default_threads() if jobs == 1 else 1
    layers = []
    for depth, layer in enumerate(config.stack.layers, start=1):
        members = []
        for model in layer.models:
            estimator = make_estimator(model.kind, model.params, seed=config.seed, threads=threads,
                                       trusted_dir=trusted_dir)
            columns = features.columns_by_set[model.feature_set] if depth == 1 else None
            members.append((model.name, estimator, columns) if columns is not None else (model.name, estimator))
        layers.append(members)
    return HierarchicalStack(layers, passthrough=[layer.passthrough for layer in config.stack.layers],
                             cv=folds, refit=config.stack.refit, n_jobs=jobs, max_fit_rows=config.stack.max_fit_rows,
                             random_state=config.seed)


@dataclass
class TrainResult:
    """A finished run: what was asked, on which data, the fitted stack and every score (not the feature matrix)."""

    config: RunConfig
    data_fingerprint: str
    target: str
    core_columns: tuple[str, ...]
    data_rows: int  # rows and sessions of the telemetry it was trained on, for a report that shows the data
    data_sessions: int
    features: FeatureLayout
    split: HoldoutSplit
    stack: HierarchicalStack
    evaluation: Evaluation
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def cv_description(self) -> str:
        return self.config.stack.cv.describe(self.features.lookback)

    @property
    def model(self) -> TwinModel:
        """The fitted twin alone (what a run store keeps and what-if questions are asked of)."""
        return TwinModel(self.config, self.target, self.stack, list(self.features.columns),
                         self.features.workload_categories, self.core_columns, self.evaluation.calibration)

    @property
    def metrics(self) -> dict:
        """The stable metrics contract (see README, 'metrics.json'), built by runs.run_metrics."""
        return run_metrics(config=self.config, target=self.target, data_fingerprint=self.data_fingerprint,
                           split=self.split, lookback=self.features.lookback, evaluation=self.evaluation,
                           seconds=self.seconds, notes=self.notes)


@dataclass
class PreparedRun:
    """Everything before the first fit: the feature matrix, the hold-out, the folds and the unfitted stack."""

    telemetry: Telemetry
    features: FeatureMatrix
    split: HoldoutSplit
    stack: HierarchicalStack
    config: RunConfig  # as done: a hold-out or folds adapted to short sessions say so here and in `notes`
    notes: tuple[str, ...] = ()

    @property
    def y(self) -> np.ndarray:
        return self.telemetry.frame[self.telemetry.target].to_numpy(dtype=float)

    def fit(self, on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
            reuse: list[FittedLayer] | None = None, engine: Engine | None = None) -> None:
        """Train the stack on the training rows only (the test rows are not touched), taking the first layers
        from `reuse` (an identical earlier fit's, from a LayerCache) instead of training them again."""
        X = self.features.X  # the stack takes the training rows itself: no copy of them all at once
        self.stack.fit(X, self.y[X.index.to_numpy()], rows=X.index.get_indexer(self.split.train),
                       on_progress=on_progress, should_cancel=should_cancel, reuse=reuse or (), engine=engine)


def _check_lookback(telemetry: Telemetry, specs: tuple[FeatureSpec, ...], positional: bool) -> None:
    """Refuse, before any feature is built, a feature set that looks back further than the longest session."""
    sessions = telemetry.frame[SESSION]
    longest = len(sessions) if positional or sessions.empty else int(sessions.value_counts().max())
    for spec in specs:
        if spec.lookback >= longest:
            raise SessionTooShortError(
                f"Feature set '{spec.name}' looks back {spec.lookback} rows (its longest window, lag or minimum "
                f"history), so it needs sessions of at least {spec.lookback + 1} rows, but the longest "
                f"{'stretch of data' if positional else 'session'} has {longest}. Shorten that set's windows and "
                "lags, or load longer recordings.")


def plan_rows(telemetry: Telemetry, config: RunConfig) -> tuple[HoldoutSplit, FoldPlan]:
    """The rows a run trains on, holds out and folds, from the session lengths alone (no feature is built).

    Raises what a run with `config` would raise for sessions too short for its windows, hold-out or folds,
    and adapts them to short sessions where that is safe (the notes of both results say so); `validate`
    runs it too, so it never says OK to data that `train` refuses.
    """
    specs = config.used_feature_sets()
    _check_lookback(telemetry, specs, config.seed_compatible)
    rows = complete_rows(telemetry, specs, positional_windows=config.seed_compatible)
    sessions = telemetry.frame[SESSION].to_numpy()
    lookback = max(spec.lookback for spec in specs)
    split = holdout_split(rows, sessions[rows], config.split, lookback)
    return split, cv_folds(split.train, sessions[split.train], config.stack.cv, lookback)


def prepare_run(telemetry: Telemetry, config: RunConfig, *, trusted_dir: str | Path | None = None,
                memory_budget: str | int | None = None) -> PreparedRun:
    """Validate the config, check the memory budget, build its features once, split the rows and assemble the
    stack (nothing fitted yet). Raises MemoryBudgetError before allocating when the run would not fit.

    A hold-out or folds that short sessions cannot give are adapted (see `splits`): the returned run's
    `config` says what is done and its `notes` say why."""
    config.validate()
    telemetry = with_target(telemetry, config.target)
    specs, labels = config.used_feature_sets(), telemetry.frame[WORKLOAD]
    config, budget_notes = _within_budget(telemetry, config, memory_budget)
    split, plan = plan_rows(telemetry, config)
    # workload categories are fixed by the training rows (at most the 50 most frequent, the rest `other`);
    # a workload seen only in the hold-out goes to `other` or gets zeros
    categories = choose_workload_categories(labels.iloc[split.train])
    features = build_features(telemetry, specs, workload_categories=categories,
                              positional_windows=config.seed_compatible)
    config = replace(config, split=replace(config.split, kind=split.kind), stack=replace(config.stack, cv=plan.spec))
    return PreparedRun(telemetry, features, split, build_stack(config, features, plan.folds, trusted_dir=trusted_dir),
                       config, (*budget_notes, *split.notes, *plan.notes))


def training_sizes(telemetry: Telemetry, config: RunConfig) -> dict:
    """What a run of `config` on `telemetry` holds, in the terms budget.training_bytes and check_training read (rows,
    features, the training share, the first-layer models' and passthrough layers' columns, the telemetry held), so
    every estimate of a run's memory (here, a sweep's) counts the same things."""
    specs, labels = config.used_feature_sets(), telemetry.frame[WORKLOAD]
    n_categories = len(choose_workload_categories(labels))
    features = feature_count(specs, telemetry.n_cores, n_categories)
    by_name = {spec.name: spec for spec in specs}
    first_layer = [(m.kind, feature_count([by_name[m.feature_set]] if m.feature_set in by_name else specs,
                                          telemetry.n_cores, n_categories))
                   for m in config.stack.layers[0].models]
    layers = config.stack.layers
    passthrough = [(m.kind, features + len(below.models))
                   for below, layer in zip(layers, layers[1:]) if layer.passthrough for m in layer.models]
    return {"rows": len(labels), "features": features, "train_share": 1.0 - config.split.test_fraction,
            "first_layer": first_layer, "passthrough_layers": passthrough,
            "resident": int(telemetry.frame.memory_usage(deep=True).sum())}


def _within_budget(telemetry: Telemetry, config: RunConfig, budget: str | int | None) -> tuple[RunConfig, list[str]]:
    """Check the memory budget before anything is built (MemoryBudgetError if the run cannot fit); when fits
    side by side would pass it and fits one at a time would not, run them one at a time and say so."""
    sizes = training_sizes(telemetry, config)
    jobs = parallel_fits(config.stack.n_jobs)

    def check(at_once: int) -> None:
        check_training(**sizes, parallel_fits=at_once, budget=budget)

    try:
        check(jobs)
        return config, []
    except MemoryBudgetError:
        if jobs == 1:
            raise
    check(1)  # raises when even one fit at a time would pass the budget
    return replace(config, stack=replace(config.stack, n_jobs=1)), [
        f"Fits run one at a time instead of {jobs} side by side: side by side they would pass the memory "
        f"budget ({describe_budget(budget)})."]


def _as_the_twin_sees_workloads(telemetry: Telemetry, categories: tuple[str, ...]) -> Telemetry:
    """Labels outside capped categories read as `other`, so scores per workload have at most 51 rows, not one
    per label (10,000 labels took 20 s to score one by one); the telemetry itself is left as it is."""
    if OTHER_WORKLOAD not in categories:
        return telemetry
    labels = telemetry.frame[WORKLOAD]
    folded = labels.where(labels.isin(categories), OTHER_WORKLOAD)
    return replace(telemetry, frame=telemetry.frame.assign(**{WORKLOAD: folded}))


def oof_scores(telemetry: Telemetry, config: RunConfig) -> pd.DataFrame:
    """Out-of-fold R² of every model on the training rows alone: for choosing a config without the hold-out."""
    run = prepare_run(telemetry, config)
    run.fit()
    actual = run.y[run.split.train]
    records = [{"layer": depth, "name": name, "r2_oof": scores(actual, oof[name].to_numpy())["r2"]}
               for depth, oof in enumerate(run.stack.oof_predictions_, start=1) for name in oof.columns]
    return pd.DataFrame.from_records(records)


def train_twin(telemetry: Telemetry, config: RunConfig, *, on_progress: ProgressCallback | None = None,
               on_plan: Callable[[list[int]], None] | None = None, should_cancel: CancelCheck | None = None,
               trusted_dir: str | Path | None = None, cache: LayerCache | None = None,
               memory_budget: str | int | None = None, engine: Engine | None = None) -> TrainResult:
    """Train and evaluate one run. Raises ConfigError (or MemoryBudgetError) before any fit when it cannot work.

    `on_plan` receives the fits per layer the run will do, before the first fit: folds adapted to short sessions
    may differ from the request (progress bars size on it). With a `cache`, layers fitted identically by an
    earlier run (same data, features, split and lower layers) are reused, so changing the top layer retrains
    only the top layer. `engine` runs the fits (threads here by default; a Dask cluster gives the same results).
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    run = prepare_run(telemetry, config, trusted_dir=trusted_dir, memory_budget=memory_budget)
    telemetry, features, split, stack, config = run.telemetry, run.features, run.split, run.stack, run.config
    seconds["features"] = time.perf_counter() - clock
    if on_plan is not None:
        on_plan(config.stack.fits_per_layer())

    clock = time.perf_counter()
    keys = layer_keys(config, telemetry.fingerprint) if cache is not None else []
    reuse = cache.reusable(keys) if cache is not None else []
    run.fit(on_progress=on_progress, should_cancel=should_cancel, reuse=reuse, engine=engine)
    reused = len(reuse)
    seconds["train"] = time.perf_counter() - clock

    clock = time.perf_counter()
    test = np.sort(split.test)
    known = [layer.holdout for layer in itertools.takewhile(lambda layer: layer.holdout is not None, reuse)]
    holdout_layers = stack.predict_layers(features.X.loc[test], known=known)
    if cache is not None:  # with their hold-out predictions, so a change above them predicts only the layers above
        cache.keep(keys, [replace(layer, holdout=frame)
                          for layer, frame in zip(stack.fitted_layers(), holdout_layers)])
    kinds = [[m.kind for m in layer.models] for layer in config.stack.layers]
    evaluation = evaluate_run(_as_the_twin_sees_workloads(telemetry, features.workload_categories), test,
                              split.train, holdout_layers, stack.oof_predictions_, kinds, twin_kind=config.kind,
                              seed=config.seed, lookback=features.lookback, intervals=config.intervals)
    seconds["evaluate"] = time.perf_counter() - clock
    seconds["total"] = sum(seconds.values())

    notes = [*run.notes, *features.warnings]
    constant = {where: run.y[rows[0]] for where, rows in (("hold-out", split.test), ("training", split.train))
                if np.ptp(run.y[rows]) == 0}
    if constant:  # an all-idle core: R² has no variance to explain
        values = " and ".join(f"{where} rows (always {value:g})" for where, value in constant.items())
        notes.append(f"{telemetry.target} does not vary on the {values}, so R² is undefined there (n/a); "
                     "judge this twin by MAE and RMSE.")
    cap = config.stack.max_fit_rows
    sampled = cap is not None and len(split.train) > cap
    if sampled:
        scored = len(split.train) - stack.rows_without_oof_[0]
        notes.append(f"Each fit read a seeded random sample of at most {cap:,} of its {len(split.train):,} training "
                     f"rows (max_fit_rows), and out-of-fold predictions were made for a seeded sample of {scored:,} "
                     "of them: the layers above were trained, and out-of-fold R² measured, on those rows. The "
                     "hold-out is scored on every row.")
    if reused:
        notes.append(f"Layers 1–{reused} were reused from an earlier run with the same data, features, split "
                     "and lower layers; only the layers above were trained.")
    for depth, missing in enumerate(stack.rows_without_oof_, start=1):
        if missing and depth < len(stack.layers_) and not sampled:
            notes.append(f"{missing} training rows have no out-of-fold prediction from layer {depth} "
                         f"and were not used to train layer {depth + 1}.")
    if config.leaky:
        notes.append("LEAKY protocol: random hold-out and/or shuffled folds on an autocorrelated series; "
                     "these scores overstate what the twin does on new data.")
    return TrainResult(config=config, data_fingerprint=telemetry.fingerprint, target=telemetry.target,
                       core_columns=telemetry.core_columns, data_rows=len(telemetry.frame),
                       data_sessions=telemetry.n_sessions, features=features.layout, split=split, stack=stack,
                       evaluation=evaluation, seconds=seconds, notes=notes)
