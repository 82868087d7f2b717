"""Unbroken stretches of time-ordered hold-out rows: where a chart may draw a line and an anomaly episode may run.

A stretch ends at every session change, at every pause inside a session longer than PAUSE_FACTOR times that
session's median sampling step (a stall, not sampling), and, for rows several runs share, wherever the next row is
not the next row of the telemetry. Charts (`plots`) and anomaly episodes (`anomalies`) both read them, so an episode
never spans a break the trace draws.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from twin_core.telemetry import SESSION, TIMESTAMP, SessionRule

PAUSE_FACTOR = SessionRule().gap_factor


def stretch_ids(frame: pd.DataFrame) -> np.ndarray:
    """A stretch id per row (rows in time order): a new stretch at every session change and at every pause."""
    sessions = frame[SESSION].to_numpy()
    steps = np.diff(frame[TIMESTAMP].to_numpy(dtype=float))
    same = sessions[1:] == sessions[:-1]
    median = pd.Series(steps[same]).groupby(sessions[1:][same]).median()
    limit = PAUSE_FACTOR * pd.Series(sessions[1:]).map(median).to_numpy(dtype=float)
    return np.cumsum(np.r_[False, ~same | (steps > limit)])


def shared_stretch_ids(frame: pd.DataFrame) -> np.ndarray:
    """A stretch id per hold-out row (in time order, with its telemetry `row`): a new stretch at every session change
    and pause, and wherever the next row is not the next row of the telemetry, so nothing is drawn or counted across
    rows that were not held out (a ramp there would look like a prediction)."""
    pauses = stretch_ids(frame)
    apart = np.diff(frame["row"].to_numpy()) != 1
    return np.cumsum(np.r_[False, apart | (np.diff(pauses) != 0)])
