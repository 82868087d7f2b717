"""Cumulative cpu-time counters (node_exporter's node_cpu_seconds_total, /proc/stat jiffies) turned into
per-cpu utilisation over each sampling interval, without ever inventing a number.

Utilisation over an interval is 100 × Δbusy / Δtotal of that cpu, stamped at the interval's end (as psutil and
sar stamp theirs). An interval is left out, and the report says how many and why, when a counter went down (a
reboot or a restarted exporter: the file is cut there, so a new session starts), when a cpu is missing from
either of its samples, when no time passed on a cpu, or when it spans a pause much longer than the usual
interval (its average would be drawn as one sample; the pause still splits the session when loaded).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_core.telemetry.report import ValidationReport, _n
from twin_core.telemetry.sessions import SessionRule


@dataclass(frozen=True)
class Segment:
    """Rows between two counter resets: interval end times, per-cpu percentages and the overall when given."""

    times: np.ndarray
    cores: dict[int, np.ndarray]
    overall: np.ndarray | None


def counter_segments(
    name: str,
    times: np.ndarray,
    busy: dict[int, np.ndarray],
    total: dict[int, np.ndarray],
    report: ValidationReport,
    overall_busy: np.ndarray | None = None,
    overall_total: np.ndarray | None = None,
) -> list[Segment]:
    """Per-cpu utilisation from cumulative busy and total counters sampled at `times` (NaN: cpu not in sample).

    `overall_busy`/`overall_total` are the source's own aggregate counters (the `cpu` line of /proc/stat), if any.
    Returns one segment per stretch between counter resets; an empty list (with an error) if nothing is usable.
    """
    cpus = sorted(busy)
    order = np.argsort(times, kind="stable")
    t = np.asarray(times, dtype="float64")[order]
    keep = np.r_[True, np.diff(t) > 0]  # a sample repeated at the same time (scraped twice) is read once
    if not keep.all():
        report.add("info", "repeated_samples",
                   f"File '{name}': {_n(int((~keep).sum()), 'sample')} repeated an earlier timestamp and were read "
                   "once.", file=name)
    t = t[keep]
    b = np.column_stack([np.asarray(busy[c], dtype="float64")[order][keep] for c in cpus])
    tot = np.column_stack([np.asarray(total[c], dtype="float64")[order][keep] for c in cpus])
    aggregate = overall_busy is not None and overall_total is not None
    if aggregate:
        ob = np.asarray(overall_busy, dtype="float64")[order][keep]
        ot = np.asarray(overall_total, dtype="float64")[order][keep]
    if len(t) < 2:
        report.add("error", "empty_file",
                   f"File '{name}' has {_n(len(t), 'sample')} of cumulative cpu counters; utilisation needs at least "
                   "two samples of the same cpus. Record for longer.", file=name)
        return []

    dt = np.diff(t)
    db, dtot = np.diff(b, axis=0), np.diff(tot, axis=0)
    reset = ((db < 0) | (dtot < 0)).any(axis=1)
    if aggregate:
        dob, dot = np.diff(ob), np.diff(ot)
        reset |= (dob < 0) | (dot < 0)
    missing = np.isnan(db).any(axis=1) | np.isnan(dtot).any(axis=1)
    if aggregate:  # a sample without the source's own aggregate line
        missing |= np.isnan(dob) | np.isnan(dot)
    still = ~missing & ~reset & (dtot <= 0).any(axis=1)
    if aggregate:
        still |= ~missing & ~reset & (dot <= 0)
    median = float(np.median(dt))
    pause = dt > SessionRule().threshold(median)  # a pause by the loader's default session rule
    usable = ~(reset | missing | still | pause)

    _say_left_out(name, t, reset, missing, still, pause, report)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.clip(100.0 * db / dtot, 0.0, 100.0)
        overall = np.clip(100.0 * dob / dot, 0.0, 100.0) if aggregate else None
    segments: list[Segment] = []
    cuts = np.flatnonzero(reset)
    bounds = [0, *(cuts + 1), len(dt)]  # interval indices; a reset interval itself is never usable
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = np.arange(lo, hi)[usable[lo:hi]]
        if len(rows) == 0:
            continue
        segments.append(Segment(times=t[rows + 1], cores={c: util[rows, i] for i, c in enumerate(cpus)},
                                overall=None if overall is None else overall[rows]))
    if not segments:
        report.add("error", "empty_file",
                   f"File '{name}' has no interval in which every cpu's counters were present and rising; "
                   "check that the export holds the same cpus in every sample.", file=name)
    return segments


def _say_left_out(
    name: str, t: np.ndarray, reset: np.ndarray, missing: np.ndarray, still: np.ndarray, pause: np.ndarray,
    report: ValidationReport,
) -> None:
    """One finding per reason an interval was left out, with a count and the first time it happened."""
    def when(mask: np.ndarray) -> str:
        return pd.Timestamp(t[int(np.flatnonzero(mask)[0]) + 1], unit="s").isoformat(sep=" ") + " UTC"

    if reset.any():
        report.add("warning", "counter_reset",
                   f"File '{name}': the cpu counters went down {_n(int(reset.sum()), 'time')} "
                   f"(first at {when(reset)}), "
                   "as after a reboot or a restarted exporter; the interval across each reset is left out and a new "
                   "session starts there.", file=name)
    if missing.any():
        report.add("warning", "missing_cpus",
                   f"File '{name}': {_n(int(missing.sum()), 'interval')} (first ending at {when(missing)}) lack a "
                   "cpu (or the overall line) in one of their samples and are left out rather than guessed.", file=name)
    if still.any():
        report.add("info", "no_time_passed",
                   f"File '{name}': {_n(int(still.sum()), 'interval')} (first ending at {when(still)}) show no cpu "
                   "time passing and are left out.", file=name)
    if pause.any():
        report.add("info", "counter_pause",
                   f"File '{name}': {_n(int(pause.sum()), 'interval')} span a pause in sampling (first ending at "
                   f"{when(pause)}); their averages are left out and the pause splits the session.", file=name)
