"""The estimator kinds a stack can use, their default and editable parameters, and thread control.

A `ModelSpec` names a kind from `MODEL_KINDS`; `make_estimator` turns it into an unfitted scikit-learn
estimator with a fixed seed and an explicit thread count (so folds in parallel never oversubscribe).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import joblib
import lightgbm as lgb
import numpy as np
from pydantic import Field, TypeAdapter, ValidationError, with_config
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import ElasticNetCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data
from typing_extensions import TypedDict

from twin_core.errors import ConfigError, UntrustedModelError
from twin_core.schema import MAX_ITEMS, SPEC_CONFIG, config_error, describe, join_path, number, text, whole


@dataclass(frozen=True)
class ParamInfo:
    """An editable parameter: its type and range, for validation and for the app's widgets."""

    kind: type
    low: float | None = None
    high: float | None = None
    help: str = ""


@dataclass(frozen=True)
class ModelKind:
    """One estimator family: how to build it and which parameters a user may set."""

    label: str
    build: Callable[[dict, int, int], BaseEstimator]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, ParamInfo] = field(default_factory=dict)


# Rows per chunk are sized to this many float64 cells (16 MB of temporaries) whatever the matrix's size.
CHUNK_CELLS = 1 << 21


class ScaledRidgeCV(RegressorMixin, BaseEstimator):
    """StandardScaler then RidgeCV in O(features²) memory beyond X: the same alpha and coefficients.

    make_pipeline(StandardScaler(), RidgeCV(alphas)) holds float64 copies of the whole matrix (about 9x the
    float32 data at its peak); this estimator reads X in row chunks and keeps only float64 sums of XᵀX and Xᵀy.
    It picks alpha as RidgeCV does by default, by the mean squared leave-one-out error with the intercept
    unpenalised (leverages taken chunk by chunk), the first alpha winning ties. It standardises in float64,
    so its coefficients differ from the pipeline's (scaled in float32) by float32 rounding at most.
    """

    def __init__(self, alphas=(0.1, 1.0, 10.0)):
        self.alphas = alphas

    def fit(self, X, y) -> ScaledRidgeCV:
        """Standardise, choose alpha by leave-one-out error and fit; returns self."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True)
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        if alphas.ndim != 1 or alphas.size == 0 or not np.all(alphas > 0):
            raise ValueError(f"alphas must be one or more positive numbers, got {self.alphas!r}")
        n = len(X)
        if n < 2:
            raise ValueError(f"leave-one-out needs at least 2 samples, got n_samples = {n}")
        y = np.asarray(y, dtype=np.float64)
        chunks = self._chunks(X)
        mean = sum(X[rows].sum(axis=0, dtype=np.float64) for rows in chunks) / n
        y_centred = y - y.mean()
        cross = np.zeros((X.shape[1], X.shape[1]))
        cross_y = np.zeros(X.shape[1])
        for rows in chunks:
            centred = X[rows] - mean
            cross += centred.T @ centred
            cross_y += centred.T @ y_centred[rows]
        var = np.diag(cross) / n
        scale = _scale(var, mean, n)
        eigvals, vecs = np.linalg.eigh(cross / np.outer(scale, scale))
        shrink = 1.0 / (eigvals[None, :] + alphas[:, None])  # (alphas, features) in the eigenbasis
        rotated_coefs = (vecs.T @ (cross_y / scale))[None, :] * shrink
        squared_errors = np.zeros(len(alphas))
        for rows in chunks:
            rotated = ((X[rows] - mean) / scale) @ vecs
            leverage = (rotated * rotated) @ shrink.T + 1.0 / n
            residual = (y_centred[rows, None] - rotated @ rotated_coefs.T) / (1.0 - leverage)
            squared_errors += (residual * residual).sum(axis=0)
        best = int(np.argmin(squared_errors))  # the first of equal errors, as RidgeCV
        self.alpha_, self.best_score_ = float(alphas[best]), float(-squared_errors[best] / n)
        self.coef_ = vecs @ rotated_coefs[best]
        self.intercept_ = float(y.mean())  # the scaled columns are centred exactly
        self.mean_, self.var_, self.scale_ = mean, var, scale
        return self

    def predict(self, X) -> np.ndarray:
        """The ridge prediction, computed chunk by chunk (no float64 copy of X)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        out = np.empty(len(X))
        for rows in self._chunks(X):
            out[rows] = ((X[rows] - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return out

    @staticmethod
    def _chunks(X: np.ndarray) -> list[slice]:
        step = max(1, CHUNK_CELLS // max(1, X.shape[1]))
        return [slice(start, start + step) for start in range(0, len(X), step)]


def _scale(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """StandardScaler's scale: the standard deviation, 1 for a constant column (its test, its tolerance)."""
    eps = np.finfo(np.float64).eps
    scale = np.sqrt(var)
    scale[(var <= n * eps * var + (n * mean * eps) ** 2) | (scale < 10 * eps)] = 1.0
    return scale


def _lightgbm(params: dict, seed: int, threads: int) -> BaseEstimator:
    return lgb.LGBMRegressor(**params, random_state=seed, n_jobs=threads, verbose=-1)


def _ridge(params: dict, seed: int, threads: int) -> BaseEstimator:
    return ScaledRidgeCV(**params)


def _elasticnet(params: dict, seed: int, threads: int) -> BaseEstimator:
    return make_pipeline(StandardScaler(), ElasticNetCV(**params, random_state=seed))


def _histgb(params: dict, seed: int, threads: int) -> BaseEstimator:
    return HistGradientBoostingRegressor(**params, random_state=seed)


def _extratrees(params: dict, seed: int, threads: int) -> BaseEstimator:
    return ExtraTreesRegressor(**params, random_state=seed, n_jobs=threads)


_TREES = ParamInfo(int, 10, 5000, "number of boosting rounds / trees")
_LEAVES = ParamInfo(int, 2, 1024, "leaves per tree")
_RATE = ParamInfo(float, 0.001, 1.0, "learning rate")

MODEL_KINDS: dict[str, ModelKind] = {
    "lightgbm": ModelKind(
        "LightGBM", _lightgbm,
        {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31},
        {"n_estimators": _TREES, "learning_rate": _RATE, "num_leaves": _LEAVES,
         "min_child_samples": ParamInfo(int, 1, 10000, "minimum rows in a leaf"),
         "subsample": ParamInfo(float, 0.1, 1.0, "row fraction per tree (needs subsample_freq)"),
         "subsample_freq": ParamInfo(int, 0, 100, "bagging every k trees (0 = off)"),
         "colsample_bytree": ParamInfo(float, 0.1, 1.0, "feature fraction per tree"),
         "reg_lambda": ParamInfo(float, 0.0, 1000.0, "L2 regularisation"),
         "max_depth": ParamInfo(int, -1, 64, "tree depth limit (-1 = none)")}),
    "ridgecv": ModelKind(
        "Ridge (CV over alpha)", _ridge,
        {"alphas": (0.1, 1.0, 10.0)},
        {"alphas": ParamInfo(tuple, 1e-6, 1e6, "candidate regularisation strengths")}),
    "elasticnetcv": ModelKind(
        "Elastic net (CV)", _elasticnet,
        {"l1_ratio": 0.5, "max_iter": 2000},
        {"l1_ratio": ParamInfo(float, 0.01, 1.0, "L1 share of the penalty"),
         "max_iter": ParamInfo(int, 100, 100000, "solver iterations")}),
    "histgb": ModelKind(
        "HistGradientBoosting", _histgb,
        {"max_iter": 200, "learning_rate": 0.1},
        {"max_iter": _TREES, "learning_rate": _RATE,
         "max_leaf_nodes": _LEAVES, "l2_regularization": ParamInfo(float, 0.0, 1000.0, "L2 regularisation")}),
    "extratrees": ModelKind(
        "Extra trees", _extratrees,
        {"n_estimators": 100, "min_samples_leaf": 5},
        {"n_estimators": _TREES, "min_samples_leaf": ParamInfo(int, 1, 10000, "minimum rows in a leaf"),
         "max_features": ParamInfo(float, 0.05, 1.0, "feature fraction per split")}),
}
PRETRAINED = "pretrained"
TRUSTED_MODELS_ENV = "TWIN_TRUSTED_MODELS"


def _param_type(info: ParamInfo) -> Any:
    """The strict pydantic type of one parameter: its kind and range, with the rule as its message."""
    span = f"from {info.low:g} to {info.high:g}"
    if info.kind is int:
        return whole(int(info.low), int(info.high), f"must be a whole number {span}")
    value = number(f"must be a finite number {span}", ge=info.low, le=info.high)
    if info.kind is tuple:
        return Annotated[tuple[value, ...], Field(min_length=1, max_length=MAX_ITEMS)]
    return value


@cache
def _params_adapter(kind: str) -> TypeAdapter:
    if kind == PRETRAINED:
        fields = {"file": text("must be the file name of a model in the trusted directory")}
        return TypeAdapter(with_config(SPEC_CONFIG)(TypedDict("pretrained_params", fields)))
    fields = {name: _param_type(info) for name, info in MODEL_KINDS[kind].params.items()}
    return TypeAdapter(with_config(SPEC_CONFIG)(TypedDict(f"{kind}_params", fields, total=False)))


def validate_params(kind: str, params: Mapping[str, Any], path: str) -> None:
    """Refuse unknown kinds, unknown parameters, wrong types and out-of-range values, naming the JSON path.

    `path` is the model's (`stack.layers[1].models[0]`); messages name `<path>.kind` or `<path>.params.<name>`.
    """
    if kind != PRETRAINED and kind not in MODEL_KINDS:
        said = f"'{kind}'" if isinstance(kind, str) else describe(kind)
        raise ConfigError(f"unknown model kind {said}; use one of {', '.join([*MODEL_KINDS, PRETRAINED])}",
                          f"{path}.kind")
    try:
        _params_adapter(kind).validate_python(dict(params))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(MODEL_KINDS[kind].params) if kind in MODEL_KINDS else "file"
            raise ConfigError(f"is not a parameter of {kind}; allowed: {allowed}",
                              join_path(f"{path}.params", *first["loc"])) from None
        raise config_error(exc, f"{path}.params") from None


def make_estimator(kind: str, params: Mapping[str, Any], *, seed: int, threads: int,
                   trusted_dir: str | Path | None = None) -> BaseEstimator:
    """An unfitted estimator of `kind` (or a frozen pre-trained one from the trusted directory).

    `params` are as `validate_params` accepts them (integers are integers: 200.0 is refused there, not cast here).
    """
    if kind == PRETRAINED:
        return FrozenEstimator(load_trusted_model(params["file"], trusted_dir))
    spec = MODEL_KINDS[kind]
    merged = {**spec.defaults, **params}
    if "alphas" in merged:
        merged["alphas"] = tuple(merged["alphas"])
    return spec.build(merged, seed, threads)


def load_trusted_model(file: str, trusted_dir: str | Path | None) -> BaseEstimator:
    """Unpickle a model only from the operator's trusted directory: unpickling runs the file's code.

    The directory is the one passed, else $TWIN_TRUSTED_MODELS; uploads never reach this function.
    """
    trusted_dir = trusted_dir or os.environ.get(TRUSTED_MODELS_ENV) or None
    if trusted_dir is None:
        raise UntrustedModelError(
            f"Pre-trained model '{file}' refused: no trusted model directory is configured "
            "(set TWIN_TRUSTED_MODELS or pass --trusted-models DIR). Uploaded model files are never loaded.")
    root = Path(trusted_dir).resolve()
    path = (root / file).resolve()
    if root not in path.parents:
        raise UntrustedModelError(f"Pre-trained model '{file}' lies outside the trusted directory {root}.")
    if not path.is_file():
        raise UntrustedModelError(f"Pre-trained model '{file}' was not found in the trusted directory {root}.")
    model = joblib.load(path)
    if not hasattr(model, "predict"):
        raise UntrustedModelError(f"'{file}' holds a {type(model).__name__}, not a fitted regressor.")
    return model


def set_threads(estimator: BaseEstimator, threads: int) -> BaseEstimator:
    """Give an estimator an explicit thread count where it has one (LightGBM, extra trees)."""
    names = estimator.get_params(deep=True)
    updates = {k: threads for k in names if k == "n_jobs" or k.endswith("__n_jobs")}
    if updates:
        estimator.set_params(**updates)
    return estimator
