"""Load, validate and normalise CPU telemetry into one sorted frame split into recording sessions.

Files, uploaded bytes and in-memory frames all pass through the same checks. Every finding lands in
a `ValidationReport`; errors raise a `TelemetryError` subclass carrying that report as `exc.report`.
Row numbers in messages count from 0 within the file, as pandas does.

How data flows through the modules (each writes its findings to the report as it goes):

    load      the entry points (load_telemetry, load_uploaded, telemetry_from_frames, validate_sources)
      → reading   paths and folders expanded, the memory budget checked (parquet footers, text sizes), each file
                  read by its content: parquet with pyarrow, a collector's export by its reader
                  (readers/: Prometheus, sysstat, collectl, /proc/stat logs, wide CSV; cumulative counters to
                  utilisation in readers/counters), then labelled (labels: a constant or a schedule, as the
                  reading options say: options.SourceOptions)
      → schema    per file: column names (required, target, reserved, duplicate and zero-padded cores),
                  then columns' value checks, giving one normalised frame per file; then the cross-file checks
      → columns   per column: timestamps to epoch seconds, workload labels, utilisation percentages,
                  nested or unreadable values
      → sessions  rows sorted, repeated timestamps dropped, sessions cut, the canonical frame → Telemetry
    then load raises the first error's TelemetryError subclass, or returns the Telemetry
    report    ValidationIssue, ValidationReport and the exception class of each error code; wording helpers
    frame     the Telemetry type, its column names and its fingerprint, which everything downstream reads
    writing   telemetry written back as parquet in our columns (convert, record), atomically

The public names are re-exported here: import them from `twin_core.telemetry`.
"""
from __future__ import annotations

from twin_core.telemetry.columns import EPOCH_MAX_S, EPOCH_MIN_S, ROUNDING_SLACK
from twin_core.telemetry.frame import (
    CORE_PATTERN,
    DEFAULT_TARGET,
    OVERALL,
    SESSION,
    SOURCE,
    TIMESTAMP,
    WORKLOAD,
    Telemetry,
    core_columns_of,
    frame_fingerprint,
)
from twin_core.telemetry.load import load_telemetry, load_uploaded, telemetry_from_frames, validate_sources
from twin_core.telemetry.reading import PARQUET_HINT, PARQUET_MAGIC
from twin_core.telemetry.report import ERROR_CLASSES, ValidationIssue, ValidationReport
from twin_core.telemetry.sessions import SessionRule

__all__ = [
    "CORE_PATTERN",
    "DEFAULT_TARGET",
    "EPOCH_MAX_S",
    "EPOCH_MIN_S",
    "ERROR_CLASSES",
    "OVERALL",
    "PARQUET_HINT",
    "PARQUET_MAGIC",
    "ROUNDING_SLACK",
    "SESSION",
    "SOURCE",
    "TIMESTAMP",
    "WORKLOAD",
    "SessionRule",
    "Telemetry",
    "ValidationIssue",
    "ValidationReport",
    "core_columns_of",
    "frame_fingerprint",
    "load_telemetry",
    "load_uploaded",
    "telemetry_from_frames",
    "validate_sources",
]
