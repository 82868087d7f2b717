"""Telemetry written as parquet in our own columns (what `convert` and `record` produce, and what every loader
reads back), complete or not at all: a killed process never leaves half a file under the final name.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from twin_core.telemetry.frame import OVERALL, TIMESTAMP, WORKLOAD, core_columns_of


def write_telemetry(frame: pd.DataFrame, path: str | Path, extras: tuple[str, ...] = ()) -> Path:
    """Write timestamp (UTC datetimes), workload_type, cpu_util_overall, the cores by number and `extras`.

    `frame` holds timestamps as epoch seconds or datetimes (a Telemetry frame, or a recorder's rows). The file is
    written beside its final name and renamed into place, so readers see the old file or the whole new one.
    """
    path = Path(path)
    stamps = frame[TIMESTAMP]
    if pd.api.types.is_numeric_dtype(stamps):
        stamps = pd.to_datetime((stamps.to_numpy() * 1e6).round().astype("int64"), unit="us", utc=True)
    columns = [WORKLOAD, OVERALL, *core_columns_of(frame.columns), *extras]
    table = pd.DataFrame({TIMESTAMP: stamps, **{c: frame[c].to_numpy() for c in columns}})
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        table.to_parquet(temporary, engine="pyarrow", index=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
