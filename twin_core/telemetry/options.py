"""How to read sources that are not our own schema: where workload labels come from and which time zone local
times are in. Configuration is data: one frozen value, checked when made, passed from the CLI or the app down to
the readers.
"""
from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twin_core.errors import ConfigError
from twin_core.telemetry.labels import Schedule

MAX_SCHEDULE_BYTES = 10_000_000


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

    @classmethod
    def from_inputs(
        cls, workload: str | None = None, schedule: bytes | None = None, schedule_name: str = "the schedule",
        timezone: str = "UTC",
    ) -> SourceOptions:
        """Options from what a user typed or uploaded: a label (blank is none), a schedule file's bytes, a zone.

        Raises ConfigError naming the schedule file when it is too big, not text, or not a valid schedule.
        """
        parsed = None
        if schedule is not None:
            if len(schedule) > MAX_SCHEDULE_BYTES:
                raise ConfigError(f"{schedule_name}: larger than {MAX_SCHEDULE_BYTES // 1_000_000} MB; a schedule "
                                  "holds one line per workload interval.")
            try:
                text = schedule.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ConfigError(f"{schedule_name}: not UTF-8 text; write the schedule as a CSV.") from None
            try:
                zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                zone = None  # the unknown zone is refused below, by the options' own check
            parsed = Schedule.from_csv(text, schedule_name, zone)
        label = workload.strip() if workload is not None and workload.strip() else None
        return cls(workload=label, schedule=parsed, schedule_name=schedule_name, timezone=timezone)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone local times are read in."""
        return ZoneInfo(self.timezone)
