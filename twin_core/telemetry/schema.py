"""The per-file checks: which columns a file has and what they are called (the required columns, the target,
reserved names, duplicate and zero-padded core names), each column's value checks in turn, and the cross-file
checks that every file has the same cores and extra columns.

A file that passes becomes a `_FileData`: its columns normalised, in the canonical order, ready for sessions.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import pandas as pd

from twin_core.telemetry.columns import (
    _check_extras,
    _nested_columns,
    _plain,
    _to_epoch_seconds,
    _to_percent,
    _to_workload,
    _unreadable_columns,
)
from twin_core.telemetry.frame import CORE_PATTERN, OVERALL, SESSION, SOURCE, TIMESTAMP, WORKLOAD, core_columns_of
from twin_core.telemetry.report import ValidationReport, _describe


@dataclass(frozen=True)
class _FileData:
    """One source after the per-file checks: normalised columns, in canonical order."""

    name: str
    frame: pd.DataFrame
    cores: tuple[str, ...]
    extras: tuple[str, ...]


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
