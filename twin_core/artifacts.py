"""A trained twin as files that cannot run code when read: a JSON manifest plus one part per fitted estimator.

LightGBM models are kept as LightGBM's own model text, the ridge (`ScaledRidgeCV`) and elastic-net pipelines as
the scaler's mean and scale and the model's coefficients and intercept in JSON, and the scikit-learn tree ensembles
(HistGradientBoosting, extra trees) through skops with an explicit list of trusted types. Anything else,
pre-trained models from the operator's directory included, is refused for saving. The manifest carries the
format version and the library version that wrote it; a format this version does not know is refused. The
twin's interval calibration is a plain JSON entry of the manifest; a twin kept before intervals has none, loads as
it did, and gives no band.
"""
from __future__ import annotations

import json
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import ElasticNetCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import twin_core
from twin_core.config import RunConfig
from twin_core.errors import StoreError, UnstorableModelError
from twin_core.intervals import Calibration
from twin_core.models import PRETRAINED, ScaledRidgeCV
from twin_core.runs import TwinModel
from twin_core.stack import FittedMember, HierarchicalStack

FORMAT = "digital-twin-studio/model"
FORMAT_VERSION = 1
MANIFEST = "model/manifest.json"
# The only types outside skops' own defaults that a stored tree ensemble may contain; anything else is refused.
SKOPS_TRUSTED = ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "sklearn.tree._tree.Tree")
_SKOPS_KINDS = {"HistGradientBoostingRegressor": HistGradientBoostingRegressor,
                "ExtraTreesRegressor": ExtraTreesRegressor}
_LINEAR_KINDS = {"ElasticNetCV": ElasticNetCV}  # behind a StandardScaler in a pipeline
_SUFFIX = {"lightgbm": "txt", "linear": "json", "skops": "skops"}


def _floats(values) -> list[float]:
    return [float(v) for v in np.ravel(values)]


def _encode_estimator(estimator: BaseEstimator, where: str) -> tuple[dict, bytes]:
    """One fitted estimator as (description, part bytes); refuses what cannot be kept without code."""
    if isinstance(estimator, lgb.LGBMRegressor):
        return {"kind": "lightgbm"}, estimator.booster_.model_to_string().encode()
    if type(estimator) is ScaledRidgeCV:
        part = {"class": "ScaledRidgeCV", "n_features": int(estimator.n_features_in_), "alpha": estimator.alpha_,
                "mean": _floats(estimator.mean_), "scale": _floats(estimator.scale_), "var": _floats(estimator.var_),
                "coef": _floats(estimator.coef_), "intercept": float(estimator.intercept_)}
        return {"kind": "linear"}, json.dumps(part).encode()
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 2:
        scaler, linear = (step for _, step in estimator.steps)
        if isinstance(scaler, StandardScaler) and type(linear) in _LINEAR_KINDS.values():
            # dtypes are kept: scikit-learn fits float32 features in float32, and predicts in the same precision
            part = {"class": type(linear).__name__, "n_features": int(scaler.n_features_in_),
                    "mean": _floats(scaler.mean_), "scale": _floats(scaler.scale_), "var": _floats(scaler.var_),
                    "scaler_dtype": str(np.asarray(scaler.mean_).dtype),
                    "coef": _floats(linear.coef_), "intercept": float(np.ravel(linear.intercept_)[0]),
                    "dtype": str(np.asarray(linear.coef_).dtype),
                    "intercept_dtype": str(np.asarray(linear.intercept_).dtype)}
            return {"kind": "linear"}, json.dumps(part).encode()
    if type(estimator) in _SKOPS_KINDS.values():
        return {"kind": "skops", "class": type(estimator).__name__}, sio.dumps(estimator)
    if isinstance(estimator, FrozenEstimator):
        raise UnstorableModelError(
            f"{where} is a pre-trained model from the trusted directory: the run store keeps only models it can "
            "read back without running code, so this run is not kept. Keep its outputs with train --out DIR "
            "or the Results page's downloads.")
    raise UnstorableModelError(
        f"{where} is a {type(estimator).__name__}, which the run store cannot keep without a pickle; "
        "this run is not kept. Keep its outputs with train --out DIR or the Results page's downloads.")


def check_storable(config: RunConfig) -> None:
    """Refuse, before any training, a config whose run the store could not keep (pre-trained members)."""
    for depth, layer in enumerate(config.stack.layers, start=1):
        for model in layer.models:
            if model.kind == PRETRAINED:
                raise UnstorableModelError(
                    f"Model '{model.name}' of layer {depth} is a pre-trained model from the trusted directory: the "
                    "run store keeps only models it can read back without running code, so this run cannot be "
                    "kept. Train without --store (use --out DIR to keep its outputs).")


def encode_model(model: TwinModel) -> dict[str, bytes]:
    """The twin as files (relative path → bytes): the manifest and one part per fitted estimator."""
    stack = model.stack
    files: dict[str, bytes] = {}
    layers = []
    for depth, layer in enumerate(stack.layers_, start=1):
        members = []
        for m, member in enumerate(layer):
            estimators = []
            for e, estimator in enumerate(member.estimators):
                description, data = _encode_estimator(estimator, f"Model '{member.name}' of layer {depth}")
                name = f"model/L{depth}-M{m}-E{e}.{_SUFFIX[description['kind']]}"
                files[name] = data
                estimators.append({**description, "file": name})
            members.append({"name": member.name, "estimators": estimators,
                            "columns": None if member.columns is None else [int(c) for c in member.columns]})
        layers.append(members)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "library_version": twin_core.__version__,
        "config": json.loads(model.config.to_json()), "target": model.target,
        "feature_columns": list(model.feature_columns), "workload_categories": list(model.workload_categories),
        "core_columns": list(model.core_columns),
        "calibration": None if model.calibration is None else model.calibration.to_dict(),
        "stack": {"passthrough": stack.passthrough if isinstance(stack.passthrough, bool) else list(stack.passthrough),
                  "refit": stack.refit, "n_features_in": int(stack.n_features_in_),
                  "feature_names_in": [str(c) for c in getattr(stack, "feature_names_in_", [])],
                  "layers": layers},
    }
    files[MANIFEST] = json.dumps(manifest, indent=1).encode()
    return files


def _check_format(manifest: dict, where: str) -> None:
    """Refuse a model written in a format this version cannot read (unknown, or newer than this version)."""
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(version, int):
        raise StoreError(f"{where} is not in a model format this version knows; train the run again to keep it.")
    if version > FORMAT_VERSION:
        raise StoreError(
            f"{where} was written in model format {version} by Digital Twin Studio "
            f"{manifest.get('library_version', '?')}; this version ({twin_core.__version__}) reads format "
            f"{FORMAT_VERSION} and older. Upgrade to load it.")
    if version < 1:
        raise StoreError(f"{where} has model format {version}, which no version writes; train the run again.")


def _float_dtype(name: str) -> np.dtype:
    """float32 or float64 from a manifest; any other name is refused (no dtype parsing beyond these two)."""
    if name not in ("float32", "float64"):
        raise StoreError(f"A linear model part names an unknown number type {name!r}; train the run again.")
    return np.dtype(name)


def _decode_estimator(description: dict, data: bytes, where: str):
    """The fitted estimator of one part, read without running code from the file."""
    kind = description.get("kind")
    if kind == "lightgbm":
        return lgb.Booster(model_str=data.decode())
    if kind == "linear":
        part = json.loads(data)
        if part["class"] == "ScaledRidgeCV":
            ridge = ScaledRidgeCV(alphas=(float(part["alpha"]),))
            ridge.mean_, ridge.scale_, ridge.var_, ridge.coef_ = (np.asarray(part[k], dtype=np.float64)
                                                                  for k in ("mean", "scale", "var", "coef"))
            ridge.alpha_, ridge.intercept_ = float(part["alpha"]), float(part["intercept"])
            ridge.n_features_in_ = int(part["n_features"])
            return ridge
        scaler = StandardScaler()
        scaler_dtype, dtype, intercept_dtype = (_float_dtype(part[k])
                                                for k in ("scaler_dtype", "dtype", "intercept_dtype"))
        scaler.mean_, scaler.scale_, scaler.var_ = (np.asarray(part[k], dtype=scaler_dtype)
                                                    for k in ("mean", "scale", "var"))
        scaler.n_features_in_ = scaler.n_samples_seen_ = int(part["n_features"])
        linear = _LINEAR_KINDS[part["class"]]()
        linear.coef_ = np.asarray(part["coef"], dtype=dtype)
        linear.intercept_ = np.asarray(part["intercept"], dtype=intercept_dtype)[()]
        linear.n_features_in_ = int(part["n_features"])
        return make_pipeline(scaler, linear)
    if kind == "skops" and description.get("class") in _SKOPS_KINDS:
        try:
            untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in SKOPS_TRUSTED]
            if untrusted:
                raise StoreError(f"{where} contains types the store does not trust ({', '.join(untrusted)}); "
                                 "it was not loaded.")
            estimator = sio.loads(data, trusted=list(SKOPS_TRUSTED))
        except StoreError:
            raise
        except Exception as exc:  # skops raises zip, JSON and its own errors on a damaged file
            raise StoreError(f"{where} is not a readable skops file ({type(exc).__name__}); "
                             "train the run again.") from None
        if type(estimator) is not _SKOPS_KINDS[description["class"]]:
            raise StoreError(f"{where} holds a {type(estimator).__name__}, not a {description['class']}.")
        return estimator
    raise StoreError(f"{where} has a part of unknown kind {kind!r}; train the run again to keep it.")


def _calibration(data: dict | None, where: str) -> Calibration | None:
    """The interval calibration of a manifest; None for a twin kept before intervals (it gives no band)."""
    if data is None:
        return None
    try:
        return Calibration.from_dict(data)
    except StoreError as exc:
        raise StoreError(f"The model of {where}: {exc}; train the run again.") from None


def decode_model(read: Callable[[str], bytes], where: str) -> TwinModel:
    """The twin from its files; `read(path)` returns a file's verified bytes. Raises StoreError on any fault."""
    try:
        manifest = json.loads(read(MANIFEST))
    except (ValueError, UnicodeDecodeError):
        raise StoreError(f"The model manifest of {where} is not valid JSON; train the run again.") from None
    _check_format(manifest, f"The model of {where}")
    try:
        spec = manifest["stack"]
        layers_ = [[FittedMember(member["name"],
                                 [_decode_estimator(e, read(e["file"]), f"Model '{member['name']}' of {where}")
                                  for e in member["estimators"]],
                                 None if member["columns"] is None else np.asarray(member["columns"], dtype=int))
                    for member in layer] for layer in spec["layers"]]
        stack = HierarchicalStack([[(m.name, m.estimators[0]) for m in layer] for layer in layers_],
                                  passthrough=spec["passthrough"], refit=spec["refit"])
        stack.n_features_in_ = int(spec["n_features_in"])
        if spec["feature_names_in"]:
            stack.feature_names_in_ = np.asarray(spec["feature_names_in"], dtype=object)
        stack.layers_ = layers_
        return TwinModel(RunConfig.from_dict(manifest["config"]), manifest["target"], stack,
                         list(manifest["feature_columns"]), tuple(manifest["workload_categories"]),
                         tuple(manifest["core_columns"]), _calibration(manifest.get("calibration"), where))
    except StoreError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, lgb.basic.LightGBMError) as exc:
        raise StoreError(f"The model of {where} is incomplete or damaged ({type(exc).__name__}: {exc}); "
                         "train the run again.") from None
