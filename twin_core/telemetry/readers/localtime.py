"""Wall-clock times that a collector printed in the machine's local zone (sar's text report, collectl's plot
files, `sadf -t`) turned into epoch seconds UTC, read in the zone the user gave (`SourceOptions.timezone`).

Around a daylight-saving change a local time can be ambiguous (the hour the clocks repeat) or never have
happened (the hour they skip). Such a time is left out with a warning, never guessed: the same printed time
could be either of two instants an hour apart.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.report import ValidationReport, _n


def local_epochs(
    name: str, stamps: list[datetime], places: list[str], options: SourceOptions, report: ValidationReport,
    printed_by: str,
) -> np.ndarray:
    """Epoch seconds of naive local `stamps` read in the options' zone; NaN where the zone makes a time ambiguous
    or skips it (one warning each, naming the first place, e.g. 'line 7'). Says which zone the times were read in."""
    report.add("info", "local_times",
               f"File '{name}': {printed_by} prints local times; they were read in {options.timezone}"
               f"{' (the default)' if options.timezone == 'UTC' else ''}. If the machine's clock was in another "
               "zone, read it with --timezone ZONE (an IANA name such as Europe/Berlin; in the app, the time zone "
               "setting).", file=name)
    if not stamps:
        return np.empty(0)
    naive = pd.DatetimeIndex(stamps)
    unresolved = naive.tz_localize(options.zone, ambiguous="NaT", nonexistent="NaT")
    as_summer = naive.tz_localize(options.zone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="NaT")
    skipped = np.asarray(as_summer.isna())
    repeated = np.asarray(unresolved.isna()) & ~skipped
    for mask, what in ((repeated, ("fall in the hour the clocks repeat when daylight saving ends, so each could "
                                   "be either of two instants an hour apart")),
                       (skipped, ("fall in the hour the clocks skip when daylight saving starts, so they never "
                                  "happened there"))):
        if mask.any():
            first = places[int(np.flatnonzero(mask)[0])]
            report.add("warning", "local_time_dst",
                       f"File '{name}': {_n(int(mask.sum()), 'sample')} (first at {first}) {what} in "
                       f"{options.timezone}; they are left out. If the zone is wrong, read the file with "
                       "--timezone ZONE; to keep every sample, export the times in UTC (for sysstat: sadf -d).",
                       file=name)
    epochs = unresolved.as_unit("us").asi8.astype("float64") / 1e6
    return np.where(repeated | skipped, np.nan, epochs)


def in_repeated_hour(day: date, seconds: float, zone: ZoneInfo) -> bool:
    """Whether a wall-clock time (seconds after midnight of `day`) is one the zone repeats when daylight saving
    ends, so that a clock going back to it is that change, not the next day."""
    wall = datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds)
    return wall.replace(tzinfo=zone, fold=0).utcoffset() > wall.replace(tzinfo=zone, fold=1).utcoffset()
