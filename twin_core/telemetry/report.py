"""The validation report: every finding of a load (`ValidationIssue`, `ValidationReport`), the exception class
raised for each error code, and the small helpers that word the findings.

Every step of loading writes what it finds here instead of raising, so one load reports every problem at once;
only the finished report decides what the loader raises: the first error's `TelemetryError` subclass (from
`ERROR_CLASSES`), carrying the whole report as `exc.report`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal

from twin_core.errors import (
    AmbiguousColumnError,
    BadTimestampError,
    EmptyTelemetryError,
    MissingColumnError,
    MissingWorkloadError,
    NestedColumnError,
    NonFiniteError,
    NonNumericError,
    NotParquetError,
    OutOfRangeError,
    SchemaMismatchError,
    SourceNotFoundError,
    TelemetryError,
    TooFewCoresError,
)


# Issue code -> exception raised when that issue is the first error of a load.
ERROR_CLASSES: dict[str, type[TelemetryError]] = {
    "source_not_found": SourceNotFoundError,
    "no_sources": EmptyTelemetryError,
    "empty_folder": EmptyTelemetryError,
    "not_parquet": NotParquetError,
    "malformed_line": NotParquetError,  # a line of a text export that its format cannot hold
    "no_columns": EmptyTelemetryError,
    "empty_file": EmptyTelemetryError,
    "missing_column": MissingColumnError,
    "missing_target": MissingColumnError,
    "target_not_core": MissingColumnError,
    "too_few_cores": TooFewCoresError,
    "bad_timestamp": BadTimestampError,
    "missing_workload": MissingWorkloadError,
    "non_numeric": NonNumericError,
    "non_finite": NonFiniteError,
    "out_of_range": OutOfRangeError,
    "schema_mismatch": SchemaMismatchError,
    "timedelta_timestamp": BadTimestampError,
    "float32_timestamp": BadTimestampError,
    "timestamp_out_of_range": BadTimestampError,
    "mixed_timestamp_kinds": BadTimestampError,
    "nested_column": NestedColumnError,
    "unreadable_values": NestedColumnError,
    "duplicate_column": AmbiguousColumnError,
    "ambiguous_cores": AmbiguousColumnError,
    "several_hosts": AmbiguousColumnError,
}


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

    def add(
        self,
        level: Literal["error", "warning", "info"],
        code: str,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        example: object = None,
    ) -> None:
        """Record one finding (the example is stored as text)."""
        text = None if example is None else str(example)
        self.issues.append(ValidationIssue(level, code, message, file, column, text))

    def codes(self, level: str | None = None) -> list[str]:
        """Issue codes in order, optionally of one level only (handy for tests and the CLI)."""
        return [i.code for i in self.issues if level is None or i.level == level]


def _describe(columns: Iterable[str], limit: int = 6) -> str:
    """A readable list of column names, shortened in the middle when long."""
    cols = list(columns)
    if len(cols) <= limit:
        return ", ".join(cols)
    return f"{', '.join(cols[:3])}, ..., {cols[-1]} ({len(cols)} columns)"


def _show(value: object) -> str:
    """An example value as a person reads it: text quoted, everything else plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _num(value: float) -> str:
    return f"{float(value):g}"


def _exact(value: float) -> str:
    """A number with every digit that tells it apart (100.0000001 stays 100.0000001, 150.0 is 150)."""
    return f"{float(value):.15g}"


def _why(exc: BaseException) -> str:
    """The first line of an exception, or its type when the text says nothing (decimal's '[<class ...>]')."""
    line = _first_line(exc)
    return type(exc).__name__ if line.startswith("[<class") else line


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."
