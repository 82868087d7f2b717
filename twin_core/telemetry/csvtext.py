"""A check on CSV text before pandas reads it, shared by the readers of collectors' CSVs and the label schedule:
pandas spends minutes on a line of millions of fields (or keeps the extra fields as an index), so such a line is
found first, in time linear in the text.
"""
from __future__ import annotations

import csv


def longer_than_header(text: str, delimiter: str, width: int) -> tuple[int, int] | None:
    """(line number, fields) of the first line with more fields than the header, or None; checked before pandas,
    which would otherwise spend minutes on a line of millions of fields (or keep the extra ones as an index).
    Separators are counted per line, and a line with quotes, where a separator may be inside a field, is split by
    the csv module: time linear in the text."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count(delimiter) >= width:
            fields = len(next(csv.reader([line], delimiter=delimiter), [])) if '"' in line else \
                line.count(delimiter) + 1
            if fields > width:
                return number, fields
    return None
