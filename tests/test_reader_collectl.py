"""collectl reader (twin_core.telemetry.readers.collectl): the real plot files recorded together with psutil and
sar, and hand-made files for collectl's comment header, --utc, milliseconds, summary-only and broken lines."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.telemetry import load_telemetry
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers import read_text_source
from twin_core.telemetry.report import ValidationReport

FIXTURES = Path(__file__).parent / "fixtures" / "collectors"
CORES = ["cpu_util_core_0", "cpu_util_core_1"]
DETAIL = " ".join(f"[CPU:{c}]{s}%" for c in (0, 1) for s in ("User", "Sys", "Wait", "Idle"))
SUMMARY = "[CPU]User% [CPU]Sys% [CPU]Wait% [CPU]Idle%"
COMMENTS = """################################### RECORDED ###################################
# Collectl:   V4.3.1-1  HiRes: 1  Options: -scC -i 1 -f /tmp/raw  Subsys: cC
# Host:       vm  DaemonOpts:
# Date:       20261129-064737  Secs: 1795934857 TZ: {tz}
################################################################################
"""


def _values(name: str, **options: str) -> pd.DataFrame:
    frame = load_telemetry(FIXTURES / name, options=SourceOptions(**options)).frame
    return frame[["timestamp", "cpu_util_overall", *CORES]]


def _read(text: str, **options: str) -> tuple[list[tuple[str, pd.DataFrame]], ValidationReport]:
    report = ValidationReport()
    return read_text_source("x.txt", text.encode(), SourceOptions(**options), report), report


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# --- the real plot files -----------------------------------------------------------------------------------------

def test_detail_only_file_has_two_cores_and_computes_the_overall_with_a_warning() -> None:
    report = ValidationReport()
    (_, frame), = read_text_source("c.txt", (FIXTURES / "collectl_P_sC.txt").read_bytes(), SourceOptions(), report)
    assert list(frame.columns) == ["timestamp", "cpu_util_overall", *CORES]
    assert len(frame) == 246 and np.all(np.diff(frame["timestamp"]) == 1.0)
    assert frame["timestamp"].iloc[0] == _utc("2026-11-29 06:44:26")
    # 06:44:26 cpu 0: Idle 81 Wait 1; cpu 1: Idle 0 Wait 0
    assert frame[CORES].iloc[0].tolist() == [18.0, 100.0]
    assert frame["cpu_util_overall"].iloc[0] == 59.0
    assert "overall_computed" in report.codes("warning") and "local_times" in report.codes("info")


def test_summary_and_detail_file_takes_the_summary_as_the_overall() -> None:
    report = ValidationReport()
    (_, frame), = read_text_source("c.txt", (FIXTURES / "collectl_P_scC.txt").read_bytes(), SourceOptions(), report)
    assert frame["cpu_util_overall"].iloc[:3].tolist() == [59.0, 54.0, 42.0]  # 100 - [CPU]Idle% - [CPU]Wait%
    assert "overall_computed" not in report.codes()
    # the two files are two collectl processes sampling at the same seconds: the cores agree within a point or two
    detail_only = _values("collectl_P_sC.txt")[CORES].to_numpy()
    assert np.abs(frame[CORES].to_numpy() - detail_only).max() <= 3


def test_collectl_values_are_in_range_and_show_the_load_phases() -> None:
    frame = _values("collectl_P_scC.txt")
    assert frame[["cpu_util_overall", *CORES]].min().min() >= 0
    assert frame[["cpu_util_overall", *CORES]].max().max() <= 100
    assert (frame[CORES].std() > 15).all()


@pytest.mark.parametrize("core", CORES)
def test_collectl_agrees_with_psutil_and_sar_recorded_at_the_same_time(core: str) -> None:
    collectl = _values("collectl_P_sC.txt")
    for other in ("psutil_wide.csv", "sar_P_ALL_u.txt"):
        theirs = _values(other)
        both = collectl.assign(second=collectl["timestamp"].round()).merge(
            theirs.assign(second=theirs["timestamp"].round()), on="second", suffixes=("_collectl", "_other"))
        assert len(both) >= 240
        assert np.corrcoef(both[f"{core}_collectl"], both[f"{core}_other"])[0, 1] >= 0.9


# --- hand-made plot files ----------------------------------------------------------------------------------------

def _plot(rows: list[str], header: str = f"#Date Time {SUMMARY} {DETAIL}", tz: str | None = None) -> str:
    comments = COMMENTS.format(tz=tz) if tz else "waiting for 1 second sample...\n"
    return comments + header + "\n" + "".join(r + "\n" for r in rows)


def test_comment_header_is_skipped_and_times_with_milliseconds_are_read_in_the_zone() -> None:
    rows = ["20261129 07:47:39.004 50 0 0 50 20 0 10 70 80 0 0 20",
            "20261129 07:47:40.001 60 0 0 40 40 0 0 60 80 0 0 20"]
    (_, frame), = (parts := _read(_plot(rows, tz="+0100"), timezone="Europe/Berlin"))[0]
    assert frame["timestamp"].tolist() == pytest.approx([_utc("2026-11-29 06:47:39.004"),
                                                         _utc("2026-11-29 06:47:40.001")])
    assert frame["cpu_util_core_0"].tolist() == [20.0, 40.0]  # 100 - Idle - Wait
    assert frame["cpu_util_overall"].tolist() == [50.0, 60.0]
    assert "zone_mismatch" not in parts[1].codes()


def test_header_zone_that_differs_from_the_read_zone_is_a_warning() -> None:
    rows = ["20261129 07:47:39 50 0 0 50 20 0 10 70 80 0 0 20"]
    _, report = _read(_plot(rows, tz="+0100"))
    warning, = [i for i in report.issues if i.code == "zone_mismatch"]
    assert "UTC+01:00" in warning.message and "--timezone" in warning.message


def test_utc_epoch_times_are_read_as_they_are_without_a_zone_note() -> None:
    rows = ["1795934840 50 0 0 50 20 0 10 70 80 0 0 20", "1795934841 50 0 0 50 20 0 10 70 80 0 0 20"]
    (_, frame), = (parts := _read(_plot(rows, header=f"#UTC {SUMMARY} {DETAIL}"), timezone="Europe/Berlin"))[0]
    assert frame["timestamp"].tolist() == [1795934840.0, 1795934841.0]
    assert "local_times" not in parts[1].codes()


def test_summary_only_file_asks_to_record_per_cpu_detail() -> None:
    parts, report = _read(_plot(["20261129 07:47:39 50 0 0 50"], header=f"#Date Time {SUMMARY}"))
    assert parts == [] and report.codes("error") == ["missing_column"]
    assert "-sC" in report.errors[0].message


def test_non_number_is_one_error_naming_its_line() -> None:
    rows = ["20261129 07:47:39 50 0 0 50 20 0 10 70 80 0 0 20", "20261129 07:47:40 50 0 0 50 20 0 x 70 80 0 0 20"]
    parts, report = _read(_plot(rows))
    assert parts == [] and report.codes("error") == ["non_numeric"]
    assert "line 4" in report.errors[0].message and "[CPU:0]Wait%" in report.errors[0].message


def test_cut_line_is_one_error_naming_its_line() -> None:
    parts, report = _read(_plot(["20261129 07:47:39 50 0 0 50 20 0 10 70 80", "20261129 07:47:40 50 0 0 50"]))
    assert parts == [] and report.codes("error") == ["not_parquet"] and "line 3" in report.errors[0].message


def test_date_without_a_year_is_refused_naming_the_option() -> None:
    parts, report = _read(_plot(["11/29 07:47:39 50 0 0 50 20 0 10 70 80 0 0 20"]))
    assert parts == [] and report.codes("error") == ["bad_timestamp"] and "-od" in report.errors[0].message


def test_idle_and_wait_beyond_100_is_out_of_range() -> None:
    parts, report = _read(_plot(["20261129 07:47:39 50 0 0 50 20 0 60 70 80 0 0 20"]))
    assert parts == [] and report.codes("error") == ["out_of_range"] and "line 3" in report.errors[0].message
