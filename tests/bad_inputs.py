"""A corpus of bad telemetry inputs, each with the exception and message a person should see.

`make(tmp_path)` returns either parquet paths (loaded with load_telemetry) or (name, bytes) pairs
(loaded with load_uploaded). Every case has its own message pattern.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin_core.errors import (
    AmbiguousColumnError,
    BadTimestampError,
    EmptyTelemetryError,
    MissingColumnError,
    MissingWorkloadError,
    NestedColumnError,
    NonFiniteError,
    NonNumericError,
    NotParquetError,
    OutOfRangeError,
    SchemaMismatchError,
    SourceNotFoundError,
    TelemetryError,
    TooFewCoresError,
)

Sources = list[Path] | list[tuple[str, bytes]] | list[tuple[str, pd.DataFrame]]


@dataclass(frozen=True)
class BadInput:
    """One bad input: how to make it, which exception it raises and a regex its message matches."""

    id: str
    make: Callable[[Path], Sources]
    exception: type[TelemetryError]
    match: str
    target: str = "cpu_util_core_0"
    upload: bool = False  # make() returns (name, bytes) pairs for load_uploaded
    frames: bool = False  # make() returns (name, DataFrame) pairs for telemetry_from_frames (no parquet holds them)


def good_frame(rows: int = 20, cores: int = 4, start: float = 1_700_000_000.0) -> pd.DataFrame:
    """A small valid telemetry frame at 10 Hz."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"timestamp": start + 0.1 * np.arange(rows), "cpu_util_overall": rng.uniform(0, 100, rows)})
    for c in range(cores):
        frame[f"cpu_util_core_{c}"] = rng.uniform(0, 100, rows).round(1)
    frame["workload_type"] = "cpu_bound"
    return frame


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, content: pd.DataFrame | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else parquet_bytes(content))
    return path


def one_file(frame_fn: Callable[[], pd.DataFrame], name: str = "bad.parquet") -> Callable[[Path], Sources]:
    """A make() that writes the frame returned by frame_fn as a single parquet file."""
    return lambda tmp_path: [write(tmp_path, name, frame_fn())]


def raw_file(content: Callable[[], bytes], name: str = "bad.parquet") -> Callable[[Path], Sources]:
    return lambda tmp_path: [write(tmp_path, name, content())]


def edited(edit: Callable[[pd.DataFrame], pd.DataFrame | None], **kwargs: object) -> Callable[[], pd.DataFrame]:
    """A good frame changed by `edit` (which may change it in place and return None)."""
    def build() -> pd.DataFrame:
        frame = good_frame(**kwargs)
        result = edit(frame)
        return frame if result is None else result
    return build


def set_value(column: str, row: int, value: object, dtype: str | None = None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Put one value into a column; text goes into a text column, as parquet stores one type per column."""
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[column].astype(dtype or (str if isinstance(value, str) else frame[column].dtype))
        values.iloc[row] = value
        frame[column] = values
        return frame
    return edit


def truncated() -> bytes:
    data = parquet_bytes(good_frame())
    return data[: len(data) // 2]


def corrupt_middle() -> bytes:
    data = bytearray(parquet_bytes(good_frame()))
    data[8:-8] = bytes(len(data) - 16)
    return bytes(data)


def _later() -> pd.DataFrame:
    """A good frame recorded a quarter of an hour after `good_frame()`'s."""
    return good_frame(start=1_700_001_000.0)


def two_files(first: pd.DataFrame, second: pd.DataFrame) -> Callable[[Path], Sources]:
    return lambda tmp_path: [write(tmp_path, "a.parquet", first), write(tmp_path, "b.parquet", second)]


def datetimes_with_nat() -> pd.DataFrame:
    frame = good_frame()
    stamps = pd.Series(pd.to_datetime(frame["timestamp"], unit="s"))
    stamps.iloc[[4, 9]] = pd.NaT
    frame["timestamp"] = stamps
    return frame


def with_arrow_column(column: str, values: pa.Array) -> Callable[[Path], Sources]:
    """A make() writing a good frame whose `column` is replaced by an Arrow array (nested types pandas cannot write)."""
    def make(tmp_path: Path) -> Sources:
        table = pa.Table.from_pandas(good_frame(), preserve_index=False).replace_schema_metadata(None)
        if column in table.column_names:
            table = table.drop([column])
        path = tmp_path / "bad.parquet"
        pq.write_table(table.append_column(column, values), path)
        return [path]
    return make


def invalid_utf8_labels(rows: int = 20, bad_row: int = 7) -> pa.Array:
    """Workload labels stored as parquet text with one label that is not valid UTF-8 (pyarrow does not check)."""
    labels = [b"cpu_bound"] * rows
    labels[bad_row] = b"cpu\xffbound"
    offsets = np.cumsum([0] + [len(v) for v in labels]).astype("int32")
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(labels))]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


def in_memory(frame_fn: Callable[[], pd.DataFrame]) -> Callable[[Path], Sources]:
    return lambda tmp_path: [("frame", frame_fn())]


def int_seconds_with(row: int, value: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Integer epoch seconds with one odd value (9e15 used to overflow int64 when turned into microseconds)."""
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        stamps = frame["timestamp"].astype("int64") + np.arange(len(frame))
        stamps.iloc[row] = value
        return frame.assign(timestamp=stamps)
    return edit


def folder_of_folders(tmp_path: Path) -> Sources:
    """A folder whose only *.parquet entry is itself a folder (as Spark writes a dataset)."""
    (tmp_path / "dataset" / "part.parquet").mkdir(parents=True)
    return [tmp_path / "dataset"]


def empty_folder(tmp_path: Path) -> Sources:
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    return [folder]


CASES: list[BadInput] = [
    # --- not parquet at all
    BadInput("random_bytes", raw_file(lambda: np.random.default_rng(1).bytes(500)),
             NotParquetError, r"some other binary format: expected an Apache Parquet file"),
    BadInput("truncated", raw_file(truncated), NotParquetError, r"truncated \(the parquet footer is missing\)"),
    BadInput("zero_bytes", raw_file(lambda: b""), NotParquetError, r"it is empty \(0 bytes\)"),
    BadInput("corrupt_middle", raw_file(corrupt_middle), NotParquetError, r"corrupt or uses an unsupported feature"),
    BadInput("upload_not_parquet", lambda tmp_path: [("upload.parquet", b"timestamp,cpu\n1,2\n")],
             MissingColumnError, r"File 'upload\.parquet': a CSV with no cpu_util_core_<n> columns \(its columns: "
             r"timestamp, cpu\); name each cpu's utilisation column", upload=True),
    # --- nothing to load
    BadInput("no_rows", one_file(lambda: good_frame().iloc[:0]), EmptyTelemetryError, r"has 0 rows"),
    BadInput("zero_columns", raw_file(lambda: parquet_bytes(pd.DataFrame(index=range(3)))),
             EmptyTelemetryError, r"has no columns at all"),
    BadInput("empty_folder", empty_folder, EmptyTelemetryError, r"contains no telemetry files \(\.parquet, \.csv"),
    BadInput("folder_of_folders", folder_of_folders, EmptyTelemetryError, r"Folder '.*dataset' contains no telemetry files"),
    BadInput("no_uploads", lambda tmp_path: [], EmptyTelemetryError, r"No files were uploaded", upload=True),
    BadInput("path_missing", lambda tmp_path: [tmp_path / "nope.parquet"], SourceNotFoundError, r"does not exist"),
    # --- columns
    BadInput("missing_timestamp", one_file(edited(lambda f: f.drop(columns="timestamp"))),
             MissingColumnError, r"'bad\.parquet' has no column 'timestamp'; add it"),
    BadInput("missing_workload_column", one_file(edited(lambda f: f.drop(columns="workload_type"))),
             MissingColumnError, r"has no column 'workload_type'"),
    BadInput("missing_overall", one_file(edited(lambda f: f.drop(columns="cpu_util_overall"))),
             MissingColumnError, r"has no column 'cpu_util_overall'; add"),
    BadInput("misspelled_overall", one_file(edited(lambda f: f.rename(columns={"cpu_util_overall": "cpu_util_overal"}))),
             MissingColumnError, r"no column 'cpu_util_overall' \(did you mean 'cpu_util_overal'\?\)"),
    BadInput("target_absent", one_file(good_frame), MissingColumnError,
             r"no target column 'cpu_util_core_9'; its cores are cpu_util_core_0, .*cpu_util_core_3",
             target="cpu_util_core_9"),
    BadInput("target_not_core", one_file(good_frame), MissingColumnError,
             r"Target 'cpu_util_overall' is not a per-core .*choose one of cpu_util_core_0", target="cpu_util_overall"),
    BadInput("one_core", one_file(lambda: good_frame(cores=1)), TooFewCoresError,
             r"has 1 per-core column \(cpu_util_core_0\); at least 2"),
    BadInput("no_cores", one_file(lambda: good_frame(cores=0)), TooFewCoresError, r"has 0 per-core columns \(none\)"),
    # --- values
    BadInput("text_in_core", one_file(edited(set_value("cpu_util_core_1", 3, "abc"))),
             NonNumericError, r"column 'cpu_util_core_1' holds 1 non-numeric value, e\.g\. 'abc' at row 3"),
    BadInput("text_in_overall", one_file(edited(set_value("cpu_util_overall", 0, "high"))),
             NonNumericError, r"'cpu_util_overall' .*'high' at row 0"),
    BadInput("na_text_among_number_text", one_file(edited(set_value("cpu_util_core_2", 5, "n/a"))),
             NonNumericError, r"'n/a' at row 5"),
    BadInput("bool_core", one_file(edited(lambda f: f.assign(cpu_util_core_3=f["cpu_util_core_3"] > 50))),
             NonNumericError, r"'cpu_util_core_3' holds 20 non-numeric values"),
    BadInput("nan_core", one_file(edited(set_value("cpu_util_core_0", 7, np.nan))),
             NonFiniteError, r"'cpu_util_core_0' has 1 missing \(NaN\) value \(first at row 7\)"),
    BadInput("inf_overall", one_file(edited(set_value("cpu_util_overall", 2, np.inf))),
             NonFiniteError, r"'cpu_util_overall' has 1 infinite value \(first at row 2\)"),
    BadInput("all_nan_core", one_file(edited(lambda f: f.assign(cpu_util_core_2=np.nan))),
             NonFiniteError, r"'cpu_util_core_2' is all missing \(NaN\), 20 rows: nothing was recorded"),
    BadInput("negative", one_file(edited(set_value("cpu_util_core_1", 4, -5.0))),
             OutOfRangeError, r"outside 0\.\.100 % \(found -5 to .*\), e\.g\. -5 at row 4"),
    BadInput("above_100", one_file(edited(set_value("cpu_util_overall", 6, 150.0))),
             OutOfRangeError, r"\(found .* to 150\), e\.g\. 150 at row 6"),
    BadInput("just_above_100", one_file(edited(set_value("cpu_util_core_0", 1, 100.5))),
             OutOfRangeError, r"e\.g\. 100\.5 at row 1"),
    # --- timestamps
    BadInput("timestamp_words", one_file(edited(set_value("timestamp", 2, "yesterday"))),
             BadTimestampError, r"1 value not readable as a time, e\.g\. 'yesterday' at row 2"),
    BadInput("timestamp_all_nan", one_file(edited(lambda f: f.assign(timestamp=np.nan))),
             BadTimestampError, r"every timestamp is empty or infinite"),
    BadInput("timestamp_some_nat", one_file(datetimes_with_nat), BadTimestampError,
             r"2 of 20 timestamps are empty or infinite \(first at row 4\)"),
    BadInput("timestamp_inf", one_file(edited(set_value("timestamp", 3, np.inf))),
             BadTimestampError, r"1 of 20 timestamps are empty or infinite \(first at row 3\)"),
    BadInput("timestamp_bad_iso", one_file(edited(lambda f: f.assign(
        timestamp=["2025-09-27T10:00:00"] * 19 + ["2025-13-45T99:00:00"]))),
             BadTimestampError, r"'2025-13-45T99:00:00' at row 19"),
    BadInput("timestamp_bool", one_file(edited(lambda f: f.assign(timestamp=True))),
             BadTimestampError, r"holds 20 values not readable as a time, e\.g\. True at row 0"),
    # --- workload labels
    BadInput("workload_none", one_file(edited(set_value("workload_type", 3, None, dtype=object))),
             MissingWorkloadError, r"'workload_type' is empty in 1 row \(first at row 3\)"),
    BadInput("workload_blank", one_file(edited(lambda f: f.assign(workload_type=[" "] * 10 + ["io_bound"] * 10))),
             MissingWorkloadError, r"empty in 10 rows \(first at row 0\); label every row"),
    # --- several files
    BadInput("schema_core_counts", two_files(good_frame(cores=4), good_frame(cores=6, start=1_700_001_000.0)),
             SchemaMismatchError, r"'a\.parquet' \(4 cores\) and 'b\.parquet' \(6 cores\) disagree.*"
                                  r"only in 'b\.parquet': cpu_util_core_4, cpu_util_core_5"),
    BadInput("second_file_bad", two_files(good_frame(), edited(set_value("cpu_util_core_1", 8, 101.0))()),
             OutOfRangeError, r"File 'b\.parquet', column 'cpu_util_core_1' has 1 value outside"),
    BadInput("second_file_lacks_workload", two_files(good_frame(), _later().drop(columns=["workload_type"])),
             MissingColumnError, r"File 'b\.parquet' has no column 'workload_type'"),
    BadInput("second_file_lacks_timestamp", two_files(good_frame(), _later().drop(columns=["timestamp"])),
             MissingColumnError, r"File 'b\.parquet' has no column 'timestamp'"),
    BadInput("second_file_lacks_target", two_files(good_frame(), _later().drop(columns=["cpu_util_core_0"])),
             MissingColumnError, r"'b\.parquet' has no target column 'cpu_util_core_0'; its cores are cpu_util_core_1"),
    BadInput("cores_renumbered",
             two_files(good_frame(), _later().rename(columns={"cpu_util_core_3": "cpu_util_core_7"})),
             SchemaMismatchError, r"only in 'a\.parquet': cpu_util_core_3; only in 'b\.parquet': cpu_util_core_7"),
    BadInput("negative_overall", one_file(edited(set_value("cpu_util_overall", 4, -0.1))),
             OutOfRangeError, r"column 'cpu_util_overall' has 1 value outside 0\.\.100 % \(found -0\.1 to"),
    BadInput("above_100_by_a_hair", one_file(edited(set_value("cpu_util_core_2", 1, 100.0001))),
             OutOfRangeError, r"'cpu_util_core_2' .*\(found [0-9.]+ to 100\.0001\), e\.g\. 100\.0001 at row 1"),
    # --- timestamps that are no point in time between 1990 and 2100
    BadInput("timestamp_9e15_seconds", one_file(edited(int_seconds_with(3, 9 * 10**15))), BadTimestampError,
             r"1 value outside 1990-01-01 \.\. 2100-01-01 when read as epoch seconds, e\.g\. 9000000000000000 at row 3 "
             r"\(beyond any calendar date\)"),
    BadInput("timestamp_since_start", one_file(edited(lambda f: f.assign(timestamp=0.1 * np.arange(20)))),
             BadTimestampError,
             r"20 values outside .* epoch seconds, e\.g\. 0\.0 at row 0 \(1970-01-01\).*add its start time"),
    BadInput("timestamp_negative_ms",
             one_file(edited(lambda f: f.assign(timestamp=-(f["timestamp"] * 1000).astype("int64")))),
             BadTimestampError, r"when read as epoch milliseconds, e\.g\. -1700000000000 at row 0 \(1916-02-18\)"),
    BadInput("timestamp_uint64_max", with_arrow_column(
        "timestamp", pa.array([1_700_000_000_000 + 100 * i for i in range(19)] + [2**64 - 1], pa.uint64())),
             BadTimestampError, r"epoch milliseconds, e\.g\. 18446744073709551615 at row 19"),
    BadInput("timestamp_year_2200", one_file(edited(lambda f: f.assign(
        timestamp=pd.date_range("2200-01-01", periods=20, freq="100ms")))),
             BadTimestampError, r"20 values outside .* when read as datetimes, e\.g\. 2200-01-01 00:00:00 at row 0"),
    BadInput("timestamp_timedelta",
             one_file(edited(lambda f: f.assign(timestamp=pd.to_timedelta(np.arange(20), unit="s")))),
             BadTimestampError, r"holds durations \(e\.g\. 0 days 00:00:00\), not points in time.*start \+ duration"),
    BadInput("timestamp_float32", one_file(edited(lambda f: f.assign(timestamp=f["timestamp"].astype("float32")))),
             BadTimestampError, r"is float32, which cannot hold epoch seconds to better than about two minutes.*"
                                r"float64 seconds or int64 milliseconds"),
    BadInput("timestamp_ms_among_seconds", one_file(edited(int_seconds_with(5, 1_700_000_005_000))), BadTimestampError,
             r"1 value outside .* when read as epoch seconds, e\.g\. 1700000005000 at row 5"),
    BadInput("timestamp_complex", in_memory(edited(lambda f: f.assign(timestamp=f["timestamp"] + 0j))),
             BadTimestampError, r"holds 20 values not readable as a time, e\.g\. \(1700000000\+0j\) at row 0",
             frames=True),
    BadInput("timestamp_numbers_and_dates", one_file(edited(lambda f: f.assign(
        timestamp=["1700000000.0"] * 10 + [f"2025-01-01T00:00:{s:02d}" for s in range(10, 20)]))),
             BadTimestampError, r"mixes numbers \(e\.g\. '1700000000\.0' at row 0\) and dates "
                                r"\(e\.g\. '2025-01-01T00:00:10' at row 10\).*all epoch numbers or all ISO-8601"),
    BadInput("timestamp_time_of_day", with_arrow_column("timestamp", pa.array(range(20), pa.time32("s"))),
             BadTimestampError, r"holds 20 values not readable as a time, e\.g\. 00:00:00 at row 0"),
    # --- nested columns (lists, structs, maps) where one value per row is needed
    BadInput("nested_list_core", with_arrow_column("cpu_util_core_2", pa.array([[1.0, 2.0]] * 20)),
             NestedColumnError,
             r"column 'cpu_util_core_2' holds nested values \(list, e\.g\. \[1\.0, 2\.0\] at row 0\)"),
    BadInput("nested_struct_overall", with_arrow_column("cpu_util_overall", pa.array([{"user": 1.0}] * 20)),
             NestedColumnError, r"'cpu_util_overall' holds nested values \(struct, e\.g\. \{'user': 1\.0\}"),
    BadInput("nested_map_core", with_arrow_column(
        "cpu_util_core_1", pa.array([[("busy", 1.0)]] * 20, pa.map_(pa.string(), pa.float64()))),
             NestedColumnError, r"'cpu_util_core_1' holds nested values \(map, e\.g\. \[\('busy', 1\.0\)\]"),
    BadInput("nested_list_timestamp", with_arrow_column("timestamp", pa.array([[1.7e9]] * 20)),
             NestedColumnError, r"column 'timestamp' holds nested values \(list"),
    BadInput("nested_struct_workload", with_arrow_column("workload_type", pa.array([{"name": "cpu"}] * 20)),
             NestedColumnError, r"column 'workload_type' holds nested values \(struct"),
    BadInput("nested_arrow_dtype_core", in_memory(edited(lambda f: f.assign(
        cpu_util_core_3=pd.Series([[1.0]] * 20, dtype=pd.ArrowDtype(pa.list_(pa.float64())))))),
             NestedColumnError, r"'cpu_util_core_3' holds nested values \(list<item: double>", frames=True),
    # --- columns that are not one core each
    BadInput("core_number_twice", one_file(edited(lambda f: f.assign(cpu_util_core_01=f["cpu_util_core_1"]))),
             AmbiguousColumnError, r"has 2 columns for core 1: cpu_util_core_1, cpu_util_core_01; keep the one"),
    BadInput("duplicate_column_names", in_memory(edited(lambda f: f.set_axis(
        ["timestamp", "cpu_util_overall", "cpu_util_core_0", "cpu_util_core_0", "cpu_util_core_2", "cpu_util_core_3",
         "workload_type"], axis=1))),
             AmbiguousColumnError, r"has 2 columns named 'cpu_util_core_0'; keep one", frames=True),
    # --- numbers that are something else
    BadInput("complex_core", in_memory(edited(lambda f: f.assign(cpu_util_core_1=f["cpu_util_core_1"] + 1j))),
             NonNumericError, r"'cpu_util_core_1' holds complex numbers \(e\.g\. \(.*\+1j\) at row 0\)", frames=True),
    BadInput("python_bools_among_numbers", in_memory(edited(set_value("cpu_util_core_2", 6, True, dtype=object))),
             NonNumericError, r"'cpu_util_core_2' holds 1 non-numeric value, e\.g\. True at row 6", frames=True),
    BadInput("complex_objects_overall", in_memory(edited(set_value("cpu_util_overall", 2, 5 + 1j, dtype=object))),
             NonNumericError, r"'cpu_util_overall' holds 1 non-numeric value, e\.g\. \(5\+1j\) at row 2", frames=True),
    BadInput("signalling_nan_decimal",
             in_memory(edited(set_value("cpu_util_core_0", 4, Decimal("sNaN"), dtype=object))),
             NestedColumnError, r"'cpu_util_core_0' holds values that are not plain numbers, text or times "
                                r"\(Cannot hash a signaling NaN value\); store one plain value per row", frames=True),
    BadInput("unhashable_workload", in_memory(edited(lambda f: f.assign(workload_type=[bytearray(b"cpu")] * 20))),
             NestedColumnError, r"'workload_type' holds values .*\(unhashable type: 'bytearray'\)", frames=True),
    BadInput("invalid_utf8_label", with_arrow_column("workload_type", invalid_utf8_labels()),
             NestedColumnError, r"'workload_type' holds values .*\(text that is not valid UTF-8 at row 7\)"),
    BadInput("durations_core",
             one_file(edited(lambda f: f.assign(cpu_util_core_2=pd.to_timedelta(np.arange(20), unit="s")))),
             NonNumericError, r"'cpu_util_core_2' holds durations \(e\.g\. 0 days"),
    BadInput("datetimes_overall", one_file(edited(lambda f: f.assign(cpu_util_overall=pd.Timestamp("2025-01-01")))),
             NonNumericError, r"'cpu_util_overall' holds dates and times \(e\.g\. 2025-01-01"),
]
