"""Downsampling keeps extremes, order and alignment, and is fast on a million points."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from twin_core.downsample import downsample_frame, minmax_positions


@pytest.fixture(scope="module")
def walk() -> tuple[np.ndarray, np.ndarray]:
    """A random walk with one spike up and one down, far from the ends."""
    rng = np.random.default_rng(0)
    n = 200_003
    y = np.cumsum(rng.standard_normal(n))
    y[12_345], y[150_001] = 1e4, -1e4
    return np.arange(n) * 0.1, y


def thinned(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y as one trace of a chart gets them (the product thins every trace through downsample_frame)."""
    out = downsample_frame(pd.DataFrame({"x": x, "y": y}), "x", ["y"], max_points)
    return out["x"].to_numpy(), out["y"].to_numpy()


def test_keeps_extremes_ends_and_order(walk):
    x, y = walk
    xs, ys = thinned(x, y, 1000)
    assert len(xs) == len(ys) <= 1000
    assert ys.max() == y.max() and ys.min() == y.min()
    assert xs[0] == x[0] and xs[-1] == x[-1]
    assert np.all(np.diff(xs) > 0)
    np.testing.assert_array_equal(ys, y[np.searchsorted(x, xs)])  # points are real samples, not averages


def test_short_input_returned_unchanged():
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    xs, ys = thinned(x, y, 10)
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, y)


def test_nan_values_do_not_hide_extremes(walk):
    x, y = walk
    y = y.copy()
    y[:5000] = np.nan
    xs, ys = thinned(x, y, 500)
    assert len(xs) <= 500
    assert np.nanmax(ys) == np.nanmax(y) and np.nanmin(ys) == np.nanmin(y)


@pytest.mark.parametrize(("max_points", "message"), [(2, "at least 3"), (0, "at least 3")])
def test_too_small_budget_is_refused(max_points, message, walk):
    with pytest.raises(ValueError, match=message):
        thinned(*walk, max_points)


def test_frame_rows_are_shared_and_keep_every_columns_extremes(walk):
    x, y = walk
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"t": x, "a": y, "b": rng.standard_normal(len(x)), "c": -y, "tag": np.arange(len(x))})
    frame.loc[77_777, "b"] = 99.0
    out = downsample_frame(frame, "t", ["a", "b", "c"], 1200)
    assert len(out) <= 1200
    assert out["t"].is_monotonic_increasing
    for column in ("a", "b", "c"):
        assert out[column].max() == frame[column].max() and out[column].min() == frame[column].min()
    pd.testing.assert_frame_equal(out, frame.loc[out.index])  # whole rows, aligned


def test_frame_too_many_columns_for_budget_is_refused():
    frame = pd.DataFrame({"t": np.arange(100.0), **{f"c{i}": np.arange(100.0) for i in range(10)}})
    with pytest.raises(ValueError, match="too small for 10 aligned columns"):
        downsample_frame(frame, "t", [f"c{i}" for i in range(10)], 20)


def test_million_points_well_under_a_second():
    rng = np.random.default_rng(2)
    x = np.arange(1_000_000) * 0.1
    y = np.cumsum(rng.standard_normal(len(x)))
    # CPU time of this process, not wall time: other jobs on a shared CI machine must not fail the test
    start = time.process_time()
    keep = minmax_positions(y, 4000)
    assert time.process_time() - start < 0.5
    assert len(keep) <= 4000
