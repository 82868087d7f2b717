"""Prediction intervals for every model of a stack, calibrated on out-of-fold residuals of training rows only.

Split-conformal: a model's band is its prediction ± the finite-sample conformal quantile of its out-of-fold
residuals (the ceil((n+1)·nominal)-th smallest of n), so the hold-out never calibrates anything. Three methods:
`split` (one half-width), `workload` (one per workload, Mondrian; a workload with fewer than MIN_GROUP_ROWS
out-of-fold rows takes the pooled one, and the calibration's notes say so) and `local` (residuals divided by a
scale every row has without reading the target: the spread of the other cores over the last LOCAL_WINDOW rows of
its session, plus LOCAL_FLOOR points; both constants are fixed here, not fitted, so the scale never sees a
residual and the normalised quantile is calibrated as honestly as the plain one). The other cores are inputs of
both kinds of twin, so a behavioural twin's band reads nothing it may not.

MAPIE is not used: its regressors refit the estimator over their own splitters (or take a prefit one with a
separate calibration set), while our out-of-fold predictions are already made by the stack's purged,
time-ordered folds for every layer at once; the conformal step on top of them is the few lines below.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin_core.errors import StoreError
from twin_core.telemetry import SESSION, WORKLOAD, Telemetry

MIN_GROUP_ROWS = 50  # out-of-fold rows a workload needs for a half-width of its own (else the pooled one)
LOCAL_WINDOW = 20  # rows of the other cores' rolling spread (2 s at 10 Hz)
LOCAL_FLOOR = 1.0  # percentage points added to that spread, so a flat stretch still gets a band


def conformal_quantile(scores: np.ndarray, nominal: float) -> float:
    """The finite-sample split-conformal quantile: the ceil((n+1)·nominal)-th smallest finite score; NaN when there
    are too few scores for that rank to exist (no band can honestly be given)."""
    values = np.sort(np.asarray(scores, dtype=float)[np.isfinite(scores)])
    rank = math.ceil((len(values) + 1) * nominal)
    return float(values[rank - 1]) if 0 < rank <= len(values) else float("nan")


def local_scale(telemetry: Telemetry, rows: np.ndarray) -> np.ndarray:
    """The `local` method's scale of `rows`: the standard deviation of the mean of the other cores over the last
    LOCAL_WINDOW rows of the same session (the row itself included), plus LOCAL_FLOOR. Reads no target."""
    frame = telemetry.frame
    others = frame[list(telemetry.other_cores)].to_numpy(dtype=float).mean(axis=1)
    spread = (pd.Series(others).groupby(frame[SESSION].to_numpy()).rolling(LOCAL_WINDOW, min_periods=2).std()
              .reset_index(level=0, drop=True).sort_index().to_numpy())
    return np.nan_to_num(spread, nan=0.0)[rows] + LOCAL_FLOOR


@dataclass(frozen=True)
class Calibration:
    """A trained twin's interval calibration: per model key, the conformal quantile of its out-of-fold scores
    (absolute residuals, or residuals over the local scale), pooled and (method `workload`) per workload."""

    nominal: float
    method: str
    pooled: dict[str, float]
    by_workload: dict[str, dict[str, float]] = field(default_factory=dict)
    n_calibration: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    oof_check: dict[str, tuple[float, float]] = field(default_factory=dict)  # calibration-time only, not stored

    def half_width(self, key: str, workloads: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
        """Each row's half-width for the model `key`; NaN for a model without a band."""
        pooled = self.pooled.get(key, float("nan"))
        width = np.full(len(workloads), pooled, dtype=float)
        for workload, q in self.by_workload.get(key, {}).items():
            width[np.asarray(workloads) == workload] = q
        return width * scale if self.method == "local" and scale is not None else width

    def band(self, key: str, predicted: np.ndarray, workloads: np.ndarray, scale: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the model `key` around its predictions (float32, NaN where none), within the
        0–100 % a core's utilisation can take (clipping never uncovers an actual value, it only narrows the band)."""
        width = self.half_width(key, workloads, scale)
        predicted = np.asarray(predicted, dtype=float)
        return (np.clip(predicted - width, 0.0, 100.0).astype(np.float32),
                np.clip(predicted + width, 0.0, 100.0).astype(np.float32))

    def bands_for(self, telemetry: Telemetry, rows: np.ndarray, predicted: Mapping[str, np.ndarray]
                  ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The band of every calibrated model among `predicted` (model key → its predictions of telemetry `rows`)."""
        workloads = telemetry.frame[WORKLOAD].to_numpy()[rows]
        scale = local_scale(telemetry, rows) if self.method == "local" else None
        return {key: self.band(key, values, workloads, scale) for key, values in predicted.items()
                if key in self.pooled}

    def to_dict(self) -> dict:
        """JSON-safe form for the model artifact (a quantile that could not be given is null)."""
        def plain(value: float) -> float | None:
            return float(value) if np.isfinite(value) else None
        return {"nominal": self.nominal, "method": self.method,
                "pooled": {k: plain(v) for k, v in self.pooled.items()},
                "by_workload": {k: {w: plain(q) for w, q in g.items()} for k, g in self.by_workload.items()},
                "n_calibration": dict(self.n_calibration), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: Mapping) -> Calibration:
        """The calibration from `to_dict` output; anything else is a StoreError."""
        def number(value) -> float:
            if value is None:
                return float("nan")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise StoreError(f"an interval half-width must be a number, got {value!r}")
            return float(value)
        try:
            if data["method"] not in ("split", "workload", "local"):
                raise StoreError(f"unknown interval method {data['method']!r}")
            return cls(nominal=number(data["nominal"]), method=str(data["method"]),
                       pooled={str(k): number(v) for k, v in data["pooled"].items()},
                       by_workload={str(k): {str(w): number(q) for w, q in g.items()}
                                    for k, g in data.get("by_workload", {}).items()},
                       n_calibration={str(k): int(v) for k, v in data.get("n_calibration", {}).items()},
                       notes=tuple(str(n) for n in data.get("notes", ())))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise StoreError(f"the interval calibration is incomplete or damaged ({type(exc).__name__}: {exc})"
                             ) from None


def _quantiles(score: np.ndarray, workloads: np.ndarray, nominal: float, method: str
               ) -> tuple[float, dict[str, float], set[str]]:
    """The pooled conformal quantile of `score`, one per workload with enough finite scores (method `workload`),
    and the workloads that had too few."""
    finite = np.isfinite(score)
    groups, few = {}, set()
    for workload in pd.unique(workloads) if method == "workload" else ():
        mine = finite & (workloads == workload)
        if mine.sum() >= MIN_GROUP_ROWS:
            groups[str(workload)] = conformal_quantile(score[mine], nominal)
        else:
            few.add(str(workload))
    return conformal_quantile(score, nominal), groups, few


def _cross_half(actual: np.ndarray, predicted: np.ndarray, workloads: np.ndarray, sessions: np.ndarray,
                scale: np.ndarray, nominal: float, method: str) -> tuple[float, float]:
    """Coverage and mean width on out-of-fold rows of a band calibrated on the other half of them: each session's
    earlier half of training rows calibrates its later half and back, the two averaged. Training rows only, so
    methods can be compared (and the default chosen) without the hold-out."""
    later = np.zeros(len(actual), dtype=bool)
    for session in pd.unique(sessions):
        mine = np.flatnonzero(sessions == session)
        later[mine[len(mine) // 2:]] = True
    score = np.abs(actual - predicted) / scale
    found = []
    for fit, check in ((~later, later), (later, ~later)):
        pooled, groups, _ = _quantiles(score[fit], workloads[fit], nominal, method)
        half = np.full(int(check.sum()), pooled)
        for workload, q in groups.items():
            half[workloads[check] == workload] = q
        lower = np.clip(predicted[check] - half * scale[check], 0.0, 100.0)
        upper = np.clip(predicted[check] + half * scale[check], 0.0, 100.0)
        found.append(coverage(actual[check], lower, upper)[:2])
    return float(np.mean([c for c, _ in found])), float(np.mean([w for _, w in found]))


def calibrate(telemetry: Telemetry, train_rows: np.ndarray, oof: Mapping[str, np.ndarray], *, nominal: float,
              method: str) -> Calibration:
    """Calibrate every model (model key → its out-of-fold predictions of `train_rows`, NaN where it has none) on
    its out-of-fold residuals: training rows only. `oof_check` holds each model's cross-half coverage and width."""
    actual = telemetry.frame[telemetry.target].to_numpy(dtype=float)[train_rows]
    workloads = telemetry.frame[WORKLOAD].to_numpy()[train_rows]
    sessions = telemetry.frame[SESSION].to_numpy()[train_rows]
    scale = local_scale(telemetry, train_rows) if method == "local" else np.ones(len(train_rows))
    pooled, by_workload, counts, checks, notes, few = {}, {}, {}, {}, [], set()
    for key, predicted in oof.items():
        predicted = np.asarray(predicted, dtype=float)
        score = np.abs(actual - predicted) / scale
        counts[key] = int(np.isfinite(score).sum())
        pooled[key], groups, missing = _quantiles(score, workloads, nominal, method)
        few |= missing
        if method == "workload":
            by_workload[key] = groups
        if not np.isfinite(pooled[key]):
            notes.append(f"{key} has {counts[key]} out-of-fold rows, too few for a {nominal:.0%} interval; "
                         "it has no band.")
        checks[key] = _cross_half(actual, predicted, workloads, sessions, scale, nominal, method)
    if few:
        notes.append(f"Workload(s) {', '.join(sorted(few))} had fewer than {MIN_GROUP_ROWS} out-of-fold rows for "
                     "some model: there its band uses the half-width of all workloads together.")
    return Calibration(nominal, method, pooled, by_workload, counts, tuple(notes), checks)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float, int]:
    """Share of rows whose actual value lies within [lower, upper], the mean width, and the rows counted (those
    with an actual value and a band)."""
    actual = np.asarray(actual, dtype=float)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    ok = np.isfinite(actual) & np.isfinite(lower) & np.isfinite(upper)
    if not ok.any():
        return float("nan"), float("nan"), 0
    inside = (actual[ok] >= lower[ok]) & (actual[ok] <= upper[ok])
    return float(inside.mean()), float((upper[ok] - lower[ok]).mean()), int(ok.sum())
