"""Why a twin predicts what it does: each model's prediction split into one contribution per input, on the hold-out.

LightGBM models (any layer) are explained by LightGBM's own SHAP values (`pred_contrib=True`); linear models (the
ridge, `ScaledRidgeCV`, and the elastic net behind its scaler) by coefficient × (input − its training mean), their
intercept being the prediction at the mean. Either way the expected value plus the contributions equal the model's
prediction, row by row. A member averaging its fold models is explained by the mean of their contributions (the
contributions of a mean are the mean of the contributions). Kinds with neither (HistGradientBoosting, extra trees,
pre-trained models) get no explanation, said as such, rather than one invented for them.

Inputs are named as people read them: a first-layer model's feature columns, a meta model's lower models ("layer 1 ·
lgbm") and, with passthrough, the features beside them. Contributions are rows × (inputs + 1) float64 numbers: they
are estimated against the memory budget before they are made, and a global importance reads a seeded sample of the
hold-out in chunks.
"""
from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from twin_core.budget import BUILD_TEMPORARY_COLUMNS, FLOAT32, MARGIN, describe_budget, human, memory_budget
from twin_core.engine import LocalEngine, physical_cores
from twin_core.errors import ConfigError, MemoryBudgetError, SchemaMismatchError
from twin_core.evaluate import model_key, model_key_parts, model_words
from twin_core.features import build_features
from twin_core.models import CHUNK_CELLS, ScaledRidgeCV
from twin_core.runs import TwinModel, with_target
from twin_core.stack import FittedMember, HierarchicalStack
from twin_core.telemetry import Telemetry

SAMPLE_ROWS = 2_000  # hold-out rows behind a global importance at most (a seeded sample beyond that): enough to rank
# the inputs, in seconds (pred_contrib of a 150-tree LightGBM takes about 1.5 ms a row on one thread)
NO_EXPLANATION = "no explanation for this kind"
PARALLEL_ROWS = 200  # rows from which a LightGBM member's contributions are made on every physical core
TREE_METHOD = "LightGBM's own SHAP values (pred_contrib)"
LINEAR_METHOD = "coefficient × (input − its training mean); the intercept is the prediction at the mean"
FLOAT64 = 8
WORKLOAD_PREFIX = "workload_"  # the workload's one-hot feature columns, one input to a reader (features.py)


@dataclass(frozen=True)
class Contributions:
    """One model's prediction on some rows, split: `expected` (per row) plus the row's `values` (rows × inputs, in
    points of utilisation) give the prediction; `rows` are telemetry row ids, `inputs` the inputs' names."""

    key: str
    method: str
    inputs: tuple[str, ...]
    values: np.ndarray
    expected: np.ndarray
    rows: np.ndarray

    @property
    def prediction(self) -> np.ndarray:
        """The model's prediction that the contributions add up to."""
        return self.expected + self.values.sum(axis=1)


@dataclass(frozen=True)
class Importance:
    """A model's global importance: the mean absolute contribution of each input over `rows_used` of `rows_total`
    hold-out rows (a seeded sample when fewer), in points of utilisation."""

    key: str
    method: str
    inputs: tuple[str, ...]
    mean_abs: np.ndarray
    rows_used: int
    rows_total: int

    def table(self) -> pd.DataFrame:
        """Inputs and their mean absolute contribution, the largest first."""
        frame = pd.DataFrame({"input": self.inputs, "mean_abs_contribution": self.mean_abs})
        return frame.sort_values("mean_abs_contribution", ascending=False, kind="stable", ignore_index=True)


def _booster(estimator: BaseEstimator) -> lgb.Booster | None:
    """The LightGBM booster of a fresh (LGBMRegressor) or reloaded (Booster, from model text) member, else None."""
    if isinstance(estimator, lgb.Booster):
        return estimator
    if isinstance(estimator, lgb.LGBMRegressor):
        return estimator.booster_
    return None


def _same_class(estimator: BaseEstimator, cls: type) -> bool:
    """Whether the estimator is of exactly this class, by module and name: a module reloaded while the app runs
    (Streamlit re-imports every watched module after a source file changes) makes a new class object of the same
    name, and runs trained before it still hold instances of the old one."""
    kind = type(estimator)
    return (kind.__module__, kind.__qualname__) == (cls.__module__, cls.__qualname__)


def _linear_terms(estimator: BaseEstimator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """(mean, scale, coefficients, intercept) of a linear model on standardised inputs, else None."""
    if _same_class(estimator, ScaledRidgeCV):
        return estimator.mean_, estimator.scale_, estimator.coef_, float(estimator.intercept_)
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 2:
        scaler, linear = (step for _, step in estimator.steps)
        standardised = isinstance(scaler, StandardScaler) and scaler.with_mean and scaler.with_std
        if standardised and hasattr(linear, "coef_") and np.ndim(linear.coef_) == 1:
            return scaler.mean_, scaler.scale_, linear.coef_, float(np.ravel(linear.intercept_)[0])
    return None


def member_method(member: FittedMember) -> str | None:
    """How a member's predictions are explained (TREE_METHOD or LINEAR_METHOD), or None when there is no
    explanation for its kind; every estimator of an averaged member must have one."""
    if all(_booster(e) is not None for e in member.estimators):
        return TREE_METHOD
    if all(_linear_terms(e) is not None for e in member.estimators):
        return LINEAR_METHOD
    return None


def _estimator_contributions(X: np.ndarray, estimator: BaseEstimator, rows: slice) -> np.ndarray:
    """rows × (inputs + 1) float64 for `rows` of X: each input's contribution, the expected value last."""
    booster = _booster(estimator)
    if booster is not None:  # one thread: a LightGBM OpenMP pool in this process would hang a later fork (Live)
        return np.asarray(booster.predict(X[rows], pred_contrib=True, num_threads=1), dtype=np.float64)
    mean, scale, coef, intercept = _linear_terms(estimator)
    terms = (np.asarray(X[rows], dtype=np.float64) - mean) / scale * coef
    return np.column_stack([terms, np.full(len(terms), intercept)])


def member_contributions(member: FittedMember, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contributions rows × the member's inputs, expected value per row) of a member on rows of its layer's design
    matrix: they add up to `member.predict(design)`. Raises ConfigError for a kind with no explanation.

    Each estimator explains a share of the rows on one thread, side by side on the physical cores; the fold models'
    contributions are summed in their order, so the result never depends on which task finished first."""
    if member_method(member) is None:
        kinds = ", ".join(sorted({type(e).__name__ for e in member.estimators}))
        raise ConfigError(f"Model '{member.name}' is a {kinds}: {NO_EXPLANATION}. Explanations exist for LightGBM, "
                          "ridge and elastic-net models.")
    X = design if member.columns is None else design[:, member.columns]
    # side by side only where it pays: trees on enough rows (a linear model's terms take microseconds)
    jobs = physical_cores() if member_method(member) == TREE_METHOD and len(X) >= PARALLEL_ROWS else 1
    step = max(1, -(-len(X) // jobs))
    parts = [slice(start, start + step) for start in range(0, len(X), step)]
    items = [(estimator, part) for estimator in member.estimators for part in parts]
    found = (dict(LocalEngine().map_shared(_estimator_contributions, (X,), items, jobs=jobs)) if jobs > 1 else
             {index: _estimator_contributions(X, *item) for index, item in enumerate(items)})
    total = np.zeros((len(X), X.shape[1] + 1))
    for index, (_, part) in enumerate(items):
        total[part] += found[index]
    total /= len(member.estimators)
    return total[:, :-1], total[:, -1]


def _passthrough(stack: HierarchicalStack, depth: int) -> bool:
    """Whether layer `depth` (from 1) also reads the features, as the stack's `passthrough` says."""
    flags = stack.passthrough
    if isinstance(flags, (bool, np.bool_)):
        return depth > 1 and bool(flags)
    return depth > 1 and bool(list(flags)[depth - 1])


def _chunks(n_rows: int, width: int) -> list[slice]:
    """Row slices of about CHUNK_CELLS float64 cells each (16 MB of contributions at a time)."""
    step = max(1, CHUNK_CELLS // max(1, width))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


class Explainer:
    """A twin's models explained on rows of its feature matrix `X` (its `feature_columns`, indexed by telemetry row
    id), usually the run's hold-out (`holdout_explainer`)."""

    def __init__(self, model: TwinModel, X: pd.DataFrame):
        self.model = model
        self.X = X

    def _member(self, key: str) -> tuple[int, FittedMember]:
        parts = model_key_parts(key) if isinstance(key, str) else None
        layers = self.model.stack.layers_
        if parts is not None and 1 <= parts[0] <= len(layers):
            for member in layers[parts[0] - 1]:
                if member.name == parts[1]:
                    return parts[0], member
        known = ", ".join(model_key(d, m.name) for d, layer in enumerate(layers, start=1) for m in layer)
        raise ConfigError(f"No model '{key}' in this twin; its models are {known}.")

    def models(self) -> pd.DataFrame:
        """Every model of the twin: key, layer, name, estimator type and how it is explained ('' for none)."""
        records = [{"key": model_key(depth, member.name), "layer": depth, "name": member.name,
                    "estimator": type(member.estimators[0]).__name__, "method": member_method(member) or ""}
                   for depth, layer in enumerate(self.model.stack.layers_, start=1) for member in layer]
        return pd.DataFrame.from_records(records)

    def inputs(self, key: str) -> tuple[str, ...]:
        """The names of a model's inputs: features for layer 1, the lower models (and features with passthrough)
        above."""
        depth, member = self._member(key)
        features = list(self.model.feature_columns)
        if depth == 1:
            names = features
        else:
            lower = [model_words(model_key(depth - 1, m.name)) for m in self.model.stack.layers_[depth - 2]]
            names = lower + (features if _passthrough(self.model.stack, depth) else [])
        return tuple(names if member.columns is None else [names[c] for c in member.columns])

    def _design(self, depth: int, rows: np.ndarray) -> np.ndarray:
        """Layer `depth`'s design matrix on `rows`, as the stack builds it when it predicts."""
        X = self.X.loc[rows]
        if depth == 1:
            return X.to_numpy()
        previous = self.model.stack.predict_layers(X)[depth - 2].to_numpy()
        return np.hstack([previous, X.to_numpy()]) if _passthrough(self.model.stack, depth) else previous

    def contributions(self, key: str, rows=None, *, budget: str | int | None = None) -> Contributions:
        """A model's contributions on `rows` (telemetry row ids; every row of X by default). Refuses, before
        allocating, contributions larger than the memory budget (MemoryBudgetError), and raises ConfigError for
        an unknown model or a kind with no explanation."""
        depth, member = self._member(key)
        rows = self.X.index.to_numpy() if rows is None else np.asarray(rows)
        missing = np.setdiff1d(rows, self.X.index.to_numpy())
        if len(missing):
            raise ConfigError(f"Rows {missing[:5].tolist()} are not among the {len(self.X):,} rows being explained "
                              "(the hold-out's, whose feature windows are complete).")
        names = self.inputs(key)
        need = len(rows) * (len(names) + 1) * FLOAT64
        limit = memory_budget(budget)
        if need > limit:
            raise MemoryBudgetError(
                f"The contributions of {model_words(key)} on {len(rows):,} rows would need about {human(need)} but "
                f"the memory budget is {human(limit)} ({describe_budget(budget)}); explain fewer rows (the global "
                f"importance reads a sample of {SAMPLE_ROWS:,}).")
        values, expected = np.empty((len(rows), len(names))), np.empty(len(rows))
        for part in _chunks(len(rows), len(names) + 1):
            values[part], expected[part] = member_contributions(member, self._design(depth, rows[part]))
        return Contributions(key, member_method(member), names, values, expected, rows)

    def importance(self, key: str, sample: int = SAMPLE_ROWS, seed: int = 0) -> Importance:
        """A model's mean absolute contribution per input over X's rows, or over a seeded sample of `sample` of
        them, computed chunk by chunk (memory of one chunk's contributions at a time)."""
        depth, member = self._member(key)
        everything = self.X.index.to_numpy()
        rows = everything if len(everything) <= sample else np.sort(
            np.random.default_rng(seed).choice(everything, sample, replace=False))
        names = self.inputs(key)
        grouped = self._grouped(names, np.zeros((0, len(names))), rows[:0])[0]
        total = np.zeros(len(grouped))
        for part in _chunks(len(rows), len(names) + 1):
            values, _ = member_contributions(member, self._design(depth, rows[part]))
            total += np.abs(self._grouped(names, values, rows[part])[1]).sum(axis=0)
        return Importance(key, member_method(member), grouped, total / max(1, len(rows)), len(rows), len(everything))

    def local(self, key: str, row: int) -> Contributions:
        """The contributions that made a model's prediction at one instant (a telemetry row id of X), the workload's
        one-hot columns as one input named with the instant's workload ('workload (cpu_bound)')."""
        one = self.contributions(key, [row])
        inputs, values = self._grouped(one.inputs, one.values, one.rows)
        return Contributions(one.key, one.method, inputs, values, one.expected, one.rows)

    def _grouped(self, names: tuple[str, ...], values: np.ndarray,
                 rows: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
        """The workload one-hot columns among `names` as one input where the first of them stood, its contribution
        the sum of theirs (so the sum of all still gives the prediction): 'workload', or on one row that row's
        'workload (cpu_bound)'; the inputs as they were without such columns."""
        onehot = [i for i, name in enumerate(names) if name.startswith(WORKLOAD_PREFIX)]
        if not onehot:
            return names, values
        label = "workload"
        if len(rows) == 1:
            hot = [names[i] for i in onehot if self.X.loc[rows[0], names[i]] == 1]
            label = f"workload ({hot[0].removeprefix(WORKLOAD_PREFIX) if hot else 'none it knows'})"
        keep = [i for i in range(len(names)) if i not in onehot or i == onehot[0]]
        summed = values.copy()
        summed[:, onehot[0]] = values[:, onehot].sum(axis=1)
        return tuple(label if i == onehot[0] else names[i] for i in keep), summed[:, keep]


def holdout_explainer(model: TwinModel, telemetry: Telemetry, rows, *, data_fingerprint: str | None = None,
                      budget: str | int | None = None) -> Explainer:
    """An Explainer over `rows` (telemetry row ids: a run's hold-out) of the telemetry the twin was trained on.

    `data_fingerprint` (the run's, `result.data_fingerprint`) checks that the telemetry is that data: other data of
    the same shape has the same row ids, and its rows would be explained in their place (SchemaMismatchError).
    The features are built again as training built them (the twin's workload categories and windows); their peak
    is checked against the memory budget first (MemoryBudgetError), and only the asked rows are kept.
    """
    problem = model.incompatibility(telemetry)
    if problem:
        raise SchemaMismatchError(problem)
    if data_fingerprint is not None and telemetry.fingerprint != data_fingerprint:
        raise SchemaMismatchError(
            f"This telemetry (fingerprint {telemetry.fingerprint[:12]}…) is not the data the run was trained on "
            f"({data_fingerprint[:12]}…): its rows would be explained in place of the run's hold-out. Load the "
            "files the run was trained on and explain it there.")
    if len(np.atleast_1d(np.asarray(rows, dtype=object))) == 0:
        raise ConfigError("No rows to explain: pass the row ids of the run's hold-out "
                          "(result.evaluation.predictions['row']).")
    n_rows, n_features = len(telemetry.frame), len(model.feature_columns)
    need = int(MARGIN * n_rows * (n_features * FLOAT32 + FLOAT64 * BUILD_TEMPORARY_COLUMNS))
    limit = memory_budget(budget)
    if need > limit:
        raise MemoryBudgetError(
            f"Explaining this twin builds its {n_features} features on {n_rows:,} rows again, about {human(need)}, "
            f"but the memory budget is {human(limit)} ({describe_budget(budget)}); give a larger --memory-budget "
            "or explain a twin of fewer rows.")
    features = build_features(with_target(telemetry, model.target), model.config.used_feature_sets(),
                              workload_categories=model.workload_categories,
                              positional_windows=model.config.seed_compatible)
    rows = np.asarray(rows)
    missing = np.setdiff1d(rows, features.X.index.to_numpy())
    if len(missing):
        raise ConfigError(f"Rows {missing[:5].tolist()} have no complete feature windows in this telemetry: it is "
                          "not the data this twin was trained on, or those rows are not its hold-out.")
    return Explainer(model, features.X.loc[np.unique(rows), model.feature_columns])  # a row given twice counts once
