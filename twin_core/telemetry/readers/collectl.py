"""collectl's plot format (`collectl -sC -P`, or `-scC` for the overall too) read into our columns.

The column header `#Date Time [CPU:0]User% … [CPU:0]Idle% [CPU:0]Wait% …` names each cpu's shares; the summary
columns `[CPU]Idle%`, `[CPU]Wait%` (recorded with -sc) are the overall. A cpu's utilisation is 100 − Idle% − Wait%
(common.BUSY_DEFINITION). Times are `YYYYMMDD HH:MM:SS[.mmm]` in the machine's local zone (read in the zone the
user gives) or, with `--utc`, epoch seconds under a `#UTC` header. collectl's comment lines (`# Collectl: …`,
`# Date: … TZ: +0100`, rows of `#`) and the 'waiting for … sample' line it prints on a terminal are skipped;
the `TZ:` offset, when the file has one, is checked against the zone the times are read in.
"""
from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pandas as pd

from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers.common import Reader, utilisation_frame
from twin_core.telemetry.readers.localtime import local_epochs
from twin_core.telemetry.report import ValidationReport

HEADER = re.compile(r"^#(Date Time|UTC)\s")
COLUMN = re.compile(r"^\[CPU(?::(\d+))?\](\w+)%$")
TZ_LINE = re.compile(r"^#\s*Date:.*\bTZ:\s*([+-])(\d{2})(\d{2})")
SUMMARY = -1  # the [CPU] summary columns
# collectl prints whole percentages, so Idle% + Wait% may pass 100 by one without anything being wrong
ROUNDING = 1.0
RECORD = "record with `collectl -scC -P` (per-cpu detail and the summary)"


def _shares(columns: list[str]) -> dict[int, tuple[int, int]]:
    """Column positions of Idle% and Wait% per cpu (SUMMARY for the [CPU] summary columns)."""
    found: dict[int, dict[str, int]] = {}
    for i, column in enumerate(columns):
        if match := COLUMN.match(column):
            cpu = SUMMARY if match[1] is None else int(match[1])
            found.setdefault(cpu, {})[match[2]] = i
    return {cpu: (cols["Idle"], cols["Wait"]) for cpu, cols in found.items() if "Idle" in cols and "Wait" in cols}


def _error(name: str, code: str, message: str, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """Report one error about the file and read nothing from it."""
    report.add("error", code, f"File '{name}': {message}", file=name)
    return []


def _read(name: str, text: str, options: SourceOptions, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """A collectl plot file: one frame, per-cpu columns required, the summary columns as the overall."""
    header: list[str] | None = None
    offset: timedelta | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if HEADER.match(line):
            if header is not None and line[1:].split() != header:
                return _error(name, "not_parquet", f"line {no} is a second column header naming other columns "
                                                   "than the first; keep one recording per file.", report)
            header = line[1:].split()
        elif tz := TZ_LINE.match(line):
            offset = (1 if tz[1] == "+" else -1) * timedelta(hours=int(tz[2]), minutes=int(tz[3]))
        elif line and not line.startswith("#") and header is not None:
            rows.append(line.split())
            lines.append(no)
    if header is None:
        return _error(name, "not_parquet", f"has no column header line ('#Date Time [CPU:0]User% …'); {RECORD}.",
                      report)
    stamp_width = 1 if header[0] == "UTC" else 2
    shares = _shares(header)
    cpus = sorted(c for c in shares if c != SUMMARY)
    if not cpus:
        has = "only collectl's summary cpu columns ([CPU]Idle% …)" if SUMMARY in shares else "no cpu columns"
        return _error(name, "missing_column", f"has {has}, no per-cpu ones ([CPU:0]Idle%, [CPU:0]Wait%); record "
                                              "with -sC (per-cpu detail), or -scC to keep the overall too.", report)
    if not rows:
        return _error(name, "empty_file", f"has a column header but no samples; record for longer ({RECORD}).",
                      report)
    if (bad := next((i for i, r in enumerate(rows) if len(r) != len(header)), None)) is not None:
        return _error(name, "not_parquet", f"line {lines[bad]} has {len(rows[bad])} fields where the header names "
                                           f"{len(header)}; the line is cut or altered: fix or delete it.", report)
    table = np.array(rows, dtype=object)
    values = pd.DataFrame(table[:, stamp_width:]).apply(pd.to_numeric, errors="coerce").to_numpy("float64")
    if (~np.isfinite(values)).any():
        r, c = (int(i[0]) for i in np.nonzero(~np.isfinite(values)))
        return _error(name, "non_numeric", f"line {lines[r]}: '{table[r, c + stamp_width]}' under "
                                           f"{header[c + stamp_width]} is not a number; fix or delete the line.",
                      report)
    times = _times(name, table[:, :stamp_width], lines, options, offset, report)
    if times is None:
        return []
    busy: dict[int, np.ndarray] = {}
    for cpu, (idle, wait) in shares.items():
        idle_v, wait_v = values[:, idle - stamp_width], values[:, wait - stamp_width]
        wrong = (idle_v < 0) | (wait_v < 0) | (idle_v + wait_v > 100 + ROUNDING)
        if wrong.any():
            r = int(np.flatnonzero(wrong)[0])
            return _error(name, "out_of_range", f"line {lines[r]}: {header[idle]} {idle_v[r]:g} and {header[wait]} "
                                                f"{wait_v[r]:g} do not fit in 0..100 %; fix or delete the line.",
                          report)
        busy[cpu] = np.clip(100.0 - idle_v - wait_v, 0.0, 100.0)
    keep = np.isfinite(times)
    if not keep.any():
        return _error(name, "empty_file", "has no sample with a time that exists in the zone; read it with "
                                          "--timezone ZONE.", report)
    frame = utilisation_frame(name, times[keep], {c: busy[c][keep] for c in cpus},
                              busy[SUMMARY][keep] if SUMMARY in busy else None, report)
    return [(name, frame)]


def _times(
    name: str, stamps: np.ndarray, lines: list[int], options: SourceOptions, offset: timedelta | None,
    report: ValidationReport,
) -> np.ndarray | None:
    """Epoch seconds from `YYYYMMDD HH:MM:SS[.mmm]` local times or `#UTC` epoch seconds; None after an error."""
    if stamps.shape[1] == 1:
        seconds = pd.to_numeric(pd.Series(stamps[:, 0]), errors="coerce").to_numpy("float64")
        if np.isnan(seconds).any():
            r = int(np.flatnonzero(np.isnan(seconds))[0])
            report.add("error", "bad_timestamp", f"File '{name}': line {lines[r]}: '{stamps[r, 0]}' under UTC is "
                                                 "not epoch seconds; fix or delete the line.", file=name)
            return None
        return seconds
    parsed = pd.to_datetime(pd.Series(stamps[:, 0] + " " + stamps[:, 1]), format="%Y%m%d %H:%M:%S.%f",
                            errors="coerce")
    plain = pd.to_datetime(pd.Series(stamps[:, 0] + " " + stamps[:, 1]), format="%Y%m%d %H:%M:%S", errors="coerce")
    parsed = parsed.fillna(plain)
    if parsed.isna().any():
        r = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        stamp = f"{stamps[r, 0]} {stamps[r, 1]}"
        hint = (" (a date without its year, as -od writes it)" if re.match(r"^\d{1,2}/\d{1,2}$", stamps[r, 0])
                else "")
        report.add("error", "bad_timestamp",
                   f"File '{name}': line {lines[r]}: '{stamp}' is not collectl's 'YYYYMMDD HH:MM:SS' time{hint}; "
                   "record without -od (or with --utc), or fix the line.", file=name)
        return None
    stamps_local = [t.to_pydatetime() for t in parsed]
    if offset is not None:
        zone_offset = stamps_local[0].replace(tzinfo=options.zone).utcoffset()
        if zone_offset != offset:
            report.add("warning", "zone_mismatch",
                       f"File '{name}': collectl's header says its times are at UTC{_offset(offset)}, but they were "
                       f"read in {options.timezone} (UTC{_offset(zone_offset)}); read the file with --timezone set "
                       "to the recording machine's zone.", file=name)
    return local_epochs(name, stamps_local, [f"line {n}" for n in lines], options, report, "collectl")


def _offset(delta: timedelta | None) -> str:
    """A UTC offset as people write it: +01:00."""
    minutes = int((delta or timedelta()).total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


READERS: tuple[Reader, ...] = (
    Reader("collectl", "collectl plot format (`collectl -scC -P`)",
           lambda head: any(HEADER.match(line) for line in head.splitlines()[:50]), _read),
)
