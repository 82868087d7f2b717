"""Reading the sources: paths and folders expanded, each file's format told by its bytes: parquet read with
pyarrow, collectors' text and JSON files by the readers (`twin_core.telemetry.readers`), then workload labels
applied from the reading options.

The memory budget is checked before any file is read (from parquet footers, from the size of text files), and a
source that cannot be read becomes a `not_parquet` finding with the reason, never a raw exception.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa

from twin_core.budget import check_loading
from twin_core.telemetry.labels import apply_labels
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers import read_text_source
from twin_core.telemetry.report import ValidationReport, _first_line


PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little- and big-endian
PARQUET_HINT = "expected an Apache Parquet file (.parquet) or a collector's export (see `convert --help`)"
# the files a folder is expanded to: parquet and the collectors' exports (their format is told by content)
FOLDER_SUFFIXES = (".parquet", ".csv", ".json", ".txt", ".log", ".prom")


def _read_paths(
    sources: str | Path | Iterable[str | Path], report: ValidationReport, memory_budget: str | int | None = None,
    options: SourceOptions | None = None,
) -> list[tuple[str, pd.DataFrame | None]]:
    """Expand files and folders (parquet and collector exports, sorted by name), check the memory budget, and
    read each one."""
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()  # not a sub-folder named x.parquet, nor hidden files
                           if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES and not p.name.startswith("."))
            if not found:
                report.add(
                    "error", "empty_folder",
                    f"Folder '{path}' contains no telemetry files ({', '.join(FOLDER_SUFFIXES)}); choose a folder "
                    "holding the telemetry files.",
                    file=str(path),
                )
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        else:
            report.add(
                "error", "source_not_found",
                f"Telemetry path '{path}' does not exist; check the spelling or pass an existing file or folder.",
                file=str(path),
            )
    if not items:
        report.add("error", "no_sources", "No telemetry files were given; pass one or more .parquet files or a folder.")
    check_loading([(p.name, p) for p in paths], memory_budget)
    return [part for p in paths for part in _read_source(p.name, p, report, options or SourceOptions())]


def _read_source(
    name: str, source: Path | bytes, report: ValidationReport, options: SourceOptions
) -> list[tuple[str, pd.DataFrame | None]]:
    """One file or upload in our columns: parquet as it is, a collector's export as its reader gives it (one part
    per stretch between counter resets), each then labelled from the options."""
    head = source[:4] if isinstance(source, (bytes, bytearray)) else _head(source)
    if head.startswith(UTF16_BOMS):
        report.add("error", "not_parquet",
                   f"File '{name}' is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8; in a text editor: the "
                   "UTF-8 encoding) and load it again.", file=name)
        return [(name, None)]
    if head == PARQUET_MAGIC or not head or not _looks_like_text(head):  # parquet, or what its reader describes
        frame = _read_parquet(name, source, report)
        if frame is None:
            return [(name, None)]
        return [(name, apply_labels(name, frame, options, report, required=True))]
    data = source if isinstance(source, (bytes, bytearray)) else source.read_bytes()
    parts = read_text_source(name, bytes(data), options, report)
    if not parts:
        return [(name, None)]
    return [(part, apply_labels(part, frame, options, report, required=False)) for part, frame in parts]


def _head(path: Path) -> bytes:
    """The first 4 bytes of a file: enough to tell parquet (PAR1), a byte-order mark and binary from text."""
    with path.open("rb") as handle:
        return handle.read(4)


def _read_parquet(name: str, source: Path | bytes, report: ValidationReport) -> pd.DataFrame | None:
    """Read one parquet file or byte string with pyarrow; anything unreadable becomes a not_parquet issue."""
    reason = _sniff_parquet(source)
    if reason is None:
        try:
            buffer = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
            # one column at a time, each Arrow column freed once converted (no consolidated 2-D copy), and the
            # memory Arrow's pool kept afterwards handed back: the peak is about the frame, not three of it
            frame = pd.read_parquet(buffer, engine="pyarrow",
                                    to_pandas_kwargs={"split_blocks": True, "self_destruct": True})
            pa.default_memory_pool().release_unused()
            return frame
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, NotImplementedError, ...
            detail = _first_line(exc).replace(str(source), name) if isinstance(source, Path) else _first_line(exc)
            reason = f"it is corrupt or uses an unsupported feature ({detail})"
    report.add(
        "error", "not_parquet",
        f"File '{name}' cannot be read because {reason}: {PARQUET_HINT}; "
        "export the telemetry with DataFrame.to_parquet or choose the right file.",
        file=name,
    )
    return None


def _sniff_parquet(source: Path | bytes) -> str | None:
    """Why `source` is clearly not parquet (empty, no PAR1 signature, no footer), or None if it may be."""
    if isinstance(source, (bytes, bytearray)):
        head, tail, size = bytes(source[:4]), bytes(source[-4:]), len(source)
    else:
        size = source.stat().st_size
        with source.open("rb") as handle:
            head = handle.read(4)
            handle.seek(max(size - 4, 0))
            tail = handle.read(4)
    if size == 0:
        return "it is empty (0 bytes)"
    if head != PARQUET_MAGIC:
        kind = "text (CSV or JSON?)" if _looks_like_text(head) else "some other binary format"
        return f"it does not start with the parquet signature PAR1 and looks like {kind}"
    if size < 12 or tail != PARQUET_MAGIC:
        return "it is truncated (the parquet footer is missing)"
    return None


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes are printable ASCII or line ends, after a UTF-8 byte-order mark if there is one
    (Excel and Windows editors write one)."""
    return all(32 <= b < 127 or b in (9, 10, 13) for b in head.removeprefix(UTF8_BOM))
