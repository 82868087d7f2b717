"""The `Telemetry` type that loading produces, the names of its columns and its content fingerprint.

Everything downstream (features, splits, evaluation, plots, the app) reads telemetry through these names and this
type only, so they live apart from the code that reads and checks the files.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from twin_core.telemetry.report import ValidationReport


TIMESTAMP = "timestamp"
WORKLOAD = "workload_type"
OVERALL = "cpu_util_overall"
SESSION = "session"
SOURCE = "source"
DEFAULT_TARGET = "cpu_util_core_0"
CORE_PATTERN = re.compile(r"^cpu_util_core_([0-9]+)$")


@dataclass(frozen=True)
class Telemetry:
    """Validated telemetry: one frame with a session id per row, each session a contiguous block in time order.

    frame: RangeIndex 0..n-1 (the row id used everywhere downstream; sessions in order of their start, rows
      sorted by time within a session, so windows and purge gaps can count rows); columns
      timestamp (float64 epoch seconds), session (int64, 0..S-1 in time order), source (str),
      workload_type (str), cpu_util_overall (float64), the core columns (float64, by core number),
      then the extra columns.
    """

    frame: pd.DataFrame
    core_columns: tuple[str, ...]
    target: str
    extra_columns: tuple[str, ...]
    report: ValidationReport
    sampling_interval: float
    fingerprint: str

    @property
    def n_cores(self) -> int:
        return len(self.core_columns)

    @property
    def other_cores(self) -> tuple[str, ...]:
        return tuple(c for c in self.core_columns if c != self.target)

    @property
    def n_sessions(self) -> int:
        return int(self.frame[SESSION].nunique())

    def sessions(self) -> pd.DataFrame:
        """One row per session: session, source, workload(s), start, end, rows, duration_s."""
        groups = self.frame.groupby(SESSION, sort=True)
        out = pd.DataFrame(
            {
                SOURCE: groups[SOURCE].agg(_join_unique),
                WORKLOAD: groups[WORKLOAD].agg(_join_unique),
                "start": groups[TIMESTAMP].min(),
                "end": groups[TIMESTAMP].max(),
                "rows": groups.size().astype("int64"),
            }
        )
        out["duration_s"] = out["end"] - out["start"]
        return out.rename_axis(SESSION).reset_index()


def core_columns_of(columns: Iterable[object]) -> tuple[str, ...]:
    """The `cpu_util_core_<n>` columns among `columns`, ordered by core number (core_10 after core_9)."""
    found = [(int(m.group(1)), str(c)) for c in columns if (m := CORE_PATTERN.match(str(c)))]
    return tuple(name for _, name in sorted(found))


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over column names and row hashes: equal for equal content, whatever the load path."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def _join_unique(values: pd.Series) -> str:
    return ", ".join(pd.unique(values.astype(str)))
