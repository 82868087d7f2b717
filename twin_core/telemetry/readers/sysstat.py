"""sysstat's exports read into our columns: `sar -P ALL -u` text reports, `sadf -d` CSV and `sadf -j` JSON.

All three print the same percentages from the same data file (also with `-u ALL`'s columns). A cpu's utilisation
is 100 − %idle − %iowait (common.BUSY_DEFINITION); the `all` line (sadf: CPU -1) is the overall. sar's text
prints local times under a header line holding the date (in the order of sar's locale): they are read in the
zone the user gives, move to the next day when the clock runs past midnight, and a date that could be read
two ways is refused. sadf prints UTC unless run with -t/-T. A reboot (`LINUX RESTART`, sadf's `restarts`)
cuts the file into parts, so a new session starts there. A part's cpus are those in most of its samples (a cpu in
fewer is left out with a warning); a sample that lacks one of them, or shows one offline (every share 0.00, as
sysstat prints an offline cpu), is left out rather than guessed.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers.common import Reader, part_name, usual_cpus, utilisation_frame
from twin_core.telemetry.readers.localtime import in_repeated_hour, local_epochs
from twin_core.telemetry.report import ValidationReport, _n

ALL = -1  # the overall line: sar's 'all', sadf -d's CPU -1
# printed shares are rounded (to 0.01), so idle + iowait may pass 100 by a little without anything being wrong
ROUNDING = 0.1
SAR_HEADER = re.compile(r"^Linux\s+\S+\s+\([^)]*\)\s+(?P<date>\S+)\s+_\S+_\s+\(\d+ CPU\)")
SAR_DATE = re.compile(r"^(\d{1,4})([/.-])(\d{1,2})\2(\d{2,4})$")
SAR_TIME = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})$")
SADF_D_HEADER = re.compile(r"^#\s*hostname;interval;timestamp;CPU;")
SADF_J_START = re.compile(r"^\s*\{\s*\"sysstat\"\s*:")
SAR_EXPORT = "export the report again with `sar -P ALL -u` (or `sadf -d FILE -- -P ALL -u`)"


class _Bad(Exception):
    """A problem that makes the whole file unreadable: its report code and message (after "File 'x': ")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class _Sample:
    """One sampling instant: where it was read, its time as printed, and busy % per cpu (ALL: the overall;
    NaN: the cpu was reported offline)."""

    place: str
    when: datetime
    local: bool
    busy: dict[int, float] = field(default_factory=dict)
    epoch: float = math.nan


def _add(part: list[_Sample], place: str, when: datetime, local: bool, cpu: int, busy: float) -> None:
    """File one cpu's value under its sample: the lines of one instant follow each other, one per cpu."""
    if not part or part[-1].when != when or cpu in part[-1].busy:
        part.append(_Sample(place, when, local))
    part[-1].busy[cpu] = busy


def _busy(shares: dict[str, float], idle: str, iowait: str, place: str) -> float:
    """100 − idle − iowait from one cpu's printed shares; NaN when every share is 0 (sysstat's offline cpu)."""
    bad = [k for k, v in shares.items() if not (math.isfinite(v) and -ROUNDING <= v <= 100 + ROUNDING)]
    if bad or shares[idle] + shares[iowait] > 100 + ROUNDING:
        what = f"'{bad[0]}' is {shares[bad[0]]:g}" if bad else f"idle + iowait is {shares[idle] + shares[iowait]:g}"
        raise _Bad("out_of_range", f"{place}: {what}, outside 0..100 %; the line was altered or cut: fix or "
                                   "delete it.")
    if not any(shares.values()):
        return math.nan
    return min(max(100.0 - shares[idle] - shares[iowait], 0.0), 100.0)


def _number(text: str, column: str, place: str) -> float:
    """A printed share as a float (sar prints '12,50' in locales with a decimal comma)."""
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise _Bad("non_numeric", f"{place}: '{text}' under {column} is not a number; fix or delete the line, "
                                  f"or {SAR_EXPORT}.") from None


def _frames(
    name: str, parts: list[list[_Sample]], options: SourceOptions, report: ValidationReport, printed_by: str
) -> list[tuple[str, pd.DataFrame]]:
    """Our frames from the samples of each part: times to epoch seconds, incomplete samples left out."""
    local = [s for part in parts for s in part if s.local]
    if local:
        epochs = local_epochs(name, [s.when for s in local], [s.place for s in local], options, report, printed_by)
        for sample, epoch in zip(local, epochs):
            sample.epoch = float(epoch)
    for part in parts:
        for sample in part:
            if not sample.local:
                sample.epoch = sample.when.replace(tzinfo=UTC).timestamp()
    frames, incomplete = [], []
    for part in parts:
        timed = [s for s in part if not math.isnan(s.epoch)]
        online = [{c for c, v in s.busy.items() if not math.isnan(v)} for s in timed]  # a cpu never online: none
        usual = usual_cpus(name, online, [s.place for s in timed], report)
        cpus = sorted(c for c in usual if c != ALL)
        wanted = cpus + ([ALL] if ALL in usual else [])
        complete = [all(not math.isnan(s.busy.get(c, math.nan)) for c in wanted) for s in timed]
        whole = [s for s, ok in zip(timed, complete) if ok]
        incomplete += [s for s, ok in zip(timed, complete) if not ok]
        if whole:
            cores = {c: [s.busy[c] for s in whole] for c in cpus}
            overall = [s.busy[ALL] for s in whole] if ALL in wanted else None
            frames.append(([s.epoch for s in whole], cores, overall))
    if incomplete:
        report.add("warning", "missing_cpus",
                   f"File '{name}': {_n(len(incomplete), 'sample')} (first at {incomplete[0].place}) lack a cpu's "
                   "line or show a cpu offline (every share 0.00) and are left out rather than guessed.", file=name)
    if not frames:
        report.add("error", "empty_file",
                   f"File '{name}' holds no complete sample of cpu utilisation; record for longer and "
                   f"{SAR_EXPORT}.", file=name)
        return []
    named = [(part_name(name, i, len(frames)), frame) for i, frame in enumerate(frames)]
    return [(part, utilisation_frame(part, np.asarray(t), {c: np.asarray(v) for c, v in cores.items()},
                                     None if overall is None else np.asarray(overall), report))
            for part, (t, cores, overall) in named]


def _say_restarts(name: str, places: list[str], parts: int, report: ValidationReport) -> None:
    """An info finding when reboots cut the file."""
    if places:
        report.add("info", "restart",
                   f"File '{name}': sysstat marks {_n(len(places), 'restart')} (a reboot; first at {places[0]}); "
                   f"the file is read as {_n(parts, 'part')}, each a new session.", file=name)


def _sar_date(text: str, line: int) -> tuple[date, bool]:
    """The report's date as sar's locale printed it (MM/DD/YY, YYYY-MM-DD, DD.MM.YYYY, DD/MM/YY ...), and whether
    it could have been day/month too (then it is read month/day, as sar's default C and en_US locales print it)."""
    fix = ("run sar with S_TIME_FORMAT=ISO so that it prints the date as YYYY-MM-DD, or export with "
           "`sadf -d FILE -- -P ALL -u`")
    match = SAR_DATE.match(text)
    if not match:
        raise _Bad("bad_timestamp", f"line {line}: the report's date '{text}' is in no form we read; {fix}.")
    first, sep, second, third = match.groups()
    a, b, c = int(first), int(second), int(third)
    if len(first) == 4:
        year, month, day = a, b, c
    elif sep == "." or a > 12 >= b:  # every locale that writes dots puts the day first
        year, month, day = c, b, a
    else:
        year, month, day = c, a, b
    try:
        return date(year + 2000 if len(third) == 2 and len(first) != 4 else year, month, day), a != b and b <= 12
    except ValueError:
        raise _Bad("bad_timestamp", f"line {line}: the report's date '{text}' is no date; {fix}.") from None


def _sar_time(tokens: list[str], line: int) -> tuple[time, list[str]] | None:
    """The time a sar line starts with (24-hour, or 12-hour followed by AM/PM) and the tokens after it."""
    match = SAR_TIME.match(tokens[0])
    if not match:
        return None
    hour, minute, second = (int(g) for g in match.groups())
    rest = tokens[1:]
    if rest and rest[0].upper() in ("AM", "PM"):
        if not 1 <= hour <= 12:
            raise _Bad("bad_timestamp", f"line {line}: '{tokens[0]} {rest[0]}' is no 12-hour time; fix or delete "
                                        "the line.")
        hour = hour % 12 + (12 if rest[0].upper() == "PM" else 0)
        rest = rest[1:]
    if hour > 23 or minute > 59 or second > 59 or not rest:
        raise _Bad("bad_timestamp", f"line {line}: '{' '.join(tokens[:2])}' is no sar line (a time of day and "
                                    "its values); fix or delete the line.")
    return time(hour, minute, second), rest


def _sar_parts(text: str, options: SourceOptions) -> tuple[list[list[_Sample]], int, list[str], list[str]]:
    """The samples of a sar text report, cut at LINUX RESTART lines; also the count of Average lines skipped,
    where the restarts were, and the header dates that could also be read day/month."""
    parts: list[list[_Sample]] = [[]]
    day: date | None = None
    last: int | None = None
    columns: list[str] | None = None
    averages, restarts, ambiguous = 0, [], []
    for no, raw in enumerate(text.splitlines(), 1):
        tokens = raw.split()
        if not tokens:
            continue
        if header := SAR_HEADER.match(raw.strip()):
            (day, either_way), last, columns = _sar_date(header["date"], no), None, None
            if either_way:
                ambiguous.append(header["date"])
            if parts[-1]:
                parts.append([])
            continue
        timed = _sar_time(tokens, no)
        if timed is None:
            if tokens[0].endswith(":"):  # 'Average:' (translated in other locales)
                averages += 1
                continue
            raise _Bad("not_parquet", f"line {no} ('{raw.strip()[:60]}') is neither sar's header, a line starting "
                                      f"with a time nor an Average line; delete it or {SAR_EXPORT}.")
        if day is None:
            raise _Bad("bad_timestamp", f"line {no} comes before sar's header line ('Linux … DATE … (N CPU)'), "
                                        "which gives the date; keep the report whole from its first line.")
        clock, rest = timed
        seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
        if last is not None and seconds < last and not (
                in_repeated_hour(day, seconds, options.zone) and in_repeated_hour(day, last, options.zone)):
            if day == date.max:
                raise _Bad("bad_timestamp", f"line {no}: the clock runs past midnight of {day}, the last day a "
                                            "date holds; fix the report's date.")
            day += timedelta(days=1)  # past midnight (a clock going back inside the repeated DST hour is not)
        last, when = seconds, datetime.combine(day, clock)
        if rest[:2] == ["LINUX", "RESTART"]:
            restarts.append(f"line {no}")
            if parts[-1]:
                parts.append([])
        elif rest[0] == "CPU":
            columns = rest[1:]
            if "%idle" not in columns or "%iowait" not in columns:
                raise _Bad("not_parquet", f"line {no} starts a sar section other than CPU utilisation (columns "
                                          f"{' '.join(rest[:6])}); {SAR_EXPORT}.")
        elif rest[0] != "COM":  # COM: a comment sadc was given
            if columns is None:
                raise _Bad("not_parquet", f"line {no} holds values before any column header line "
                                          f"('… CPU %user … %idle'); {SAR_EXPORT}.")
            if len(rest) != len(columns) + 1 or not (rest[0] == "all" or rest[0].isdigit()):
                raise _Bad("not_parquet", f"line {no} ('{raw.strip()[:60]}') is not a cpu and "
                                          f"{len(columns)} values as its column header says; the line is cut or "
                                          "altered: fix or delete it.")
            place = f"line {no}"
            shares = {col: _number(v, col, place) for col, v in zip(columns, rest[1:])}
            cpu = ALL if rest[0] == "all" else int(rest[0])
            _add(parts[-1], place, when, True, cpu, _busy(shares, "%idle", "%iowait", place))
    return parts, averages, restarts, ambiguous


def _read_sar(
    name: str, text: str, options: SourceOptions, report: ValidationReport
) -> list[tuple[str, pd.DataFrame]]:
    """A `sar -P ALL -u` text report: local times in the options' zone, one frame per stretch between reboots."""
    try:
        parts, averages, restarts, ambiguous = _sar_parts(text, options)
    except _Bad as bad:
        report.add("error", bad.code, f"File '{name}': {bad.message}", file=name)
        return []
    if ambiguous:
        report.add("warning", "date_order",
                   f"File '{name}': the report's date '{ambiguous[0]}' could be month/day or day/month; it is read "
                   "month/day, as sar prints it in its default (C and en_US) locales. If your locale puts the day "
                   "first, run sar with S_TIME_FORMAT=ISO (YYYY-MM-DD) or export with `sadf -d FILE -- -P ALL -u`.",
                   file=name)
    if averages:
        report.add("info", "averages_skipped",
                   f"File '{name}': {_n(averages, 'Average line')} skipped (sar's means over the report, not "
                   "samples).", file=name)
    frames = _frames(name, parts, options, report, "sar")
    _say_restarts(name, restarts, len(frames), report)
    return frames


def _sadf_time(text: str, place: str) -> tuple[datetime, bool]:
    """A sadf -d timestamp: 'YYYY-MM-DD HH:MM:SS UTC', local without the suffix (-t/-T), or epoch seconds (-U)."""
    text = text.strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None), False
        return datetime.strptime(text.removesuffix(" UTC"), "%Y-%m-%d %H:%M:%S"), not text.endswith(" UTC")
    except (ValueError, OverflowError, OSError):  # OverflowError, OSError: epoch seconds past what a date holds
        raise _Bad("bad_timestamp", f"{place}: the timestamp '{text}' is not one sadf writes "
                                    "('YYYY-MM-DD HH:MM:SS UTC'); fix or delete the line.") from None


def _sadf_d_parts(text: str) -> tuple[list[list[_Sample]], list[str]]:
    """The samples of a `sadf -d` export, cut at LINUX-RESTART lines; also where the restarts were."""
    parts: list[list[_Sample]] = [[]]
    columns: list[str] | None = None
    host: str | None = None
    restarts = []
    for no, raw in enumerate(text.splitlines(), 1):
        line, place = raw.strip(), f"line {no}"
        if not line:
            continue
        if line.startswith("#"):
            columns = [c.strip() for c in line.lstrip("#").split(";")]
            if not {"hostname", "timestamp", "CPU", "%idle", "%iowait"} <= set(columns):
                raise _Bad("not_parquet", f"{place} starts a sadf section other than CPU utilisation (columns "
                                          f"{';'.join(columns[:6])}); export with `sadf -d FILE -- -P ALL -u`.")
            continue
        if columns is None:
            raise _Bad("not_parquet", f"{place} holds values before sadf's header line ('# hostname;interval;"
                                      "timestamp;CPU;…'); keep the export whole from its first line.")
        fields = [f.strip() for f in line.split(";")]
        at = dict(zip(columns, fields))
        if at.get("CPU", "").startswith("LINUX-RESTART"):
            restarts.append(place)
            if parts[-1]:
                parts.append([])
            continue
        if len(fields) != len(columns):
            raise _Bad("not_parquet", f"{place} has {len(fields)} fields where the header names {len(columns)}; "
                                      "the line is cut or altered: fix or delete it.")
        if host is not None and at["hostname"] != host:
            raise _Bad("not_parquet", f"{place} is from host '{at['hostname']}' after lines from '{host}'; a file "
                                      "is one machine's telemetry: export one host per file.")
        host = at["hostname"]
        when, local = _sadf_time(at["timestamp"], place)
        try:
            cpu = int(at["CPU"])
        except ValueError:
            raise _Bad("non_numeric", f"{place}: CPU '{at['CPU']}' is no cpu number; fix or delete the "
                                      "line.") from None
        shares = {c: _number(at[c], c, place) for c in columns if c.startswith("%")}
        _add(parts[-1], place, when, local, ALL if cpu == -1 else cpu, _busy(shares, "%idle", "%iowait", place))
    return parts, restarts


def _json_time(stamp: object, place: str) -> tuple[datetime, bool]:
    """A sadf -j time {"date", "time", "utc"}: UTC when utc is 1, local otherwise."""
    try:
        when = datetime.strptime(f"{stamp['date']} {stamp['time']}", "%Y-%m-%d %H:%M:%S")  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise _Bad("bad_timestamp", f"{place}: the time {json.dumps(stamp)[:80]} is not sadf's "
                                    "{\"date\": \"YYYY-MM-DD\", \"time\": \"HH:MM:SS\", …}; export the file again "
                                    "with `sadf -j FILE -- -P ALL -u`.") from None
    return when, stamp.get("utc") != 1  # type: ignore[union-attr]


def _sadf_j_parts(text: str) -> tuple[list[list[_Sample]], list[str]]:
    """The samples of a `sadf -j` export, cut at the host's restarts; also where the restarts were."""
    fix = "export the file again with `sadf -j FILE -- -P ALL -u`"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Bad("not_parquet", f"is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                                  f"{fix}.") from None
    try:
        hosts = doc["sysstat"]["hosts"]
        names = [str(h.get("nodename", "?")) for h in hosts]
    except (KeyError, TypeError, AttributeError):
        raise _Bad("not_parquet", f"has no list sysstat.hosts as sadf -j writes it; {fix}.") from None
    if len(hosts) != 1:
        raise _Bad("not_parquet", f"holds {_n(len(hosts), 'host')} ({', '.join(names)}); a file is one machine's "
                                  "telemetry: export one host per file.")
    statistics, boots = hosts[0].get("statistics", []), hosts[0].get("restarts", [])
    if not isinstance(statistics, list) or not isinstance(boots, list):
        raise _Bad("not_parquet", f"has a host whose statistics or restarts are not lists; {fix}.")
    reboots = sorted(_json_time(r.get("boot") if isinstance(r, dict) else r, f"restart {i + 1}")
                     for i, r in enumerate(boots))
    parts: list[list[_Sample]] = [[] for _ in range(len(reboots) + 1)]
    for i, stat in enumerate(statistics):
        place = f"statistic {i + 1}"
        loads = stat.get("cpu-load") if isinstance(stat, dict) else None
        if loads is None:
            continue
        when, local = _json_time(stat.get("timestamp"), place)
        part = parts[sum(1 for boot, _ in reboots if boot < when)]
        for load in loads if isinstance(loads, list) else [loads]:
            cpu = str(load.get("cpu", "")) if isinstance(load, dict) else ""
            if not (cpu == "all" or cpu.isdigit()) or "idle" not in load or "iowait" not in load:
                raise _Bad("not_parquet", f"{place}: the cpu-load entry {json.dumps(load)[:80]} lacks 'cpu', "
                                          f"'idle' or 'iowait'; {fix}.")
            shares = {k: _number(str(v), k, place) for k, v in load.items() if k != "cpu"}
            _add(part, place, when, local, ALL if cpu == "all" else int(cpu), _busy(shares, "idle", "iowait", place))
    if not any(parts):
        raise _Bad("empty_file", f"holds no cpu-load statistics; {fix}.")
    return parts, [f"the boot at {boot:%Y-%m-%d %H:%M:%S}" for boot, _ in reboots]


def _sadf_reader(parse: Callable[[str], tuple[list[list[_Sample]], list[str]]], local_source: str) -> Callable[
        [str, str, SourceOptions, ValidationReport], list[tuple[str, pd.DataFrame]]]:
    """The reader of one sadf export (`parse` gives its samples and restarts): one frame per stretch between reboots;
    `local_source` names what writes local times, for the time-zone note."""
    def read(name: str, text: str, options: SourceOptions, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
        try:
            parts, restarts = parse(text)
        except _Bad as bad:
            report.add("error", bad.code, f"File '{name}': {bad.message}", file=name)
            return []
        frames = _frames(name, parts, options, report, local_source)
        _say_restarts(name, restarts, len(frames), report)
        return frames
    return read


READERS: tuple[Reader, ...] = (
    Reader("sadf-j", "sysstat JSON (`sadf -j FILE -- -P ALL -u`)", lambda head: bool(SADF_J_START.match(head)),
           _sadf_reader(_sadf_j_parts, "sadf -j (with utc 0)")),
    Reader("sadf-d", "sysstat CSV (`sadf -d FILE -- -P ALL -u`)",
           lambda head: bool(SADF_D_HEADER.match(head.lstrip())),
           _sadf_reader(_sadf_d_parts, "sadf -d run with -t or -T")),
    Reader("sar", "sysstat text report (`sar -P ALL -u`)",
           lambda head: any(SAR_HEADER.match(line.strip()) for line in head.splitlines()[:20]), _read_sar),
)
