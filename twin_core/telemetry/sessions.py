"""From checked files to one `Telemetry`: rows sorted in time, repeated timestamps dropped (within a file and
across files), sessions cut at file boundaries and at long pauses, the canonical frame gathered and fingerprinted.

The row order is worked out on positions and each column gathered once, so the result costs one copy of the
data at most.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_core.errors import ConfigError
from twin_core.telemetry.frame import OVERALL, SESSION, SOURCE, TIMESTAMP, WORKLOAD, Telemetry, frame_fingerprint
from twin_core.telemetry.report import ValidationReport, _n, _num
from twin_core.telemetry.schema import _FileData


@dataclass(frozen=True)
class SessionRule:
    """When a pause inside a file starts a new session: longer than both `gap_factor` median sampling intervals
    and `min_gap_s` seconds. Its field defaults are the one definition the loaders, the CLI and the app show."""

    gap_factor: float = 10.0
    min_gap_s: float = 10.0

    def __post_init__(self) -> None:
        for label, value, lowest in (("gap_factor", self.gap_factor, 0.0), ("min_gap_s", self.min_gap_s, -1.0)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > lowest):
                raise ConfigError(f"{label} must be a {'positive' if lowest == 0 else 'non-negative'} "
                                  f"finite number, got {value!r}.")

    def threshold(self, interval: float) -> float:
        """The longest pause that stays inside a session, for a median sampling `interval` (none when unknown)."""
        return max(self.gap_factor * interval, self.min_gap_s) if math.isfinite(interval) else math.inf


def _sort_file(f: _FileData, report: ValidationReport) -> pd.DataFrame:
    """Stable time order within the file; duplicate timestamps keep the file's last row."""
    ts = f.frame[TIMESTAMP].to_numpy()
    frame = f.frame
    if np.any(ts[1:] < ts[:-1]):
        report.add("info", "unsorted", f"File '{f.name}' was not in time order; its rows were sorted.", file=f.name)
        frame = frame.take(np.argsort(ts, kind="stable"))
    dup = frame[TIMESTAMP].duplicated(keep="last").to_numpy()
    if dup.any():
        example = frame[TIMESTAMP].to_numpy()[dup][0]
        report.add("warning", "duplicate_timestamps",
                   f"File '{f.name}' has {_n(int(dup.sum()), 'row')} whose timestamp repeats an earlier one; "
                   "the last row of each repeated timestamp was kept.",
                   file=f.name, column=TIMESTAMP, example=f"{example:.6f}")
        frame = frame[~dup]
    return frame.reset_index(drop=True)


def _assemble(files: list[_FileData], target: str, gaps: SessionRule, report: ValidationReport) -> Telemetry:
    """Concatenate sorted files, split sessions at file boundaries and long gaps, sort by time, fingerprint."""
    names = [f.name for f in files]
    if len(set(names)) < len(names):
        report.add("warning", "duplicate_source_names",
                   "Several sources share a name; their rows stay separate sessions but the source column "
                   "cannot tell them apart, so give each file a distinct name.")
    frames = [_sort_file(f, report) for f in files]
    file_idx = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    data = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    ts = data[TIMESTAMP].to_numpy()
    same_file = file_idx[1:] == file_idx[:-1]
    steps = np.diff(ts)[same_file]
    interval = float(np.median(steps)) if steps.size else float("nan")
    if not steps.size:
        report.add("warning", "no_interval",
                   "No file has two rows, so the sampling interval is unknown and sessions follow files only.")
    breaks = np.concatenate([[True], ~same_file | _long_gaps(np.diff(ts), same_file, interval, gaps, report)])
    raw_session = np.cumsum(breaks) - 1
    # the row order is worked out on positions and the columns are gathered once, in _canonical_frame
    rows = np.argsort(ts, kind="stable")
    rows = rows[_drop_cross_file_duplicates(ts[rows], file_idx[rows], names, report)]
    session = pd.factorize(raw_session[rows])[0].astype("int64")
    overlapping = bool(np.count_nonzero(session[1:] != session[:-1]) > session.max(initial=0))
    # every session one contiguous block of row ids, sessions in order of their start (a no-op unless files overlap)
    by_session = np.argsort(session, kind="stable")
    rows, session = rows[by_session], session[by_session]
    cores = files[0].cores
    frame = _canonical_frame(data, rows, session, file_idx[rows], names, cores, files[0].extras)
    _report_sessions(frame, overlapping, report)
    return Telemetry(
        frame=frame,
        core_columns=cores,
        target=target,
        extra_columns=files[0].extras,
        report=report,
        sampling_interval=interval,
        fingerprint=frame_fingerprint(frame),
    )


def _long_gaps(
    steps: np.ndarray, same_file: np.ndarray, interval: float, gaps: SessionRule, report: ValidationReport
) -> np.ndarray:
    """Which steps inside a file break the session; short stalls are reported but kept inside it."""
    long = same_file & (steps > gaps.threshold(interval))
    stalls = same_file & ~long & (steps > gaps.gap_factor * interval)
    if stalls.any():
        report.add("info", "short_stalls",
                   f"{int(stalls.sum())} pauses inside files ({_num(steps[stalls].min())} to "
                   f"{_num(steps[stalls].max())} s) exceed {_num(gaps.gap_factor)} sampling intervals but not "
                   f"{_num(gaps.min_gap_s)} s, so they were kept inside their sessions.", column=TIMESTAMP)
    if long.any():
        report.add("info", "session_gaps",
                   f"{int(long.sum())} pauses inside files longer than {_num(gaps.threshold(interval))} s "
                   "start new sessions.", column=TIMESTAMP)
    return long


def _drop_cross_file_duplicates(
    ts: np.ndarray, file_idx: np.ndarray, names: list[str], report: ValidationReport
) -> np.ndarray:
    """Rows of different files with the same timestamp: keep the one from the file given last."""
    dup = np.zeros(len(ts), bool)
    dup[:-1] = ts[1:] == ts[:-1]
    if dup.any():
        involved = sorted({names[i] for i in file_idx[dup]} | {names[i] for i in file_idx[np.roll(dup, 1)]})
        report.add("warning", "duplicate_timestamps",
                   f"{_n(int(dup.sum()), 'row')} share their timestamp with a row of another file "
                   f"({', '.join(involved)}); the row from the file given last was kept.",
                   column=TIMESTAMP, example=f"{ts[dup][0]:.6f}")
    return ~dup


def _canonical_frame(
    data: pd.DataFrame,
    rows: np.ndarray,
    session: np.ndarray,
    file_idx: np.ndarray,
    names: list[str],
    cores: tuple[str, ...],
    extras: tuple[str, ...],
) -> pd.DataFrame:
    """The documented column order and dtypes with a fresh RangeIndex, taking `rows` of `data` in that order.

    Each column is gathered once (or used as it is when `rows` keeps every row in place) and never
    consolidated with the others, so the frame costs one copy of the data at most.
    """
    in_place = len(rows) == len(data) and bool((rows == np.arange(len(rows))).all())

    def pick(values):
        return values if in_place else values.take(rows)

    columns: dict[str, object] = {
        TIMESTAMP: pick(data[TIMESTAMP].to_numpy(dtype="float64")),
        SESSION: session,
        SOURCE: pd.array(names, dtype="str").take(file_idx),
        WORKLOAD: pick(data[WORKLOAD].astype("str").array),
        OVERALL: pick(data[OVERALL].to_numpy(dtype="float64")),
    }
    columns.update({c: pick(data[c].to_numpy(dtype="float64")) for c in cores})
    columns.update({c: pick(data[c].array) for c in extras})
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), copy=False)


def _report_sessions(frame: pd.DataFrame, overlapping: bool, report: ValidationReport) -> None:
    """Record sessions that overlap in time and sessions that hold several workloads."""
    if overlapping:
        report.add("warning", "overlapping_sessions",
                   "Some files overlap in time; each is kept as its own session (rows ordered by session, then "
                   "time), but check that the files belong to one machine and one recording period.")
    workloads = frame.groupby(SESSION)[WORKLOAD].nunique()
    mixed = workloads[workloads > 1].index.tolist()
    if mixed:
        report.add("info", "workload_change",
                   f"Sessions {', '.join(map(str, mixed))} change workload part-way; they are kept whole.",
                   column=WORKLOAD)
