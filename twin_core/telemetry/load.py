"""The entry points: parquet paths, uploaded bytes and in-memory frames, all through the same checks.

`_build` is the one validation and normalisation path they share. The loaders raise the first error's
`TelemetryError` subclass with the whole report attached (`_finish`); `validate_sources` returns the report instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from twin_core.budget import check_loading
from twin_core.errors import TelemetryError, TwinError
from twin_core.telemetry.frame import DEFAULT_TARGET, Telemetry
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.reading import _read_paths, _read_source
from twin_core.telemetry.report import ERROR_CLASSES, ValidationReport
from twin_core.telemetry.schema import _align_extras, _check_file, _check_schemas, _check_target_name
from twin_core.telemetry.sessions import SessionRule, _assemble


def load_telemetry(
    sources: str | Path | Iterable[str | Path],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = SessionRule().gap_factor,
    min_gap_s: float = SessionRule().min_gap_s,
    memory_budget: str | int | None = None,
    options: SourceOptions | None = None,
) -> Telemetry:
    """Load telemetry files (paths or directories), validate, normalise and split into sessions.

    Each file is parquet in our columns or a collector's export, told apart by content; `options` says how to
    label workloads and which time zone local times are in (see SourceOptions).
    A session breaks at every file boundary and at every gap longer than both `gap_factor` median
    sampling intervals and `min_gap_s` seconds (recorders stall for a few seconds now and then).
    Files whose estimated loading peak (from their footers) passes `memory_budget` (see twin_core.budget)
    are refused with MemoryBudgetError before any is read.
    """
    report = ValidationReport()
    raw = _read_paths(sources, report, memory_budget, options)
    return _finish(_build(raw, target, SessionRule(gap_factor, min_gap_s), report), report)


def load_uploaded(
    files: Iterable[tuple[str, bytes]],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = SessionRule().gap_factor,
    min_gap_s: float = SessionRule().min_gap_s,
    memory_budget: str | int | None = None,
    options: SourceOptions | None = None,
) -> Telemetry:
    """Same as load_telemetry for (file name, bytes) pairs, as a browser upload gives them."""
    files = list(files)
    check_loading([(Path(name).name, data) for name, data in files], memory_budget)
    report = ValidationReport()
    raw = [part for name, data in files for part in _read_source(Path(name).name, data, report,
                                                                  options or SourceOptions())]
    if not raw:
        report.add("error", "no_sources", "No files were uploaded; upload one or more telemetry files.")
    return _finish(_build(raw, target, SessionRule(gap_factor, min_gap_s), report), report)


def telemetry_from_frames(
    frames: Iterable[tuple[str, pd.DataFrame]],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = SessionRule().gap_factor,
    min_gap_s: float = SessionRule().min_gap_s,
) -> Telemetry:
    """Validate in-memory frames, each named by its source (a file name or 'demo')."""
    report = ValidationReport()
    # a copy of each frame: the telemetry must not share memory with frames the caller may change later
    raw: list[tuple[str, pd.DataFrame | None]] = [
        (name, df.copy() if isinstance(df, pd.DataFrame) else df) for name, df in frames
    ]
    if not raw:
        report.add("error", "no_sources", "No telemetry frames were given; pass at least one (name, DataFrame) pair.")
    return _finish(_build(raw, target, SessionRule(gap_factor, min_gap_s), report), report)


def validate_sources(
    sources: str | Path | Iterable[str | Path],
    *,
    target: str = DEFAULT_TARGET,
    gap_factor: float = SessionRule().gap_factor,
    min_gap_s: float = SessionRule().min_gap_s,
    memory_budget: str | int | None = None,
    can_train: Callable[[Telemetry], Iterable[str]] | None = None,
    options: SourceOptions | None = None,
) -> ValidationReport:
    """Run every check and return the report without raising (for `python -m twin_core validate`).

    `can_train`, given the loaded telemetry, raises the error a training run would raise for it and returns
    what such a run would adapt (the CLI passes its preset's session, hold-out and fold checks): the error
    lands in the report, the adaptations as notes, so `validate` never says OK to data `train` refuses.
    Only files that would pass `memory_budget` to load raise (MemoryBudgetError), before they are read.
    """
    report = ValidationReport()
    raw = _read_paths(sources, report, memory_budget, options)
    telemetry = _build(raw, target, SessionRule(gap_factor, min_gap_s), report)
    if telemetry is not None and can_train is not None:
        try:
            for note in can_train(telemetry):
                report.add("info", "train_adapts", f"Training would adapt: {note}")
        except TwinError as exc:
            report.add("error", "cannot_train", f"Training would refuse this data: {exc}")
    return report


def _build(
    raw: list[tuple[str, pd.DataFrame | None]], target: str, gaps: SessionRule, report: ValidationReport
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
    """Raise the exception of the first error (with the whole report attached), else return the result; the
    message is the first error as grouped (the same problem in several files is one)."""
    if telemetry is not None and not report.errors:
        return telemetry
    errors = [issue for issue in report.grouped() if issue.level == "error"]
    first = errors[0]
    message = first.message
    if len(errors) > 1:
        more = len(errors) - 1
        message = f"{message.rstrip('.')} (and {more} more problem{'s' if more > 1 else ''} in the report)."
    exc = ERROR_CLASSES.get(first.code, TelemetryError)(message)
    exc.report = report
    raise exc
