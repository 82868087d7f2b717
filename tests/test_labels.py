"""Workload labels for sources without their own: a schedule CSV, a constant, and the CLI flags that give them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin_core.cli import main
from twin_core.errors import ConfigError
from twin_core.telemetry import load_telemetry
from twin_core.telemetry.labels import UNLABELLED, Schedule, apply_labels
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.report import ValidationReport

T0 = pd.Timestamp("2026-11-29 06:00:00", tz="UTC").timestamp()


def wide_csv(rows: int = 120, workload: bool = False) -> str:
    """A psutil-style CSV in our columns, one row a second from T0."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"timestamp": T0 + np.arange(rows, dtype=float)})
    if workload:
        frame["workload_type"] = "own"
    for core in range(2):
        frame[f"cpu_util_core_{core}"] = rng.uniform(0, 100, rows).round(1)
    frame["cpu_util_overall"] = frame.filter(like="core").mean(axis=1)
    return frame.to_csv(index=False)


def test_schedule_labels_rows_by_time_and_leaves_gaps_unlabelled():
    schedule = Schedule.from_csv("start,end,label\n2026-11-29T06:00:10Z,2026-11-29T06:00:20Z,build\n"
                                 "2026-11-29T06:00:30Z,2026-11-29T06:00:40Z,idle\n")
    got = schedule.label(T0 + np.array([0.0, 10.0, 19.9, 20.0, 35.0, 40.0]))
    assert got.tolist() == [UNLABELLED, "build", "build", UNLABELLED, "idle", UNLABELLED]


@pytest.mark.parametrize("text, problem", [
    ("begin,end,label\n1,2,x\n", r"no column start; the header must be `start,end,label`"),
    (f"start,end,label\n{T0 + 10},{T0 + 5},x\n", r"interval 1 ends at or before it starts"),
    (f"start,end,label\n{T0},{T0 + 10},a\n{T0 + 5},{T0 + 20},b\n", r"intervals 'a' and 'b' overlap"),
    (f"start,end,label\n{T0},{T0 + 10},\n", r"interval 1 has no label"),
    ("start,end,label\nmonday,10,a\n", r"^sched\.csv: a start or end time .*'monday'"),
    ("start,end,label\n", r"holds 0 intervals"),
])
def test_a_bad_schedule_is_refused_with_what_to_fix(text, problem):
    with pytest.raises(ConfigError, match=problem):
        Schedule.from_csv(text, "sched.csv")


def test_options_refuse_a_constant_and_a_schedule_together_and_unknown_zones():
    schedule = Schedule.from_csv(f"start,end,label\n{T0},{T0 + 10},a\n")
    with pytest.raises(ConfigError, match="either a constant workload label or a label schedule"):
        SourceOptions(workload="x", schedule=schedule)
    with pytest.raises(ConfigError, match="Unknown time zone 'Mars/Base'"):
        SourceOptions(timezone="Mars/Base")


def test_given_labels_replace_a_files_own_column_and_the_report_says_so():
    frame = pd.DataFrame({"timestamp": [T0, T0 + 1], "workload_type": ["own", "own"]})
    report = ValidationReport()
    out = apply_labels("f.csv", frame, SourceOptions(workload="batch"), report, required=False)
    assert out["workload_type"].tolist() == ["batch", "batch"]
    assert report.codes() == ["labels_replaced"]


def test_a_csv_without_labels_is_unlabelled_and_told_how_to_label(tmp_path):
    path = tmp_path / "psutil.csv"
    path.write_text(wide_csv())
    telemetry = load_telemetry(path)
    assert set(telemetry.frame["workload_type"]) == {UNLABELLED}
    assert "unlabelled" in telemetry.report.codes("info")


def test_cli_labels_a_collector_file_from_a_schedule_when_converting(tmp_path, capsys):
    source, schedule, out = tmp_path / "psutil.csv", tmp_path / "schedule.csv", tmp_path / "out.parquet"
    source.write_text(wide_csv(rows=120))
    schedule.write_text(f"start,end,label\n{T0},{T0 + 60},idle\n{T0 + 60},{T0 + 100},busy\n")
    assert main(["convert", str(source), "--labels", str(schedule), "--out", str(out)]) == 0
    written = pd.read_parquet(out)
    assert written["workload_type"].value_counts().to_dict() == {"idle": 60, "busy": 40, UNLABELLED: 20}
    assert "20 rows of 120 fall outside every interval" in capsys.readouterr().err
    assert load_telemetry(out).n_cores == 2


def test_cli_refuses_a_bad_schedule_or_zone_naming_the_flag(tmp_path, capsys):
    source, schedule = tmp_path / "psutil.csv", tmp_path / "s.csv"
    source.write_text(wide_csv())
    schedule.write_text(f"start,end,label\n{T0 + 10},{T0 + 5},x\n")
    assert main(["validate", str(source), "--labels", str(schedule)]) == 1
    assert f"error: {schedule}: interval 1 ends at or before it starts" in capsys.readouterr().err
    assert main(["validate", str(source), "--timezone", "Mars/Base"]) == 1
    assert "error: --timezone: Unknown time zone 'Mars/Base'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(source), "--workload", "a", "--labels", str(schedule)])
    assert exited.value.code == 1
    assert "not allowed with argument" in capsys.readouterr().err


def test_schedule_times_without_an_offset_are_read_in_the_reading_time_zone():
    berlin = SourceOptions.from_inputs(schedule=b"start,end,label\n2026-11-29T07:00:10,2026-11-29T07:00:20,build\n"
                                       b"2026-11-29T06:00:30Z,2026-11-29T06:00:40Z,idle\n",
                                       timezone="Europe/Berlin").schedule
    assert berlin.label(T0 + np.array([15.0, 35.0])).tolist() == ["build", "idle"]  # 07:00 in Berlin is 06:00 UTC
    utc = SourceOptions.from_inputs(schedule=b"start,end,label\n2026-11-29T07:00:10,2026-11-29T07:00:20,build\n"
                                    ).schedule
    assert utc.label(T0 + np.array([15.0, 3615.0])).tolist() == [UNLABELLED, "build"]


@pytest.mark.parametrize("text, zone, problem", [
    (b"start,end,label\n2026-10-25T02:30:00,2026-10-25T02:40:00,x\n", "Europe/Berlin",
     r"the local time 2026-10-25T02:30:00 is repeated or skipped by a daylight-saving change in Europe/Berlin"),
    (b"start,end,label\n2026-11-29T06:00:00Z,2026-11-29T06:01:00Z,x,extra\n", "UTC",
     r"a line has more fields than the header"),
    (b"start;end;label\n1795000000;1795000060;x\n", "UTC", r"the header must be `start,end,label` \(columns must be "
                                                          r"separated by commas\)"),
])
def test_schedules_a_person_gets_wrong_are_refused_saying_what_to_write(text, zone, problem):
    with pytest.raises(ConfigError, match=problem):
        SourceOptions.from_inputs(schedule=text, schedule_name="plan.csv", timezone=zone)


def test_a_schedule_line_of_millions_of_fields_is_refused_before_pandas_reads_it():
    text = f"start,end,label\n{T0},{T0 + 60},x" + ",y" * 3_000_000 + "\n"  # pandas took four minutes on this
    with pytest.raises(ConfigError, match=r"^plan\.csv: a line has more fields than the header"):
        Schedule.from_csv(text, "plan.csv")
