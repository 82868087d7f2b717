"""Small, exact telemetry frames for unit tests: values chosen so that any misaligned row shows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from twin_core.telemetry import Telemetry, telemetry_from_frames


def session_frame(rows: int, cores: int, start: float, workload: str, seed: int) -> pd.DataFrame:
    """One recording at 10 Hz whose values are distinct per row, in 0..100."""
    rng = np.random.default_rng(seed)
    data = {"timestamp": start + 0.1 * np.arange(rows)}
    for c in range(cores):
        data[f"cpu_util_core_{c}"] = np.round(rng.uniform(0, 100, rows), 1)
    data["cpu_util_overall"] = np.round(
        np.mean([data[f"cpu_util_core_{c}"] for c in range(cores)], axis=0) + rng.normal(0, 1, rows), 1).clip(0, 100)
    data["workload_type"] = workload
    return pd.DataFrame(data)


def make_telemetry(sessions: tuple[int, ...] = (120, 90, 150), cores: int = 4, seed: int = 0,
                   workloads: tuple[str, ...] = ("cpu_bound", "io_bound", "mixed")) -> Telemetry:
    """Telemetry of several sessions (one file each), minutes apart."""
    frames = [(f"s{i}.parquet", session_frame(n, cores, 1_700_000_000.0 + 600.0 * i, workloads[i % len(workloads)],
                                               seed + i))
              for i, n in enumerate(sessions)]
    return telemetry_from_frames(frames)


def follower_telemetry(rows: int = 300, sessions: int = 3, seed: int = 0) -> Telemetry:
    """Four cores whose target is the mean of the three others (plus 1-point noise), each other core a slow wave
    of its own period: scaling or shifting the other cores moves the target by a known amount."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    frames = []
    for s in range(sessions):
        others = {f"cpu_util_core_{c}": 50 + 35 * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
                  for c, period in ((1, 37), (2, 53), (3, 71))}
        target = np.clip(np.mean(list(others.values()), axis=0) + rng.normal(0, 1, rows), 0, 100)
        cores = {"cpu_util_core_0": target, **others}
        frames.append((f"f{s}.parquet", pd.DataFrame({
            "timestamp": 1_700_000_000.0 + 600.0 * s + 0.1 * t, **cores,
            "cpu_util_overall": np.mean(list(cores.values()), axis=0), "workload_type": "mixed"})))
    return telemetry_from_frames(frames)
