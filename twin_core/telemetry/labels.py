"""Workload labels for sources that have none of their own: one constant, or a schedule of `start,end,label`
intervals (a CSV a person writes while running the workloads), applied by time.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from twin_core.errors import ConfigError
from twin_core.telemetry.columns import _real_numbers, _to_epoch_seconds
from twin_core.telemetry.csvtext import longer_than_header
from twin_core.telemetry.frame import TIMESTAMP, WORKLOAD
from twin_core.telemetry.report import ValidationReport, _n

if TYPE_CHECKING:
    from twin_core.telemetry.options import SourceOptions

UNLABELLED = "unlabelled"
MAX_SCHEDULE_ROWS = 100_000


@dataclass(frozen=True)
class Schedule:
    """Labelled time intervals [start, end) in epoch seconds, sorted by start, never overlapping."""

    starts: np.ndarray
    ends: np.ndarray
    labels: tuple[str, ...]

    @classmethod
    def from_csv(cls, text: str, name: str = "schedule", zone: ZoneInfo | None = None) -> Schedule:
        """Read a `start,end,label` CSV: ISO-8601 times (with an offset, or else local times in `zone`, UTC by
        default, as the collectors' local times are read) or epoch seconds."""
        header = text.split("\n", 1)[0]
        if longer_than_header(text, ",", header.count(",") + 1) is not None:
            raise ConfigError(f"{name}: a line has more fields than the header; write three per line, "
                              "start,end,label (quote a label that holds a comma).")
        try:
            table = pd.read_csv(io.StringIO(text), dtype=str, nrows=MAX_SCHEDULE_ROWS + 1, skipinitialspace=True,
                                index_col=False)
        except (ValueError, pd.errors.ParserError) as exc:
            raise ConfigError(f"{name}: cannot be read as CSV ({str(exc).splitlines()[0]}); write a header line "
                              "`start,end,label` and one interval per line.") from None
        table.columns = [str(c).strip().lower() for c in table.columns]
        if missing := [c for c in ("start", "end", "label") if c not in table.columns]:
            hint = (" (columns must be separated by commas)" if len(table.columns) == 1
                    and any(sep in table.columns[0] for sep in ";\t") else "")
            raise ConfigError(f"{name}: no column {', '.join(missing)}; the header must be `start,end,label`{hint}.")
        if table.empty or len(table) > MAX_SCHEDULE_ROWS:
            raise ConfigError(f"{name}: holds {len(table):,} intervals; give 1 to {MAX_SCHEDULE_ROWS:,}.")
        scratch = ValidationReport()
        starts = _to_epoch_seconds(name, _in_zone(name, table["start"], zone), scratch)
        ends = _to_epoch_seconds(name, _in_zone(name, table["end"], zone), scratch)
        if starts is None or ends is None:
            problem = scratch.errors[0].message.replace(f"File '{name}', column '{TIMESTAMP}'", "a start or end time")
            raise ConfigError(f"{name}: {problem}")
        labels = table["label"].fillna("").str.strip()
        if (labels == "").any():
            row = int(np.flatnonzero((labels == "").to_numpy())[0])
            raise ConfigError(f"{name}: interval {row + 1} has no label; give every interval a word.")
        if (bad := np.flatnonzero(ends <= starts)).size:
            raise ConfigError(f"{name}: interval {bad[0] + 1} ends at or before it starts; swap start and end.")
        order = np.argsort(starts, kind="stable")
        starts, ends, labels = starts[order], ends[order], labels.to_numpy()[order]
        if (overlap := np.flatnonzero(starts[1:] < ends[:-1])).size:
            raise ConfigError(f"{name}: intervals '{labels[overlap[0]]}' and '{labels[overlap[0] + 1]}' overlap; "
                              "a sample can have one workload only.")
        return cls(starts, ends, tuple(str(v) for v in labels))

    def label(self, seconds: np.ndarray) -> np.ndarray:
        """The label of each time; times outside every interval are `unlabelled`."""
        index = np.searchsorted(self.starts, seconds, side="right") - 1
        inside = (index >= 0) & (seconds < self.ends[np.clip(index, 0, None)])
        names = np.array([*self.labels, UNLABELLED], dtype=object)
        return names[np.where(inside, index, len(self.labels))]


def _in_zone(name: str, times: pd.Series, zone: ZoneInfo | None) -> pd.Series:
    """Schedule times without an offset as instants in `zone` (text that is not such a time is left as it is, for
    the timestamp checks to name); a local time a daylight-saving change repeats or skips is refused."""
    if zone is None or str(zone) == "UTC":
        return times

    def one(value: object) -> object:
        try:
            stamp = pd.Timestamp(str(value).strip())
        except (ValueError, TypeError, OverflowError):
            return value  # no time at all: left to the timestamp checks
        if stamp.tzinfo is not None:
            return stamp.isoformat()
        try:
            return stamp.tz_localize(zone, ambiguous="raise", nonexistent="raise").isoformat()
        except (ValueError, OverflowError):  # pandas' AmbiguousTimeError and NonExistentTimeError
            raise ConfigError(f"{name}: the local time {value} is repeated or skipped by a daylight-saving change "
                              f"in {zone}; give it with its UTC offset (e.g. 2026-10-25T02:30:00+01:00).") from None

    numbers = _real_numbers(times).notna()  # epoch seconds are UTC: never read in the zone
    return times.mask(~numbers, times[~numbers].map(one))


def apply_labels(
    name: str, frame: pd.DataFrame, options: SourceOptions, report: ValidationReport, *, required: bool
) -> pd.DataFrame:
    """Label a frame's rows from the options; without options, label `unlabelled` unless `required` (our parquet).

    Labels given as options replace a workload column the file already has, and the report says so.
    """
    has_column, schedule = WORKLOAD in frame.columns, options.schedule
    if options.workload is None and schedule is None:
        if has_column or required:
            return frame
        report.add("info", "unlabelled",
                   f"File '{name}' has no workload labels, so every row is '{UNLABELLED}'; label the workloads with "
                   "a schedule (`--labels start,end,label CSV`) or a constant (`--workload LABEL`).", file=name)
        return frame.assign(**{WORKLOAD: UNLABELLED})
    if has_column:
        report.add("info", "labels_replaced",
                   f"File '{name}': its own workload column is replaced by the labels given.", file=name,
                   column=WORKLOAD)
    if options.workload is not None:
        return frame.assign(**{WORKLOAD: options.workload.strip()})
    seconds = _to_epoch_seconds(name, frame[TIMESTAMP], ValidationReport()) if TIMESTAMP in frame else None
    if seconds is None:
        return frame  # its timestamps are reported by the schema checks
    labels = schedule.label(seconds)
    outside = int((labels == UNLABELLED).sum())
    if outside:
        report.add("warning", "outside_schedule",
                   f"File '{name}': {_n(outside, 'row')} of {len(labels):,} fall outside every interval of "
                   f"{options.schedule_name} and are labelled '{UNLABELLED}'.", file=name, column=WORKLOAD)
    return frame.assign(**{WORKLOAD: labels})
