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
        and words but for the names and numbers) is one issue naming all of them, at the place of the first; the
        words of a grouped issue stay true of every file and column it names."""
        groups: dict[tuple[str, str, str], list[ValidationIssue]] = {}
        for issue in self.issues:
            groups.setdefault((issue.level, issue.code, _skeleton(issue)), []).append(issue)
        return [merged for group in groups.values() for merged in _merge(group)]


# Stand-ins for an issue's own file and column name, so findings that differ only there group together.
_FILE, _COLUMN = "\x00F", "\x00C"
# A number standing alone (111, 1,048, 0.25, -5), not the digits inside a name such as cpu_util_core_3.
_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:,\d{3})*(?:\.\d+)?)(?![\w])")
# A count of things ("20 rows", "3 values"): a whole number followed by a word that is not a unit or a link; a
# position ("row 4"), an example ("e.g. 5 at row 2") or a measured value ("found 5 to 89") is never one.
_COUNT = re.compile(r"\d+(?:,\d{3})*")
_COUNTED = re.compile(r" (?!(?:to|at|and|or|of|in|s|ms|min|h)\b)[a-z]", re.IGNORECASE)
_NOT_A_COUNT_AFTER = ("row ", "rows ", "e.g. ", "found ", "core ", "interval ")
_PLURAL_VERBS = {"has": "have", "is": "are", "was": "were", "holds": "hold"}
# Words that speak of one file, and of one column, as they read for several (the findings' own phrases).
_PLURAL_FILES = {
    "remove it or record some telemetry into it": "remove them or record some telemetry into them",
    "save it as UTF-8": "save them as UTF-8",
    "and load it again": "and load them again",
    "because it is corrupt": "because they are corrupt",
    "; its rows were sorted": "; their rows were sorted",
    ": its own workload column is replaced": ": their own workload columns are replaced",
    "; its cores are": "; their cores are",
}
_PLURAL_COLUMNS = {
    "add it or rename the column that holds it": "add them or rename the columns that hold them",
    "flatten it so each row": "flatten them so each row",
    "flatten it only if you want to see it": "flatten them only if you want to see them",
    "it is kept as is": "they are kept as they are",
}


def _named(text: str, name: str | None, stand_in: str) -> str:
    """`text` with every whole occurrence of `name` replaced by its stand-in."""
    if not name:
        return text
    return re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w])", stand_in, text)


def _stood_in(issue: ValidationIssue) -> str:
    """The issue's words with its own file and column replaced by their stand-ins."""
    return _named(_named(issue.message, issue.file, _FILE), issue.column, _COLUMN)


def _skeleton(issue: ValidationIssue) -> str:
    """What a finding says apart from its file, column and numbers: equal skeletons are the same finding."""
    return _NUMBER.sub("#", _stood_in(issue))


def _merge(group: list[ValidationIssue]) -> list[ValidationIssue]:
    """The same finding in several places as few issues as stay true: one sentence for several files (the same
    column) or several columns (the same file), its counts that differ given as "between 20 and 30 … each";
    otherwise the first finding's own words and the other places it holds for. One place whose numbers differ
    stays as separate findings."""
    first = group[0]
    files = list(dict.fromkeys(i.file for i in group if i.file))
    columns = list(dict.fromkeys(i.column for i in group if i.column))
    pieces = [_NUMBER.split(_stood_in(i)) for i in group]  # the odd pieces are the numbers
    differing = [at for at in range(1, len(pieces[0]), 2) if len({p[at] for p in pieces}) > 1]
    if len(files) < 2 and len(columns) < 2:
        return group if differing else [first]
    file_text, column_text = _compact(files, "file"), _compact(columns, "column")
    text = _joined(pieces, differing, len(files) > 1, len(columns) > 1) if min(len(files), len(columns)) < 2 else None
    if text is None:
        text = f"{first.message.rstrip()} {_elsewhere(group, bool(differing))}"
    else:
        text = text.replace(_FILE, file_text).replace(_COLUMN, column_text)
    return [ValidationIssue(first.level, first.code, text, file_text or None, column_text or None, first.example)]


def _joined(pieces: list[list[str]], differing: list[int], several_files: bool, several_columns: bool) -> str | None:
    """One sentence true of every place (stand-ins kept), or None when the words cannot say it of them all: a
    number other than a count differs, or the file or column is not named where its plural is known."""
    words = pieces[0][:]
    for at in differing:
        if not all(_is_count(p, at) for p in pieces):
            return None
        ordered = sorted({p[at] for p in pieces}, key=lambda n: float(n.replace(",", "")))
        words[at] = f"between {ordered[0]} and {ordered[-1]}"
    text = "".join(words)
    if several_files:
        if not text.startswith(f"File '{_FILE}'") or text.count(_FILE) != 1:
            return None
        text = _replaced(f"Files {_FILE}" + text[len(f"File '{_FILE}'"):], _PLURAL_FILES)
    if several_columns:
        if text.count(f"column '{_COLUMN}'") != 1 or text.count(_COLUMN) != 1:
            return None
        text = _replaced(text.replace(f"column '{_COLUMN}'", f"columns {_COLUMN}"), _PLURAL_COLUMNS)
    subject = re.match(rf"Files? '?{_FILE}'?(, (?:extra )?columns? '?{_COLUMN}'?)? (\w+)\b[^;:]*", text)
    plural = subject is not None and (several_files or (several_columns and subject.group(1) is not None))
    if differing and not plural:
        return None  # "each" needs a subject that is several places
    if plural:
        clause = re.sub(r"\b(has|is|was|holds)\b", lambda verb: _PLURAL_VERBS[verb.group(1)], subject.group(0))
        if differing:
            verb = _PLURAL_VERBS.get(subject.group(2), subject.group(2))
            each = f"{verb} each" if verb in ("are", "were") else f"each {verb}"
            clause = clause.replace(f" {verb}", f" {each}", 1)
        text = clause + text[subject.end():]
    return text


def _is_count(pieces: list[str], at: int) -> bool:
    """Whether the number at `at` counts things (20 rows), judged by the words around it."""
    return (_COUNT.fullmatch(pieces[at]) is not None and _COUNTED.match(pieces[at + 1]) is not None
            and not pieces[at - 1].endswith(_NOT_A_COUNT_AFTER))


def _replaced(text: str, phrases: dict[str, str]) -> str:
    """`text` with each phrase given in its plural words."""
    for one, several in phrases.items():
        text = text.replace(one, several)
    return text


def _elsewhere(group: list[ValidationIssue], numbers_differ: bool) -> str:
    """Where else the first finding holds, each file with its columns: 'The same problem in b.parquet (core_3).'"""
    first = group[0]
    places: dict[str | None, list[str]] = {}
    for issue in group[1:]:
        columns = places.setdefault(issue.file, [])
        if issue.column and issue.column not in columns and (issue.file, issue.column) != (first.file, first.column):
            columns.append(issue.column)
    items = [f"{file} ({_compact(columns, 'column')})" if file and columns else file or _compact(columns, "column")
             for file, columns in places.items()]
    noun = "file" if any(places) else "column"
    return f"The same problem{', with other values,' if numbers_differ else ''} in {_compact(items, noun)}."


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
