"""One training run end to end: features → hold-out split → stack → evaluation, with timings.

Both faces of the product call `train_twin`: the CLI and the app's Train page.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from twin_core.config import RunConfig
from twin_core.evaluate import Evaluation, evaluate_run, scores
from twin_core.features import FeatureMatrix, build_features
from twin_core.layercache import LayerCache, layer_keys
from twin_core.models import make_estimator
# predictions_frame is re-exported: pages and tests still import it from here
from twin_core.runs import TwinModel, predictions_frame, run_metrics, with_target  # noqa: F401
from twin_core.splits import HoldoutSplit, cv_folds, holdout_split
from twin_core.stack import CancelCheck, HierarchicalStack, ProgressCallback
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
                             cv=folds, refit=config.stack.refit, n_jobs=jobs)


@dataclass
class TrainResult:
    """A finished run: what was asked, on which data, the fitted stack and every score."""

    config: RunConfig
    data_fingerprint: str
    target: str
    core_columns: tuple[str, ...]
    features: FeatureMatrix
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
        return TwinModel(self.config, self.target, self.stack, list(self.features.X.columns),
                         self.features.workload_categories, self.core_columns)

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

    @property
    def y(self) -> np.ndarray:
        return self.telemetry.frame[self.telemetry.target].to_numpy(dtype=float)

    def fit(self, on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
            cache: LayerCache | None = None, keys: list[str] | None = None) -> int:
        """Train the stack on the training rows only (the test rows are not touched); returns how many first
        layers were taken from `cache` instead of being trained again."""
        reuse = cache.reusable(keys) if cache is not None and keys else []
        train = self.split.train
        self.stack.fit(self.features.X.loc[train], self.y[train], on_progress=on_progress,
                       should_cancel=should_cancel, reuse=reuse)
        if cache is not None and keys:
            cache.keep(keys, self.stack.fitted_layers())
        return len(reuse)


def prepare_run(telemetry: Telemetry, config: RunConfig, *, trusted_dir: str | Path | None = None) -> PreparedRun:
    """Validate the config, build its features, split the rows and assemble the stack (nothing fitted yet)."""
    config.validate()
    telemetry = with_target(telemetry, config.target)
    features = build_features(telemetry, config.used_feature_sets(), positional_windows=config.seed_compatible)
    rows = features.rows
    sessions = telemetry.frame[SESSION].to_numpy()
    split = holdout_split(rows, sessions[rows], config.split, features.lookback)
    trained_on = tuple(sorted(set(telemetry.frame[WORKLOAD].to_numpy()[split.train])))
    if trained_on != features.workload_categories:
        # workload categories are fixed by the training rows; a workload seen only in the hold-out gets zeros
        features = build_features(telemetry, config.used_feature_sets(), workload_categories=trained_on,
                                  positional_windows=config.seed_compatible)
    folds = cv_folds(split.train, sessions[split.train], config.stack.cv, features.lookback)
    return PreparedRun(telemetry, features, split, build_stack(config, features, folds, trusted_dir=trusted_dir))


def oof_scores(telemetry: Telemetry, config: RunConfig) -> pd.DataFrame:
    """Out-of-fold R² of every model on the training rows alone: for choosing a config without the hold-out."""
    run = prepare_run(telemetry, config)
    run.fit()
    actual = run.y[run.split.train]
    records = [{"layer": depth, "name": name, "r2_oof": scores(actual, oof[name].to_numpy())["r2"]}
               for depth, oof in enumerate(run.stack.oof_predictions_, start=1) for name in oof.columns]
    return pd.DataFrame.from_records(records)


def train_twin(telemetry: Telemetry, config: RunConfig, *, on_progress: ProgressCallback | None = None,
               should_cancel: CancelCheck | None = None, trusted_dir: str | Path | None = None,
               cache: LayerCache | None = None) -> TrainResult:
    """Train and evaluate one run. Raises ConfigError before any fit when the config cannot work.

    With a `cache`, layers fitted identically by an earlier run (same data, features, split and lower
    layers) are reused, so changing the top layer retrains only the top layer.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    run = prepare_run(telemetry, config, trusted_dir=trusted_dir)
    telemetry, features, split, stack = run.telemetry, run.features, run.split, run.stack
    seconds["features"] = time.perf_counter() - clock

    clock = time.perf_counter()
    reused = run.fit(on_progress=on_progress, should_cancel=should_cancel, cache=cache,
                     keys=layer_keys(config, telemetry.fingerprint) if cache is not None else None)
    seconds["train"] = time.perf_counter() - clock

    clock = time.perf_counter()
    test = np.sort(split.test)
    holdout_layers = stack.predict_layers(features.X.loc[test])
    kinds = [[m.kind for m in layer.models] for layer in config.stack.layers]
    evaluation = evaluate_run(telemetry, test, split.train, holdout_layers, stack.oof_predictions_, kinds)
    seconds["evaluate"] = time.perf_counter() - clock
    seconds["total"] = sum(seconds.values())

    notes = list(features.warnings)
    if reused:
        notes.append(f"Layers 1–{reused} were reused from an earlier run with the same data, features, split "
                     "and lower layers; only the layers above were trained.")
    for depth, missing in enumerate(stack.rows_without_oof_, start=1):
        if missing and depth < len(stack.layers_):
            notes.append(f"{missing} training rows have no out-of-fold prediction from layer {depth} "
                         f"and were not used to train layer {depth + 1}.")
    if config.leaky:
        notes.append("LEAKY protocol: random hold-out and/or shuffled folds on an autocorrelated series; "
                     "these scores overstate what the twin does on new data.")
    return TrainResult(config=config, data_fingerprint=telemetry.fingerprint, target=telemetry.target,
                       core_columns=telemetry.core_columns,
                       features=features, split=split, stack=stack, evaluation=evaluation, seconds=seconds,
                       notes=notes)
