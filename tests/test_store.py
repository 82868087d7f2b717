"""The run store: a real SQLite database, runs kept across processes, model files refused unless signed."""
import subprocess
from dataclasses import replace
import sys

import numpy as np
import pytest

from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.store import ArtifactSignatureError, RunStore, StoreError


@pytest.fixture(scope="module")
def result(demo_telemetry):
    return train_twin(demo_telemetry, get_preset("quick"))


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite", key=b"test-key")


def test_a_saved_run_comes_back_whole(store, result, demo_telemetry):
    run_id = store.save(result, label="first look")
    listed = store.list()
    assert listed["id"].tolist() == [run_id] and listed["label"].item() == "first look"
    assert listed["best_r2_holdout"].item() == pytest.approx(result.metrics["best"]["r2_holdout"])
    assert not listed["leaky"].item() and "purge gap" in listed["split"].item()
    assert store.metrics(run_id) == result.metrics
    assert store.config(run_id) == result.config
    np.testing.assert_allclose(store.predictions(run_id)["L2:top-ridge"],
                               result.evaluation.predictions["L2:top-ridge"])
    model = store.load_model(run_id)
    np.testing.assert_allclose(model.predict_layers(demo_telemetry)[-1]["top-ridge"],
                               result.model.predict_layers(demo_telemetry)[-1]["top-ridge"])


def test_runs_are_listed_newest_first_and_by_data(store, result):
    first, second = store.save(result, "a"), store.save(result, "b")
    assert store.list()["id"].tolist() == [second, first]
    assert len(store.list(data_fingerprint=result.data_fingerprint)) == 2
    assert store.list(data_fingerprint="other").empty
    store.delete(first)
    assert store.list()["id"].tolist() == [second]
    assert not (store.artifacts / first).exists()


def test_runs_persist_in_the_database_file_across_processes(tmp_path, result):
    run_id = RunStore(tmp_path / "runs.sqlite", key=b"k").save(result)
    code = ("from twin_core.store import RunStore; import sys; "
            f"s = RunStore(sys.argv[1], key=b'k'); print(s.list()['id'].item()); s.load_model('{run_id}')")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "runs.sqlite")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == run_id


@pytest.mark.parametrize("tamper", ["edit", "swap", "other_key"])
def test_model_files_are_not_unpickled_unless_signed(tmp_path, result, demo_telemetry, tamper):
    store = RunStore(tmp_path / "runs.sqlite", key=b"k")
    other = train_twin(demo_telemetry, replace(get_preset("quick"), seed=7))
    run_a, run_b = store.save(result), store.save(other)
    if tamper == "edit":
        path = store.artifacts / run_a / "model.joblib"
        path.write_bytes(path.read_bytes() + b"\0")
    elif tamper == "swap":  # a valid model file of another run
        (store.artifacts / run_a / "model.joblib").write_bytes((store.artifacts / run_b / "model.joblib").read_bytes())
    else:
        store = RunStore(tmp_path / "runs.sqlite", key=b"another key")
    with pytest.raises(ArtifactSignatureError, match="was not loaded"):
        store.load_model(run_a)


def test_key_file_is_created_private_and_reused(tmp_path, result, monkeypatch):
    monkeypatch.delenv("TWIN_STORE_KEY", raising=False)
    store = RunStore(tmp_path / "runs.sqlite")
    key_file = tmp_path / "runs.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    run_id = store.save(result)
    assert RunStore(tmp_path / "runs.sqlite").load_model(run_id).target == "cpu_util_core_0"


def test_errors(tmp_path, store):
    with pytest.raises(StoreError, match="No run 'nope'"):
        store.metrics("nope")
    (tmp_path / "junk.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable run database"):
        RunStore(tmp_path / "junk.sqlite", key=b"k")
