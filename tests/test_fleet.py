"""Fleets (twin_core.fleet and `python -m twin_core fleet`): one twin per host as independent tasks, on a Dask
LocalCluster of 2 workers and on local worker processes with the same metrics, hosts found from folders or from a
`host` column alike, broken hosts reported while the others finish, and the CLI end to end."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twin_core.fleet as fleet_module
from twin_core.cli import main
from twin_core.demo import write_demo_fleet
from twin_core.engine import open_engine
from twin_core.errors import ConfigError
from twin_core.fleet import FleetOptions, Host, HostTask, discover_hosts, train_fleet, train_host
from twin_core.presets import get_preset
from twin_core.store import RunStore
from twin_core.telemetry import load_telemetry

DEMO = {"rows": 1200, "cores": 4, "sessions": 3}
QUICK = get_preset("quick")


def _scores(metrics: dict) -> dict:
    """A run's metrics without its timings (which differ from run to run)."""
    return {k: v for k, v in metrics.items() if k != "seconds"}


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    write_demo_fleet(folder, 3, seed=4, **DEMO)
    return folder


@pytest.fixture(scope="module")
def on_dask(fleet_dir):
    """The demo fleet trained on a Dask LocalCluster of 2 workers: each host's outcome by name."""
    hosts, unreadable = discover_hosts([fleet_dir])
    assert not unreadable
    with open_engine("dask", workers=2) as engine:
        assert engine.kind == "dask" and engine.workers == 2
        return {outcome.host.name: outcome for outcome in train_fleet(hosts, QUICK, engine)}


def test_a_three_host_demo_fleet_trains_every_twin_on_a_dask_local_cluster(on_dask):
    assert sorted(on_dask) == ["host-01", "host-02", "host-03"]
    assert all(outcome.error is None for outcome in on_dask.values())
    runs = {name: outcome.run for name, outcome in on_dask.items()}
    assert {name: len(run.core_columns) for name, run in runs.items()} == {"host-01": 4, "host-02": 8, "host-03": 4}
    assert len({run.data_fingerprint for run in runs.values()}) == 3
    for name, run in runs.items():  # what came back is a finished run without the telemetry or the features
        assert run.metrics["best"]["r2_holdout"] > 0.5 and on_dask[name].report.startswith("<!DOCTYPE html>")
        assert not hasattr(run, "telemetry") and not hasattr(run.features, "X") and run.data_rows == DEMO["rows"]
        # one level of parallelism: the hosts side by side, so each fit of a host on one thread, one after another
        assert run.config.stack.n_jobs == 1
        assert run.model.stack.layers_[0][0].estimators[0].get_params()["n_jobs"] == 1


def test_the_same_fleet_on_local_worker_processes_gives_the_same_metrics_per_host(fleet_dir, on_dask):
    hosts, _ = discover_hosts([fleet_dir])
    with open_engine("local", workers=2) as engine:
        local = {outcome.host.name: outcome.run.metrics for outcome in train_fleet(hosts, QUICK, engine)}
    assert {name: _scores(metrics) for name, metrics in local.items()} == {
        name: _scores(outcome.run.metrics) for name, outcome in on_dask.items()}


def _as_host_column_files(fleet_dir: Path, out: Path, suffix: str) -> Path:
    """The fleet rewritten as files holding every host, told apart by a `host` column: one file per session name,
    so each host's rows keep the file names (and so the sessions and fingerprint) of its folder."""
    out.mkdir()
    by_name: dict[str, list[pd.DataFrame]] = {}
    for folder in sorted(p for p in fleet_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.parquet")):
            by_name.setdefault(path.stem, []).append(pd.read_parquet(path).assign(host=folder.name))
    for stem, frames in by_name.items():
        frame = pd.concat(frames, ignore_index=True)
        if suffix == ".csv":
            frame.to_csv(out / f"{stem}.csv", index=False)
        else:
            frame.to_parquet(out / f"{stem}.parquet", index=False)
    return out


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_files_with_a_host_column_give_the_same_hosts_as_folders(fleet_dir, on_dask, tmp_path, suffix):
    column_dir = _as_host_column_files(fleet_dir, tmp_path / "columns", suffix)
    hosts, unreadable = discover_hosts(sorted(column_dir.iterdir()))
    assert not unreadable and [h.name for h in hosts] == ["host-01", "host-02", "host-03"]
    assert all(h.value == h.name for h in hosts)
    # a folder of such files is the same fleet, not one host named after the folder
    assert [h.name for h in discover_hosts([column_dir])[0]] == ["host-01", "host-02", "host-03"]
    if suffix == ".parquet":  # the same rows, file names and sessions as the folders: the same data, the same twins
        expected = {name: on_dask[name].run for name in ("host-01", "host-02")}
    else:  # CSV text rounds overall's float32 digits: compare with the host's own CSV files, without a host column
        alone = tmp_path / "host-01"
        alone.mkdir()
        for path in sorted((fleet_dir / "host-01").glob("*.parquet")):
            pd.read_parquet(path).to_csv(alone / f"{path.stem}.csv", index=False)
        expected = {"host-01": train_host(HostTask(Host("host-01", (str(alone),)), QUICK.to_json(),
                                                   FleetOptions())).run}
    for name, run in expected.items():  # host-01 has 4 cores: host-02's other 4 core columns are empty on its rows
        outcome = train_host(HostTask(next(h for h in hosts if h.name == name), QUICK.to_json(), FleetOptions()))
        assert outcome.error is None and outcome.run.data_fingerprint == run.data_fingerprint
        assert _scores(outcome.run.metrics) == _scores(run.metrics)


def _fleet_with_broken_hosts(tmp_path: Path, good_from: Path) -> Path:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "host-01").symlink_to(good_from / "host-01", target_is_directory=True)
    (fleet / "garbled").mkdir()
    (fleet / "garbled" / "data.parquet").write_bytes(b"PAR1" + bytes(np.random.default_rng(0).integers(0, 255, 300,
                                                                                                       dtype=np.uint8)))
    short = pd.read_parquet(sorted((good_from / "host-01").glob("*.parquet"))[0]).head(12)
    (fleet / "short").mkdir()
    short.to_parquet(fleet / "short" / "only.parquet", index=False)
    return fleet


def test_what_is_not_a_fleet_is_one_config_error(fleet_dir, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        discover_hosts([tmp_path / "missing"])
    with pytest.raises(ConfigError, match="has no `host` column, so its host is not known"):
        discover_hosts([next((fleet_dir / "host-01").glob("*.parquet"))])
    for place in ("a", "b"):
        (tmp_path / place / "host-01").mkdir(parents=True)
        (tmp_path / place / "host-01" / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match="Host 'host-01' is found twice"):
        discover_hosts([tmp_path / "a", tmp_path / "b"])


def test_a_host_name_cannot_write_outside_the_fleet_folder():
    assert Host("../../etc", ("x",)).folder == "_.._etc"
    assert Host("web 01.example.com", ("x",)).folder == "web_01.example.com"


def test_the_fleet_command_writes_every_host_keeps_the_runs_and_lists_worst_first(fleet_dir, tmp_path, capsys):
    fleet = _fleet_with_broken_hosts(tmp_path, fleet_dir)
    (fleet / "host-03").symlink_to(fleet_dir / "host-03", target_is_directory=True)
    out, db = tmp_path / "out", tmp_path / "runs.sqlite"
    code = main(["fleet", str(fleet), "--out", str(out), "--preset", "quick", "--store", str(db), "--workers", "2",
                 "--quiet"])
    printed = capsys.readouterr()
    assert code == 2  # hosts whose data cannot be used, as `validate` says of unusable data
    summary = json.loads((out / "fleet.json").read_text())
    trained = [row["host"] for row in summary["hosts"]]
    failed = {f["host"]: f["error"] for f in summary["failed"]}  # each broken host is its one message
    assert sorted(trained) == ["host-01", "host-03"] and sorted(failed) == ["garbled", "short"]
    assert "data.parquet" in failed["garbled"] and "short" not in failed["garbled"]
    assert all("Traceback" not in error and "\n" not in error for error in failed.values())
    r2 = [row["best_r2_holdout"] for row in summary["hosts"]]
    assert r2 == sorted(r2)  # worst first
    for host in trained:
        assert {p.name for p in (out / host).iterdir()} == {"metrics.json", "config.json", "predictions.parquet",
                                                            "report.html"}
    table = printed.out[printed.out.index("host "):]
    assert table.index(trained[0]) < table.index(trained[1]) < table.index("Failed:")
    assert "2 of 4 host(s) could not be trained" in printed.err
    kept = RunStore(db).list(fleet=summary["fleet"])
    assert sorted(kept["host"]) == ["host-01", "host-03"]
    assert {row["host"]: row["run_id"] for row in summary["hosts"]} == dict(zip(kept["host"], kept["id"]))


@pytest.mark.parametrize("flags, message", [
    (["--scheduler", "tcp://127.0.0.1:1"], "add --engine dask"),
    (["--workers", "0"], "--workers: the hosts trained side by side must be a whole number of at least 1"),
    (["--workers", "1.5"], "--workers: the hosts trained side by side must be a whole number of at least 1"),
])
def test_the_fleet_command_refuses_bad_engine_flags_before_any_host_trains(fleet_dir, tmp_path, capsys, flags,
                                                                          message):
    assert main(["fleet", str(fleet_dir), "--out", str(tmp_path / "out"), *flags]) == 1
    assert message in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_memory_budget_is_each_hosts_on_its_worker(fleet_dir):
    hosts, _ = discover_hosts([fleet_dir])
    outcome = train_host(HostTask(hosts[0], QUICK.to_json(), FleetOptions(memory_budget=50_000)))
    assert outcome.run is None and "memory budget" in outcome.error and not outcome.invalid_data


def test_a_worker_reads_the_same_files_once_for_consecutive_tasks_and_skips_unasked_reports(fleet_dir, monkeypatch):
    reads = []

    def counting(*args, **kwargs):
        reads.append(args[0])
        return load_telemetry(*args, **kwargs)

    fleet_module._load_files.cache_clear()
    monkeypatch.setattr(fleet_module, "load_telemetry", counting)
    hosts, _ = discover_hosts([fleet_dir])
    smaller = replace(QUICK, stack=replace(QUICK.stack, cv=replace(QUICK.stack.cv, n_splits=2)))
    first, second = (train_host(HostTask(hosts[0], config.to_json(), FleetOptions(), report=False))
                     for config in (QUICK, smaller))
    assert first.run is not None and second.run is not None and len(reads) == 1  # a sweep's runs of one host
    assert first.report == "" and second.run.config.stack.cv.n_splits == 2
    train_host(HostTask(hosts[1], QUICK.to_json(), FleetOptions(), report=False))
    assert len(reads) == 2  # another host's files are read
    fleet_module._load_files.cache_clear()
