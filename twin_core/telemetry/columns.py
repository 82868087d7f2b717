"""The checks of one column's values: timestamps to epoch seconds, workload labels, utilisation percentages,
numbers stored as text, and columns holding nested or unreadable values.

Each check normalises what it safely can (and says so in the report) and records an error naming the first bad
row for what it cannot, so every problem of a file is found in one pass. Rows count from 0 within the file.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from twin_core.telemetry.frame import OVERALL, TIMESTAMP, WORKLOAD
from twin_core.telemetry.report import ValidationReport, _exact, _n, _show, _why


# Utilisation this close outside 0..100 % is rounding noise from the recorder: clipped, with a note.
ROUNDING_SLACK = 1e-6


def _plain(s: pd.Series) -> pd.Series:
    """A required column in the types the checks know: Arrow-backed values converted as pd.read_parquet does,
    categories and sparse columns as their values, periods as their start times, byte strings decoded as UTF-8 (some tools
    write text as parquet binary)."""
    if isinstance(s.dtype, pd.ArrowDtype):
        s = s.array.__arrow_array__().to_pandas().set_axis(s.index)
    if isinstance(s.dtype, (pd.CategoricalDtype, pd.SparseDtype)):
        s = pd.Series(np.asarray(s), index=s.index)
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.to_timestamp()
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("bytes", "mixed"):
        values = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in s.to_numpy()]
        return pd.Series(values, index=s.index, dtype=object)
    return s


def _nested_columns(name: str, df: pd.DataFrame, required: tuple[str, ...], report: ValidationReport) -> list[str]:
    """Columns holding lists, structs or maps (all to be dropped): an error if required, else a warning.

    Extra columns are never features, and a nested one can be neither fingerprinted nor shown as a table
    column, so dropping it (and saying so) keeps the recording usable.
    """
    found = []
    for col in [c for c, dtype in df.dtypes.items() if dtype == object or isinstance(dtype, pd.ArrowDtype)]:
        kind, first = _nested_kind(df[col])
        if kind is None:
            continue
        value = df[col].iloc[first]
        example = _show(value.tolist() if isinstance(value, np.ndarray) else value)
        example = example if len(example) <= 40 else example[:37] + "..."
        if col in required:
            report.add("error", "nested_column",
                       f"File '{name}', column '{col}' holds nested values ({kind}, e.g. {example} at row {first}) "
                       "instead of one value per row; flatten it so each row holds one number (or label/time).",
                       file=name, column=col, example=example)
        else:
            report.add("warning", "nested_column_dropped",
                       f"File '{name}', extra column '{col}' holds nested values ({kind}) and was dropped; "
                       "extra columns are never features, so flatten it only if you want to see it.",
                       file=name, column=col)
        found.append(col)
    return found


def _unreadable_columns(name: str, df: pd.DataFrame, required: tuple[str, ...], report: ValidationReport) -> list[str]:
    """Columns whose values cannot be hashed or read as text (invalid UTF-8, bytearrays, undecodable bytes):
    an error in a required column; an extra one is dropped with a warning, since the fingerprint hashes it."""
    found = []
    text_like = (pd.StringDtype, pd.ArrowDtype)
    for col in [c for c, dtype in df.dtypes.items() if dtype == object or isinstance(dtype, text_like)]:
        problem = _unreadable(df[col])
        if problem is None:
            continue
        if col in required:
            report.add("error", "unreadable_values",
                       f"File '{name}', column '{col}' holds values that are not plain numbers, text or times "
                       f"({problem}); store one plain value per row, text as UTF-8.", file=name, column=col)
        else:
            report.add("warning", "unstorable_column_dropped",
                       f"File '{name}', extra column '{col}' holds values that cannot be compared or stored "
                       f"({problem}) and was dropped; extra columns are never features.", file=name, column=col)
        found.append(col)
    return found


def _unreadable(s: pd.Series) -> str | None:
    """Why a text or object column cannot be hashed (the first bad row for invalid UTF-8), or None."""
    if s.dtype != object:
        arrow = s.array.__arrow_array__() if hasattr(s.array, "__arrow_array__") else None
        if arrow is None or not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
            return None
        offset = 0
        for chunk in getattr(arrow, "chunks", [arrow]):  # python-backed strings give one Array, not chunks
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                bad = next(i for i, v in enumerate(chunk.cast(pa.binary()).to_pylist()) if not _is_utf8(v))
                return f"text that is not valid UTF-8 at row {offset + bad}"
            offset += len(chunk)
        return None
    try:
        pd.util.hash_pandas_object(s, index=False)
    except (TypeError, ValueError, ArithmeticError) as exc:
        return _why(exc)
    return None


def _is_utf8(value: bytes | None) -> bool:
    if value is None:
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_NESTED_TYPES = (list, tuple, dict, set, frozenset, np.ndarray)


def _nested_kind(s: pd.Series) -> tuple[str | None, int]:
    """('list' / 'struct' / 'map', first row) when a column holds nested values, else (None, -1)."""
    if isinstance(s.dtype, pd.ArrowDtype):
        arrow_type = s.dtype.pyarrow_dtype
        return (str(arrow_type), 0) if arrow_type.num_fields > 0 else (None, -1)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("mixed", "mixed-integer"):
        return None, -1
    values = s.to_numpy()
    hits = np.flatnonzero([isinstance(v, _NESTED_TYPES) for v in values])
    if not hits.size:
        return None, -1
    value = values[hits[0]]
    if isinstance(value, dict):
        return "struct", int(hits[0])
    is_map = isinstance(value, list) and bool(value) and all(isinstance(v, tuple) and len(v) == 2 for v in value)
    return ("map" if is_map else "list"), int(hits[0])


def _to_epoch_seconds(name: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Normalise any supported timestamp column to float64 epoch seconds (via whole microseconds), within 1990..2100."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(None)
    if pd.api.types.is_datetime64_dtype(s):
        if _report_empty_timestamps(name, s.isna().to_numpy(), report):
            return None
        seconds = s.to_numpy().astype("datetime64[us]").view("int64") / 1e6
        return seconds if _epoch_in_range(name, s, seconds, "datetimes", report) else None
    if pd.api.types.is_timedelta64_dtype(s) or _all_instances(s, dt.timedelta):
        report.add("error", "timedelta_timestamp",
                   f"File '{name}', column '{TIMESTAMP}' holds durations (e.g. {_show(s.iloc[0])}), not points in "
                   "time, so the recording's date is unknown; add the recording's start time to them "
                   "(start + duration) or store epoch seconds or datetimes.",
                   file=name, column=TIMESTAMP, example=s.iloc[0])
        return None
    if pd.api.types.is_float_dtype(s) and s.dtype.itemsize < 8:
        report.add("error", "float32_timestamp",
                   f"File '{name}', column '{TIMESTAMP}' is {s.dtype}, which cannot hold epoch seconds to better "
                   "than about two minutes (neighbouring samples would collapse into one); "
                   "store float64 seconds or int64 milliseconds instead.",
                   file=name, column=TIMESTAMP)
        return None
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_complex_dtype(s):
        return _bad_timestamp(name, s, np.ones(len(s), bool), report)
    if pd.api.types.is_numeric_dtype(s):
        return _numeric_epoch(name, s, report)
    return _text_epoch(name, s, report)


def _text_epoch(name: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Text (or Python objects): all numbers go the numeric way, all dates the datetime way, else an error."""
    numbers = _real_numbers(s)
    try:
        # only what is not a number is parsed as a date (pandas 4 will read numbers given a format as epochs)
        dates = pd.to_datetime(s.mask(numbers.notna().to_numpy()), utc=True, format="ISO8601", errors="coerce")
    except (TypeError, ValueError, OverflowError):
        dates = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    present = s.notna().to_numpy()
    is_number, is_date = numbers.notna().to_numpy(), dates.notna().to_numpy()
    if (is_number == present).all():
        return _numeric_epoch(name, numbers, report)
    if (is_date == present).all():
        return _to_epoch_seconds(name, dates, report)
    neither = present & ~is_number & ~is_date
    if neither.any():
        return _bad_timestamp(name, s, neither, report)
    row_n, row_d = int(np.flatnonzero(is_number & ~is_date)[0]), int(np.flatnonzero(is_date & ~is_number)[0])
    report.add("error", "mixed_timestamp_kinds",
               f"File '{name}', column '{TIMESTAMP}' mixes numbers (e.g. {_show(s.iloc[row_n])} at row {row_n}) and "
               f"dates (e.g. {_show(s.iloc[row_d])} at row {row_d}), so no one reading fits every row; "
               "write every timestamp the same way (all epoch numbers or all ISO-8601 dates).",
               file=name, column=TIMESTAMP, example=f"row {row_n}, row {row_d}")
    return None


def _numeric_epoch(name: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Epoch numbers: unit (s, ms, us, ns) chosen from the median magnitude, as whole microseconds.

    The range is checked on float seconds before any integer multiplication, so no value can overflow int64.
    """
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    if _report_empty_timestamps(name, ~np.isfinite(values), report):
        return None
    magnitude = float(np.median(np.abs(values)))
    unit, per_unit = next((u, m) for limit, u, m in _EPOCH_UNITS if magnitude > limit)
    if not _epoch_in_range(name, s, values * (per_unit / 1e6), f"epoch {_UNIT_WORDS[unit]}", report):
        return None
    if unit != "s":
        report.add("info", "timestamp_unit",
                   f"File '{name}': timestamps read as epoch {unit} (from their magnitude) and converted to seconds.",
                   file=name, column=TIMESTAMP)
    if pd.api.types.is_integer_dtype(s.dtype) and per_unit >= 1:
        micros = s.to_numpy(dtype="int64") * int(per_unit)
    else:
        micros = np.rint(values * per_unit)
    return micros / 1e6


# (magnitude above which, unit name, microseconds per unit): ns > 1e17, us > 1e14, ms > 1e11, else s.
_EPOCH_UNITS = ((1e17, "ns", 1e-3), (1e14, "us", 1.0), (1e11, "ms", 1e3), (-1.0, "s", 1e6))
_UNIT_WORDS = {"ns": "nanoseconds", "us": "microseconds", "ms": "milliseconds", "s": "seconds"}
# Timestamps must fall in [1990-01-01, 2100-01-01): anything else is a misread unit, a duration or a typo.
EPOCH_MIN_S, EPOCH_MAX_S = 631_152_000.0, 4_102_444_800.0


def _epoch_in_range(name: str, s: pd.Series, seconds: np.ndarray, read_as: str, report: ValidationReport) -> bool:
    """False (with an error naming the first bad row and its value) when a time is before 1990 or after 2099."""
    outside = (seconds < EPOCH_MIN_S) | (seconds >= EPOCH_MAX_S)
    if not outside.any():
        return True
    first = int(np.flatnonzero(outside)[0])
    try:
        when = f"{dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(seconds[first])):%Y-%m-%d}"
    except (OverflowError, ValueError):
        when = "beyond any calendar date"
    report.add("error", "timestamp_out_of_range",
               f"File '{name}', column '{TIMESTAMP}' has {_n(int(outside.sum()), 'value')} outside 1990-01-01 .. "
               f"2100-01-01 when read as {read_as}, e.g. {_show(s.iloc[first])} at row {first} ({when}); "
               "fix or drop those rows, and if the times count from the start of the recording, add its start time.",
               file=name, column=TIMESTAMP, example=f"{_show(s.iloc[first])} at row {first}")
    return False


def _all_instances(s: pd.Series, kind: type) -> bool:
    """True when a column of Python objects holds only `kind` values (missing ones aside)."""
    if s.dtype != object:
        return False
    present = s.dropna()
    return len(present) > 0 and all(isinstance(v, kind) for v in present)


def _report_empty_timestamps(name: str, empty: np.ndarray, report: ValidationReport) -> bool:
    if not empty.any():
        return False
    count, first = int(empty.sum()), int(np.flatnonzero(empty)[0])
    what = "every timestamp is" if count == len(empty) else f"{count} of {len(empty)} timestamps are"
    report.add("error", "bad_timestamp",
               f"File '{name}', column '{TIMESTAMP}': {what} empty or infinite (first at row {first}); "
               "every row needs a time, so drop or fill those rows.",
               file=name, column=TIMESTAMP, example=f"row {first}")
    return True


def _bad_timestamp(name: str, s: pd.Series, bad: np.ndarray, report: ValidationReport) -> None:
    first = int(np.flatnonzero(bad)[0])
    example = s.iloc[first]
    report.add("error", "bad_timestamp",
               f"File '{name}', column '{TIMESTAMP}' holds {_n(int(bad.sum()), 'value')} not readable as a time, "
               f"e.g. {_show(example)} at row {first}; use epoch seconds or milliseconds, datetimes or ISO-8601 text.",
               file=name, column=TIMESTAMP, example=example)
    return None


def _to_workload(name: str, s: pd.Series, report: ValidationReport) -> pd.Series | None:
    """Workload labels as str; empty or blank labels are an error."""
    codes, labels = pd.factorize(s)
    blank = np.append(np.asarray(labels.astype(str).str.strip() == "", dtype=bool), False)
    missing = (codes < 0) | blank[codes]  # code -1 (missing) picks the appended False
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        report.add("error", "missing_workload",
                   f"File '{name}', column '{WORKLOAD}' is empty in {_n(int(missing.sum()), 'row')} "
                   f"(first at row {first}); "
                   "label every row with its workload (e.g. cpu_bound) or drop those rows.",
                   file=name, column=WORKLOAD, example=f"row {first}")
        return None
    return s.astype("str")


def _to_percent(name: str, col: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """A utilisation column as float64: numbers only, all finite, all within 0..100."""
    values = _to_float(name, col, s, report)
    if values is None:
        return None
    finite = np.isfinite(values)
    ok = True
    if not finite.all():
        n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        first = int(np.flatnonzero(~finite)[0])
        parts = [f"{n_nan} missing (NaN)" if n_nan else "", f"{n_inf} infinite" if n_inf else ""]
        noun = "value" if n_nan + n_inf == 1 else "values"
        if n_nan == len(values) > 1:  # dropping rows cannot mend a column where nothing was recorded
            message = (f"File '{name}', column '{col}' is all missing (NaN), {len(values):,} rows: nothing was "
                       "recorded; load telemetry that records every core and the overall.")
        else:
            message = (f"File '{name}', column '{col}' has {' and '.join(p for p in parts if p)} {noun} "
                       f"(first at row {first}); fill or drop those rows before loading.")
        report.add("error", "non_finite", message, file=name, column=col, example=f"{values[first]} at row {first}")
        ok = False
    outside = finite & ((values < -ROUNDING_SLACK) | (values > 100 + ROUNDING_SLACK))
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        low, high = np.min(values[finite]), np.max(values[finite])
        report.add("error", "out_of_range",
                   f"File '{name}', column '{col}' has {_n(int(outside.sum()), 'value')} outside 0..100 % "
                   f"(found {_exact(low)} to {_exact(high)}), e.g. {_exact(values[first])} at row {first}; "
                   "utilisation must be a percentage, so fix the recording or rescale the column.",
                   file=name, column=col, example=_exact(values[first]))
        ok = False
    rounding = finite & ((values < 0) | (values > 100)) & ~outside
    if ok and rounding.any():
        first = int(np.flatnonzero(rounding)[0])
        report.add("info", "clipped_rounding",
                   f"File '{name}', column '{col}': {_n(int(rounding.sum()), 'value')} within {ROUNDING_SLACK:g} of "
                   f"0..100 % by rounding (e.g. {_exact(values[first])} at row {first}) clipped to 0..100.",
                   file=name, column=col, example=_exact(values[first]))
        values = np.clip(values, 0.0, 100.0)
    return values if ok else None


def _to_float(name: str, col: str, s: pd.Series, report: ValidationReport) -> np.ndarray | None:
    """Numbers as float64; text that is not a number is a non_numeric error with an example."""
    kind = getattr(s.dtype, "kind", "O")
    if kind in "iuf":
        return s.to_numpy(dtype="float64", na_value=np.nan)
    if kind in "cmM":
        what = {"c": "complex numbers", "m": "durations", "M": "dates and times"}[kind]
        report.add("error", "non_numeric",
                   f"File '{name}', column '{col}' holds {what} (e.g. {_show(s.iloc[0])} at row 0), not "
                   "utilisation numbers; store utilisation as real numbers (percent, 0..100).",
                   file=name, column=col, example=s.iloc[0])
        return None
    converted = pd.Series(np.nan, index=s.index) if pd.api.types.is_bool_dtype(s) else _real_numbers(s)
    bad = (converted.isna() & s.notna()).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        example = s.iloc[first]
        report.add("error", "non_numeric",
                   f"File '{name}', column '{col}' holds {_n(int(bad.sum()), 'non-numeric value')}, "
                   f"e.g. {_show(example)} at row {first}; store utilisation as numbers (percent, 0..100).",
                   file=name, column=col, example=example)
        return None
    stored_as = {"string": "text", "decimal": "decimals"}.get(pd.api.types.infer_dtype(s, skipna=True), "objects")
    report.add("warning", "numbers_as_text",
               f"File '{name}', column '{col}' stores numbers as {stored_as}; they were converted.",
               file=name, column=col)
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def _real_numbers(s: pd.Series) -> pd.Series:
    """Values of a text or object column as float64, NaN where a value is no real number: text that is not
    a number, booleans (True is no 1 %) and complex numbers with an imaginary part."""
    try:
        converted = pd.to_numeric(s, errors="coerce")
    except (TypeError, ValueError):
        return pd.Series(np.nan, index=s.index)
    if getattr(converted.dtype, "kind", "") == "c":
        values = converted.to_numpy()
        converted = pd.Series(np.where(values.imag == 0, values.real, np.nan), index=s.index)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "floating", "integer", "decimal", "empty"):
        flags = np.fromiter((isinstance(v, (bool, np.bool_)) for v in s.to_numpy()), bool, len(s))
        converted = converted.mask(flags)
    return converted.astype("float64")


def _check_extras(name: str, df: pd.DataFrame, cores: tuple[str, ...], report: ValidationReport) -> list[str]:
    """Extra columns are kept but never validated strictly: all-empty ones are dropped, gaps are warned about."""
    used = {TIMESTAMP, WORKLOAD, OVERALL, *cores}
    candidates = [c for c in df.columns if c not in used]
    missing_counts = df[candidates].isna().sum() if candidates else pd.Series(dtype="int64")
    kept = []
    for col, missing in missing_counts.items():
        if missing == len(df):
            report.add("info", "empty_column_dropped",
                       f"File '{name}', column '{col}' is empty in every row and was dropped.", file=name, column=col)
            continue
        if missing:
            report.add("warning", "extra_column_missing",
                       f"File '{name}', extra column '{col}' is empty in {_n(int(missing), 'row')}; "
                       "it is kept as is and never used as a feature.", file=name, column=col)
        kept.append(col)
    return kept
