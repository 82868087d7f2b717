"""The /proc/stat sample-log reader: the real log recorded beside psutil, and hand-made logs for the edge cases
(old kernels, guest time, timestamp forms, counter resets, missing cpus, malformed lines)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.errors import BadTimestampError, NotParquetError
from twin_core.telemetry import load_telemetry, validate_sources
from twin_core.telemetry.options import SourceOptions

FIXTURES = Path(__file__).parent / "fixtures" / "collectors"
PROCSTAT = FIXTURES / "procstat.log"
START = 1_795_900_000


def write_log(tmp_path: Path, samples: list[tuple[str, dict[str, list[int]]]], name: str = "stat.log") -> Path:
    """A /proc/stat log: each sample a timestamp line then its cpu lines ('cpu', 'cpu0', ...) in order."""
    lines = [line for stamp, cpus in samples
             for line in [stamp, *(f"{cpu} {' '.join(map(str, v))}" for cpu, v in cpus.items())]]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def rising(n: int, start: int = START, reset_at: int | None = None) -> list[tuple[str, dict[str, list[int]]]]:
    """n samples 1 s apart of two cpus, each busy 25 of every 100 jiffies (cpu0) or 50 (cpu1); counters fall back
    to near zero from sample `reset_at` on, as after a reboot."""
    samples = []
    for i in range(n):
        k = i - reset_at + 1 if reset_at is not None and i >= reset_at else i + 1000
        cpu0, cpu1 = [25 * k, 0, 0, 75 * k, 0, 0, 0, 0], [50 * k, 0, 0, 50 * k, 0, 0, 0, 0]
        samples.append((str(start + i), {"cpu": [a + b for a, b in zip(cpu0, cpu1)], "cpu0": cpu0, "cpu1": cpu1}))
    return samples


def test_fixture_per_core_agrees_with_psutil_recorded_at_the_same_time() -> None:
    ours = load_telemetry(PROCSTAT).frame
    psutil = load_telemetry(FIXTURES / "psutil_wide.csv").frame
    both = ours.assign(second=ours["timestamp"].round()).merge(
        psutil.assign(second=psutil["timestamp"].round()), on="second", suffixes=("_proc", "_psutil"))
    assert len(both) >= 0.8 * len(psutil)
    for core in ("cpu_util_core_0", "cpu_util_core_1"):
        assert np.corrcoef(both[f"{core}_proc"], both[f"{core}_psutil"])[0, 1] >= 0.9


def test_fixture_overall_comes_from_the_aggregate_line_not_the_mean() -> None:
    telemetry = load_telemetry(PROCSTAT)
    frame = telemetry.frame
    assert "overall_computed" not in telemetry.report.codes()
    assert "source_format" in telemetry.report.codes("info")
    mean = frame[["cpu_util_core_0", "cpu_util_core_1"]].mean(axis=1)
    gap = (frame["cpu_util_overall"] - mean).abs()
    assert gap.max() < 2.0  # the same jiffies summed, so close to the mean of the cpus
    assert gap.max() > 0.0  # but the kernel's own line, not the mean itself


def test_busy_leaves_out_idle_iowait_and_guest_time(tmp_path: Path) -> None:
    # deltas: user 60, system 20, idle 80, iowait 40, guest 30 (already inside user): busy 80 of 200 jiffies
    first = [100, 0, 50, 800, 50, 0, 0, 0, 0, 0]
    second = [160, 0, 70, 880, 90, 0, 0, 0, 30, 0]
    third = [220, 0, 90, 960, 130, 0, 0, 0, 60, 0]
    samples = [(str(START + i), {"cpu0": s, "cpu1": s}) for i, s in enumerate([first, second, third])]
    frame = load_telemetry(write_log(tmp_path, samples)).frame
    np.testing.assert_allclose(frame["cpu_util_core_0"], [40.0, 40.0])


def test_old_kernels_with_four_or_seven_columns(tmp_path: Path) -> None:
    four = [(str(START + i), {"cpu0": [30 * i, 0, 10 * i, 60 * i], "cpu1": [10 * i, 0, 0, 90 * i]}) for i in range(3)]
    seven = [(str(START + i), {"cpu0": [30 * i, 0, 10 * i, 40 * i, 20 * i, 0, 0], "cpu1": [0, 0, 0, 100 * i, 0, 0, 0]})
             for i in range(3)]
    frame4 = load_telemetry(write_log(tmp_path, four, "four.log")).frame
    frame7 = load_telemetry(write_log(tmp_path, seven, "seven.log")).frame
    np.testing.assert_allclose(frame4[["cpu_util_core_0", "cpu_util_core_1"]], [[40.0, 10.0], [40.0, 10.0]])
    np.testing.assert_allclose(frame7[["cpu_util_core_0", "cpu_util_core_1"]], [[40.0, 0.0], [40.0, 0.0]])


def test_other_proc_stat_lines_are_skipped(tmp_path: Path) -> None:
    samples = rising(3)
    lines = [line for stamp, cpus in samples
             for line in [stamp, *(f"{c} {' '.join(map(str, v))}" for c, v in cpus.items()),
                          "intr 1234 0 9 0", "ctxt 99", "btime 1795000000", "processes 4242", "procs_running 2",
                          "procs_blocked 0", "softirq 5 1 2 3"]]
    path = tmp_path / "full.log"
    path.write_text("\n".join(lines) + "\n")
    frame = load_telemetry(path).frame
    np.testing.assert_allclose(frame[["cpu_util_overall", "cpu_util_core_0", "cpu_util_core_1"]],
                               [[37.5, 25.0, 50.0], [37.5, 25.0, 50.0]])


@pytest.mark.parametrize("stamps, options", [
    (["2026-11-29T06:46:22Z", "2026-11-29T06:46:23Z", "2026-11-29T06:46:24Z"], SourceOptions()),
    (["2026-11-29T07:46:22+01:00", "2026-11-29T07:46:23+01:00", "2026-11-29T07:46:24+01:00"], SourceOptions()),
    (["2026-11-29 07:46:22", "2026-11-29 07:46:23", "2026-11-29 07:46:24"], SourceOptions(timezone="Europe/Berlin")),
    (["Sun Nov 29 06:46:22 UTC 2026", "Sun Nov 29 06:46:23 UTC 2026", "Sun Nov 29 06:46:24 UTC 2026"],
     SourceOptions()),
    (["Sun Nov 29 07:46:22 CET 2026", "Sun Nov 29 07:46:23 CET 2026", "Sun Nov 29 07:46:24 CET 2026"],
     SourceOptions(timezone="Europe/Berlin")),
], ids=["iso_z", "iso_offset", "iso_local", "date_utc", "date_local_zone"])
def test_timestamp_forms_give_the_same_epoch(tmp_path: Path, stamps: list[str], options: SourceOptions) -> None:
    samples = [(stamp, cpus) for stamp, (_, cpus) in zip(stamps, rising(3))]
    frame = load_telemetry(write_log(tmp_path, samples), options=options).frame
    expected = pd.Timestamp("2026-11-29 06:46:23", tz="UTC").timestamp()
    np.testing.assert_allclose(frame["timestamp"], [expected, expected + 1])


def test_local_times_a_daylight_saving_change_repeats_are_left_out(tmp_path: Path) -> None:
    clocks = ("01:59:57", "01:59:58", "01:59:59", "02:00:00")
    samples = [(f"2026-10-25 {clock}", cpus) for clock, (_, cpus) in zip(clocks, rising(4))]
    telemetry = load_telemetry(write_log(tmp_path, samples), options=SourceOptions(timezone="Europe/Berlin"))
    start = pd.Timestamp("2026-10-24 23:59:57", tz="UTC").timestamp()
    assert telemetry.frame["timestamp"].tolist() == [start + 1, start + 2]
    assert any(i.code == "local_time_dst" and "first at line 13" in i.message for i in telemetry.report.warnings)


def test_zone_abbreviation_not_the_given_zone_is_refused(tmp_path: Path) -> None:
    samples = [(f"Sun Nov 29 06:46:2{i} EST 2026", cpus) for i, (_, cpus) in enumerate(rising(3))]
    with pytest.raises(BadTimestampError, match=r"'stat\.log', line 1 .*zone 'EST' is neither UTC nor the time zone "
                                                r"given \(UTC\).*--timezone"):
        load_telemetry(write_log(tmp_path, samples))


@pytest.mark.parametrize("stamp", ["2026-13-45T06:44:30", "2026-11-29T25:44:30", "Sun Nov 31 06:44:30 UTC 2026",
                                   "Sun Nov 29 06:44:30 +9900 2026"],
                         ids=["month_13", "hour_25", "november_31", "offset_99_hours"])
def test_a_timestamp_of_the_right_form_that_is_no_date_is_one_error_naming_its_line(tmp_path: Path,
                                                                                    stamp: str) -> None:
    samples = rising(3)
    samples[1] = (stamp, samples[1][1])
    path = write_log(tmp_path, samples)
    with pytest.raises(BadTimestampError, match=rf"'stat\.log', line 5 \('{re.escape(stamp)}'\): .*is no date or "
                                                r"time .*fix or delete that sample"):
        load_telemetry(path)
    assert len(validate_sources(path).errors) == 1


def test_counter_reset_starts_a_second_session(tmp_path: Path) -> None:
    telemetry = load_telemetry(write_log(tmp_path, rising(8, reset_at=4)))
    assert telemetry.n_sessions == 2
    assert sorted(telemetry.frame["source"].unique()) == ["stat.log (part 1 of 2)", "stat.log (part 2 of 2)"]
    assert len(telemetry.frame) == 6  # 7 intervals, the one across the reset left out
    assert "counter_reset" in telemetry.report.codes("warning")
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_0"], 25.0)


def test_a_cpu_in_one_sample_only_is_left_out_and_every_interval_is_read(tmp_path: Path) -> None:
    samples = rising(5)
    samples[2][1]["cpu5"] = [1, 0, 0, 1, 0, 0, 0, 0]  # a stray line
    telemetry = load_telemetry(write_log(tmp_path, samples))
    assert len(telemetry.frame) == 4 and "cpu_util_core_5" not in telemetry.frame.columns
    np.testing.assert_allclose(telemetry.frame["cpu_util_core_1"], 50.0)
    warning = next(i.message for i in telemetry.report.warnings if i.code == "rare_cpus")
    assert "cpu 5 (in 1) is in no more than half of its 5 samples (first at line 9)" in warning
    assert "missing_cpus" not in telemetry.report.codes()


def test_sample_without_cpu1_leaves_its_intervals_out_with_a_warning(tmp_path: Path) -> None:
    samples = rising(6)
    del samples[2][1]["cpu1"]
    telemetry = load_telemetry(write_log(tmp_path, samples))
    assert len(telemetry.frame) == 3  # 5 intervals, the two touching the third sample left out
    assert telemetry.frame["timestamp"].tolist() == [START + 1.0, START + 4.0, START + 5.0]
    assert any(i.code == "missing_cpus" and "2 intervals" in i.message for i in telemetry.report.warnings)


def test_log_without_aggregate_line_computes_overall_and_says_so(tmp_path: Path) -> None:
    samples = [(stamp, {c: v for c, v in cpus.items() if c != "cpu"}) for stamp, cpus in rising(3)]
    telemetry = load_telemetry(write_log(tmp_path, samples))
    assert "overall_computed" in telemetry.report.codes("warning")
    np.testing.assert_allclose(telemetry.frame["cpu_util_overall"], [37.5, 37.5])


@pytest.mark.parametrize("bad_line, line_number, why", [
    ("cpu0 12 ab 3 4", 3, r"at least 4 whole numbers"),
    ("cpu1 12 13", 4, r"at least 4 whole numbers"),
    ("hello world", 3, r"neither a timestamp nor a /proc/stat line"),
    ("cpu1 12 0 0 34", 4, r"it has 4 counts where the first cpu line of the sample of line 1 has 8, so it is cut"),
])
def test_malformed_line_is_named_by_its_number(tmp_path: Path, bad_line: str, line_number: int, why: str) -> None:
    path = write_log(tmp_path, rising(3))
    lines = path.read_text().splitlines()
    lines[line_number - 1] = bad_line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NotParquetError, match=rf"'stat\.log', line {line_number} \('{bad_line}'\) cannot be read: "
                                              rf".*{why}.*Fix or remove that line"):
        load_telemetry(path)


def test_last_line_cut_short_mid_write_is_left_out(tmp_path: Path) -> None:
    path = write_log(tmp_path, rising(4))
    path.write_text(path.read_text() + f"{START + 4}\ncpu 12")
    telemetry = load_telemetry(path)
    assert len(telemetry.frame) == 3
    assert "cut_short_line" in telemetry.report.codes("info")
    assert "empty_sample" in telemetry.report.codes("warning")  # its timestamp line is left without cpu lines


def test_cpu_lines_before_any_timestamp_are_refused(tmp_path: Path) -> None:
    path = write_log(tmp_path, rising(3))
    path.write_text("cpu0 1 2 3 4\n" + path.read_text())
    report = validate_sources(path)
    assert report.codes("error") == ["malformed_line"]
    assert "line 1 ('cpu0 1 2 3 4')" in report.errors[0].message
    assert "before the first timestamp line" in report.errors[0].message
