"""How to read sources that are not our own schema: where workload labels come from and which time zone local
times are in. Configuration is data: one frozen value, checked when made, passed from the CLI or the app down to
the readers.
"""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twin_core.errors import ConfigError
from twin_core.telemetry.labels import Schedule


@dataclass(frozen=True)
class SourceOptions:
    """Reading options for collectors' files (and any source without a workload column).

    `workload` labels every row with one constant; `schedule` labels rows by time (`Schedule.from_csv`; rows
    outside every interval are `unlabelled`). With neither, a source that has no workload
    column is labelled `unlabelled` and the report says how to label it. `timezone` is the IANA zone that local
    times are read in (sar's text reports print local times); UTC unless said otherwise.
    """

    workload: str | None = None
    schedule: Schedule | None = None
    schedule_name: str = "the schedule"
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.workload is not None and self.schedule is not None:
            raise ConfigError("Give either a constant workload label or a label schedule, not both.")
        if self.workload is not None and not self.workload.strip():
            raise ConfigError("The workload label is empty; give a word such as 'idle' or 'build'.")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"Unknown time zone '{self.timezone}'; give an IANA name such as 'UTC' or "
                              "'Europe/Berlin'.") from None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone local times are read in."""
        return ZoneInfo(self.timezone)
