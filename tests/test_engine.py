"""Engines: a stack trained on a Dask LocalCluster gives the same scores as one trained here; errors and addresses."""
import numpy as np
import pytest

from twin_core.demo import make_demo_frames
from twin_core.engine import open_engine
from twin_core.errors import ConfigError
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.telemetry import telemetry_from_frames


def _square_unless_three(value: int) -> int:
    if value == 3:
        raise ValueError("three is refused")
    return value * value


@pytest.fixture(scope="module")
def cluster():
    with open_engine("dask", workers=2) as engine:
        yield engine


def test_a_quick_stack_on_a_two_worker_local_cluster_gives_the_same_metrics_as_here(cluster):
    telemetry = telemetry_from_frames(make_demo_frames(rows=4000, cores=4, sessions=4, seed=5))
    here = train_twin(telemetry, get_preset("quick"))
    there = train_twin(telemetry, get_preset("quick"), engine=cluster)
    assert cluster.workers == 2 and "local Dask cluster" in cluster.describe()
    for mine, theirs in zip(here.metrics["models"], there.metrics["models"], strict=True):
        assert (mine["name"], mine["r2_holdout"], mine["r2_oof"]) == (theirs["name"], theirs["r2_holdout"],
                                                                      theirs["r2_oof"])
    np.testing.assert_array_equal(here.evaluation.predictions.to_numpy(), there.evaluation.predictions.to_numpy())


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_map_unordered_reports_each_result_and_each_error_by_index(kind, cluster):
    items = [1, 2, 3, 4]

    def run(engine):
        return sorted((i, r, type(e).__name__ if e else None) for i, r, e in engine.map_unordered(
            _square_unless_three, items))

    if kind == "dask":
        outcomes = run(cluster)
    else:
        with open_engine("local", workers=2) as engine:
            outcomes = run(engine)
    assert outcomes == [(0, 1, None), (1, 4, None), (2, None, "ValueError"), (3, 16, None)]


def test_unknown_engines_and_unreachable_schedulers_are_one_message(monkeypatch):
    with pytest.raises(ConfigError, match="Unknown engine 'spark'; use one of local, dask"):
        with open_engine("spark"):
            pass
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"Cannot reach the Dask scheduler at tcp://127.0.0.1:9: .*unset "
                                          r"\$TWIN_DASK_SCHEDULER"):
        with open_engine("dask"):
            pass


@pytest.mark.parametrize("address", ["notanaddress", "http://x", "tcp://:", "::::", "inproc://x", "ucx://x:1"])
def test_a_scheduler_address_distributed_cannot_parse_is_one_message(address):
    with pytest.raises(ConfigError, match=r"is not a Dask scheduler address .*tcp://HOST:8786"):
        with open_engine("dask", address):
            pass


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_workers_beyond_the_limit_are_refused_before_any_process_starts(kind):
    with pytest.raises(ConfigError, match=r"--workers: .* from 1 to 256, got 100000"):
        with open_engine(kind, workers=100_000):
            pass
