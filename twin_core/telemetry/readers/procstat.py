"""/proc/stat sample logs, as course and lab scripts write them: a timestamp line (`date +%s.%N`, ISO-8601 or
`date`'s default output) followed by the `cpu` and `cpuN` lines of /proc/stat, sample after sample.

The cpu lines hold cumulative jiffies (user nice system idle iowait irq softirq steal guest guest_nice; older
kernels write only the first 4 or 7): total = user+nice+system+idle+iowait+irq+softirq+steal (guest time is
already inside user and nice), busy = total − idle − iowait. The per-interval utilisation comes from
`counters.counter_segments`, with the aggregate `cpu` line as the source's own overall. The cpus read are those in
most samples (`common.usual_cpus`: a cpu in fewer is left out with a warning); a sample lacking one of them leaves
its intervals out. Other /proc/stat lines (intr, ctxt, btime, processes, ...) are skipped.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin_core.telemetry.columns import EPOCH_MAX_S, EPOCH_MIN_S
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers.common import BUSY_DEFINITION, Reader, part_name, usual_cpus, utilisation_frame
from twin_core.telemetry.readers.counters import counter_segments
from twin_core.telemetry.readers.localtime import local_epochs
from twin_core.telemetry.report import ValidationReport, _n

_EPOCH = re.compile(r"^\d{9,11}(?:[.,]\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
# date's default output in the C locale: 'Sun Nov 29 06:46:22 UTC 2026' (a zone abbreviation or +hhmm)
_DATE = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) "
                   r"(\d{2}:\d{2}:\d{2}) ([A-Za-z]{1,6}|[+-]\d{4}) (\d{4})$")
_CPU = re.compile(r"^cpu(\d*)\s")
_CPU_START = re.compile(r"^cpu\d*\s+\d")  # a cpu line with its first count
_CPU_LINE = re.compile(r"\s*cpu(\d*)((?:[ \t]+\d+){4,})\s*$")  # a whole cpu line: name, then 4 or more counts
# the other lines /proc/stat has held across kernels: read past, never used
_OTHER_KEYS = ("intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked", "softirq", "page", "swap",
               "disk_io")
_UTC_NAMES = ("UTC", "GMT", "Z", "UT")
_SCAN_LINES = 12  # looks_like: the first cpu line must follow a timestamp line within this many lines


def _looks_like(head: str) -> bool:
    """A timestamp line followed, within the first lines, by a `cpu` or `cpuN` line of jiffies (some scripts log
    only the per-cpu lines)."""
    lines = [line.strip() for line in head.splitlines()[:_SCAN_LINES]]
    stamps = [i for i, line in enumerate(lines) if _timestamp_kind(line) is not None]
    return bool(stamps) and any(_CPU_START.match(line) for line in lines[stamps[0] + 1:])


def _timestamp_kind(line: str) -> str | None:
    """'epoch', 'iso' or 'date' when the line is one timestamp, else None."""
    if _EPOCH.match(line):
        return "epoch"
    if _ISO.match(line):
        return "iso"
    if _DATE.match(line):
        return "date"
    return None


@dataclass
class _Sample:
    """One timestamp line and the cpu lines under it: cpu number (-1: the aggregate line) -> (busy, total), and
    the count of numbers its first cpu line has."""

    line: int
    stamp: str
    counts: dict[int, tuple[float, float]] = field(default_factory=dict)
    width: int = 0  # how many counts its first cpu line has: every cpu line of one read of /proc/stat has as many


def _read(name: str, text: str, options: SourceOptions, report: ValidationReport) -> list[tuple[str, pd.DataFrame]]:
    """Every sample's jiffies, then per-interval utilisation: one frame per stretch between counter resets."""
    samples = _samples(name, text, report)
    if samples is None:
        return []
    times = _epoch_seconds(name, samples, options, report)
    if times is None:
        return []
    known = np.isfinite(times)
    samples, times = [s for s, k in zip(samples, known) if k], times[known]
    usual = usual_cpus(name, [set(s.counts) for s in samples], [f"line {s.line}" for s in samples], report)
    numbers = sorted(c for c in usual if c >= 0)
    if not numbers:
        report.add("error", "empty_file",
                   f"File '{name}' has timestamp and aggregate cpu lines but no cpuN lines; log the per-cpu lines too "
                   "(e.g. `date +%s.%N; grep '^cpu' /proc/stat`).", file=name)
        return []
    absent = (np.nan, np.nan)
    busy = {c: np.array([s.counts.get(c, absent)[0] for s in samples]) for c in numbers}
    total = {c: np.array([s.counts.get(c, absent)[1] for s in samples]) for c in numbers}
    aggregate = np.array([s.counts.get(-1, absent) for s in samples], dtype="float64")
    with_overall = -1 in usual
    report.add("info", "procstat_busy",
               f"File '{name}': utilisation per interval from /proc/stat jiffies ({BUSY_DEFINITION}); "
               + ("cpu_util_overall from its aggregate cpu line." if with_overall else "it has no aggregate cpu line."),
               file=name)
    segments = counter_segments(name, times, busy, total, report,
                                overall_busy=aggregate[:, 0] if with_overall else None,
                                overall_total=aggregate[:, 1] if with_overall else None)
    parts = [part_name(name, i, len(segments)) for i in range(len(segments))]
    return [(part, utilisation_frame(part, s.times, s.cores, s.overall, report)) for part, s in zip(parts, segments)]


def _samples(name: str, text: str, report: ValidationReport) -> list[_Sample] | None:
    """The samples that hold cpu lines (the others are reported and left out), or None after reporting the
    first malformed line."""
    samples: list[_Sample] = []
    bad: list[tuple[int, str, str]] = []  # (line number, line, why)
    for number, raw in enumerate(text.splitlines(), start=1):
        cpu_line = _CPU_LINE.match(raw)
        if cpu_line is not None and samples:  # the common case first: a well-formed cpu line in a sample
            cpu = -1 if cpu_line.group(1) == "" else int(cpu_line.group(1))
            width, sample = len(cpu_line.group(2).split()), samples[-1]
            if cpu in sample.counts:
                what = "the aggregate cpu line" if cpu < 0 else f"cpu{cpu}"
                bad.append((number, raw, f"{what} appears twice in the sample of line {sample.line}"))
            elif sample.width and width != sample.width:  # a cut line would read as a reboot (counters falling)
                bad.append((number, raw, f"it has {width} counts where the first cpu line of the sample of line "
                                         f"{sample.line} has {sample.width}, so it is cut or altered"))
            else:
                sample.counts[cpu], sample.width = _jiffies(cpu_line.group(2)), width
            continue
        line = raw.strip()
        if not line or line.startswith("#") or line.split(maxsplit=1)[0] in _OTHER_KEYS:
            continue
        if _timestamp_kind(line) is not None:
            samples.append(_Sample(number, line))
        elif cpu_line is not None:
            bad.append((number, raw, "it comes before the first timestamp line"))
        elif _CPU.match(line + " "):
            bad.append((number, raw, "a cpu line needs at least 4 whole numbers of jiffies after its name"))
        else:
            bad.append((number, raw, "it is neither a timestamp nor a /proc/stat line"))
    if bad:
        number, raw, why = bad[0]
        shown = raw.strip() if len(raw.strip()) <= 60 else raw.strip()[:57] + "..."
        more = f" ({_n(len(bad), 'such line')} in all)" if len(bad) > 1 else ""
        report.add("error", "malformed_line",
                   f"File '{name}', line {number} ({shown!r}) cannot be read: {why}{more}; a /proc/stat log holds a "
                   "timestamp line, then the cpu and cpuN lines of /proc/stat, sample after sample. Fix or remove "
                   "that line.", file=name, example=f"line {number}")
        return None
    empty = [s.line for s in samples if not s.counts]
    if empty:
        report.add("warning", "empty_sample",
                   f"File '{name}': {_n(len(empty), 'timestamp line')} (first at line {empty[0]}) have no cpu lines "
                   "under them and were left out.", file=name)
    samples = [s for s in samples if s.counts]
    if not samples:
        report.add("error", "empty_file",
                   f"File '{name}' holds no sample (a timestamp line followed by cpu lines); log at least two, "
                   "e.g. `date +%s.%N; grep '^cpu' /proc/stat` once a second.", file=name)
        return None
    return samples


def _jiffies(counts: str) -> tuple[float, float]:
    """(busy, total) jiffies from the counts of one cpu line (at least 4 whole numbers)."""
    values = [int(f) for f in counts.split()[:8]]  # guest and guest_nice (9th, 10th) are inside user and nice already
    total = sum(values)
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(total - idle), float(total)


def _epoch_seconds(
    name: str, samples: list[_Sample], options: SourceOptions, report: ValidationReport
) -> np.ndarray | None:
    """Each sample's time as epoch seconds UTC: epoch numbers as they are, times without a zone in the options'
    zone (the report says which; NaN where daylight saving makes one ambiguous), `date` output's zone abbreviation
    only when it is UTC or the options' zone."""
    times = np.empty(len(samples))
    local: list[int] = []
    wall: list[dt.datetime] = []
    for i, sample in enumerate(samples):
        seconds, naive, problem = _one_time(sample.stamp, options)
        if problem is not None:
            report.add("error", "bad_timestamp", f"File '{name}', line {sample.line} ({sample.stamp!r}): {problem}",
                       file=name, example=f"line {sample.line}")
            return None
        if naive is not None:
            local.append(i)
            wall.append(naive)
        else:
            times[i] = seconds
    if local:  # read in the options' zone; a time a daylight-saving change repeats or skips is NaN (left out)
        times[local] = local_epochs(name, wall, [f"line {samples[i].line}" for i in local], options, report,
                                    "its timestamp lines (ISO-8601 without a zone, or `date` with the local zone)")
    outside = (times < EPOCH_MIN_S) | (times >= EPOCH_MAX_S)
    if outside.any():
        first = samples[int(np.flatnonzero(outside)[0])]
        report.add("error", "timestamp_out_of_range",
                   f"File '{name}', line {first.line} ({first.stamp!r}) is a time outside 1990..2099; log "
                   "`date +%s.%N` (seconds since 1970) before each sample.", file=name, example=f"line {first.line}")
        return None
    return times


def _one_time(line: str, options: SourceOptions) -> tuple[float | None, dt.datetime | None, str | None]:
    """(epoch seconds, None, None) for an epoch or a time that names its zone; (None, wall-clock time, None) for a
    local time in the options' zone; (None, None, why) when the zone cannot be told."""
    kind = _timestamp_kind(line)
    if kind == "epoch":
        return float(line.replace(",", ".")), None, None
    try:  # the patterns match digits, not dates: month 13, hour 25, Nov 31 or an offset of +9900 get here too
        if kind == "iso":
            value = dt.datetime.fromisoformat(line.replace(",", "."))
            return (None, value, None) if value.tzinfo is None else (value.timestamp(), None, None)
        month, day, clock, zone, year = _DATE.match(line).groups()
        wall = dt.datetime.strptime(f"{year} {month} {day} {clock}", "%Y %b %d %H:%M:%S")
        if zone.upper() in _UTC_NAMES:
            return wall.replace(tzinfo=dt.UTC).timestamp(), None, None
        if zone[0] in "+-":
            offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * (1 if zone[0] == "+" else -1)
            return wall.replace(tzinfo=dt.timezone(offset)).timestamp(), None, None
    except (ValueError, OverflowError) as exc:
        return None, None, (f"it has the form of a time but is no date or time ({exc}); fix or delete that sample, "
                            "or log `date +%s.%N` instead.")
    if zone in {wall.replace(tzinfo=options.zone, fold=f).tzname() for f in (0, 1)}:
        return None, wall, None
    return None, None, (f"its zone '{zone}' is neither UTC nor the time zone given ({options.timezone}), and an "
                        "abbreviation can stand for several zones; give the zone it stands for (--timezone, e.g. "
                        "America/New_York) or log `date +%s.%N` instead.")


READERS: tuple[Reader, ...] = (
    Reader("procstat", "a /proc/stat sample log (a timestamp line, e.g. `date +%s.%N`, then the cpu lines of "
           "/proc/stat, repeated)", _looks_like, _read),
)
