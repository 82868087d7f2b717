"""Load, validate and normalise CPU telemetry into one sorted frame split into recording sessions.

Files, uploaded bytes and in-memory frames all pass through the same checks. Every finding lands in
a `ValidationReport`; errors raise a `TelemetryError` subclass carrying that report as `exc.report`.
Row numbers in messages count from 0 within the file, as pandas does.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from twin_core.budget import check_loading
from twin_core.errors import (
    AmbiguousColumnError,
    BadTimestampError,
    ConfigError,
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
    TwinError,
)

TIMESTAMP = "timestamp"
WORKLOAD = "workload_type"
OVERALL = "cpu_util_overall"
SESSION = "session"
SOURCE = "source"
DEFAULT_TARGET = "cpu_util_core_0"
DEFAULT_MIN_GAP_S = 10.0
# Utilisation this close outside 0..100 % is rounding noise from the recorder: clipped, with a note.
ROUNDING_SLACK = 1e-6

CORE_PATTERN = re.compile(r"^cpu_util_core_([0-9]+)$")
PARQUET_MAGIC = b"PAR1"
PARQUET_HINT = "expected an Apache Parquet file (.parquet)"

# Issue code -> exception raised when that issue is the first error of a load.
ERROR_CLASSES: dict[str, type[TelemetryError]] = {
    "source_not_found": SourceNotFoundError,
    "no_sources": EmptyTelemetryError,
    "empty_folder": EmptyTelemetryError,
    "not_parquet": NotParquetError,
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


@dataclass(frozen=True)
class _Gaps:
    """When a pause inside a file starts a new session: longer than both limits."""

    factor: float
    min_seconds: float

    def __post_init__(self) -> None:
        for label, value, lowest in (("gap_factor", self.factor, 0.0), ("min_gap_s", self.min_seconds, -1.0)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > lowest):
                raise ConfigError(f"{label} must be a {'positive' if lowest == 0 else 'non-negative'} "
                                  f"finite number, got {value!r}.")

    def threshold(self, interval: float) -> float:
        return max(self.factor * interval, self.min_seconds) if math.isfinite(interval) else math.inf


@dataclass(frozen=True)
class _FileData:
    """One source after the per-file checks: normalised columns, in canonical order."""

    name: str
    frame: pd.DataFrame
    cores: tuple[str, ...]
    extras: tuple[str, ...]


# ----------------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------------


def load_telemetry(
    sources: str | Path | Iterable[str | Path],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = 10.0,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
    memory_budget: str | int | None = None,
) -> Telemetry:
    """Load parquet files (paths or directories), validate, normalise and split into sessions.

    A session breaks at every file boundary and at every gap longer than both `gap_factor` median
    sampling intervals and `min_gap_s` seconds (recorders stall for a few seconds now and then).
    Files whose estimated loading peak (from their footers) passes `memory_budget` (see twin_core.budget)
    are refused with MemoryBudgetError before any is read.
    """
    report = ValidationReport()
    raw = _read_paths(sources, report, memory_budget)
    return _finish(_build(raw, target, _Gaps(gap_factor, min_gap_s), report), report)


def load_uploaded(
    files: Iterable[tuple[str, bytes]],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = 10.0,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
    memory_budget: str | int | None = None,
) -> Telemetry:
    """Same as load_telemetry for (file name, bytes) pairs, as a browser upload gives them."""
    files = list(files)
    check_loading([(Path(name).name, data) for name, data in files], memory_budget)
    report = ValidationReport()
    raw = [(Path(name).name, _read_parquet(Path(name).name, data, report)) for name, data in files]
    if not raw:
        report.add("error", "no_sources", "No files were uploaded; upload one or more .parquet telemetry files.")
    return _finish(_build(raw, target, _Gaps(gap_factor, min_gap_s), report), report)


def telemetry_from_frames(
    frames: Iterable[tuple[str, pd.DataFrame]],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = 10.0,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
) -> Telemetry:
    """Validate in-memory frames, each named by its source (a file name or 'demo')."""
    report = ValidationReport()
    # a copy of each frame: the telemetry must not share memory with frames the caller may change later
    raw: list[tuple[str, pd.DataFrame | None]] = [
        (name, df.copy() if isinstance(df, pd.DataFrame) else df) for name, df in frames
    ]
    if not raw:
        report.add("error", "no_sources", "No telemetry frames were given; pass at least one (name, DataFrame) pair.")
    return _finish(_build(raw, target, _Gaps(gap_factor, min_gap_s), report), report)


def validate_sources(
    sources: str | Path | Iterable[str | Path],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = 10.0,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
    memory_budget: str | int | None = None,
    can_train: Callable[[Telemetry], Iterable[str]] | None = None,
) -> ValidationReport:
    """Run every check and return the report without raising (for `python -m twin_core validate`).

    `can_train`, given the loaded telemetry, raises the error a training run would raise for it and returns
    what such a run would adapt (the CLI passes its preset's session, hold-out and fold checks): the error
    lands in the report, the adaptations as notes, so `validate` never says OK to data `train` refuses.
    Only files that would pass `memory_budget` to load raise (MemoryBudgetError), before they are read.
    """
    report = ValidationReport()
    raw = _read_paths(sources, report, memory_budget)
    telemetry = _build(raw, target, _Gaps(gap_factor, min_gap_s), report)
    if telemetry is not None and can_train is not None:
        try:
            for note in can_train(telemetry):
                report.add("info", "train_adapts", f"Training would adapt: {note}")
        except TwinError as exc:
            report.add("error", "cannot_train", f"Training would refuse this data: {exc}")
    return report


def core_columns_of(columns: Iterable[object]) -> tuple[str, ...]:
    """The `cpu_util_core_<n>` columns among `columns`, ordered by core number (core_10 after core_9)."""
    found = [(int(m.group(1)), str(c)) for c in columns if (m := CORE_PATTERN.match(str(c)))]
    return tuple(name for _, name in sorted(found))


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def _read_paths(
    sources: str | Path | Iterable[str | Path], report: ValidationReport, memory_budget: str | int | None = None
) -> list[tuple[str, pd.DataFrame | None]]:
    """Expand files and folders (all *.parquet, sorted by name), check the memory budget, and read each one."""
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.parquet") if p.is_file())  # not a sub-folder named x.parquet
            if not found:
                report.add(
                    "error", "empty_folder",
                    f"Folder '{path}' contains no .parquet files; choose a folder holding the telemetry files.",
                    file=str(path),
                )
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        else:
            report.add(
                "error", "source_not_found",
                f"Telemetry path '{path}' does not exist; check the spelling or pass an existing file or folder.",
                file=str(path),
            )
    if not items:
        report.add("error", "no_sources", "No telemetry files were given; pass one or more .parquet files or a folder.")
    check_loading([(p.name, p) for p in paths], memory_budget)
    return [(p.name, _read_parquet(p.name, p, report)) for p in paths]


def _read_parquet(name: str, source: Path | bytes, report: ValidationReport) -> pd.DataFrame | None:
    """Read one parquet file or byte string with pyarrow; anything unreadable becomes a not_parquet issue."""
    reason = _sniff_parquet(source)
    if reason is None:
        try:
            buffer = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
            # one column at a time, each Arrow column freed once converted (no consolidated 2-D copy), and the
            # memory Arrow's pool kept afterwards handed back: the peak is about the frame, not three of it
            frame = pd.read_parquet(buffer, engine="pyarrow",
                                    to_pandas_kwargs={"split_blocks": True, "self_destruct": True})
            pa.default_memory_pool().release_unused()
            return frame
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, NotImplementedError, ...
            detail = _first_line(exc).replace(str(source), name) if isinstance(source, Path) else _first_line(exc)
            reason = f"it is corrupt or uses an unsupported feature ({detail})"
    report.add(
        "error", "not_parquet",
        f"File '{name}' cannot be read because {reason}: {PARQUET_HINT}; "
        "export the telemetry with DataFrame.to_parquet or choose the right file.",
        file=name,
    )
    return None


def _sniff_parquet(source: Path | bytes) -> str | None:
    """Why `source` is clearly not parquet (empty, no PAR1 signature, no footer), or None if it may be."""
    if isinstance(source, (bytes, bytearray)):
        head, tail, size = bytes(source[:4]), bytes(source[-4:]), len(source)
    else:
        size = source.stat().st_size
        with source.open("rb") as handle:
            head = handle.read(4)
            handle.seek(max(size - 4, 0))
            tail = handle.read(4)
    if size == 0:
        return "it is empty (0 bytes)"
    if head != PARQUET_MAGIC:
        kind = "text (CSV or JSON?)" if _looks_like_text(head) else "some other binary format"
        return f"it does not start with the parquet signature PAR1 and looks like {kind}"
    if size < 12 or tail != PARQUET_MAGIC:
        return "it is truncated (the parquet footer is missing)"
    return None


def _why(exc: BaseException) -> str:
    """The first line of an exception, or its type when the text says nothing (decimal's '[<class ...>]')."""
    line = _first_line(exc)
    return type(exc).__name__ if line.startswith("[<class") else line


def _looks_like_text(head: bytes) -> bool:
    return all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


# ----------------------------------------------------------------------------------------------
# Building: per-file checks, then the cross-file checks, sorting and sessions
# ----------------------------------------------------------------------------------------------


def _build(
    raw: list[tuple[str, pd.DataFrame | None]], target: str, gaps: _Gaps, report: ValidationReport
) -> Telemetry | None:
    """The one validation/normalisation path shared by files, uploads and frames."""
    readable = [(name, df) for name, df in raw if df is not None]
    raw.clear()  # the caller's list too: each frame as read is dropped once checked, before the next is
    _check_target_name(target, readable, report)
    files = []
    while readable:
        name, df = readable.pop(0)
        if (f := _check_file(name, df, target, report)) is not None:
            files.append(f)
        del df
    if not report.ok:
        return None
    if not files:
        report.add("error", "no_sources", "No telemetry was given; pass one or more .parquet files or frames.")
        return None
    _check_schemas(files, report)
    if not report.ok:
        return None
    return _assemble(_align_extras(files, report), target, gaps, report)


def _finish(telemetry: Telemetry | None, report: ValidationReport) -> Telemetry:
    """Raise the exception of the first error (with the whole report attached), else return the result."""
    errors = report.errors
    if telemetry is not None and not errors:
        return telemetry
    first = errors[0]
    message = first.message
    if len(errors) > 1:
        more = len(errors) - 1
        message = f"{message.rstrip('.')} (and {more} more problem{'s' if more > 1 else ''} in the report)."
    exc = ERROR_CLASSES.get(first.code, TelemetryError)(message)
    exc.report = report
    raise exc


def _check_target_name(target: str, readable: list[tuple[str, pd.DataFrame]], report: ValidationReport) -> None:
    """A target must be a per-core column; say which cores exist when it is not."""
    if CORE_PATTERN.match(target):
        return
    cores = core_columns_of(readable[0][1].columns) if readable else ()
    choice = f"choose one of {_describe(cores)}" if cores else "choose a cpu_util_core_<n> column"
    report.add(
        "error", "target_not_core",
        f"Target '{target}' is not a per-core utilisation column (cpu_util_core_<n>); {choice}.",
        column=target,
    )


def _check_file(name: str, df: pd.DataFrame, target: str, report: ValidationReport) -> _FileData | None:
    """All per-file checks; returns the normalised file or None when it has errors."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"telemetry source '{name}' must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        report.add("error", "no_columns",
                   f"File '{name}' has no columns at all; export the telemetry table itself, not an empty one.",
                   file=name)
        return None
    if len(df) == 0:
        report.add("error", "empty_file",
                   f"File '{name}' has 0 rows; remove it or record some telemetry into it.", file=name)
        return None
    errors_before = len(report.errors)
    # rows are told apart by position only: any index (duplicate, text, MultiIndex, a parquet's stored one) is dropped
    df = df.reset_index(drop=True)
    df = _rename_reserved(name, df.set_axis([str(c) for c in df.columns], axis=1), report)
    df = _canonical_core_names(name, df, report)
    if len(report.errors) > errors_before:
        return None
    cores = core_columns_of(df.columns)
    if len(cores) < 2:
        report.add(
            "error", "too_few_cores",
            f"File '{name}' has {len(cores)} per-core column{'' if len(cores) == 1 else 's'} "
            f"({_describe(cores) if cores else 'none'}); at least 2 named cpu_util_core_<n> are needed.",
            file=name,
        )
    _check_required(name, df.columns, cores, target, report)
    required = (TIMESTAMP, WORKLOAD, OVERALL, *cores)
    df = df.drop(columns=_nested_columns(name, df, required, report))
    df = df.drop(columns=_unreadable_columns(name, df, required, report))
    columns: dict[str, object] = {}
    if TIMESTAMP in df:
        columns[TIMESTAMP] = _to_epoch_seconds(name, _plain(df[TIMESTAMP]), report)
    if WORKLOAD in df:
        columns[WORKLOAD] = _to_workload(name, _plain(df[WORKLOAD]), report)
    for col in (OVERALL, *cores):
        if col in df:
            columns[col] = _to_percent(name, col, _plain(df[col]), report)
    extras = _check_extras(name, df, cores, report)
    if len(report.errors) > errors_before:
        return None
    columns.update({col: df[col].array for col in extras})
    # no copy: the columns are fresh conversions or the read frame's own, which nothing else holds
    # (telemetry_from_frames passes its own copy of the caller's frames)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(df)), copy=False)
    return _FileData(name, frame, cores, tuple(extras))


def _plain(s: pd.Series) -> pd.Series:
    """A required column in the types the checks know: Arrow-backed values converted as pd.read_parquet does,
    categories and sparse columns as their values, periods as their start times, byte strings decoded as UTF-8 (some tools
    write text as parquet binary)."""
    if isinstance(s.dtype, pd.ArrowDtype):
        s = s.array.__arrow_array__().to_pandas().set_axis(s.index)
    if isinstance(s.dtype, (pd.CategoricalDtype, pd.SparseDtype)):
        s = pd.Series(np.asarray(s), index=s.index)
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.to_timestamp()
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("bytes", "mixed"):
        values = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in s.to_numpy()]
        return pd.Series(values, index=s.index, dtype=object)
    return s


def _canonical_core_names(name: str, df: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Duplicate column names are an error; zero-padded core numbers (cpu_util_core_01) become cpu_util_core_1.

    Two columns for one core number (cpu_util_core_1 and cpu_util_core_01) are an error naming both, since
    either could be the real core.
    """
    errors_before = len(report.errors)
    names = pd.Series(df.columns)
    for col in names[names.duplicated()].unique():
        report.add("error", "duplicate_column",
                   f"File '{name}' has {int((names == col).sum())} columns named '{col}'; "
                   "keep one of them or rename the others.", file=name, column=col)
    by_number: dict[int, list[str]] = {}
    for col in names.unique():
        if (m := CORE_PATTERN.match(col)):
            by_number.setdefault(int(m.group(1)), []).append(col)
    renames = {}
    for number, cols in sorted(by_number.items()):
        if len(cols) > 1:
            report.add("error", "ambiguous_cores",
                       f"File '{name}' has {len(cols)} columns for core {number}: {', '.join(cols)}; "
                       f"keep the one that holds core {number} and drop or rename the others.",
                       file=name, column=cols[1])
        elif cols[0] != f"cpu_util_core_{number}":
            renames[cols[0]] = f"cpu_util_core_{number}"
    if renames and len(report.errors) == errors_before:
        report.add("info", "core_renamed",
                   f"File '{name}': zero-padded core columns were renamed ({_describe(renames)} to "
                   f"{_describe(renames.values())}).", file=name, column=next(iter(renames)))
    return df.rename(columns=renames) if renames else df


def _nested_columns(name: str, df: pd.DataFrame, required: tuple[str, ...], report: ValidationReport) -> list[str]:
    """Columns holding lists, structs or maps (all to be dropped): an error if required, else a warning.

    Extra columns are never features, and a nested one can be neither fingerprinted nor shown as a table
    column, so dropping it (and saying so) keeps the recording usable.
    """
    found = []
    for col in [c for c, dtype in df.dtypes.items() if dtype == object or isinstance(dtype, pd.ArrowDtype)]:
        kind, first = _nested_kind(df[col])
        if kind is None:
            continue
        value = df[col].iloc[first]
        example = _show(value.tolist() if isinstance(value, np.ndarray) else value)
        example = example if len(example) <= 40 else example[:37] + "..."
        if col in required:
            report.add("error", "nested_column",
                       f"File '{name}', column '{col}' holds nested values ({kind}, e.g. {example} at row {first}) "
                       "instead of one value per row; flatten it so each row holds one number (or label/time).",
                       file=name, column=col, example=example)
        else:
            report.add("warning", "nested_column_dropped",
                       f"File '{name}', extra column '{col}' holds nested values ({kind}) and was dropped; "
                       "extra columns are never features, so flatten it only if you want to see it.",
                       file=name, column=col)
        found.append(col)
    return found


def _unreadable_columns(name: str, df: pd.DataFrame, required: tuple[str, ...], report: ValidationReport) -> list[str]:
    """Columns whose values cannot be hashed or read as text (invalid UTF-8, bytearrays, undecodable bytes):
    an error in a required column; an extra one is dropped with a warning, since the fingerprint hashes it."""
    found = []
    text_like = (pd.StringDtype, pd.ArrowDtype)
    for col in [c for c, dtype in df.dtypes.items() if dtype == object or isinstance(dtype, text_like)]:
        problem = _unreadable(df[col])
        if problem is None:
            continue
        if col in required:
            report.add("error", "unreadable_values",
                       f"File '{name}', column '{col}' holds values that are not plain numbers, text or times "
                       f"({problem}); store one plain value per row, text as UTF-8.", file=name, column=col)
        else:
            report.add("warning", "unstorable_column_dropped",
                       f"File '{name}', extra column '{col}' holds values that cannot be compared or stored "
                       f"({problem}) and was dropped; extra columns are never features.", file=name, column=col)
        found.append(col)
    return found


def _unreadable(s: pd.Series) -> str | None:
    """Why a text or object column cannot be hashed (the first bad row for invalid UTF-8), or None."""
    if s.dtype != object:
        arrow = s.array.__arrow_array__() if hasattr(s.array, "__arrow_array__") else None
        if arrow is None or not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
            return None
        offset = 0
        for chunk in getattr(arrow, "chunks", [arrow]):  # python-backed strings give one Array, not chunks
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                bad = next(i for i, v in enumerate(chunk.cast(pa.binary()).to_pylist()) if not _is_utf8(v))
                return f"text that is not valid UTF-8 at row {offset + bad}"
            offset += len(chunk)
        return None
    try:
        pd.util.hash_pandas_object(s, index=False)
    except (TypeError, ValueError, ArithmeticError) as exc:
        return _why(exc)
    return None


def _is_utf8(value: bytes | None) -> bool:
    if value is None:
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_NESTED_TYPES = (list, tuple, dict, set, frozenset, np.ndarray)


def _nested_kind(s: pd.Series) -> tuple[str | None, int]:
    """('list' / 'struct' / 'map', first row) when a column holds nested values, else (None, -1)."""
    if isinstance(s.dtype, pd.ArrowDtype):
        arrow_type = s.dtype.pyarrow_dtype
        return (str(arrow_type), 0) if arrow_type.num_fields > 0 else (None, -1)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("mixed", "mixed-integer"):
        return None, -1
    values = s.to_numpy()
    hits = np.flatnonzero([isinstance(v, _NESTED_TYPES) for v in values])
    if not hits.size:
        return None, -1
    value = values[hits[0]]
    if isinstance(value, dict):
        return "struct", int(hits[0])
    is_map = isinstance(value, list) and bool(value) and all(isinstance(v, tuple) and len(v) == 2 for v in value)
    return ("map" if is_map else "list"), int(hits[0])


def _rename_reserved(name: str, df: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Input columns called `session` or `source` would clash with ours: keep them under another name."""
    clashes = {c: _free_name(f"{c}_input", df.columns) for c in (SESSION, SOURCE) if c in df.columns}
    for old, new in clashes.items():
        report.add("warning", "reserved_column",
                   f"File '{name}' has a column '{old}', a name the loader uses itself; it is kept as '{new}'.",
                   file=name, column=old)
    return df.rename(columns=clashes) if clashes else df


def _free_name(wanted: str, taken: pd.Index) -> str:
    """`wanted`, or `wanted_2`, `wanted_3`... when a column of that name exists already."""
    number, name = 1, wanted
    while name in taken:
        number += 1
        name = f"{wanted}_{number}"
    return name


def _check_required(
    name: str, columns: pd.Index, cores: tuple[str, ...], target: str, report: ValidationReport
) -> None:
    """Missing required columns, with close names as a hint; a missing target names the cores there are."""
    present = [str(c) for c in columns]
    candidates = [c for c in present if c not in cores]  # a core is never a stand-in for a required column
    for col in (TIMESTAMP, WORKLOAD, OVERALL):
        if col not in present:
            close = difflib.get_close_matches(col, candidates, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            report.add("error", "missing_column",
                       f"File '{name}' has no column '{col}'{hint}; add it or rename the column that holds it.",
                       file=name, column=col)
    if CORE_PATTERN.match(target) and target not in present and len(cores) >= 2:
        report.add("error", "missing_target",
                   f"File '{name}' has no target column '{target}'; its cores are {_describe(cores)}, "
                   "so choose one of those as the target.",
                   file=name, column=target)


def _to_epoch_seconds(name: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Normalise any supported timestamp column to float64 epoch seconds (via whole microseconds), within 1990..2100."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(None)
    if pd.api.types.is_datetime64_dtype(s):
        if _report_empty_timestamps(name, s.isna().to_numpy(), report):
            return None
        seconds = s.to_numpy().astype("datetime64[us]").view("int64") / 1e6
        return seconds if _epoch_in_range(name, s, seconds, "datetimes", report) else None
    if pd.api.types.is_timedelta64_dtype(s) or _all_instances(s, dt.timedelta):
        report.add("error", "timedelta_timestamp",
                   f"File '{name}', column '{TIMESTAMP}' holds durations (e.g. {_show(s.iloc[0])}), not points in "
                   "time, so the recording's date is unknown; add the recording's start time to them "
                   "(start + duration) or store epoch seconds or datetimes.",
                   file=name, column=TIMESTAMP, example=s.iloc[0])
        return None
    if pd.api.types.is_float_dtype(s) and s.dtype.itemsize < 8:
        report.add("error", "float32_timestamp",
                   f"File '{name}', column '{TIMESTAMP}' is {s.dtype}, which cannot hold epoch seconds to better "
                   "than about two minutes (neighbouring samples would collapse into one); "
                   "store float64 seconds or int64 milliseconds instead.",
                   file=name, column=TIMESTAMP)
        return None
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_complex_dtype(s):
        return _bad_timestamp(name, s, np.ones(len(s), bool), report)
    if pd.api.types.is_numeric_dtype(s):
        return _numeric_epoch(name, s, report)
    return _text_epoch(name, s, report)


def _text_epoch(name: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Text (or Python objects): all numbers go the numeric way, all dates the datetime way, else an error."""
    numbers = _real_numbers(s)
    try:
        # only what is not a number is parsed as a date (pandas 4 will read numbers given a format as epochs)
        dates = pd.to_datetime(s.mask(numbers.notna().to_numpy()), utc=True, format="ISO8601", errors="coerce")
    except (TypeError, ValueError, OverflowError):
        dates = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    present = s.notna().to_numpy()
    is_number, is_date = numbers.notna().to_numpy(), dates.notna().to_numpy()
    if (is_number == present).all():
        return _numeric_epoch(name, numbers, report)
    if (is_date == present).all():
        return _to_epoch_seconds(name, dates, report)
    neither = present & ~is_number & ~is_date
    if neither.any():
        return _bad_timestamp(name, s, neither, report)
    row_n, row_d = int(np.flatnonzero(is_number & ~is_date)[0]), int(np.flatnonzero(is_date & ~is_number)[0])
    report.add("error", "mixed_timestamp_kinds",
               f"File '{name}', column '{TIMESTAMP}' mixes numbers (e.g. {_show(s.iloc[row_n])} at row {row_n}) and "
               f"dates (e.g. {_show(s.iloc[row_d])} at row {row_d}), so no one reading fits every row; "
               "write every timestamp the same way (all epoch numbers or all ISO-8601 dates).",
               file=name, column=TIMESTAMP, example=f"row {row_n}, row {row_d}")
    return None


def _numeric_epoch(name: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Epoch numbers: unit (s, ms, us, ns) chosen from the median magnitude, as whole microseconds.

    The range is checked on float seconds before any integer multiplication, so no value can overflow int64.
    """
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    if _report_empty_timestamps(name, ~np.isfinite(values), report):
        return None
    magnitude = float(np.median(np.abs(values)))
    unit, per_unit = next((u, m) for limit, u, m in _EPOCH_UNITS if magnitude > limit)
    if not _epoch_in_range(name, s, values * (per_unit / 1e6), f"epoch {_UNIT_WORDS[unit]}", report):
        return None
    if unit != "s":
        report.add("info", "timestamp_unit",
                   f"File '{name}': timestamps read as epoch {unit} (from their magnitude) and converted to seconds.",
                   file=name, column=TIMESTAMP)
    if pd.api.types.is_integer_dtype(s.dtype) and per_unit >= 1:
        micros = s.to_numpy(dtype="int64") * int(per_unit)
    else:
        micros = np.rint(values * per_unit)
    return micros / 1e6


# (magnitude above which, unit name, microseconds per unit): ns > 1e17, us > 1e14, ms > 1e11, else s.
_EPOCH_UNITS = ((1e17, "ns", 1e-3), (1e14, "us", 1.0), (1e11, "ms", 1e3), (-1.0, "s", 1e6))
_UNIT_WORDS = {"ns": "nanoseconds", "us": "microseconds", "ms": "milliseconds", "s": "seconds"}
# Timestamps must fall in [1990-01-01, 2100-01-01): anything else is a misread unit, a duration or a typo.
EPOCH_MIN_S, EPOCH_MAX_S = 631_152_000.0, 4_102_444_800.0


def _epoch_in_range(name: str, s: pd.Series, seconds: np.ndarray, read_as: str, report: ValidationReport) -> bool:
    """False (with an error naming the first bad row and its value) when a time is before 1990 or after 2099."""
    outside = (seconds < EPOCH_MIN_S) | (seconds >= EPOCH_MAX_S)
    if not outside.any():
        return True
    first = int(np.flatnonzero(outside)[0])
    try:
        when = f"{dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(seconds[first])):%Y-%m-%d}"
    except (OverflowError, ValueError):
        when = "beyond any calendar date"
    report.add("error", "timestamp_out_of_range",
               f"File '{name}', column '{TIMESTAMP}' has {_n(int(outside.sum()), 'value')} outside 1990-01-01 .. "
               f"2100-01-01 when read as {read_as}, e.g. {_show(s.iloc[first])} at row {first} ({when}); "
               "fix or drop those rows, and if the times count from the start of the recording, add its start time.",
               file=name, column=TIMESTAMP, example=f"{_show(s.iloc[first])} at row {first}")
    return False


def _all_instances(s: pd.Series, kind: type) -> bool:
    """True when a column of Python objects holds only `kind` values (missing ones aside)."""
    if s.dtype != object:
        return False
    present = s.dropna()
    return len(present) > 0 and all(isinstance(v, kind) for v in present)


def _report_empty_timestamps(name: str, empty: np.ndarray, report: ValidationReport) -> bool:
    if not empty.any():
        return False
    count, first = int(empty.sum()), int(np.flatnonzero(empty)[0])
    what = "every timestamp is" if count == len(empty) else f"{count} of {len(empty)} timestamps are"
    report.add("error", "bad_timestamp",
               f"File '{name}', column '{TIMESTAMP}': {what} empty or infinite (first at row {first}); "
               "every row needs a time, so drop or fill those rows.",
               file=name, column=TIMESTAMP, example=f"row {first}")
    return True


def _bad_timestamp(name: str, s: pd.Series, bad: np.ndarray, report: ValidationReport) -> None:
    first = int(np.flatnonzero(bad)[0])
    example = s.iloc[first]
    report.add("error", "bad_timestamp",
               f"File '{name}', column '{TIMESTAMP}' holds {_n(int(bad.sum()), 'value')} not readable as a time, "
               f"e.g. {_show(example)} at row {first}; use epoch seconds or milliseconds, datetimes or ISO-8601 text.",
               file=name, column=TIMESTAMP, example=example)
    return None


def _to_workload(name: str, s: pd.Series, report: ValidationReport) -> pd.Series | None:
    """Workload labels as str; empty or blank labels are an error."""
    codes, labels = pd.factorize(s)
    blank = np.append(np.asarray(labels.astype(str).str.strip() == "", dtype=bool), False)
    missing = (codes < 0) | blank[codes]  # code -1 (missing) picks the appended False
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        report.add("error", "missing_workload",
                   f"File '{name}', column '{WORKLOAD}' is empty in {_n(int(missing.sum()), 'row')} "
                   f"(first at row {first}); "
                   "label every row with its workload (e.g. cpu_bound) or drop those rows.",
                   file=name, column=WORKLOAD, example=f"row {first}")
        return None
    return s.astype("str")


def _to_percent(name: str, col: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """A utilisation column as float64: numbers only, all finite, all within 0..100."""
    values = _to_float(name, col, s, report)
    if values is None:
        return None
    finite = np.isfinite(values)
    ok = True
    if not finite.all():
        n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        first = int(np.flatnonzero(~finite)[0])
        parts = [f"{n_nan} missing (NaN)" if n_nan else "", f"{n_inf} infinite" if n_inf else ""]
        noun = "value" if n_nan + n_inf == 1 else "values"
        report.add("error", "non_finite",
                   f"File '{name}', column '{col}' has {' and '.join(p for p in parts if p)} {noun} "
                   f"(first at row {first}); fill or drop those rows before loading.",
                   file=name, column=col, example=f"{values[first]} at row {first}")
        ok = False
    outside = finite & ((values < -ROUNDING_SLACK) | (values > 100 + ROUNDING_SLACK))
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        low, high = np.min(values[finite]), np.max(values[finite])
        report.add("error", "out_of_range",
                   f"File '{name}', column '{col}' has {_n(int(outside.sum()), 'value')} outside 0..100 % "
                   f"(found {_exact(low)} to {_exact(high)}), e.g. {_exact(values[first])} at row {first}; "
                   "utilisation must be a percentage, so fix the recording or rescale the column.",
                   file=name, column=col, example=_exact(values[first]))
        ok = False
    rounding = finite & ((values < 0) | (values > 100)) & ~outside
    if ok and rounding.any():
        first = int(np.flatnonzero(rounding)[0])
        report.add("info", "clipped_rounding",
                   f"File '{name}', column '{col}': {_n(int(rounding.sum()), 'value')} within {ROUNDING_SLACK:g} of "
                   f"0..100 % by rounding (e.g. {_exact(values[first])} at row {first}) clipped to 0..100.",
                   file=name, column=col, example=_exact(values[first]))
        values = np.clip(values, 0.0, 100.0)
    return values if ok else None


def _to_float(name: str, col: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Numbers as float64; text that is not a number is a non_numeric error with an example."""
    kind = getattr(s.dtype, "kind", "O")
    if kind in "iuf":
        return s.to_numpy(dtype="float64", na_value=np.nan)
    if kind in "cmM":
        what = {"c": "complex numbers", "m": "durations", "M": "dates and times"}[kind]
        report.add("error", "non_numeric",
                   f"File '{name}', column '{col}' holds {what} (e.g. {_show(s.iloc[0])} at row 0), not "
                   "utilisation numbers; store utilisation as real numbers (percent, 0..100).",
                   file=name, column=col, example=s.iloc[0])
        return None
    converted = pd.Series(np.nan, index=s.index) if pd.api.types.is_bool_dtype(s) else _real_numbers(s)
    bad = (converted.isna() & s.notna()).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        example = s.iloc[first]
        report.add("error", "non_numeric",
                   f"File '{name}', column '{col}' holds {_n(int(bad.sum()), 'non-numeric value')}, "
                   f"e.g. {_show(example)} at row {first}; store utilisation as numbers (percent, 0..100).",
                   file=name, column=col, example=example)
        return None
    stored_as = {"string": "text", "decimal": "decimals"}.get(pd.api.types.infer_dtype(s, skipna=True), "objects")
    report.add("warning", "numbers_as_text",
               f"File '{name}', column '{col}' stores numbers as {stored_as}; they were converted.",
               file=name, column=col)
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def _real_numbers(s: pd.Series) -> pd.Series:
    """Values of a text or object column as float64, NaN where a value is no real number: text that is not
    a number, booleans (True is no 1 %) and complex numbers with an imaginary part."""
    try:
        converted = pd.to_numeric(s, errors="coerce")
    except (TypeError, ValueError):
        return pd.Series(np.nan, index=s.index)
    if getattr(converted.dtype, "kind", "") == "c":
        values = converted.to_numpy()
        converted = pd.Series(np.where(values.imag == 0, values.real, np.nan), index=s.index)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "floating", "integer", "decimal", "empty"):
        flags = np.fromiter((isinstance(v, (bool, np.bool_)) for v in s.to_numpy()), bool, len(s))
        converted = converted.mask(flags)
    return converted.astype("float64")


def _check_extras(name: str, df: pd.DataFrame, cores: tuple[str, ...], report: ValidationReport) -> list[str]:
    """Extra columns are kept but never validated strictly: all-empty ones are dropped, gaps are warned about."""
    used = {TIMESTAMP, WORKLOAD, OVERALL, *cores}
    candidates = [c for c in df.columns if c not in used]
    missing_counts = df[candidates].isna().sum() if candidates else pd.Series(dtype="int64")
    kept = []
    for col, missing in missing_counts.items():
        if missing == len(df):
            report.add("info", "empty_column_dropped",
                       f"File '{name}', column '{col}' is empty in every row and was dropped.", file=name, column=col)
            continue
        if missing:
            report.add("warning", "extra_column_missing",
                       f"File '{name}', extra column '{col}' is empty in {_n(int(missing), 'row')}; "
                       "it is kept as is and never used as a feature.", file=name, column=col)
        kept.append(col)
    return kept


def _check_schemas(files: list[_FileData], report: ValidationReport) -> None:
    """Every file must have the same core columns as the first one."""
    ref = files[0]
    for other in files[1:]:
        only_ref = [c for c in ref.cores if c not in other.cores]
        only_other = [c for c in other.cores if c not in ref.cores]
        if only_ref or only_other:
            report.add(
                "error", "schema_mismatch",
                f"Files '{ref.name}' ({len(ref.cores)} cores) and '{other.name}' ({len(other.cores)} cores) "
                f"disagree on core columns: only in '{ref.name}': {_describe(only_ref) or 'none'}; "
                f"only in '{other.name}': {_describe(only_other) or 'none'}; load files from one machine together.",
                file=other.name, column=(only_ref or only_other)[0],
            )


def _align_extras(files: list[_FileData], report: ValidationReport) -> list[_FileData]:
    """Keep only the extra columns every file has (in the first file's order), warning about the rest."""
    common = [c for c in files[0].extras if all(c in f.extras for f in files)]
    aligned = []
    for f in files:
        dropped = [c for c in f.extras if c not in common]
        if dropped:
            report.add("warning", "extra_columns_differ",
                       f"File '{f.name}': extra columns {', '.join(dropped)} are not in every file and were dropped.",
                       file=f.name, column=dropped[0])
            f = _FileData(f.name, f.frame.drop(columns=dropped), f.cores, tuple(common))
        aligned.append(f)
    return aligned


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


def _assemble(files: list[_FileData], target: str, gaps: _Gaps, report: ValidationReport) -> Telemetry:
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
    steps: np.ndarray, same_file: np.ndarray, interval: float, gaps: _Gaps, report: ValidationReport
) -> np.ndarray:
    """Which steps inside a file break the session; short stalls are reported but kept inside it."""
    long = same_file & (steps > gaps.threshold(interval))
    stalls = same_file & ~long & (steps > gaps.factor * interval)
    if stalls.any():
        report.add("info", "short_stalls",
                   f"{int(stalls.sum())} pauses inside files ({_num(steps[stalls].min())} to "
                   f"{_num(steps[stalls].max())} s) exceed {_num(gaps.factor)} sampling intervals but not "
                   f"{_num(gaps.min_seconds)} s, so they were kept inside their sessions.", column=TIMESTAMP)
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


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over column names and row hashes: equal for equal content, whatever the load path."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------
# Small formatting helpers
# ----------------------------------------------------------------------------------------------


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


def _join_unique(values: pd.Series) -> str:
    return ", ".join(pd.unique(values.astype(str)))
