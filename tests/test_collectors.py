"""Every file the real collectors wrote (tests/fixtures/collectors, see its README for the command behind each)
is read by content, validates with `validate --preset quick`, and trains a `quick` twin end to end through the
CLI, with the format each was read as named in the report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin_core.cli import main
from twin_core.telemetry import load_telemetry, validate_sources

FIXTURES = Path(__file__).parent / "fixtures" / "collectors"
# file -> the reader's format name it must be read as (told by content, never by its extension)
EXPORTS = {
    "prometheus_query_range_counters.json": "Prometheus",
    "prometheus_query_raw_counters.json": "Prometheus",
    "prometheus_query_range_util.json": "Prometheus",
    "prometheus_query_range_util_irate.json": "Prometheus",
    "prometheus_federate.txt": "Prometheus text",
    "node_exporter_scrapes.txt": "Prometheus text",
    "prometheus_long.csv": "long CSV",
    "sar_P_ALL_u.txt": "sar",
    "sar_P_ALL_u_12h.txt": "sar",
    "sar_P_ALL_u_tz_berlin.txt": "sar",
    "sadf_d.csv": "sadf -d",
    "sadf_j.json": "sadf -j",
    "collectl_P_sC.txt": "collectl",
    "collectl_P_scC.txt": "collectl",
    "procstat.log": "/proc/stat",
    "psutil_wide.csv": "CSV",
    "psutil_epoch_ms.csv": "CSV",
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_a_real_collector_export_validates_and_trains_a_quick_twin(name: str, tmp_path: Path, capsys) -> None:
    report = validate_sources(FIXTURES / name)
    assert report.ok, report.errors
    (read_as,) = [i.message for i in report.issues if i.code == "source_format"]
    assert EXPORTS[name] in read_as
    assert main(["validate", str(FIXTURES / name), "--preset", "quick"]) == 0
    out = tmp_path / "run"
    assert main(["train", str(FIXTURES / name), "--preset", "quick", "--quiet", "--out", str(out),
                 "--labels", str(FIXTURES / "schedule.csv")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rows"]["train"] >= 150 and metrics["rows"]["test"] >= 30
    assert metrics["best"]["r2_holdout"] is not None
    assert "R²" in capsys.readouterr().out


def test_every_fixture_in_the_folder_is_covered() -> None:
    exports = {p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".txt", ".csv", ".log")}
    assert exports - {"schedule.csv"} == set(EXPORTS)


def test_convert_writes_a_sar_report_as_our_parquet_in_utc_with_the_schedules_labels(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sar.parquet"
    assert main(["convert", str(FIXTURES / "sar_P_ALL_u_tz_berlin.txt"), "--timezone", "Europe/Berlin",
                 "--labels", str(FIXTURES / "schedule.csv"), "--out", str(out)]) == 0
    assert "read in Europe/Berlin" in capsys.readouterr().err
    converted = pd.read_parquet(out)
    direct = load_telemetry(FIXTURES / "sar_P_ALL_u.txt").frame  # the same data file printed in UTC
    assert list(converted.columns) == ["timestamp", "workload_type", "cpu_util_overall", "cpu_util_core_0",
                                       "cpu_util_core_1"]
    assert str(converted["timestamp"].dtype) == "datetime64[us, UTC]"
    seconds = converted["timestamp"].astype("int64").to_numpy() / 1e6
    np.testing.assert_allclose(seconds, direct["timestamp"].to_numpy())
    np.testing.assert_allclose(converted["cpu_util_core_1"], direct["cpu_util_core_1"])
    assert converted["workload_type"].value_counts()["both_busy"] >= 38
