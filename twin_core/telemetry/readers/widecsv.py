"""Wide CSV in our own column names, as psutil scripts write them: `timestamp`, `cpu_util_core_<n>` per cpu,
optionally `cpu_util_overall`, `workload_type` and extra columns, separated by commas, semicolons or tabs.

Values are left to the column checks (`telemetry.columns`), which name the row of every bad cell; this reader
only reads times without a zone in the options' zone (`localtime.local_epochs`), and computes the overall from the
cores (through `common.utilisation_frame`, which says what that means) when the file has none. A CSV whose header has
`timestamp` but no core columns is still claimed, so its message names what is missing; this reader is asked
last, after every collector's format.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from twin_core.telemetry.columns import _plain, _to_epoch_seconds, _to_percent
from twin_core.telemetry.frame import CORE_PATTERN, OVERALL, TIMESTAMP, WORKLOAD, core_columns_of
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.csvtext import longer_than_header
from twin_core.telemetry.readers.common import Reader, utilisation_frame
from twin_core.telemetry.readers.localtime import local_epochs
from twin_core.telemetry.report import ValidationReport, _describe, _first_line

_DELIMITERS = (",", ";", "\t")
_HEADER_CHARS = 64_000  # the header is looked for in this much of the text, as in looks_like


def _header(head: str) -> tuple[str, list[str]] | None:
    """(delimiter, column names) when the first non-blank line is a header with a `timestamp` column."""
    first = next((line for line in head.splitlines() if line.strip()), "")
    for delimiter in _DELIMITERS:
        names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter), [])]
        if TIMESTAMP in names:
            return delimiter, names
    return None


def _looks_like(head: str) -> bool:
    """A header line with a `timestamp` column (core columns or not: their absence gets its own message)."""
    return _header(head) is not None


def _read(name: str, text: str, options: SourceOptions, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """The CSV as one frame: times to epoch seconds, the overall computed from the cores when absent."""
    delimiter, names = _header(text[:_HEADER_CHARS]) or (",", [])
    cores = [n for n in names if CORE_PATTERN.match(n)]
    if not cores:
        report.add("error", "missing_column",
                   f"File '{name}': a CSV with no cpu_util_core_<n> columns (its columns: {_describe(names)}); "
                   "name each cpu's utilisation column cpu_util_core_0, cpu_util_core_1, ... (percent, 0..100), or "
                   "export the telemetry in a collector's format we read.", file=name)
        return []
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:  # pandas would rename the second copy to 'x.1' and keep it silently
        report.add("error", "duplicate_column",
                   f"File '{name}' has {names.count(repeated[0])} columns named '{repeated[0]}' in its header; keep "
                   "one of them or rename the others.", file=name, column=repeated[0])
        return []
    if delimiter != ",":
        report.add("info", "csv_delimiter",
                   f"File '{name}': columns separated by {'tabs' if delimiter == chr(9) else repr(delimiter)}.",
                   file=name)
    if (wide := longer_than_header(text, delimiter, len(names))) is not None:
        report.add("error", "malformed_line",
                   f"File '{name}', line {wide[0]} has {wide[1]:,} fields where the header names {len(names)}; the "
                   "line is altered or two lines ran together: give every line as many fields as the header has.",
                   file=name, example=f"line {wide[0]}")
        return []
    try:  # the C parser (never the Python one); low_memory off so a column is typed once, not per chunk;
        # index_col off so that no first column ever becomes the index
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, engine="c", low_memory=False,
                            skipinitialspace=True, index_col=False)
    except (pd.errors.ParserError, ValueError) as exc:
        report.add("error", "malformed_line",
                   f"File '{name}' is not a regular CSV ({_first_line(exc)}); give every line as many fields as the "
                   "header has.", file=name)
        return []
    if len(frame) == 0:
        return [(name, frame)]  # the schema checks say it has no rows
    times, keep = _times(name, _plain(frame[TIMESTAMP]), options, report)
    if times is None:
        return []
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
    frame[TIMESTAMP] = times
    if OVERALL in frame.columns:
        return [(name, frame)]
    return _with_computed_overall(name, frame, report)


def _times(
    name: str, s: pd.Series, options: SourceOptions, report: ValidationReport
) -> tuple[np.ndarray | None, np.ndarray]:
    """(epoch seconds of the rows kept, which rows are kept), by the column checks; ISO times without a zone are
    first read in the options' zone, and a row whose local time a daylight-saving change repeats or skips is
    left out (with a warning)."""
    keep = np.ones(len(s), dtype=bool)
    if not pd.api.types.is_numeric_dtype(s):
        try:
            wall = pd.to_datetime(s, format="ISO8601")
        except (TypeError, ValueError, OverflowError):
            wall = None  # mixed, zoned with offsets, or not times at all: the column checks say which
        if wall is not None and pd.api.types.is_datetime64_dtype(wall) and not isinstance(wall.dtype,
                                                                                          pd.DatetimeTZDtype):
            epochs = local_epochs(name, list(wall), [f"row {i}" for i in range(len(wall))], options, report,
                                  f"its column '{TIMESTAMP}' (ISO-8601 times without a zone)")
            keep = ~(np.isnan(epochs) & wall.notna().to_numpy())
            s = pd.Series(epochs[keep])  # empty cells stay NaN, for the column checks to name
    return _to_epoch_seconds(name, s, report), keep


def _with_computed_overall(name: str, frame: pd.DataFrame, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """The cores checked as percentages, the overall as their mean (with its warning), other columns kept."""
    cores = core_columns_of(frame.columns)
    values = {int(CORE_PATTERN.match(c).group(1)): _to_percent(name, c, _plain(frame[c]), report) for c in cores}
    if any(v is None for v in values.values()):
        return []
    workload = frame[WORKLOAD].to_numpy() if WORKLOAD in frame.columns else None
    built = utilisation_frame(name, frame[TIMESTAMP].to_numpy(), values, None, report, workload)
    extras = frame.drop(columns=[TIMESTAMP, WORKLOAD, *cores], errors="ignore")
    return [(name, pd.concat([built, extras], axis=1))]


READERS: tuple[Reader, ...] = (
    Reader("widecsv", "a wide CSV in our columns (timestamp, cpu_util_core_<n>, optionally cpu_util_overall and "
           "workload_type; epoch seconds, milliseconds or ISO-8601 times)", _looks_like, _read),
)
