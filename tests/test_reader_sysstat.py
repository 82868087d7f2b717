"""sysstat readers (twin_core.telemetry.readers.sysstat): the real sar, sadf -d and sadf -j exports of one data
file recorded together with psutil, and hand-made reports for midnight, reboots, locales, DST and broken lines."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.telemetry import load_telemetry
from twin_core.telemetry.labels import Schedule
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers import read_text_source
from twin_core.telemetry.report import ValidationReport

FIXTURES = Path(__file__).parent / "fixtures" / "collectors"
VALUES = ["cpu_util_overall", "cpu_util_core_0", "cpu_util_core_1"]
HEADER = "Linux 6.1.0 (host) \t{date} \t_x86_64_\t(2 CPU)\n\n"
COLUMNS = "{t}        CPU     %user     %nice   %system   %iowait    %steal     %idle\n"


def _values(name: str, **options: str) -> pd.DataFrame:
    """A fixture loaded the whole way, as its timestamps and utilisation columns."""
    frame = load_telemetry(FIXTURES / name, options=SourceOptions(**options)).frame
    return frame[["timestamp", *VALUES]]


def _read(text: str, name: str = "x.txt", **options: str) -> tuple[list[tuple[str, pd.DataFrame]], ValidationReport]:
    report = ValidationReport()
    return read_text_source(name, text.encode(), SourceOptions(**options), report), report


def _sar(date: str, lines: list[tuple[str, float, float]], start: str = "23:59:57") -> str:
    """A sar -P ALL -u report: one (time, busy of cpu 0, busy of cpu 1) per sample, all idle otherwise."""
    body = [HEADER.format(date=date), COLUMNS.format(t=start)]
    for t, b0, b1 in lines:
        for cpu, busy in (("all", (b0 + b1) / 2), ("0", b0), ("1", b1)):
            body.append(f"{t}     {cpu:>5}  {busy:8.2f}      0.00      0.00      0.00      0.00  {100 - busy:8.2f}\n")
    return "".join(body)


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# --- the real exports --------------------------------------------------------------------------------------------

def test_sar_text_sadf_csv_and_sadf_json_of_one_data_file_agree_exactly() -> None:
    sar = _values("sar_P_ALL_u.txt")
    pd.testing.assert_frame_equal(_values("sadf_d.csv"), sar)
    pd.testing.assert_frame_equal(_values("sadf_j.json"), sar)


def test_sar_fixture_has_two_cores_over_the_recording_in_plausible_ranges() -> None:
    sar = _values("sar_P_ALL_u.txt")
    assert len(sar) == 246
    assert np.all(np.diff(sar["timestamp"]) == 1.0)
    assert sar["timestamp"].iloc[0] == _utc("2026-11-29 06:44:25")
    assert sar[VALUES].min().min() >= 0 and sar[VALUES].max().max() <= 100
    assert (sar[VALUES].std() > 15).all()  # the load phases show
    # sar's 'all' line is its own measurement (from the kernel's aggregate counters), close to the cpus' mean
    gap = np.abs(sar["cpu_util_overall"] - sar[["cpu_util_core_0", "cpu_util_core_1"]].mean(axis=1))
    assert 0 < gap.max() < 2
    first = sar.iloc[0]  # 06:44:25: all 20.81 idle, cpu0 19.39 idle, cpu1 22.22 idle, no iowait
    assert (first["cpu_util_overall"], first["cpu_util_core_0"], first["cpu_util_core_1"]) == pytest.approx(
        (79.19, 80.61, 77.78))


def test_sar_busy_excludes_iowait_as_psutil_counts_it() -> None:
    sar = _values("sar_P_ALL_u.txt")
    second = sar.iloc[1]  # 06:44:26 cpu 0: 81.19 idle and 0.99 iowait
    assert second["cpu_util_core_0"] == pytest.approx(100 - 81.19 - 0.99)


def test_sar_load_phases_show_on_the_cores_the_load_was_pinned_to() -> None:
    schedule = Schedule.from_csv((FIXTURES / "schedule.csv").read_text())
    frame = load_telemetry(FIXTURES / "sar_P_ALL_u.txt", options=SourceOptions(schedule=schedule)).frame
    means = frame.groupby("workload_type")[["cpu_util_core_0", "cpu_util_core_1"]].mean()
    assert means.loc["core0_busy", "cpu_util_core_0"] > 95
    assert means.loc["core1_busy", "cpu_util_core_1"] > 95
    assert (means.loc["both_busy"] > 95).all()
    assert means.loc["core1_busy", "cpu_util_core_0"] < 50


@pytest.mark.parametrize("core", ["cpu_util_core_0", "cpu_util_core_1"])
def test_sar_agrees_with_psutil_recorded_at_the_same_time(core: str) -> None:
    sar, psutil = _values("sar_P_ALL_u.txt"), _values("psutil_wide.csv")
    both = sar.assign(second=sar["timestamp"].round()).merge(
        psutil.assign(second=psutil["timestamp"].round()), on="second", suffixes=("_sar", "_psutil"))
    assert len(both) >= 240
    assert np.corrcoef(both[f"{core}_sar"], both[f"{core}_psutil"])[0, 1] >= 0.9


def test_sar_12_hour_report_gives_the_24_hour_reports_frame() -> None:
    pd.testing.assert_frame_equal(_values("sar_P_ALL_u_12h.txt"), _values("sar_P_ALL_u.txt"))


def test_sar_recorded_in_berlin_read_with_its_zone_gives_the_utc_reports_times() -> None:
    berlin = _values("sar_P_ALL_u_tz_berlin.txt", timezone="Europe/Berlin")
    pd.testing.assert_frame_equal(berlin, _values("sar_P_ALL_u.txt"))
    as_utc = _values("sar_P_ALL_u_tz_berlin.txt")
    assert as_utc["timestamp"].iloc[0] - berlin["timestamp"].iloc[0] == 3600.0  # UTC+1 in November


def test_sar_report_says_which_zone_its_times_were_read_in() -> None:
    _, report = _read((FIXTURES / "sar_P_ALL_u_tz_berlin.txt").read_text(), timezone="Europe/Berlin")
    notes = [i.message for i in report.issues if i.code == "local_times"]
    assert len(notes) == 1 and "Europe/Berlin" in notes[0] and "--timezone" in notes[0]


# --- hand-made sar reports ---------------------------------------------------------------------------------------

def test_sar_times_past_midnight_move_to_the_next_day() -> None:
    text = _sar("11/29/26", [("23:59:58", 10, 20), ("23:59:59", 30, 40), ("00:00:00", 50, 60),
                             ("00:00:01", 70, 80)])
    (_, frame), = _read(text)[0]
    assert frame["timestamp"].tolist() == [_utc("2026-11-29 23:59:58"), _utc("2026-11-29 23:59:59"),
                                           _utc("2026-11-30 00:00:00"), _utc("2026-11-30 00:00:01")]
    assert frame["cpu_util_core_1"].tolist() == [20, 40, 60, 80]


def test_sar_times_past_midnight_of_the_last_day_a_date_holds_are_one_error() -> None:
    parts, report = _read(_sar("9999-12-31", [("23:59:59", 10, 20), ("00:00:00", 30, 40)]))
    assert parts == [] and report.codes("error") == ["bad_timestamp"]
    assert "line 7: the clock runs past midnight of 9999-12-31" in report.errors[0].message


def test_sar_linux_restart_starts_a_second_part_and_average_lines_are_skipped() -> None:
    first = _sar("11/29/26", [("10:00:01", 10, 20), ("10:00:02", 30, 40)], start="10:00:00")
    averages = "Average:        all     99.00      0.00      0.00      0.00      0.00      1.00\n"
    restart = "\n10:05:00     LINUX RESTART\t(2 CPU)\n\n" + COLUMNS.format(t="10:05:00")
    second = _sar("11/29/26", [("10:05:01", 50, 60)]).split(COLUMNS.format(t="23:59:57"))[1]
    parts, report = _read(first + averages + restart + second + averages)
    assert [name for name, _ in parts] == ["x.txt (part 1 of 2)", "x.txt (part 2 of 2)"]
    assert parts[0][1]["cpu_util_core_0"].tolist() == [10, 30]
    assert parts[1][1]["cpu_util_core_0"].tolist() == [50]
    assert parts[1][1]["timestamp"].tolist() == [_utc("2026-11-29 10:05:01")]
    assert "restart" in report.codes("info") and "averages_skipped" in report.codes("info")


def test_sar_mixed_12_and_24_hour_lines_each_read_in_their_own_form() -> None:
    text = _sar("11/29/26", [("01:00:00 PM", 10, 20), ("13:00:01", 30, 40), ("12:00:02 AM", 50, 60)],
                start="12:59:59 PM")
    (_, frame), = _read(text)[0]
    assert frame["timestamp"].tolist() == [_utc("2026-11-29 13:00:00"), _utc("2026-11-29 13:00:01"),
                                           _utc("2026-11-30 00:00:02")]


@pytest.mark.parametrize("date, day", [
    ("11/29/26", "2026-11-29"),      # C locale
    ("11/29/2026", "2026-11-29"),    # en_US
    ("29/11/26", "2026-11-29"),      # en_GB
    ("2026-11-29", "2026-11-29"),    # S_TIME_FORMAT=ISO
    ("05.11.2026", "2026-11-05"),    # de_DE: dots are day first
    ("07/07/26", "2026-07-07"),      # the same either way
])
def test_sar_dates_in_the_forms_locales_print(date: str, day: str) -> None:
    (_, frame), = _read(_sar(date, [("10:00:01", 10, 20)], start="10:00:00"))[0]
    assert frame["timestamp"].tolist() == [_utc(f"{day} 10:00:01")]


def test_sar_date_that_reads_either_way_is_read_month_day_with_a_warning_and_a_way_out() -> None:
    parts, report = _read(_sar("03/04/26", [("10:00:01", 10, 20)], start="10:00:00"))
    (_, frame), = parts
    assert frame["timestamp"].tolist() == [_utc("2026-03-04 10:00:01")]
    assert report.codes("warning") == ["date_order"]
    assert "'03/04/26'" in report.warnings[0].message and "S_TIME_FORMAT=ISO" in report.warnings[0].message


def test_sar_malformed_line_is_one_error_naming_its_line() -> None:
    text = _sar("11/29/26", [("10:00:01", 10, 20), ("10:00:02", 30, 40)], start="10:00:00")
    lines = text.splitlines(keepends=True)
    lines[6] = lines[6].replace("0.00      0.00      0.00", "0.00      zero      0.00", 1)
    parts, report = _read("".join(lines))
    assert parts == []
    assert report.codes("error") == ["non_numeric"]
    assert "line 7" in report.errors[0].message and "'zero'" in report.errors[0].message


def test_sar_cut_line_is_one_error_naming_its_line() -> None:
    text = _sar("11/29/26", [("10:00:01", 10, 20)], start="10:00:00") + "10:00:02        all     63.96      0.00\n"
    parts, report = _read(text)
    assert parts == [] and report.codes("error") == ["not_parquet"] and "line 7" in report.errors[0].message


def test_sar_share_above_100_is_out_of_range() -> None:
    text = _sar("11/29/26", [("10:00:01", 10, 20)], start="10:00:00").replace("90.00", "190.00")
    parts, report = _read(text)
    assert parts == [] and report.codes("error") == ["out_of_range"] and "line 5" in report.errors[0].message


def test_sar_nonexistent_local_time_at_the_spring_dst_change_is_left_out() -> None:
    # Berlin skips 02:00..03:00 on 2026-03-29: 01:59:59 CET is 00:59:59 UTC, 03:00:00 CEST is 01:00:00 UTC
    text = _sar("03/29/26", [("01:59:59", 10, 20), ("02:30:00", 30, 40), ("03:00:00", 50, 60)], start="01:59:58")
    (_, frame), = (parts := _read(text, timezone="Europe/Berlin"))[0]
    assert frame["timestamp"].tolist() == [_utc("2026-03-29 00:59:59"), _utc("2026-03-29 01:00:00")]
    assert frame["cpu_util_core_0"].tolist() == [10, 50]
    warning, = [i for i in parts[1].issues if i.code == "local_time_dst"]
    assert warning.level == "warning" and "1 sample (first at line 7)" in warning.message


def test_sar_repeated_local_hour_at_the_autumn_dst_change_is_left_out_and_is_not_the_next_day() -> None:
    # Berlin repeats 02:00..03:00 on 2026-10-25: sar prints 02:59:59 then 02:00:00 again
    text = _sar("10/25/26", [("01:59:59", 10, 20), ("02:59:59", 30, 40), ("02:00:00", 50, 60),
                             ("03:00:00", 70, 80)], start="01:59:58")
    (_, frame), = (parts := _read(text, timezone="Europe/Berlin"))[0]
    assert frame["timestamp"].tolist() == [_utc("2026-10-24 23:59:59"), _utc("2026-10-25 02:00:00")]
    assert frame["cpu_util_core_0"].tolist() == [10, 70]
    assert "2 samples" in next(i for i in parts[1].issues if i.code == "local_time_dst").message


def test_sar_sample_missing_a_cpu_or_with_a_cpu_offline_is_left_out() -> None:
    text = _sar("11/29/26", [("10:00:01", 10, 20), ("10:00:02", 30, 40), ("10:00:03", 50, 60)], start="10:00:00")
    lines = text.splitlines(keepends=True)
    lines[8] = "10:00:02          1      0.00      0.00      0.00      0.00      0.00      0.00\n"  # cpu 1 offline
    del lines[10]  # cpu 0 of 10:00:03
    (_, frame), = (parts := _read("".join(lines)))[0]
    assert frame["cpu_util_core_0"].tolist() == [10]
    assert "2 samples (first at line 7)" in next(i for i in parts[1].issues if i.code == "missing_cpus").message


def test_sar_cpu_in_only_one_sample_is_left_out_and_the_other_samples_are_read() -> None:
    text = _sar("11/29/26", [("10:00:01", 10, 20), ("10:00:02", 30, 40), ("10:00:03", 50, 60)], start="10:00:00")
    lines = text.splitlines(keepends=True)
    lines.insert(9, "10:00:02          5     99.00      0.00      0.00      0.00      0.00      1.00\n")  # a stray cpu 5
    (_, frame), = (parts := _read("".join(lines)))[0]
    assert frame["cpu_util_core_0"].tolist() == [10, 30, 50]
    assert "cpu_util_core_5" not in frame.columns
    warning = next(i.message for i in parts[1].issues if i.code == "rare_cpus")
    assert "cpu 5 (in 1) is in no more than half of its 3 samples (first at line 7)" in warning
    assert "missing_cpus" not in parts[1].codes()


def test_sar_section_other_than_cpu_utilisation_is_refused() -> None:
    text = HEADER.format(date="11/29/26") + "10:00:00    kbmemfree   kbavail kbmemused  %memused\n"
    text += "10:00:01       100000    200000    300000     30.00\n"
    parts, report = _read(text)
    assert parts == [] and report.codes("error") == ["not_parquet"] and "sar -P ALL -u" in report.errors[0].message


# --- hand-made sadf exports --------------------------------------------------------------------------------------

SADF_D = "# hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle\n"


def _sadf_d_line(host: str, stamp: str, cpu: int, busy: float) -> str:
    return f"{host};1;{stamp};{cpu};{busy:.2f};0.00;0.00;0.00;0.00;{100 - busy:.2f}\n"


def test_sadf_d_restart_line_cuts_parts_and_local_times_are_read_in_the_zone() -> None:
    rows = [_sadf_d_line("vm", "2026-11-29 07:00:01", c, b) for c, b in ((-1, 15), (0, 10), (1, 20))]
    rows.append("vm;-1;2026-11-29 07:00:02;LINUX-RESTART\t(2 CPU)\n")
    rows += [SADF_D] + [_sadf_d_line("vm", "2026-11-29 07:00:05", c, b) for c, b in ((-1, 35), (0, 30), (1, 40))]
    parts, report = _read(SADF_D + "".join(rows), name="x.csv", timezone="Europe/Berlin")
    assert [p[1]["timestamp"].tolist() for p in parts] == [[_utc("2026-11-29 06:00:01")],
                                                          [_utc("2026-11-29 06:00:05")]]
    assert parts[1][1]["cpu_util_overall"].tolist() == [35]
    assert "local_times" in report.codes("info")


@pytest.mark.parametrize("stamp", ["99999999999999999999", "2026-02-30 07:00:01 UTC"], ids=["epoch_overflow", "feb_30"])
def test_sadf_d_timestamp_that_is_no_time_is_one_error_naming_its_line(stamp: str) -> None:
    parts, report = _read(SADF_D + _sadf_d_line("vm", stamp, 0, 10), name="x.csv")
    assert parts == [] and report.codes("error") == ["bad_timestamp"]
    assert f"line 2: the timestamp '{stamp}' is not one sadf writes" in report.errors[0].message


def test_sadf_d_with_two_hosts_is_refused() -> None:
    text = SADF_D + _sadf_d_line("a", "2026-11-29 07:00:01 UTC", 0, 10) + _sadf_d_line("b", "2026-11-29 07:00:01 UTC",
                                                                                       0, 10)
    parts, report = _read(text, name="x.csv")
    assert parts == [] and "one host per file" in report.errors[0].message and "line 3" in report.errors[0].message


def _sadf_j(hosts: list[dict]) -> str:
    return json.dumps({"sysstat": {"hosts": hosts}})


def _host(name: str, stats: list[tuple[str, int, float, float]], restarts: list[str] = ()) -> dict:
    """A host with one statistic per (time, utc, busy of cpu 0, busy of cpu 1) on 2026-11-29."""
    def load(cpu: str, busy: float) -> dict:
        return {"cpu": cpu, "user": busy, "nice": 0.0, "system": 0.0, "iowait": 0.0, "steal": 0.0,
                "idle": 100 - busy}
    return {"nodename": name, "statistics": [
        {"timestamp": {"date": "2026-11-29", "time": t, "utc": utc, "interval": 1},
         "cpu-load": [load("all", (b0 + b1) / 2), load("0", b0), load("1", b1)]} for t, utc, b0, b1 in stats],
        "restarts": [{"boot": {"date": "2026-11-29", "time": t, "utc": 1, "cpu_count": 2}} for t in restarts]}


def test_sadf_j_restarts_cut_parts() -> None:
    text = _sadf_j([_host("vm", [("07:00:01", 1, 10, 20), ("07:00:02", 1, 30, 40), ("07:00:09", 1, 50, 60)],
                          restarts=["07:00:05"])])
    parts, _ = _read(text, name="x.json")
    assert [p[1]["cpu_util_core_0"].tolist() for p in parts] == [[10, 30], [50]]
    assert parts[1][0] == "x.json (part 2 of 2)"


def test_sadf_j_local_times_are_read_in_the_zone() -> None:
    parts, report = _read(_sadf_j([_host("vm", [("07:00:01", 0, 10, 20)])]), name="x.json",
                          timezone="America/New_York")
    assert parts[0][1]["timestamp"].tolist() == [_utc("2026-11-29 12:00:01")]
    assert "local_times" in report.codes("info")


def test_sadf_j_with_two_hosts_asks_for_one_host_per_file() -> None:
    parts, report = _read(_sadf_j([_host("a", [("07:00:01", 1, 10, 20)]), _host("b", [("07:00:01", 1, 10, 20)])]),
                          name="x.json")
    assert parts == [] and report.codes("error") == ["not_parquet"]
    assert "2 hosts (a, b)" in report.errors[0].message and "one host per file" in report.errors[0].message


def test_sadf_j_broken_json_names_the_line() -> None:
    text = _sadf_j([_host("vm", [("07:00:01", 1, 10, 20)])]).replace('"idle"', '"idle" 1', 1)
    parts, report = _read(text, name="x.json")
    assert parts == [] and report.codes("error") == ["not_parquet"] and "line 1" in report.errors[0].message


def test_sar_u_all_columns_and_a_decimal_comma_are_read() -> None:
    columns = "10:00:00  CPU  %usr  %nice  %sys  %iowait  %steal  %irq  %soft  %guest  %gnice  %idle\n"
    rows = ["10:00:01  all  20,00  0,00  5,00  2,00  0,00  1,00  1,00  0,00  0,00  71,00",
            "10:00:01    0  30,00  0,00  5,00  4,00  0,00  1,00  1,00  0,00  0,00  59,00",
            "10:00:01    1  10,00  0,00  5,00  0,00  0,00  1,00  1,00  0,00  0,00  83,00"]
    (_, frame), = _read(HEADER.format(date="29.11.2026") + columns + "\n".join(rows) + "\n")[0]
    assert frame[VALUES].iloc[0].tolist() == [27.0, 37.0, 17.0]  # 100 - %idle - %iowait
