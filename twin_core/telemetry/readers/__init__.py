"""The collectors' own files, read into our schema: the format is told by the file's content, never its name.

Each reader module lists its formats in `READERS`, each a `Reader`: a short name, a description (what a user
exports to get such a file), `looks_like(head)` (does the first part of the text look like this format) and
`read(name, text, options, report)`, which returns the file as one or more frames in our columns
(`timestamp` as epoch seconds, `cpu_util_core_<n>` in percent, `cpu_util_overall` when the source has it, and
`workload_type` when it has labels); a counter reset (a reboot) ends a frame, so a new session starts there.
Every problem lands in the report; a reader never raises on bad content.

Readers are asked in order; the first whose `looks_like` says yes reads the file. Before that, a text whose last
line has no line end (a recorder stopped mid-write) loses that line, for every format but JSON (whose end is its
closing brace, so a cut JSON file fails to parse instead): a number cut short would be read as another number.
"""
from __future__ import annotations

import pandas as pd

from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.readers import collectl, procstat, prometheus, sysstat, widecsv
from twin_core.telemetry.readers.common import Reader
from twin_core.telemetry.report import ValidationReport

# the order matters only where two formats could share a first line; the most specific come first
READERS: tuple[Reader, ...] = (*prometheus.READERS, *sysstat.READERS, *collectl.READERS, *procstat.READERS,
                               *widecsv.READERS)
HEAD_CHARS = 64_000


def formats_text() -> str:
    """The formats we read, for messages and help texts."""
    return "; ".join(r.description for r in READERS)


def read_text_source(
    name: str, data: bytes, options: SourceOptions, report: ValidationReport
) -> list[tuple[str, pd.DataFrame]]:
    """Decode a text file, find its format and read it; an unknown format is one error naming what we read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.add("error", "not_parquet",
                   f"File '{name}' is neither parquet nor UTF-8 text (byte {exc.start} cannot be decoded), so it is "
                   "no telemetry format we read; export it as parquet, CSV or a collector's own text or JSON.",
                   file=name)
        return []
    text = _without_cut_line(name, text, report)
    head = text[:HEAD_CHARS]
    for reader in READERS:
        if reader.looks_like(head):
            report.add("info", "source_format", f"File '{name}' read as {reader.description}.", file=name)
            return reader.read(name, text, options, report)
    report.add("error", "not_parquet",
               f"File '{name}' is text in no format we read. We read parquet and: {formats_text()}. "
               "Export the telemetry in one of these, or convert it to parquet with our columns.", file=name)
    return []


def _without_cut_line(name: str, text: str, report: ValidationReport) -> str:
    """The text without a last line that has no line end (an interrupted recorder's half-written line, whose
    last number may be cut short), with a note; JSON and one-line texts are left as they are."""
    if text.endswith(("\n", "\r")) or text.lstrip()[:1] in ("{", "["):
        return text
    start = text.rfind("\n") + 1
    if start == 0 or not text[start:].strip():
        return text
    report.add("info", "cut_short_line",
               f"File '{name}': its last line (line {text.count(chr(10), 0, start) + 1}) has no line end, as an "
               "interrupted recorder leaves it; it is left out.", file=name, example=text[start:][:60])
    return text[:start]
