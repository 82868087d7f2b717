"""Load, validate and normalise CPU telemetry into one sorted frame split into recording sessions.

INTERFACE SKETCH (to be implemented): the dataclasses and signatures below are the contract the
rest of twin_core relies on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

import pandas as pd

TIMESTAMP = "timestamp"
WORKLOAD = "workload_type"
OVERALL = "cpu_util_overall"
SESSION = "session"
SOURCE = "source"
DEFAULT_TARGET = "cpu_util_core_0"


@dataclass(frozen=True)
class ValidationIssue:
    """One finding about the data: errors stop loading, warnings do not."""

    level: Literal["error", "warning", "info"]
    code: str
    message: str
    file: str | None = None
    column: str | None = None
    example: str | None = None


@dataclass
class ValidationReport:
    """All findings of one load, in the order found."""

    issues: list[ValidationIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[ValidationIssue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Telemetry:
    """Validated telemetry: one frame, sorted by time, with a session id per row.

    frame: RangeIndex 0..n-1 (the row id used everywhere downstream); columns
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
        raise NotImplementedError


def load_telemetry(
    sources: str | Path | Iterable[str | Path],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = 10.0,
) -> Telemetry:
    """Load parquet files (paths or directories), validate, normalise and split into sessions."""
    raise NotImplementedError


def load_uploaded(
    files: Iterable[tuple[str, bytes]], *, target: str = DEFAULT_TARGET, gap_factor: float = 10.0
) -> Telemetry:
    """Same as load_telemetry for (file name, bytes) pairs, as a browser upload gives them."""
    raise NotImplementedError


def telemetry_from_frames(
    frames: Iterable[tuple[str, pd.DataFrame]], *, target: str = DEFAULT_TARGET, gap_factor: float = 10.0
) -> Telemetry:
    """Validate in-memory frames, each named by its source (a file name or 'demo')."""
    raise NotImplementedError


def validate_sources(
    sources: str | Path | Iterable[str | Path], *, target: str = DEFAULT_TARGET, gap_factor: float = 10.0
) -> ValidationReport:
    """Run every check and return the report without raising (for `python -m twin_core validate`)."""
    raise NotImplementedError
