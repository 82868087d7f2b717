"""The run types shared by the store, what-if and compare: the trained twin, the metrics contract and a run's
written outputs (metrics.json, config.json, predictions.parquet), without the training orchestrator."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from twin_core.anomalies import anomaly_column
from twin_core.config import RunConfig
from twin_core.errors import ConfigError, MissingColumnError, SchemaMismatchError
from twin_core.evaluate import Evaluation, model_key
from twin_core.features import build_features
from twin_core.intervals import Calibration
from twin_core.splits import HoldoutSplit
from twin_core.stack import HierarchicalStack
from twin_core.telemetry import Telemetry


def with_target(telemetry: Telemetry, target: str) -> Telemetry:
    """The same telemetry predicting another core."""
    if target == telemetry.target:
        return telemetry
    if target not in telemetry.core_columns:
        raise MissingColumnError(
            f"Target '{target}' is not a core column; the data has {list(telemetry.core_columns)}.")
    return dataclasses.replace(telemetry, target=target)


@dataclass
class TwinModel:
    """A trained twin without its training data: enough to predict on new telemetry of the same shape."""

    config: RunConfig
    target: str
    stack: HierarchicalStack
    feature_columns: list[str]
    workload_categories: tuple[str, ...]
    core_columns: tuple[str, ...]
    calibration: Calibration | None = None  # its intervals; None for a twin stored before runs had them

    def incompatibility(self, telemetry: Telemetry) -> str | None:
        """Why this twin cannot read the telemetry (another set of cores), or None when it can."""
        if tuple(telemetry.core_columns) == self.core_columns:
            return None
        return (f"This twin was trained on telemetry with {len(self.core_columns)} cores "
                f"({', '.join(self.core_columns)}); this data has {telemetry.n_cores} "
                f"({', '.join(telemetry.core_columns)}). Ask it about telemetry of the same machine.")

    def predict_layers(self, telemetry: Telemetry) -> list[pd.DataFrame]:
        """Every model's prediction, indexed by the telemetry's row ids.

        Rows without complete feature windows (each session's first look-back rows) get no prediction;
        workloads the twin never saw get all-zero one-hot columns and a warning.
        """
        problem = self.incompatibility(telemetry)
        if problem:
            raise SchemaMismatchError(problem)
        telemetry = with_target(telemetry, self.target)
        features = build_features(telemetry, self.config.used_feature_sets(),
                                  workload_categories=self.workload_categories,
                                  positional_windows=self.config.seed_compatible)
        return self.stack.predict_layers(features.X[self.feature_columns])

    def top_band(self, telemetry: Telemetry, predicted: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
        """The band around the twin's final prediction `predicted` (indexed by `telemetry`'s row ids), for What-if
        and Live: its top layer's model's when that layer has one model; None when the twin has no calibrated band
        for it (a mean of several models, or a twin stored before intervals): none is made up."""
        top = self.config.stack.layers[-1].models
        if self.calibration is None or len(top) != 1:
            return None
        rows = predicted.index.to_numpy()
        bands = self.calibration.bands_for(with_target(telemetry, self.target), rows,
                                           {model_key(len(self.config.stack.layers), top[0].name): predicted})
        return next(iter(bands.values()), None)


class FinishedRun(Protocol):
    """What the store and the run outputs need of a finished run (pipeline.TrainResult is one)."""

    config: RunConfig
    target: str
    data_fingerprint: str
    split: HoldoutSplit
    evaluation: Evaluation
    seconds: dict[str, float]

    @property
    def cv_description(self) -> str: ...

    @property
    def model(self) -> TwinModel: ...

    @property
    def metrics(self) -> dict: ...


def _plain(value):
    """JSON-safe scalar: numpy numbers become floats/ints, NaN becomes None."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else round(float(value), 6)
    return value


def run_metrics(*, config: RunConfig, target: str, data_fingerprint: str, split: HoldoutSplit, lookback: int,
                evaluation: Evaluation, seconds: dict[str, float], notes: list[str]) -> dict:
    """The stable metrics contract (see README, 'metrics.json'); fields are added, never renamed."""
    ev = evaluation
    models = [{**{k: _plain(v) for k, v in row.items() if k != "key" and k not in INTERVAL_FIELDS},
               **_interval(ev, row)} for row in ev.models.to_dict("records")]
    best_row = next((row for row in ev.models.to_dict("records") if row["key"] == ev.best["key"]), {})
    baselines = {row["name"]: {"r2_holdout": _plain(row["r2_holdout"]), "mae_holdout": _plain(row["mae_holdout"]),
                               "rmse_holdout": _plain(row["rmse_holdout"]), "label": row["label"]}
                 for row in ev.baselines.to_dict("records")}
    return {
        "run": config.name,
        "target": target,
        "kind": config.kind,
        "kind_sentence": ev.kind_sentence,
        "data_fingerprint": data_fingerprint,
        "leaky": config.leaky,
        "rows": split.counts(),
        "split": {"kind": split.kind, "gap_rows": split.gap_rows, "description": split.description,
                  "test_fraction": config.split.test_fraction, "leaky": split.leaky,
                  "cv": {**dataclasses.asdict(config.stack.cv), "leaky": config.stack.cv.leaky,
                         "description": config.stack.cv.describe(lookback)},
                  "seed_compatible": config.seed_compatible},
        "lookback_rows": lookback,
        "models": models,
        "baselines": baselines,
        "layer_gain": [{k: _plain(v) for k, v in r.items()} for r in ev.layer_gain.to_dict("records")],
        "best": {**{k: _plain(v) for k, v in ev.best.items() if k != "key"}, **_interval(ev, best_row)},
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "notes": notes,
    }


INTERVAL_FIELDS = ("coverage_holdout", "mean_width_holdout", "coverage_oof", "mean_width_oof", "n_calibration")


def _interval(evaluation: Evaluation, row: dict) -> dict:
    """A model's `"interval"` entry of metrics.json (its INTERVAL_FIELDS nested): nominal level, method, hold-out
    coverage and mean width, the same measured across halves of the out-of-fold rows, and the out-of-fold rows it
    was calibrated on; nothing for a run without intervals."""
    if not evaluation.interval or "coverage_holdout" not in row:
        return {}
    values = {k: _plain(row.get(k)) for k in INTERVAL_FIELDS}
    values["n_calibration"] = None if values["n_calibration"] is None else int(values["n_calibration"])
    return {"interval": {**evaluation.interval, **values}}


def predictions_frame(result: FinishedRun) -> pd.DataFrame:
    """The hold-out predictions with residuals of every model and the best model's band as `lower` and `upper`,
    and `anomaly`: whether the row lies in an anomaly episode of that band (the run's AnomalySpec), ready to
    download."""
    frame = result.evaluation.predictions.copy()
    for key in result.evaluation.models["key"]:
        frame[f"residual {key}"] = result.evaluation.residuals(key)
    best = result.evaluation.best["key"]
    if f"lower {best}" in frame:
        frame["lower"], frame["upper"] = frame[f"lower {best}"], frame[f"upper {best}"]
        frame["anomaly"] = anomaly_column(frame, best, result.config.anomalies.min_samples)
    return frame


def save_run_outputs(result: FinishedRun, out_dir: str | Path) -> Path:
    """Write the run's metrics, configuration and hold-out predictions into `out_dir` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2, allow_nan=False))
    (out / "config.json").write_text(result.config.to_json())
    predictions_frame(result).to_parquet(out / "predictions.parquet", engine="pyarrow", index=False)
    return out


RUN_FILES = ("predictions.parquet", "metrics.json", "config.json")


def read_run_outputs(folder: str | Path) -> tuple[pd.DataFrame, dict, RunConfig]:
    """The predictions, metrics and configuration `save_run_outputs` wrote into `folder`; a folder without them, or
    with one that cannot be read, is a ConfigError naming the file."""
    folder = Path(folder)
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"'{folder}' is not a run folder (no {', '.join(missing)}); pass a folder `train --out` "
                          "wrote, or a run id with --store.")

    def damaged(name: str, exc: Exception) -> ConfigError:
        return ConfigError(f"The run's {name} in '{folder}' cannot be read ({str(exc).strip()[:300]}); train the run "
                           "again with `train --out`.")

    try:
        predictions = pd.read_parquet(folder / "predictions.parquet", engine="pyarrow")
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise damaged("predictions.parquet", exc) from None
    try:
        metrics = json.loads((folder / "metrics.json").read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise damaged("metrics.json", exc) from None
    if not isinstance(metrics, dict):
        raise damaged("metrics.json", ValueError("not a JSON object"))
    try:
        config = RunConfig.from_json((folder / "config.json").read_bytes())
    except (OSError, ConfigError) as exc:
        raise damaged("config.json", exc) from None
    return predictions, metrics, config
