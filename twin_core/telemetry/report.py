"""The validation report: every finding of a load (`ValidationIssue`, `ValidationReport`), the exception class
raised for each error code, and the small helpers that word the findings.

Every step of loading writes what it finds here instead of raising, so one load reports every problem at once;
only the finished report decides what the loader raises: the first error's `TelemetryError` subclass (from
`ERROR_CLASSES`), carrying the whole report as `exc.report`.
"""
from __future__ import annotations

import re
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

    def grouped(self) -> list[ValidationIssue]:
        """The findings as a person should read them: the same finding in several files or columns (the same code
        and words but for the names and numbers) is one issue naming all of them, at the place of the first."""
        groups: dict[tuple[str, str, str], list[ValidationIssue]] = {}
        for issue in self.issues:
            groups.setdefault((issue.level, issue.code, _skeleton(issue)), []).append(issue)
        return [_merge(group) for group in groups.values()]


# Stand-ins for an issue's own file and column name, so findings that differ only there group together.
_FILE, _COLUMN = "\x00F", "\x00C"
# A number standing alone (111, 1,048, 0.25), not the digits inside a name such as cpu_util_core_3.
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)(?![\w])")
_PLURAL_VERBS = {"has": "have", "is": "are", "was": "were", "holds": "hold"}


def _named(text: str, name: str | None, stand_in: str) -> str:
    """`text` with every whole occurrence of `name` replaced by its stand-in."""
    if not name:
        return text
    return re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w])", stand_in, text)


def _skeleton(issue: ValidationIssue) -> str:
    """What a finding says apart from its file, column and numbers: equal skeletons are the same finding."""
    text = _named(_named(issue.message, issue.file, _FILE), issue.column, _COLUMN)
    return _NUMBER.sub("#", text)


def _merge(group: list[ValidationIssue]) -> ValidationIssue:
    """One issue for the same finding in several places: the first one's words, with every file and column named
    compactly and each number that differs given as its range (111 to 700)."""
    first = group[0]
    if len(group) == 1:
        return first
    files = list(dict.fromkeys(i.file for i in group if i.file))
    columns = list(dict.fromkeys(i.column for i in group if i.column))
    pieces = [_NUMBER.split(_named(_named(i.message, i.file, _FILE), i.column, _COLUMN)) for i in group]
    words = pieces[0][:]
    for at in range(1, len(words), 2):  # the odd pieces are the numbers
        shown = {p[at] for p in pieces}
        if len(shown) > 1:
            ordered = sorted(shown, key=lambda n: float(n.replace(",", "")))
            words[at] = f"{ordered[0]} to {ordered[-1]}"
    text = "".join(words)
    if len(files) > 1:
        text = text.replace(f"File '{_FILE}'", f"Files {_FILE}").replace(f"'{_FILE}'", _FILE)
    if len(columns) > 1:
        text = text.replace(f"column '{_COLUMN}'", f"columns {_COLUMN}").replace(f"'{_COLUMN}'", _COLUMN)
    if len(files) > 1 or len(columns) > 1:
        subject = re.match(rf"Files? '?{_FILE}'?(?:, columns? '?{_COLUMN}'?)? (\w+)\b[^;:(]*", text)
        if subject is not None and subject.group(1) in _PLURAL_VERBS:  # its verbs up to the clause's end
            clause = re.sub(r"\b(has|is|was|holds)\b", lambda verb: _PLURAL_VERBS[verb.group(1)], subject.group(0))
            text = clause + text[subject.end():]
    file_text, column_text = _compact(files, "file"), _compact(columns, "column")
    text = text.replace(_FILE, file_text).replace(_COLUMN, column_text)
    return ValidationIssue(first.level, first.code, text, file_text or None, column_text or None, first.example)


def _compact(names: list[str], noun: str) -> str:
    """Names in few words: cpu_util_core_0…7 for a numbered run, else the names, or the first three, … the last
    and how many there are."""
    if len(names) < 2:
        return "".join(names)
    numbered = [re.fullmatch(r"(.*?)(\d+)", name) for name in names]
    if len(names) >= 3 and all(numbered) and len({m.group(1) for m in numbered}) == 1:
        numbers = sorted(int(m.group(2)) for m in numbered)
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return f"{numbered[0].group(1)}{numbers[0]}…{numbers[-1]}"
    if len(names) <= 4:
        return ", ".join(names)
    return f"{', '.join(names[:3])}, …, {names[-1]} ({len(names)} {noun}s)"


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
