"""What every reader shares: per-cpu utilisation arrays turned into one frame in our columns, with the overall
computed from the cpus when the source has none (and the report saying so, because then the identity is exact),
the names of a file's parts and the cpus a file's samples usually hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from twin_core.telemetry.frame import OVERALL, TIMESTAMP, WORKLOAD
from twin_core.telemetry.options import SourceOptions
from twin_core.telemetry.report import ValidationReport, _n

@dataclass(frozen=True)
class Reader:
    """One format we read: its name, what to export to get it, how to recognise it, and how to read it."""

    format: str
    description: str
    looks_like: Callable[[str], bool]
    read: Callable[[str, str, SourceOptions, ValidationReport], list[tuple[str, pd.DataFrame]]]


BUSY_DEFINITION = "busy = neither idle nor waiting for I/O, as psutil counts it"


def utilisation_frame(
    name: str,
    times: np.ndarray,
    cores: dict[int, np.ndarray],
    overall: np.ndarray | None,
    report: ValidationReport,
    workload: np.ndarray | None = None,
) -> pd.DataFrame:
    """One frame in our columns from epoch seconds and per-cpu percentages (cpu number -> values).

    Without an overall series, the overall is the mean of all cpus, and a warning says that the aggregate
    identity (N·overall − Σ other cores) then gives the target exactly, so a twin reading overall is trivial.
    """
    columns: dict[str, np.ndarray] = {TIMESTAMP: np.asarray(times, dtype="float64")}
    if workload is not None:
        columns[WORKLOAD] = workload
    matrix = np.column_stack([np.asarray(cores[c], dtype="float64") for c in sorted(cores)]) if cores else None
    if overall is None and matrix is not None:
        overall = matrix.mean(axis=1)
        report.add(
            "warning", "overall_computed",
            f"File '{name}' has no overall utilisation, so cpu_util_overall is computed as the mean of its "
            f"{len(cores)} cpus. The identity N·overall − Σ other cores then equals the target exactly, which makes "
            "any twin that reads overall or the identity trivial: train a behavioural twin on such data, or "
            "export the collector's overall line too.", file=name, column=OVERALL)
    if overall is not None:
        columns[OVERALL] = np.asarray(overall, dtype="float64")
    for cpu in sorted(cores):
        columns[f"cpu_util_core_{cpu}"] = np.asarray(cores[cpu], dtype="float64")
    return pd.DataFrame(columns)


def part_name(name: str, index: int, parts: int) -> str:
    """The source name of one part of a file split at counter resets ('x.json' or 'x.json (part 2 of 3)')."""
    return name if parts == 1 else f"{name} (part {index + 1} of {parts})"


def usual_cpus(name: str, present: list[set[int]], places: list[str], report: ValidationReport) -> set[int]:
    """The cpus (-1: the overall line) present in more than half of a file's samples: a cpu in only some samples
    (hot-plugged, or a stray line) would otherwise make every other sample incomplete. The others are left out
    with one warning naming them; samples lacking a usual cpu are the caller's to leave out."""
    counts: dict[int, int] = {}
    for cpus in present:
        for cpu in cpus:
            counts[cpu] = counts.get(cpu, 0) + 1
    usual = {cpu for cpu, count in counts.items() if 2 * count > len(present)}
    rare = sorted(set(counts) - usual)
    if rare:
        first = places[next(i for i, cpus in enumerate(present) if cpus & set(rare))]
        named = ", ".join(f"{'the overall line' if cpu < 0 else f'cpu {cpu}'} (in {counts[cpu]})" for cpu in rare)
        report.add("warning", "rare_cpus",
                   f"File '{name}': {named} {'is' if len(rare) == 1 else 'are'} in no more than half of its "
                   f"{_n(len(present), 'sample')} (first at {first}), as after a cpu is hot-plugged or from a stray "
                   "line; left out, and the other cpus are read.", file=name)
    return usual
