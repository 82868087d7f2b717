"""Loading, validation and normalisation of telemetry (twin_core.telemetry)."""
from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from tests.bad_inputs import CASES, BadInput, good_frame, invalid_utf8_labels, write
from twin_core.errors import (BadTimestampError, ConfigError, NotParquetError, OutOfRangeError, SessionTooShortError,
                              TelemetryError)
from twin_core.telemetry import (
    ValidationReport,
    load_telemetry,
    load_uploaded,
    telemetry_from_frames,
    validate_sources,
)
from twin_core.telemetry.schema import _check_file


def _load(case: BadInput, tmp_path: Path):
    sources = case.make(tmp_path)
    if case.upload:
        return load_uploaded(sources, target=case.target)
    if case.frames:
        return telemetry_from_frames(sources, target=case.target)
    return load_telemetry(sources, target=case.target)


# ---------------------------------------------------------------------------------------- bad inputs


def test_every_bad_input_gets_its_own_message(tmp_path: Path) -> None:
    messages = set()
    for case in CASES:
        (tmp_path / case.id).mkdir()
        with pytest.raises(TelemetryError) as info:
            _load(case, tmp_path / case.id)
        messages.add(str(info.value).replace(str(tmp_path / case.id), "<folder>"))  # not told apart by folder
    assert len(messages) == len(CASES)  # every bad input has its own message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_named_error(case: BadInput, tmp_path: Path) -> None:
    with pytest.raises(case.exception, match=case.match) as info:
        _load(case, tmp_path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert isinstance(info.value.report, ValidationReport) and not info.value.report.ok


def test_not_parquet_never_shows_raw_pyarrow_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.parquet", b"PAR1" + bytes(100) + b"PAR1")
    with pytest.raises(NotParquetError, match=r"^File 'x\.parquet' cannot be read .*expected an Apache Parquet"):
        load_telemetry(path)


def test_validate_sources_collects_every_file_without_raising(tmp_path: Path) -> None:
    bad_range = good_frame()
    bad_range.loc[3, "cpu_util_core_1"] = 150.0
    paths = [
        write(tmp_path, "a.parquet", b"not,parquet\n"),
        write(tmp_path, "b.parquet", bad_range),
        write(tmp_path, "c.parquet", good_frame().drop(columns="timestamp")),
    ]
    report = validate_sources(paths)
    assert not report.ok
    assert [(e.code, e.file) for e in report.errors] == [
        ("not_parquet", "a.parquet"), ("out_of_range", "b.parquet"), ("missing_column", "c.parquet")]
    assert report.errors[1].column == "cpu_util_core_1" and report.errors[1].example == "150"


def test_first_error_raised_and_others_counted(tmp_path: Path) -> None:
    frame = good_frame()
    frame.loc[1, "cpu_util_core_0"] = 120.0
    frame.loc[2, "cpu_util_core_1"] = np.nan  # another kind of problem: the same kind would be one message
    with pytest.raises(OutOfRangeError, match=r"cpu_util_core_0.*\(and 1 more problem in the report\)\.$") as info:
        load_telemetry(write(tmp_path, "f.parquet", frame))
    assert len(info.value.report.errors) == 2


def test_bad_gap_factor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="gap_factor"):
        telemetry_from_frames([("f", good_frame())], gap_factor=0)


# ---------------------------------------------------------------------------------------- normalisation


def _stamps_frame(stamps: object) -> pd.DataFrame:
    frame = good_frame(rows=5)
    frame["timestamp"] = stamps
    return frame


def test_every_timestamp_format_normalises_to_the_same_seconds() -> None:
    seconds = 1_758_983_068.25 + 0.1 * np.arange(5)
    millis = np.rint(seconds * 1000).astype("int64")
    naive = pd.Series(pd.to_datetime(millis, unit="ms"))
    aware = naive.dt.tz_localize("UTC").dt.tz_convert(dt.timezone(dt.timedelta(hours=-5)))
    formats = {
        "float_s": seconds,
        "int_ms": millis,
        "float_ms": millis.astype("float64"),
        "datetime_naive": naive,
        "datetime_tz": aware,
        "iso_text": aware.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z").astype(object),
        "int_s": np.arange(5, dtype="int64") + 1_758_983_068,
    }
    loaded = {k: telemetry_from_frames([("f", _stamps_frame(v))]).frame["timestamp"].to_numpy()
              for k, v in formats.items()}
    for key in ("int_ms", "float_ms", "datetime_naive", "datetime_tz", "iso_text"):
        np.testing.assert_array_equal(loaded[key], loaded["float_s"], err_msg=key)
    np.testing.assert_array_equal(loaded["int_s"], 1_758_983_068.0 + np.arange(5))
    assert loaded["float_s"].dtype == np.float64


def test_cores_ordered_by_number_and_frame_layout() -> None:
    frame = good_frame(rows=10, cores=12)
    order = ["workload_type", "cpu_util_core_10", "timestamp", "cpu_util_core_2", "cpu_util_core_9",
             "cpu_util_overall", *[f"cpu_util_core_{c}" for c in (0, 1, 3, 4, 5, 6, 7, 8, 11)]]
    shuffled = frame[order].copy()
    shuffled["cpu_freq_current_mhz"] = 1800.0
    telemetry = telemetry_from_frames([("f", shuffled)], target="cpu_util_core_10")
    cores = tuple(f"cpu_util_core_{c}" for c in range(12))
    assert telemetry.core_columns == cores
    assert list(telemetry.frame.columns) == [
        "timestamp", "session", "source", "workload_type", "cpu_util_overall", *cores, "cpu_freq_current_mhz"]
    assert telemetry.extra_columns == ("cpu_freq_current_mhz",)
    assert telemetry.target == "cpu_util_core_10" and "cpu_util_core_10" not in telemetry.other_cores
    assert isinstance(telemetry.frame.index, pd.RangeIndex)
    dtypes = telemetry.frame.dtypes
    assert dtypes["session"] == np.int64 and dtypes["source"] == "str" and dtypes["workload_type"] == "str"
    assert all(dtypes[c] == np.float64 for c in ("timestamp", "cpu_util_overall", *cores))


def test_integer_cores_become_float() -> None:
    frame = good_frame(rows=5)
    frame["cpu_util_core_1"] = frame["cpu_util_core_1"].round().astype("int64")
    assert telemetry_from_frames([("f", frame)]).frame["cpu_util_core_1"].dtype == np.float64


def test_sessions_split_at_file_boundaries_and_long_gaps() -> None:
    first = good_frame(rows=30)
    first.loc[20:, "timestamp"] += 120.0  # a two-minute pause inside the file
    second = good_frame(rows=10, start=1_700_000_000.0 + 1_000.0)
    second["workload_type"] = "io_bound"
    telemetry = telemetry_from_frames([("late.parquet", second), ("early.parquet", first)])
    sessions = telemetry.sessions()
    assert telemetry.n_sessions == 3
    assert sessions["session"].tolist() == [0, 1, 2]
    assert sessions["source"].tolist() == ["early.parquet", "early.parquet", "late.parquet"]
    assert sessions["workload_type"].tolist() == ["cpu_bound", "cpu_bound", "io_bound"]
    assert sessions["rows"].tolist() == [20, 10, 10]
    assert sessions["duration_s"].iloc[0] == pytest.approx(1.9)
    assert (sessions["start"].diff().dropna() > 0).all()
    assert telemetry.sampling_interval == pytest.approx(0.1)
    assert telemetry.sessions()["rows"].tolist() == [20, 10, 10]
    assert telemetry.frame["timestamp"].is_monotonic_increasing


def test_short_stalls_stay_inside_a_session() -> None:
    frame = good_frame(rows=30)
    frame.loc[15:, "timestamp"] += 4.0  # 40 intervals, but only 4 s
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.n_sessions == 1
    assert "short_stalls" in telemetry.report.codes("info")
    assert telemetry_from_frames([("f", frame)], min_gap_s=0).n_sessions == 2


def test_workload_change_inside_a_session_is_recorded() -> None:
    frame = good_frame(rows=10)
    frame.loc[5:, "workload_type"] = "io_bound"
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.n_sessions == 1
    assert telemetry.sessions()["workload_type"].tolist() == ["cpu_bound, io_bound"]
    assert "workload_change" in telemetry.report.codes("info")


def test_duplicate_timestamps_keep_last_within_and_across_files() -> None:
    first = good_frame(rows=10)
    first.loc[4, "timestamp"] = first.loc[3, "timestamp"]
    first.loc[4, "cpu_util_core_0"] = 42.0
    second = good_frame(rows=5, start=float(first["timestamp"].iloc[-1]))
    second.loc[0, "cpu_util_core_0"] = 77.0
    telemetry = telemetry_from_frames([("a", first), ("b", second)])
    frame = telemetry.frame
    dups = [w for w in telemetry.report.warnings if w.code == "duplicate_timestamps"]
    assert len(dups) == 2 and "1 row " in dups[0].message and "last row" in dups[0].message
    assert len(frame) == 13 and frame["timestamp"].is_unique
    assert frame.loc[frame["timestamp"] == first.loc[3, "timestamp"], "cpu_util_core_0"].item() == 42.0
    overlap = frame[frame["timestamp"] == second.loc[0, "timestamp"]]
    assert overlap["source"].item() == "b" and overlap["cpu_util_core_0"].item() == 77.0


def test_unsorted_rows_are_sorted() -> None:
    frame = good_frame(rows=10).iloc[::-1]
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.frame["timestamp"].is_monotonic_increasing
    assert "unsorted" in telemetry.report.codes("info")


def test_empty_extra_column_dropped_and_nan_extra_warned() -> None:
    frame = good_frame(rows=10)
    frame["cpu_temp_celsius_avg"] = pd.Series([None] * 10, dtype=object)
    frame["cpu_freq_current_mhz"] = [np.nan] + [1800.0] * 9
    telemetry = telemetry_from_frames([("f", frame)])
    assert "cpu_temp_celsius_avg" not in telemetry.frame
    assert telemetry.extra_columns == ("cpu_freq_current_mhz",)
    issue = next(i for i in telemetry.report.issues if i.code == "empty_column_dropped")
    assert issue.level == "info" and issue.column == "cpu_temp_celsius_avg"
    assert "extra_column_missing" in telemetry.report.codes("warning")


def test_extra_columns_not_in_every_file_are_dropped() -> None:
    first, second = good_frame(rows=5), good_frame(rows=5, start=1_700_000_100.0)
    first["only_here"] = 1.0
    first["everywhere"] = second["everywhere"] = 2.0
    telemetry = telemetry_from_frames([("a", first), ("b", second)])
    assert telemetry.extra_columns == ("everywhere",)
    assert "extra_columns_differ" in telemetry.report.codes("warning")


def test_reserved_column_names_are_kept_under_another_name() -> None:
    frame = good_frame(rows=5)
    frame["session"] = 9
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.frame["session"].tolist() == [0] * 5
    assert telemetry.frame["session_input"].tolist() == [9] * 5


def test_numbers_stored_as_text_are_converted_with_a_warning() -> None:
    frame = good_frame(rows=5)
    frame["cpu_util_core_2"] = frame["cpu_util_core_2"].astype(str)
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.frame["cpu_util_core_2"].dtype == np.float64
    assert "numbers_as_text" in telemetry.report.codes("warning")


# ---------------------------------------------------------------------------------------- fingerprints


def test_fingerprint_same_for_files_bytes_and_frames(tmp_path: Path) -> None:
    frames = [("a.parquet", good_frame()), ("b.parquet", good_frame(start=1_700_000_500.0))]
    paths = [write(tmp_path, name, frame) for name, frame in frames]
    from_files = load_telemetry(paths)
    from_bytes = load_uploaded([(p.name, p.read_bytes()) for p in paths])
    from_frames = telemetry_from_frames(frames)
    from_dir = load_telemetry(tmp_path)
    assert_frame_equal(from_files.frame, from_bytes.frame)
    assert len({t.fingerprint for t in (from_files, from_bytes, from_frames, from_dir)}) == 1
    assert len(from_files.fingerprint) == 64


def test_fingerprint_changes_with_content() -> None:
    frame = good_frame()
    changed = frame.copy()
    changed.loc[0, "cpu_util_core_0"] += 0.1
    assert telemetry_from_frames([("f", frame)]).fingerprint != telemetry_from_frames([("f", changed)]).fingerprint


def test_directory_and_upload_of_demo_match(demo_parquet_dir: Path, demo_telemetry) -> None:
    uploaded = load_uploaded([(p.name, p.read_bytes()) for p in sorted(demo_parquet_dir.glob("*.parquet"))])
    assert load_telemetry(demo_parquet_dir).fingerprint == uploaded.fingerprint == demo_telemetry.fingerprint


# ---------------------------------------------------------------------------------------- seed data


@pytest.mark.seed_data
def test_seed_data_loads(seed_data_dir: Path) -> None:
    telemetry = load_telemetry(seed_data_dir)
    assert len(telemetry.frame) == 6928
    assert telemetry.n_cores == 8 and telemetry.n_sessions == 7
    assert "cpu_temp_celsius_avg" not in telemetry.frame
    assert telemetry.sampling_interval == pytest.approx(0.1, abs=0.005)
    assert telemetry.report.ok
    sessions = telemetry.sessions()
    assert sessions["source"].is_unique and sessions["rows"].sum() == 6928
    assert set(sessions["workload_type"]) == {"cpu_bound", "io_bound", "memory_bound", "mixed_workload", "network_bound"}


@pytest.mark.seed_data
def test_seed_data_upload_matches_folder(seed_data_dir: Path) -> None:
    files = [(p.name, p.read_bytes()) for p in sorted(seed_data_dir.glob("*.parquet"))]
    assert load_uploaded(files).fingerprint == load_telemetry(seed_data_dir).fingerprint


def test_overlapping_files_stay_contiguous_sessions() -> None:
    """Downstream windows count rows within a session, so a session must be one block of row ids."""
    first = good_frame(rows=20)
    second = good_frame(rows=20, start=float(first["timestamp"].iloc[5]) + 0.05)
    telemetry = telemetry_from_frames([("a", first), ("b", second)])
    session = telemetry.frame["session"].to_numpy()
    assert list(session) == [0] * 20 + [1] * 20
    for _, rows in telemetry.frame.groupby("session"):
        assert rows["timestamp"].is_monotonic_increasing
    assert "overlapping_sessions" in telemetry.report.codes("warning")


# ---------------------------------------------------------------------------------------- validate = what train does


def _refuse(telemetry) -> list[str]:
    raise SessionTooShortError(f"the longest of {telemetry.n_sessions} sessions is too short.")


@pytest.mark.parametrize(("can_train", "level", "code", "message"), [
    (_refuse, "error", "cannot_train", "Training would refuse this data: the longest of 1 sessions is too short."),
    (lambda telemetry: ["3 folds instead of 5."], "info", "train_adapts",
     "Training would adapt: 3 folds instead of 5."),
])
def test_validate_reports_what_training_would_refuse_or_adapt(tmp_path: Path, can_train, level, code, message) -> None:
    report = validate_sources(write(tmp_path, "f.parquet", good_frame()), can_train=can_train)
    issue = next(i for i in report.issues if i.code == code)
    assert (issue.level, issue.message) == (level, message)
    assert report.ok == (level != "error")


def test_validate_asks_about_training_only_when_the_data_loads(tmp_path: Path) -> None:
    report = validate_sources(write(tmp_path, "f.parquet", b"not parquet"), can_train=_refuse)
    assert report.codes("error") == ["not_parquet"]


# ---------------------------------------------------------------------------------------- values at the edges


def test_rounding_noise_outside_0_100_is_clipped_with_a_note() -> None:
    frame = good_frame(rows=5)
    frame.loc[1, "cpu_util_core_0"] = 100.0000001
    frame.loc[2, "cpu_util_core_0"] = -1e-7
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.frame["cpu_util_core_0"].iloc[[1, 2]].tolist() == [100.0, 0.0]
    note = next(i for i in telemetry.report.issues if i.code == "clipped_rounding")
    assert note.level == "info" and "2 values within 1e-06 of 0..100" in note.message
    assert note.example == "100.0000001"


def test_out_of_range_message_shows_the_real_extremes() -> None:
    frame = good_frame(rows=5)
    frame["cpu_util_core_0"] = [10.0, 100.0000001, 20.0, 100.000002, 30.0]
    with pytest.raises(OutOfRangeError, match=r"has 1 value outside 0\.\.100 % \(found 10 to 100\.000002\), "
                                              r"e\.g\. 100\.000002 at row 3"):
        telemetry_from_frames([("f", frame)])


def test_zero_padded_core_numbers_are_renamed_with_a_note() -> None:
    padded = {"cpu_util_core_0": "cpu_util_core_00", "cpu_util_core_1": "cpu_util_core_01"}
    frame = good_frame(rows=5).rename(columns=padded)
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.core_columns == tuple(f"cpu_util_core_{c}" for c in range(4))
    assert telemetry.frame["cpu_util_core_0"].tolist() == frame["cpu_util_core_00"].tolist()
    assert "core_renamed" in telemetry.report.codes("info")


def test_core_numbers_in_other_scripts_are_not_cores() -> None:
    frame = good_frame(rows=5).rename(columns={"cpu_util_core_3": "cpu_util_core_\u0663"})  # Arabic-Indic 3
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.core_columns == ("cpu_util_core_0", "cpu_util_core_1", "cpu_util_core_2")
    assert telemetry.extra_columns == ("cpu_util_core_\u0663",)


def test_nested_extra_column_is_dropped_with_a_warning(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(good_frame(rows=5), preserve_index=False)
    path = tmp_path / "f.parquet"
    pq.write_table(table.append_column("cpu_flags", pa.array([["sse", "avx"]] * 5)), path)
    telemetry = load_telemetry(path)
    assert "cpu_flags" not in telemetry.frame and telemetry.extra_columns == ()
    warning = next(i for i in telemetry.report.warnings if i.code == "nested_column_dropped")
    assert warning.column == "cpu_flags" and "(list)" in warning.message


def test_arrow_backed_categorical_sparse_and_byte_columns_load_like_plain_ones() -> None:
    frame = good_frame(rows=6)
    plain = telemetry_from_frames([("f", frame)])
    other = frame.assign(
        timestamp=pd.Series(pd.to_datetime(frame["timestamp"], unit="s")).astype(pd.ArrowDtype(pa.timestamp("ns"))),
        cpu_util_overall=frame["cpu_util_overall"].astype(pd.ArrowDtype(pa.float64())),
        cpu_util_core_1=pd.Categorical(frame["cpu_util_core_1"]),
        cpu_util_core_2=[str(v).encode() for v in frame["cpu_util_core_2"]],
        cpu_util_core_3=pd.arrays.SparseArray(frame["cpu_util_core_3"]),
        workload_type=[b"cpu_bound"] * 6,
    )
    loaded = telemetry_from_frames([("f", other)])
    assert_frame_equal(loaded.frame, plain.frame, check_exact=False, rtol=1e-9)
    assert "numbers_as_text" in loaded.report.codes("warning")


def test_period_timestamps_are_their_start_times() -> None:
    frame = good_frame(rows=5)
    frame["timestamp"] = pd.period_range("2025-01-01", periods=5, freq="D")
    seconds = telemetry_from_frames([("f", frame)]).frame["timestamp"]
    assert seconds.tolist() == [1_735_689_600.0 + 86_400.0 * d for d in range(5)]


def test_reserved_names_are_kept_without_clashing() -> None:
    frame = good_frame(rows=5).assign(session=9, session_input=7)
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.frame["session_input"].tolist() == [7] * 5
    assert telemetry.frame["session_input_2"].tolist() == [9] * 5


def test_extra_columns_that_cannot_be_hashed_are_dropped_with_a_warning() -> None:
    frame = good_frame(rows=5).assign(blob=[bytearray(b"x")] * 5, note=["kept"] * 5)
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.extra_columns == ("note",)
    warning = next(i for i in telemetry.report.warnings if i.code == "unstorable_column_dropped")
    assert warning.column == "blob" and "unhashable type: 'bytearray'" in warning.message


def test_extra_text_column_with_invalid_utf8_is_dropped(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(good_frame(), preserve_index=False)
    path = tmp_path / "f.parquet"
    pq.write_table(table.append_column("host", invalid_utf8_labels()), path)
    telemetry = load_telemetry(path)
    assert "host" not in telemetry.frame
    warning = next(i for i in telemetry.report.warnings if i.code == "unstorable_column_dropped")
    assert "not valid UTF-8 at row 7" in warning.message


@pytest.mark.parametrize(("first_second", "accepted"), [
    (631_152_000.0, True),       # 1990-01-01 00:00:00 UTC
    (631_151_999.0, False),      # a second before
    (4_102_444_799.0 - 0.4, True),  # the last samples of 2099 (0.1 s apart)
    (4_102_444_800.0, False),    # 2100-01-01
])
def test_epoch_range_edges(first_second: float, accepted: bool) -> None:
    frame = _stamps_frame(first_second + 0.1 * np.arange(5))
    if accepted:
        assert telemetry_from_frames([("f", frame)]).frame["timestamp"].iloc[0] == first_second
    else:
        with pytest.raises(BadTimestampError, match=r"outside 1990-01-01 \.\. 2100-01-01 when read as epoch seconds"):
            telemetry_from_frames([("f", frame)])


@pytest.mark.parametrize("dtype", ["string[python]", "string[pyarrow]", "str", object, pd.ArrowDtype(pa.large_string())],
                         ids=["python", "pyarrow", "str", "object", "arrow_large_string"])
def test_every_pandas_text_type_loads_as_labels_and_extras(dtype: object) -> None:
    frame = good_frame(rows=5).assign(host=["db-1"] * 5)
    frame[["workload_type", "host"]] = frame[["workload_type", "host"]].astype(dtype)
    telemetry = telemetry_from_frames([("f", frame)])
    assert telemetry.frame["workload_type"].tolist() == ["cpu_bound"] * 5
    assert telemetry.frame["host"].tolist() == ["db-1"] * 5 and telemetry.report.ok


# ---------------------------------------------------------------------------------------- memory


def test_checking_a_file_does_not_copy_its_numeric_columns() -> None:
    frame = good_frame(rows=200_000, cores=8)
    numeric_bytes = frame.select_dtypes("number").memory_usage(index=False).sum()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        checked = _check_file("f.parquet", frame, "cpu_util_core_0", ValidationReport())
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert checked is not None and peak < numeric_bytes / 2  # a copy of the columns alone is numeric_bytes


def test_telemetry_does_not_change_when_the_callers_frame_does() -> None:
    frame = good_frame()
    telemetry = telemetry_from_frames([("f", frame)])
    expected = telemetry.frame.copy()
    frame.loc[0, "cpu_util_core_1"] = 55.5
    assert_frame_equal(telemetry.frame, expected)


# ---------------------------------------------------------------------------------------- the caller's index


@pytest.mark.parametrize("index", [
    np.zeros(20, dtype="int64"),                                          # every label the same
    np.arange(20)[::-1],                                                  # integers in another order
    [f"r{i}" for i in range(20)],                                         # text
    pd.MultiIndex.from_arrays([np.arange(20) % 2, np.arange(20)]),        # two levels
    pd.date_range("2024-01-01", periods=20, freq="min"),                  # times
], ids=["duplicate", "reversed", "text", "multiindex", "datetime"])
def test_a_frames_index_does_not_matter(index: object, tmp_path: Path) -> None:
    frame = good_frame().assign(workload_type=[f"w{i % 3}" for i in range(20)])
    expected = telemetry_from_frames([("f.parquet", frame)])
    indexed = frame.set_axis(index)
    from_frame = telemetry_from_frames([("f.parquet", indexed)])
    indexed.to_parquet(tmp_path / "f.parquet", index=True)  # a parquet file can store the index too
    from_file = load_telemetry(tmp_path / "f.parquet")
    for telemetry in (from_frame, from_file):
        assert_frame_equal(telemetry.frame, expected.frame)
        assert telemetry.fingerprint == expected.fingerprint


# ---------------------------------------------------------------------------------------- grouped findings


def test_all_nan_cores_are_one_grouped_error_naming_them() -> None:
    frame = good_frame(cores=8)
    frame[[f"cpu_util_core_{c}" for c in range(8)]] = np.nan
    with pytest.raises(TelemetryError) as caught:
        telemetry_from_frames([("a.parquet", frame)])
    assert len(caught.value.report.errors) == 8  # the report keeps every finding; grouping is how it is read
    grouped = caught.value.report.grouped()
    assert [i.code for i in grouped if i.level == "error"] == ["non_finite"]
    assert str(caught.value) == grouped[0].message == (
        "File 'a.parquet', columns cpu_util_core_0…7 are all missing (NaN), 20 rows: nothing was recorded; "
        "load telemetry that records every core and the overall.")


def test_the_same_error_in_seven_files_is_one_message_naming_the_files() -> None:
    frames = [(f"run_{n}.parquet", good_frame(start=1_700_000_000.0 + 100 * n).drop(columns="cpu_util_overall"))
              for n in range(7)]
    with pytest.raises(TelemetryError) as caught:
        telemetry_from_frames(frames)
    errors = [i for i in caught.value.report.grouped() if i.level == "error"]
    assert len(errors) == 1 and "more problem" not in str(caught.value)
    assert errors[0].message.startswith("Files run_0.parquet, run_1.parquet, run_2.parquet, …, run_6.parquet "
                                        "(7 files) have no column 'cpu_util_overall'")
    assert errors[0].file == "run_0.parquet, run_1.parquet, run_2.parquet, …, run_6.parquet (7 files)"


def test_warnings_group_and_differing_counts_show_as_a_range() -> None:
    frames = [(f"{name}.parquet", good_frame(rows=rows, start=1_700_000_000.0 + 100 * n).assign(fan_rpm=1.0))
              for n, (name, rows) in enumerate([("a", 20), ("b", 30), ("c", 40)])]
    frames.append(("d.parquet", good_frame(start=1_700_000_500.0)))
    report = telemetry_from_frames(frames).report
    assert report.codes("warning").count("extra_columns_differ") == 3
    assert [i.message for i in report.grouped() if i.code == "extra_columns_differ"] == [
        "Files a.parquet, b.parquet, c.parquet: extra columns fan_rpm are not in every file and were dropped."]
    different = ValidationReport()
    for name, rows in (("x.parquet", 5), ("y.parquet", 12)):
        different.add("warning", "demo", f"File '{name}' has {rows} odd rows.", file=name)
    assert [i.message for i in different.grouped()] == [
        "Files x.parquet, y.parquet each have between 5 and 12 odd rows."]


def test_files_missing_different_columns_are_named_file_by_file() -> None:
    frames = [("g.parquet", good_frame().drop(columns=["cpu_util_overall"])),
              ("h.parquet", good_frame(start=1_700_000_100.0).drop(columns=["cpu_util_overall", "workload_type"]))]
    with pytest.raises(TelemetryError) as caught:
        telemetry_from_frames(frames)
    assert [i.message for i in caught.value.report.grouped() if i.level == "error"] == [
        "File 'g.parquet' has no column 'cpu_util_overall'; add it or rename the column that holds it. "
        "The same problem in h.parquet (workload_type, cpu_util_overall)."]


def test_one_column_missing_in_each_file_is_not_said_of_every_file() -> None:
    frames = [(name, good_frame(start=1_700_000_000.0 + 100 * n).assign(**{f"cpu_util_core_{core}": np.nan}))
              for n, (name, core) in enumerate([("a.parquet", 2), ("b.parquet", 3)])]
    with pytest.raises(TelemetryError) as caught:
        telemetry_from_frames(frames)
    assert str(caught.value) == (
        "File 'a.parquet', column 'cpu_util_core_2' is all missing (NaN), 20 rows: nothing was recorded; load "
        "telemetry that records every core and the overall. The same problem in b.parquet (cpu_util_core_3).")


def test_one_file_missing_two_columns_says_them_in_the_plural() -> None:
    with pytest.raises(TelemetryError) as caught:
        telemetry_from_frames([("h.parquet", good_frame().drop(columns=["cpu_util_overall", "workload_type"]))])
    assert str(caught.value) == ("File 'h.parquet' has no columns workload_type, cpu_util_overall; add them or "
                                 "rename the columns that hold them.")


def test_negative_values_and_examples_keep_their_signs_and_never_become_ranges() -> None:
    first, second = good_frame(), good_frame(start=1_700_000_100.0)
    first.loc[4, "cpu_util_core_1"], second.loc[2, "cpu_util_core_1"] = -5.0, -20.0
    with pytest.raises(TelemetryError) as caught:
        telemetry_from_frames([("n1.parquet", first), ("n2.parquet", second)])
    message = str(caught.value)
    low, high = first["cpu_util_core_1"].min(), first["cpu_util_core_1"].max()
    assert message == (f"File 'n1.parquet', column 'cpu_util_core_1' has 1 value outside 0..100 % (found {low:g} "
                       f"to {high:g}), e.g. -5 at row 4; utilisation must be a percentage, so fix the recording or "
                       "rescale the column. The same problem, with other values, in n2.parquet (cpu_util_core_1).")


def test_positions_that_differ_keep_findings_apart_and_equal_ones_group() -> None:
    report = ValidationReport()
    for name, row in (("x.parquet", 2), ("y.parquet", 7), ("z.parquet", 7)):
        report.add("warning", "demo", f"File '{name}' has a gap (first at row {row}).", file=name)
    assert [i.message for i in report.grouped()] == [
        "File 'x.parquet' has a gap (first at row 2). The same problem, with other values, in y.parquet, z.parquet."]
    same = ValidationReport()
    for name in ("x.parquet", "y.parquet"):
        same.add("warning", "demo", f"File '{name}' has a gap (first at row 7).", file=name)
    assert [i.message for i in same.grouped()] == ["Files x.parquet, y.parquet have a gap (first at row 7)."]
