"""Thin long traces for display: min-max buckets, vectorised, so spikes and dips survive.

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
