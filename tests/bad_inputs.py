"""A corpus of bad telemetry inputs, each with the exception and message a person should see.

`make(tmp_path)` returns either parquet paths (loaded with load_telemetry) or (name, bytes) pairs
(loaded with load_uploaded). Every case has its own message pattern.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from twin_core.errors import (
    BadTimestampError,
    EmptyTelemetryError,
    MissingColumnError,
    MissingWorkloadError,
    NonFiniteError,
    NonNumericError,
    NotParquetError,
    OutOfRangeError,
    SchemaMismatchError,
    SourceNotFoundError,
    TelemetryError,
    TooFewCoresError,
)

Sources = list[Path] | list[tuple[str, bytes]]


@dataclass(frozen=True)
class BadInput:
    """One bad input: how to make it, which exception it raises and a regex its message matches."""

    id: str
    make: Callable[[Path], Sources]
    exception: type[TelemetryError]
    match: str
    target: str = "cpu_util_core_0"
    upload: bool = False  # make() returns (name, bytes) pairs for load_uploaded


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


def empty_folder(tmp_path: Path) -> Sources:
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    return [folder]


CASES: list[BadInput] = [
    # --- not parquet at all
    BadInput("csv_renamed", raw_file(lambda: good_frame().to_csv(index=False).encode(), "csv_as.parquet"),
             NotParquetError, r"'csv_as\.parquet'.*looks like text \(CSV.*expected an Apache Parquet file \(\.parquet\)"),
    BadInput("random_bytes", raw_file(lambda: np.random.default_rng(1).bytes(500)),
             NotParquetError, r"some other binary format: expected an Apache Parquet file"),
    BadInput("truncated", raw_file(truncated), NotParquetError, r"truncated \(the parquet footer is missing\)"),
    BadInput("zero_bytes", raw_file(lambda: b""), NotParquetError, r"it is empty \(0 bytes\)"),
    BadInput("corrupt_middle", raw_file(corrupt_middle), NotParquetError, r"corrupt or uses an unsupported feature"),
    BadInput("upload_not_parquet", lambda tmp_path: [("upload.parquet", b"timestamp,cpu\n1,2\n")],
             NotParquetError, r"File 'upload\.parquet' cannot be read because it does not start with", upload=True),
    # --- nothing to load
    BadInput("no_rows", one_file(lambda: good_frame().iloc[:0]), EmptyTelemetryError, r"has 0 rows"),
    BadInput("zero_columns", raw_file(lambda: parquet_bytes(pd.DataFrame(index=range(3)))),
             EmptyTelemetryError, r"has no columns at all"),
    BadInput("empty_folder", empty_folder, EmptyTelemetryError, r"contains no \.parquet files"),
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
             NonFiniteError, r"'cpu_util_core_2' has 20 missing \(NaN\)"),
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
]
