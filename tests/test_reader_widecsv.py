"""The wide-CSV reader: the real psutil recordings (ISO and epoch-millisecond times), and hand-made CSVs for the
edge cases (no overall, other delimiters, local times, bad cells, ragged lines, a CSV under a parquet name)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.bad_inputs import good_frame
from twin_core.errors import AmbiguousColumnError, NonNumericError, NotParquetError
from twin_core.telemetry import load_telemetry, load_uploaded
from twin_core.telemetry.options import SourceOptions

FIXTURES = Path(__file__).parent / "fixtures" / "collectors"
CORES = ["cpu_util_core_0", "cpu_util_core_1"]


def test_psutil_fixture_keeps_its_own_overall_and_values() -> None:
    telemetry = load_telemetry(FIXTURES / "psutil_wide.csv")
    raw = pd.read_csv(FIXTURES / "psutil_wide.csv")
    assert telemetry.core_columns == tuple(CORES)
    assert "overall_computed" not in telemetry.report.codes()
    np.testing.assert_array_equal(telemetry.frame[["cpu_util_overall", *CORES]],
                                  raw[["cpu_util_overall", *CORES]])
    first = pd.Timestamp(raw["timestamp"].iloc[0]).timestamp()
    assert telemetry.frame["timestamp"].iloc[0] == pytest.approx(first, abs=1e-6)


def test_epoch_milliseconds_give_the_same_timestamps_as_iso() -> None:
    iso = load_telemetry(FIXTURES / "psutil_wide.csv")
    ms = load_telemetry(FIXTURES / "psutil_epoch_ms.csv")
    assert "timestamp_unit" in ms.report.codes("info")
    assert len(iso.frame) == len(ms.frame)
    np.testing.assert_allclose(ms.frame["timestamp"], iso.frame["timestamp"], rtol=0, atol=0.0005)
    np.testing.assert_array_equal(ms.frame[CORES], iso.frame[CORES])


def test_csv_with_our_columns_under_a_parquet_name_loads_by_content(tmp_path: Path) -> None:
    frame = good_frame()
    path = tmp_path / "csv_as.parquet"
    path.write_bytes(frame.to_csv(index=False).encode())
    telemetry = load_telemetry(path)
    np.testing.assert_allclose(telemetry.frame["timestamp"], frame["timestamp"])
    np.testing.assert_array_equal(telemetry.frame[[f"cpu_util_core_{c}" for c in range(4)]],
                                  frame[[f"cpu_util_core_{c}" for c in range(4)]])
    assert telemetry.frame["workload_type"].unique().tolist() == ["cpu_bound"]


def test_without_overall_the_mean_of_the_cores_is_used_and_reported() -> None:
    data = b"timestamp,workload_type,cpu_util_core_0,cpu_util_core_1,fan\n1800000000,build,10,30,a\n" \
           b"1800000001,idle,20,60,b\n"
    telemetry = load_uploaded([("no_overall.csv", data)])
    np.testing.assert_allclose(telemetry.frame["cpu_util_overall"], [20.0, 40.0])
    assert telemetry.report.codes("warning").count("overall_computed") == 1
    assert telemetry.frame["workload_type"].tolist() == ["build", "idle"]
    assert telemetry.frame["fan"].tolist() == ["a", "b"]


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_semicolon_and_tab_headers_are_read(delimiter: str) -> None:
    rows = [["timestamp", "cpu_util_overall", *CORES],
            ["1800000000", "15", "10", "20"], ["1800000001", "25", "20", "30"]]
    data = ("\n".join(delimiter.join(r) for r in rows) + "\n").encode()
    telemetry = load_uploaded([("semi.csv", data)])
    np.testing.assert_array_equal(telemetry.frame[["cpu_util_overall", *CORES]], [[15, 10, 20], [25, 20, 30]])
    assert "csv_delimiter" in telemetry.report.codes("info")


def test_times_without_a_zone_are_read_in_the_given_zone() -> None:
    data = b"timestamp,cpu_util_overall,cpu_util_core_0,cpu_util_core_1\n2026-07-01 12:00:00,1,1,1\n" \
           b"2026-07-01 12:00:01,2,2,2\n"
    berlin = load_uploaded([("local.csv", data)], options=SourceOptions(timezone="Europe/Berlin"))
    utc = load_uploaded([("local.csv", data)])
    assert berlin.frame["timestamp"].iloc[0] == pd.Timestamp("2026-07-01 10:00:00", tz="UTC").timestamp()
    assert utc.frame["timestamp"].iloc[0] == pd.Timestamp("2026-07-01 12:00:00", tz="UTC").timestamp()
    assert any("were read in Europe/Berlin" in i.message for i in berlin.report.issues)


def test_local_times_a_daylight_saving_change_repeats_are_left_out() -> None:
    rows = [f"2026-10-25 {clock},1,1,1" for clock in ("01:59:58", "01:59:59", "02:00:00", "02:00:01")]
    data = ("timestamp,cpu_util_overall,cpu_util_core_0,cpu_util_core_1\n" + "\n".join(rows)).encode()
    telemetry = load_uploaded([("dst.csv", data)], options=SourceOptions(timezone="Europe/Berlin"))
    start = pd.Timestamp("2026-10-24 23:59:58", tz="UTC").timestamp()
    assert telemetry.frame["timestamp"].tolist() == [start, start + 1]
    assert any(i.code == "local_time_dst" and "first at row 2" in i.message for i in telemetry.report.warnings)


@pytest.mark.parametrize("data, exception, match", [
    (b"timestamp,cpu_util_overall,cpu_util_core_0,cpu_util_core_1\n1800000000,1,2,3\n1800000001,1,oops,3\n",
     NonNumericError, r"'bad\.csv', column 'cpu_util_core_0' holds 1 non-numeric value, e\.g\. 'oops' at row 1"),
    (b"timestamp,cpu_util_core_0,cpu_util_core_1\n1800000000,1,2\n1800000001,oops,3\n",
     NonNumericError, r"'bad\.csv', column 'cpu_util_core_0' holds 1 non-numeric value, e\.g\. 'oops' at row 1"),
    (b"timestamp,cpu_util_overall,cpu_util_core_0,cpu_util_core_1\n1800000000,1,2,3\n1800000001,1,2,3,4\n",
     NotParquetError, r"'bad\.csv', line 3 has 5 fields where the header names 4"),
    (b"timestamp,cpu_util_core_0,cpu_util_core_0\n1800000000,1,2\n",
     AmbiguousColumnError, r"'bad\.csv' has 2 columns named 'cpu_util_core_0' in its header"),
], ids=["bad_cell", "bad_cell_no_overall", "ragged_line", "duplicate_header"])
def test_bad_csv_content_is_one_message_saying_where(data: bytes, exception: type, match: str) -> None:
    with pytest.raises(exception, match=match):
        load_uploaded([("bad.csv", data)])


def test_a_last_row_without_line_end_is_left_out_not_read_cut_short() -> None:
    data = b"timestamp,cpu_util_overall,cpu_util_core_0,cpu_util_core_1\n1800000000,55,10,100.0\n" \
           b"1800000001,55,10,100.0\n1800000002,55,10,10"  # the recorder stopped inside '100.0'
    telemetry = load_uploaded([("cut.csv", data)])
    np.testing.assert_array_equal(telemetry.frame[CORES], [[10, 100], [10, 100]])
    assert any(i.code == "cut_short_line" and "line 4" in i.message for i in telemetry.report.issues)


def test_json_without_a_final_line_end_is_read_whole(tmp_path: Path) -> None:
    text = (FIXTURES / "sadf_j.json").read_text().rstrip("\n")
    path = tmp_path / "sadf.json"
    path.write_text(text)
    telemetry = load_telemetry(path)
    assert len(telemetry.frame) == len(load_telemetry(FIXTURES / "sadf_j.json").frame)
    assert "cut_short_line" not in telemetry.report.codes()


def test_rows_one_field_longer_than_the_header_are_refused_not_shifted_into_an_index() -> None:
    data = b"timestamp,cpu_util_core_0,cpu_util_core_1\n1800000000,10,20,30\n1800000001,10,20,30\n"
    with pytest.raises(NotParquetError, match=r"'wide\.csv', line 2 has 4 fields where the header names 3"):
        load_uploaded([("wide.csv", data)])


def test_a_line_of_a_million_fields_is_refused_before_it_is_parsed() -> None:
    data = b"timestamp,cpu_util_core_0,cpu_util_core_1\n1800000000,1,2\n" + b"1," * 1_000_000 + b"1\n"
    with pytest.raises(NotParquetError, match=r"'huge\.csv', line 3 has 1,000,001 fields where the header names 3"):
        load_uploaded([("huge.csv", data)])


def test_a_quoted_separator_is_not_counted_as_a_field() -> None:
    data = b'timestamp,workload_type,cpu_util_core_0,cpu_util_core_1\n1800000000,"build, then test",10,30\n'
    telemetry = load_uploaded([("quoted.csv", data)])
    assert telemetry.frame["workload_type"].tolist() == ["build, then test"]


@pytest.mark.parametrize("upload", [False, True], ids=["file", "upload"])
def test_a_utf8_byte_order_mark_is_read_as_text(tmp_path: Path, upload: bool) -> None:
    data = b"\xef\xbb\xbf" + (FIXTURES / "psutil_wide.csv").read_bytes()
    path = tmp_path / "bom.csv"
    path.write_bytes(data)
    telemetry = load_uploaded([("bom.csv", data)]) if upload else load_telemetry(path)
    plain = load_telemetry(FIXTURES / "psutil_wide.csv").frame
    pd.testing.assert_frame_equal(telemetry.frame.drop(columns="source"), plain.drop(columns="source"))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_text_is_one_error_saying_to_save_it_as_utf8(encoding: str) -> None:
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    data = bom + (FIXTURES / "psutil_wide.csv").read_text().encode(encoding)
    with pytest.raises(NotParquetError, match=r"^File 'wide16\.csv' is UTF-16 text; save it as UTF-8") as caught:
        load_uploaded([("wide16.csv", data)])
    assert len(caught.value.report.errors) == 1
