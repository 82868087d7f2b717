"""`HierarchicalStack`: a stacking ensemble of any depth, trained layer by layer on out-of-fold predictions.

Written in the manner of scikit-learn's estimators: `__init__` stores parameters, `fit` validates and
returns self, fitted attributes end in `_`. Unlike scikit-learn's StackingRegressor it keeps every layer's
out-of-fold and hold-out predictions, accepts time-ordered purged folds, and reports progress per fit.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from twin_core.engine import Engine, LocalEngine
from twin_core.errors import ConfigError, FitError, TrainingCancelled
from twin_core.models import set_threads

ProgressCallback = Callable[[int, int, str], None]
CancelCheck = Callable[[], bool]
_FITTED = ("layers_", "oof_predictions_", "rows_without_oof_", "folds_")


@dataclass
class FittedMember:
    """One trained model of a layer: its final estimator(s) and the input columns it reads."""

    name: str
    estimators: list[BaseEstimator]
    columns: np.ndarray | None
    oof_seconds: float = 0.0

    def predict(self, design: np.ndarray) -> np.ndarray:
        """Prediction of the refit model, or the mean of the fold models under refit='average'."""
        return np.mean([self.predict_with(design, k) for k in range(len(self.estimators))], axis=0)

    def predict_with(self, design: np.ndarray, k: int) -> np.ndarray:
        """The prediction of this member's k-th estimator (its refit, or one fold model)."""
        return self.estimators[k].predict(design if self.columns is None else design[:, self.columns])


def _predict_part(design: np.ndarray, member: FittedMember, k: int, where: str) -> np.ndarray:
    with _reported(where):
        return member.predict_with(design, k)


@dataclass(frozen=True)
class FittedLayer:
    """A trained layer and its out-of-fold predictions on the training rows: what a later fit can reuse.

    `holdout`, when known, is its prediction on the run's hold-out rows, so a later run on the same rows need not
    predict them again (`predict_layers(known=...)`)."""

    members: list[FittedMember]
    oof: pd.DataFrame
    holdout: pd.DataFrame | None = None


def _fit_predict(X: np.ndarray, y: np.ndarray, lookup: np.ndarray | None, estimator: BaseEstimator,
                 columns: np.ndarray | None, fit_rows: np.ndarray, predict_rows: np.ndarray | None, where: str
                 ) -> tuple[BaseEstimator, np.ndarray | None, float]:
    """Fit on `fit_rows` of y (rows `lookup[fit_rows]` of X when X holds more rows than y) and predict others."""
    started = time.perf_counter()
    in_X = (lambda rows: rows) if lookup is None else (lambda rows: lookup[rows])
    with _reported(f"{where} ({len(fit_rows)} rows to fit on)"):
        estimator.fit(_take(X, in_X(fit_rows), columns), y[fit_rows])
        preds = estimator.predict(_take(X, in_X(predict_rows), columns)) if predict_rows is not None else None
    return estimator, preds, time.perf_counter() - started


def _take(X: np.ndarray, rows: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    """X's `rows` and `columns` in at most one copy: a view when the rows are one run and every column is read.

    Each fit slices its own rows while it runs, so no per-model or per-fold copy of the matrix outlives its fit.
    """
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and np.all(np.diff(rows) == 1):
        part = X[rows[0]:rows[-1] + 1]
        return part if columns is None else part[:, columns]
    return X[rows] if columns is None else X[np.ix_(rows, columns)]


@contextmanager
def _reported(where: str) -> Iterator[None]:
    """Turn any exception of a model's fit or predict into a FitError that says where it happened and why."""
    try:
        yield
    except TrainingCancelled:
        raise
    except Exception as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise FitError(f"Model failed at {where}: {reason}. Check this model's parameters in the configuration, "
                       "or give it more rows (longer recordings, fewer folds, shorter windows).") from exc


class HierarchicalStack(RegressorMixin, BaseEstimator):
    """Stacked layers of regressors; layer k+1 learns from layer k's out-of-fold predictions.

    layers: list of layers, each a list of `(name, estimator)` or `(name, estimator, columns)`; `columns`
      (names or positions of X's columns) selects a first-layer model's own feature set.
    passthrough: bool, or one bool per layer: also feed the original features to layers after the first.
    cv: int, a splitter, or a list of (fit, validation) position arrays (e.g. purged time blocks).
    refit: "full" refits each model on all its training rows; "average" predicts with the mean of the fold models.
    n_jobs: parallel fits within a layer; with n_jobs != 1 every model is held to one thread (no nesting).
    max_fit_rows: None, or at most this many rows per fit: a fit given more reads a seeded random sample of them
      (the same sample for every model of a layer in a fold), and out-of-fold predictions are made for a seeded
      sample of about as many training rows (the rows the layers above train on and are scored on).
    random_state: the seed of those samples.
    """

    def __init__(self, layers: Sequence[Sequence[tuple]], *, passthrough: bool | Sequence[bool] = False,
                 cv=5, refit: str = "full", n_jobs: int | None = 1, max_fit_rows: int | None = None,
                 random_state: int = 0):
        self.layers = layers
        self.passthrough = passthrough
        self.cv = cv
        self.refit = refit
        self.n_jobs = n_jobs
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    # -- validation -------------------------------------------------------------------------------------------
    def _members(self) -> list[list[tuple[str, BaseEstimator, np.ndarray | None]]]:
        if not self.layers or any(len(layer) == 0 for layer in self.layers):
            raise ConfigError("Every layer of the stack needs at least one model.")
        if self.refit not in ("full", "average"):
            raise ConfigError(f"refit must be 'full' or 'average', got {self.refit!r}.")
        checked = []
        for depth, layer in enumerate(self.layers, start=1):
            names = [entry[0] for entry in layer]
            if len(set(names)) != len(names):
                raise ConfigError(f"Layer {depth} has two models with the same name: {names}.")
            members = []
            for entry in layer:
                name, estimator, columns = (*entry, None) if len(entry) == 2 else entry
                if depth > 1 and columns is not None:
                    raise ConfigError(f"Model '{name}' in layer {depth}: only first-layer models choose columns.")
                members.append((name, estimator, self._column_positions(name, columns)))
            checked.append(members)
        return checked

    def _column_positions(self, name: str, columns) -> np.ndarray | None:
        """Positions of a member's columns in X; None when it reads every column in order (nothing to select)."""
        if columns is None:
            return None
        positions = self._positions(name, list(columns))
        return None if np.array_equal(positions, np.arange(self.n_features_in_)) else positions

    def _positions(self, name: str, columns: list) -> np.ndarray:
        if all(isinstance(c, (int, np.integer)) for c in columns):
            return np.asarray(columns, dtype=int)
        known = getattr(self, "feature_names_in_", None)
        if known is None:
            raise ConfigError(f"Model '{name}' selects columns by name, so X must be a DataFrame.")
        lookup = {c: i for i, c in enumerate(known)}
        missing = [c for c in columns if c not in lookup]
        if missing:
            raise ConfigError(f"Model '{name}' asks for columns not in X: {missing[:5]}.")
        return np.asarray([lookup[c] for c in columns], dtype=int)

    def _passthrough_flags(self) -> list[bool]:
        if isinstance(self.passthrough, (bool, np.bool_)):
            return [False] + [bool(self.passthrough)] * (len(self.layers) - 1)
        flags = list(self.passthrough)
        if len(flags) != len(self.layers):
            raise ConfigError(f"passthrough has {len(flags)} flags for {len(self.layers)} layers.")
        return [False] + [bool(f) for f in flags[1:]]

    # -- fitting ----------------------------------------------------------------------------------------------
    def fit(self, X, y, *, rows=None, on_progress: ProgressCallback | None = None,
            should_cancel: CancelCheck | None = None, reuse: Sequence[FittedLayer] = (),
            engine: Engine | None = None) -> HierarchicalStack:
        """Train layer by layer; raises TrainingCancelled if `should_cancel()` turns true between fits.

        `rows` (positions) trains on those rows of X and y only, as `fit(X[rows], y[rows])` would, without that
        copy of the matrix: each fit takes its own rows from X; `cv` and `reuse` then refer to these rows.

        `reuse` holds the first layers of an earlier fit on the same rows, folds and composition: they are
        taken as they are, so a change to an upper layer retrains only that layer and those above it.

        `engine` runs each layer's fits: threads in this process by default, or a Dask cluster's workers
        (`twin_core.engine.DaskEngine`, every model then on one thread), with the same results for the same seed.
        """
        X_arr, y_arr = validate_data(self, X, y, dtype="numeric", y_numeric=True)
        y_arr = np.asarray(y_arr, dtype=float)
        if rows is not None:
            rows = np.asarray(rows)
            if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer) or (
                    len(rows) and not 0 <= rows.min() <= rows.max() < len(y_arr)):
                raise ConfigError(f"rows must be whole-number positions of X's rows, from 0 to {len(y_arr) - 1}.")
            y_arr = y_arr[rows]
        members = self._members()
        flags = self._passthrough_flags()
        # the splitters read only the number of rows: a zero-byte stand-in when X holds more rows than are fitted
        shape = X_arr if rows is None else np.broadcast_to(np.float32(0), (len(rows), 1))
        folds = [(np.asarray(f), np.asarray(v)) for f, v in check_cv(self.cv).split(shape, y_arr)]
        self._check_reuse(reuse, members, len(y_arr))
        per_model = len(folds) + (1 if self.refit == "full" else 0)
        total = sum(len(layer) for layer in members[len(reuse):]) * per_model
        progress = _Progress(total, on_progress, should_cancel)

        for attr in _FITTED:  # a fit that stops half-way (cancel, failure) leaves no earlier fit behind
            self.__dict__.pop(attr, None)
        usable = np.ones(len(y_arr), dtype=bool)
        previous: np.ndarray | None = None
        layers, oof_frames, without_oof = [], [], []
        for depth, layer in enumerate(members, start=1):
            if depth <= len(reuse):
                fitted, oof_frame = reuse[depth - 1].members, reuse[depth - 1].oof
                oof = oof_frame.to_numpy()
            else:
                design = self._design(X_arr, previous, flags[depth - 1], rows)
                oof, fitted = self._fit_layer(depth, layer, design, y_arr, folds, usable, progress,
                                              rows if previous is None else None, engine or LocalEngine())
            layers.append(fitted)
            oof_frames.append(pd.DataFrame(oof, columns=[m.name for m in fitted]))
            usable &= ~np.isnan(oof).any(axis=1)
            without_oof.append(int((~usable).sum()))
            previous = oof
        # fitted attributes only once every layer is trained: a cancelled or failed fit stays unfitted
        self.layers_, self.oof_predictions_, self.rows_without_oof_ = layers, oof_frames, without_oof
        self.folds_ = folds
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted only when every layer is (validate_data sets n_features_in_ before the first fit starts)."""
        return hasattr(self, "layers_")

    def fitted_layers(self) -> list[FittedLayer]:
        """The fitted layers with their out-of-fold predictions, for `fit(reuse=...)` of a later stack."""
        check_is_fitted(self, "layers_")
        return [FittedLayer(members, oof) for members, oof in zip(self.layers_, self.oof_predictions_)]

    @staticmethod
    def _check_reuse(reuse: Sequence[FittedLayer], members, n_rows: int) -> None:
        if len(reuse) > len(members):
            raise ConfigError(f"{len(reuse)} reused layers for a stack of {len(members)}.")
        for depth, (layer, given) in enumerate(zip(members, reuse), start=1):
            if [m[0] for m in layer] != [m.name for m in given.members] or len(given.oof) != n_rows:
                raise ConfigError(f"Reused layer {depth} does not match this stack's layer {depth} or its rows.")

    def _design(self, X: np.ndarray, previous: np.ndarray | None, passthrough: bool,
                rows: np.ndarray | None = None) -> np.ndarray:
        if previous is None:
            return X
        return np.hstack([previous, X if rows is None else X[rows]]) if passthrough else previous

    def _fit_layer(self, depth: int, layer, design: np.ndarray, y: np.ndarray, folds, usable: np.ndarray,
                   progress: _Progress, lookup: np.ndarray | None, engine: Engine
                   ) -> tuple[np.ndarray, list[FittedMember]]:
        tasks, labels = [], []
        # every row usable (always so in layer 1): the folds' own index arrays, not a filtered copy per model
        kept = (lambda rows: rows) if usable.all() else (lambda rows: rows[usable[rows]])
        single = self._parallel or engine.kind != "local"  # side by side, or on a cluster's one-thread workers
        cap = self.max_fit_rows
        fit_sets = [self._sampled(kept(fit_rows), cap, [depth, k]) for k, (fit_rows, _) in enumerate(folds)]
        refit_rows = self._sampled(np.flatnonzero(usable), cap, [depth, len(folds)])
        # the layers above read at most `cap` rows per fit: out-of-fold predictions for a sample of that size serve
        # them and the out-of-fold scores as well as every row would, for a fraction of the predicting
        share = 1.0 if cap is None else min(1.0, cap / max(1, int(usable.sum())))
        val_sets = [self._sampled(kept(val_rows), int(np.ceil(share * len(kept(val_rows)))), [depth, k, 1])
                    for k, (_, val_rows) in enumerate(folds)]
        for m, (name, estimator, columns) in enumerate(layer):
            for k in range(len(folds)):
                tasks.append((m, k, self._prepared(estimator, single), columns, fit_sets[k], val_sets[k]))
                labels.append(f"layer {depth} · {name} · fold {k + 1}/{len(folds)}")
            if self.refit == "full":
                tasks.append((m, None, self._prepared(estimator, single), columns, refit_rows, None))
                labels.append(f"layer {depth} · {name} · refit on "
                              f"{'all training rows' if len(refit_rows) == usable.sum() else 'a sample of them'}")
        oof = np.full((len(y), len(layer)), np.nan)
        fold_models: dict[int, list] = {m: [None] * len(folds) for m in range(len(layer))}
        refits: dict[int, BaseEstimator] = {}
        seconds = np.zeros(len(layer))
        progress.check()
        shared = (design, y, lookup)
        items = [(est, columns, fit_rows, val_rows, label)
                 for (_, _, est, columns, fit_rows, val_rows), label in zip(tasks, labels)]
        results = engine.map_shared(_fit_predict, shared, items, jobs=self.n_jobs)
        try:
            for index, (fitted, preds, took) in results:
                m, k, _, _, _, val_rows = tasks[index]
                seconds[m] += took
                if k is None:
                    refits[m] = fitted
                else:
                    fold_models[m][k] = fitted
                    oof[val_rows, m] = preds
                progress.step(f"{labels[index]} ({took:.1f} s)")
        finally:  # a cancelled or failed run stops the fits not yet started at once
            results.close()
        fitted_members = [
            FittedMember(name, [refits[m]] if self.refit == "full" else fold_models[m], columns, float(seconds[m]))
            for m, (name, _, columns) in enumerate(layer)]
        return oof, fitted_members

    def _sampled(self, rows: np.ndarray, size: int | None, stream: list[int]) -> np.ndarray:
        """`rows`, or a random sample of `size` of them (in time order) when there are more, seeded by the stack's
        random_state and `stream` (so each layer, fold and purpose draws its own sample, the same every run)."""
        if size is None or len(rows) <= size:
            return rows
        generator = np.random.default_rng([self.random_state, *stream])
        return np.sort(generator.choice(rows, size, replace=False))

    @property
    def _parallel(self) -> bool:
        return self.n_jobs not in (None, 1)

    @staticmethod
    def _prepared(estimator: BaseEstimator, single_thread: bool) -> BaseEstimator:
        fresh = clone(estimator)
        return set_threads(fresh, 1) if single_thread else fresh

    # -- prediction -------------------------------------------------------------------------------------------
    def predict_layers(self, X, known: Sequence[pd.DataFrame] = ()) -> list[pd.DataFrame]:
        """Every model's prediction in every layer: one frame per layer, a column per model.

        `known` holds the first layers' predictions on these same rows (kept from an identical earlier fit): they
        are taken as they are and only the layers above are computed.
        """
        check_is_fitted(self, "layers_")
        index = X.index if isinstance(X, pd.DataFrame) else None
        X_arr = validate_data(self, X, dtype="numeric", reset=False)
        flags = self._passthrough_flags()
        outputs, previous = list(known), (known[-1].to_numpy() if known else None)
        for depth, layer in enumerate(self.layers_[len(known):], start=len(known) + 1):
            design = self._design(X_arr, previous, flags[depth - 1])
            # every model of the layer (each fold model under refit='average') predicts side by side, as they were
            # fitted (one thread each): a layer's hold-out predictions take a core each, not one core in all
            parts = [(m, k) for m, member in enumerate(layer) for k in range(len(member.estimators))]
            items = [(layer[m], k, f"layer {depth} · {layer[m].name} · predicting {len(design)} rows")
                     for m, k in parts]
            found = dict(LocalEngine().map_shared(_predict_part, (design,), items, jobs=self.n_jobs))
            # each member's mean in the order of its estimators, whatever order they finished in: same bits every run
            previous = np.column_stack([np.mean([found[i] for i, (owner, _) in enumerate(parts) if owner == m], axis=0)
                                        for m in range(len(layer))])
            outputs.append(pd.DataFrame(previous, columns=[m.name for m in layer], index=index))
        return outputs

    def predict(self, X) -> np.ndarray:
        """The top layer's prediction (the mean of its models when it has several)."""
        return self.predict_layers(X)[-1].to_numpy().mean(axis=1)


class _Progress:
    """Counts finished fits, forwards them to the callback and stops the run when cancellation is asked."""

    def __init__(self, total: int, on_progress: ProgressCallback | None, should_cancel: CancelCheck | None):
        self.total, self.done = total, 0
        self.on_progress, self.should_cancel = on_progress, should_cancel

    def check(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise TrainingCancelled(f"Training cancelled after {self.done} of {self.total} fits.")

    def step(self, message: str) -> None:
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, self.total, message)
        self.check()
