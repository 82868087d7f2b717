"""The memory budget: estimate what loading and training will hold in memory, and refuse before allocating it.

Estimates count bytes the way the pipeline really spends them (measured, see README "Memory budget"):
the feature matrix is rows × features × 4 bytes (float32); training holds the matrix and, per fit running at once,
the slice of rows it fits on plus what its model makes of it (the stack copies no other rows or columns).
Loading a parquet file is estimated from its footer (row count, column types, uncompressed sizes) before any
column is read. The budget is half of the memory available when asked, unless `--memory-budget` or
`$TWIN_MEMORY_BUDGET` set it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from twin_core.errors import ConfigError, MemoryBudgetError

ENV_VAR = "TWIN_MEMORY_BUDGET"
FLOAT32 = 4
# Peak bytes of one fit, per cell of the rows it fits on, in float32 cells (measured: README "Memory budget"):
# the fold's row slice (1) plus what the estimator makes of it. ScaledRidgeCV reads it in chunks (+0.1: its
# predictions and index arrays); StandardScaler + ElasticNetCV copy it as float64 (8); LightGBM bins it and keeps
# gradients and scores (1.5); other kinds (2).
FIT_COPIES = {"ridgecv": 1.1, "elasticnetcv": 9.0, "lightgbm": 2.5}
OTHER_FIT_COPIES = 3.0
# What the counts above miss (fold predictions, evaluation frames, per-thread allocator arenas), measured: the
# `default` preset on 300 k rows peaked 10-20 % above the counted bytes (runs vary).
MARGIN = 1.3
# Feature building: the float32 matrix plus float64 temporaries of a few columns at a time (rows × 8 × 6).
BUILD_TEMPORARY_COLUMNS = 6
# Loading: per decoded parquet byte, the Arrow table, the pandas frame and the normalised float64 frame
# exist together at the peak (measured on 3 M rows of 8 cores: see README).
LOAD_COPIES = 4.0
TEXT_LOAD_COPIES = 20.0  # a text export parsed: measured 16x its size for Prometheus JSON (70 MB -> 1.1 GB)
STRING_BYTES_PER_ROW = 16  # an Arrow string column decoded from its dictionary: offsets and short labels
_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
          "T": 10**12, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")
WHAT_TO_CHANGE_TRAIN = ("use fewer lags or windows, fewer rows or files, a coarser sampling, or a larger "
                        f"--memory-budget (or ${ENV_VAR})")
WHAT_TO_CHANGE_LOAD = ("load fewer rows or files, a coarser sampling, or give a larger --memory-budget "
                       f"(or ${ENV_VAR})")


def parse_size(text: str | int | float, *, where: str = "--memory-budget") -> int:
    """Bytes from `1.5GB`, `800MB`, `512MiB` or a plain byte count: how people write memory sizes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = _SIZE.match(str(text))
        if not match or match.group(2).upper() not in _UNITS:
            raise ConfigError(f"{where + ': ' if where else ''}cannot read {text!r} as a memory size; write it like 1.5GB, 800MB, "
                              "512MiB or a number of bytes.")
        value, unit = float(match.group(1)), match.group(2).upper()
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise ConfigError(f"{where + ': ' if where else ''}a memory budget must be more than 0 bytes, got {text!r}.")
    return size


def memory_budget(explicit: str | int | None = None) -> int:
    """The budget in bytes: `explicit`, else `$TWIN_MEMORY_BUDGET`, else half of the memory available now."""
    if explicit is not None:
        return parse_size(explicit)
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return parse_size(from_env, where=f"${ENV_VAR}")
    return int(psutil.virtual_memory().available // 2)


def describe_budget(explicit: str | int | None = None) -> str:
    """Where the budget comes from, for messages: the option, the variable or the default."""
    if explicit is not None:
        return "set by --memory-budget"
    if os.environ.get(ENV_VAR, "").strip():
        return f"set by ${ENV_VAR}"
    return "half of the memory available now"


def human(size: float) -> str:
    """A byte count as people read it (1.5 GB, 820 MB)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} bytes"


def training_bytes(rows: int, features: int, *, train_share: float, parallel_fits: int,
                   first_layer: list[tuple[str, int]], passthrough_layers: list[tuple[str, int]] = (),
                   resident: int = 0) -> int:
    """Peak bytes of one training run: `resident` (the telemetry already held) plus the working set.

    `first_layer` is (model kind, columns of its feature set) per first-layer model, `passthrough_layers` (model
    kind, design columns) per model of a later layer that also reads the features. The working set, in float32
    cells: the feature matrix (rows × features) and, for the costlier phase, `parallel_fits` fits at once of the
    costliest model (FIT_COPIES × its training rows × its columns); a passthrough layer also holds its design (the
    lower layer's predictions beside the features, float64) and the float32 rows it is built from. Upper layers
    without passthrough fit on a few columns only.
    """
    train_rows = rows * train_share

    def fits(members: list[tuple[str, int]]) -> float:
        return max(1, parallel_fits) * max(
            (FIT_COPIES.get(kind, OTHER_FIT_COPIES) * train_rows * columns for kind, columns in members), default=0.0)

    passthrough = max((train_rows * (2 * columns + features) + fits([(kind, columns)])
                       for kind, columns in passthrough_layers), default=0.0)
    cells = rows * features + max(fits(first_layer), passthrough)
    return int(resident + MARGIN * (rows * 8 * BUILD_TEMPORARY_COLUMNS + cells * FLOAT32))


def check_training(rows: int, features: int, *, train_share: float, parallel_fits: int,
                   first_layer: list[tuple[str, int]], passthrough_layers: list[tuple[str, int]] = (),
                   resident: int = 0, budget: str | int | None = None) -> int:
    """Refuse a training run whose peak would pass the budget (raises MemoryBudgetError); returns the estimate."""
    need = training_bytes(rows, features, train_share=train_share, parallel_fits=parallel_fits,
                          first_layer=first_layer, passthrough_layers=passthrough_layers, resident=resident)
    limit = memory_budget(budget)
    if need > limit:
        raise MemoryBudgetError(
            f"Training would need about {human(need)} ({rows:,} rows × {features:,} features × 4 bytes, copied for "
            f"the rows of the costliest of {len(first_layer)} first-layer model(s) and {max(1, parallel_fits)} fit(s) "
            f"at once, plus {human(resident)} of loaded telemetry) but the memory budget is {human(limit)} "
            f"({describe_budget(budget)}); {WHAT_TO_CHANGE_TRAIN}.")
    return need


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def parquet_load_bytes(source: Path | bytes) -> tuple[int, int]:
    """(rows, peak bytes) loading one parquet file will take, from its footer alone (no column is read)."""
    meta = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, (bytes, bytearray)) else source).metadata
    rows, decoded = meta.num_rows, 0
    for i in range(meta.num_columns):
        stored = sum(meta.row_group(g).column(i).total_uncompressed_size for g in range(meta.num_row_groups))
        text = meta.schema.column(i).physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY")
        decoded += max(stored, rows * (STRING_BYTES_PER_ROW if text else 8))  # numbers become float64
    return rows, int(decoded * LOAD_COPIES)


def check_loading(sources: list[tuple[str, Path | bytes]], budget: str | int | None = None) -> int:
    """Refuse files whose estimated loading peak passes the budget, before reading them; returns the estimate.

    A text file (a collector's export) counts TEXT_LOAD_COPIES times its size: parsed text (JSON above all)
    takes many times its bytes as Python objects. Other files that are not readable parquet are left to the
    reader, which reports them with its own message.
    """
    need, rows = 0, 0
    for _, source in sources:
        try:
            file_rows, file_bytes = parquet_load_bytes(source)
        except (pa.ArrowException, OSError, ValueError):
            size = len(source) if isinstance(source, (bytes, bytearray)) else _size(source)
            need += int(size * TEXT_LOAD_COPIES)
            continue
        need, rows = need + file_bytes, rows + file_rows
    limit = memory_budget(budget)
    if need > limit:
        names = ", ".join(name for name, _ in sources[:3]) + (" …" if len(sources) > 3 else "")
        raise MemoryBudgetError(
            f"Loading {names}{f' ({rows:,} rows)' if rows else ''} would need about {human(need)} of memory "
            "but the memory budget is "
            f"{human(limit)} ({describe_budget(budget)}); {WHAT_TO_CHANGE_LOAD}.")
    return need
