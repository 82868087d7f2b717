"""Thin long traces for display: min-max buckets (spikes survive) or LTTB (shape survives), vectorised.

Buckets are consecutive runs of rows of equal length, so inputs are expected in time order.
The first and last points are always kept so the visible range does not shrink.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _check_budget(max_points: int, least: int = 3) -> None:
    if max_points < least:
        raise ValueError(f"max_points must be at least {least}, got {max_points}.")


def _bucket_extremes(values: np.ndarray, buckets: int) -> np.ndarray:
    """Sorted row positions of each bucket's min and max, for every column of 2-D `values`, plus both ends."""
    n, k = values.shape
    size = -(-n // buckets)
    padded_len = size * -(-n // size)
    low = np.full((padded_len, k), np.inf)
    high = np.full((padded_len, k), -np.inf)
    finite = np.isfinite(values)
    low[:n] = np.where(finite, values, np.inf)
    high[:n] = np.where(finite, values, -np.inf)
    offsets = (np.arange(padded_len // size) * size)[:, None]
    lows = low.reshape(-1, size, k).argmin(axis=1) + offsets
    highs = high.reshape(-1, size, k).argmax(axis=1) + offsets
    positions = np.concatenate([lows.ravel(), highs.ravel(), [0, n - 1]])
    return np.unique(np.minimum(positions, n - 1))


def minmax_positions(values: np.ndarray, max_points: int) -> np.ndarray:
    """Row positions a min-max downsample keeps for the columns of `values` (1-D or 2-D), at most `max_points`."""
    values = np.asarray(values, dtype=float)
    values = values.reshape(len(values), -1)
    n, k = values.shape
    if n <= max_points:
        return np.arange(n)
    floor = (max_points - 2) // (2 * k)
    if floor < 1:
        raise ValueError(f"max_points={max_points} is too small for {k} aligned columns (need {2 * k + 2}).")
    buckets = (max_points - 2) // 2
    while True:
        positions = _bucket_extremes(values, buckets)
        if len(positions) <= max_points or buckets == floor:
            return positions
        # the union grows about linearly with the bucket count: shrink in proportion, never below the safe floor
        buckets = max(floor, min(buckets - 1, int(buckets * max_points / len(positions) * 0.98)))


def minmax_downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's min and max of `y` in time order (peaks and troughs survive); short inputs unchanged."""
    _check_budget(max_points)
    x, y = np.asarray(x), np.asarray(y)
    if len(y) <= max_points:
        return x, y
    keep = minmax_positions(y, max_points)
    return x[keep], y[keep]


def _as_float(x: np.ndarray) -> np.ndarray:
    """Numbers for triangle areas; datetimes become their integer ticks."""
    if np.issubdtype(x.dtype, np.datetime64):
        return x.view(np.int64).astype(float)
    return x.astype(float)


def lttb_positions(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Row positions Largest-Triangle-Three-Buckets keeps: first, last and one point per bucket between."""
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    xf, yf = _as_float(np.asarray(x)), np.asarray(y, dtype=float)
    edges = np.linspace(1, n - 1, max_points - 1).astype(np.int64)  # max_points - 2 inner buckets
    inner_x, inner_y = xf[:-1], yf[:-1]  # reduceat runs the last bucket to the array's end: stop before the last point
    finite = np.isfinite(inner_y)
    sums = np.add.reduceat(np.where(finite, inner_y, 0.0), edges[:-1])
    counts = np.add.reduceat(finite.astype(float), edges[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_y = np.append(sums / counts, yf[-1])
    mean_x = np.append(np.add.reduceat(inner_x, edges[:-1]) / np.diff(edges), xf[-1])
    chosen = np.empty(max_points, dtype=np.int64)
    chosen[0], chosen[-1] = 0, n - 1
    ax, ay = xf[0], yf[0]
    for b in range(max_points - 2):
        lo, hi = edges[b], edges[b + 1]
        bx, by = xf[lo:hi], yf[lo:hi]
        area = np.abs((ax - mean_x[b + 1]) * (by - ay) - (ax - bx) * (mean_y[b + 1] - ay))
        pick = lo + int(np.argmax(np.nan_to_num(area, nan=-1.0)))
        chosen[b + 1] = pick
        ax, ay = xf[pick], yf[pick]
    return chosen


def lttb_downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest-Triangle-Three-Buckets: the visual shape of the line with `max_points` points; short inputs unchanged."""
    _check_budget(max_points)
    x, y = np.asarray(x), np.asarray(y)
    if len(y) <= max_points:
        return x, y
    keep = lttb_positions(x, y, max_points)
    return x[keep], y[keep]


def downsample_frame(frame: pd.DataFrame, x: str, columns: list[str], max_points: int) -> pd.DataFrame:
    """The rows (at most `max_points`) holding every bucket's min and max of any of `columns`, so traces stay aligned.

    `frame` must be sorted by `x`; the other columns of the kept rows come along (sessions, hover data).
    """
    _check_budget(max_points)
    if x not in frame.columns:
        raise KeyError(f"Column '{x}' is not in the frame.")
    if len(frame) <= max_points:
        return frame
    keep = minmax_positions(frame[list(columns)].to_numpy(dtype=float), max_points)
    return frame.iloc[keep]
