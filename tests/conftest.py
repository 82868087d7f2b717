"""Shared fixtures: the seed data (read in place, never copied), small demo telemetry and demo parquet files."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from twin_core.demo import make_demo_telemetry, write_demo_parquet
from twin_core.telemetry import Telemetry

# The notebook's telemetry is read in place from ../shared beside the checkout (never copied into the repo).
SEED_DATA_DIR = Path(os.environ.get(
    "TWIN_SEED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "cosmos_telemetry_v2"))


@pytest.fixture(scope="session")
def seed_data_dir() -> Path:
    """The seed notebook's parquet folder, or skip when this machine does not have it."""
    if not SEED_DATA_DIR.is_dir() or not any(SEED_DATA_DIR.glob("*.parquet")):
        if os.environ.get("CI"):  # CI has shared/ beside the clone: a missing folder is a broken setup
            pytest.fail(f"seed data folder {SEED_DATA_DIR} is missing on CI (set TWIN_SEED_DATA)")
        pytest.skip(f"seed data folder {SEED_DATA_DIR} is not available")
    return SEED_DATA_DIR


@pytest.fixture(scope="session")
def demo_telemetry() -> Telemetry:
    """Small seeded demo telemetry: 1,200 rows, 8 cores, 4 sessions."""
    return make_demo_telemetry(rows=1200, cores=8, sessions=4, seed=7)


@pytest.fixture(scope="session")
def demo_parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the same demo written as one parquet file per session."""
    out = tmp_path_factory.mktemp("demo_parquet")
    write_demo_parquet(out, rows=1200, cores=8, sessions=4, seed=7)
    return out
