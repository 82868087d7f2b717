"""(being written) reader of widecsv files."""
from __future__ import annotations

from twin_core.telemetry.readers.common import Reader

READERS: tuple[Reader, ...] = ()
