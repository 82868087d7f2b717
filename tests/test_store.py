"""The run store: a real SQLite database, runs kept across processes, artifacts that run no code and are refused
unless signed, keys that are never empty or shared, and faults (kills, damaged pages, empty files) that end in
either a complete run or one StoreError."""
import hashlib
import hmac
import json
import multiprocessing
import os
import pickle
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pandas.testing import assert_frame_equal
import skops.io as sio

import twin_core
from twin_core import cli
from twin_core import store as store_module
from twin_core.artifacts import MANIFEST, check_storable, encode_model
from twin_core.config import LayerSpec, ModelSpec
from twin_core.demo import make_demo_frames
from twin_core.errors import UnstorableModelError
from twin_core.models import MODEL_KINDS
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.report import build_report
from twin_core.store import ORPHAN_SECONDS, ArtifactSignatureError, RunStore, StoreError
from twin_core.telemetry import telemetry_from_frames

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"lightgbm": {"n_estimators": 15}, "histgb": {"max_iter": 15}, "extratrees": {"n_estimators": 10}}


@pytest.fixture(scope="module")
def result(demo_telemetry):
    return train_twin(demo_telemetry, get_preset("quick"))


@pytest.fixture(scope="module")
def every_kind(demo_telemetry):
    """A run with one first-layer model of every kind, fold models averaged, and the features passed through."""
    quick = get_preset("quick")
    first = LayerSpec(tuple(ModelSpec(kind, kind, SMALL.get(kind, {}), "quick") for kind in MODEL_KINDS))
    top = LayerSpec((ModelSpec("top", "ridgecv", {}),), passthrough=True)
    return train_twin(demo_telemetry, replace(quick, stack=replace(quick.stack, layers=(first, top), refit="average")))


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite", key=b"test-key", create=True)


def resign(store: RunStore, run_id: str, key: bytes, changed: dict[str, bytes]) -> None:
    """What someone holding the store's key can do: write files into a run and sign them as the store would."""
    (digests,) = sqlite3.connect(store.path).execute("SELECT files_json FROM runs WHERE id = ?", (run_id,)).fetchone()
    digests = json.loads(digests)
    for name, data in changed.items():
        (store.artifacts / run_id / name).write_bytes(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    files_json = json.dumps(digests, sort_keys=True)
    signature = hmac.new(key, run_id.encode() + b"\0" + files_json.encode(), hashlib.sha256).hexdigest()
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET files_json = ?, signature = ? WHERE id = ?", (files_json, signature, run_id))


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


def test_every_model_kind_predicts_the_same_after_loading(store, every_kind, demo_telemetry):
    run_id = store.save(every_kind)
    parts = sorted(p.suffix for p in (store.artifacts / run_id / "model").iterdir())
    assert set(parts) == {".json", ".txt", ".skops"} and ".pkl" not in parts and ".joblib" not in parts
    loaded = store.load_model(run_id)
    before, after = every_kind.model.predict_layers(demo_telemetry), loaded.predict_layers(demo_telemetry)
    assert [list(f.columns) for f in after] == [list(MODEL_KINDS), ["top"]]
    for expected, got in zip(before, after):
        assert expected.notna().any().all()
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6, atol=1e-9)
    manifest = json.loads((store.artifacts / run_id / MANIFEST).read_text())
    assert manifest["format_version"] == 1 and manifest["library_version"] == twin_core.__version__


def test_runs_are_listed_newest_first_and_by_data(store, result):
    first, second = store.save(result, "a"), store.save(result, "b")
    assert store.list()["id"].tolist() == [second, first]
    assert len(store.list(data_fingerprint=result.data_fingerprint)) == 2
    assert store.list(data_fingerprint="other").empty
    store.delete(first)
    assert store.list()["id"].tolist() == [second]
    assert not (store.artifacts / first).exists()


def test_runs_persist_in_the_database_file_across_processes(tmp_path, result):
    run_id = RunStore(tmp_path / "runs.sqlite", key=b"k", create=True).save(result)
    code = ("from twin_core.store import RunStore; import sys; "
            f"s = RunStore(sys.argv[1], key=b'k'); print(s.list()['id'].item()); s.load_model('{run_id}')")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "runs.sqlite")], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == run_id


@pytest.mark.parametrize("tamper", ["edit", "swap", "other_key"])
def test_artifacts_are_not_read_unless_signed(tmp_path, result, demo_telemetry, tamper):
    store = RunStore(tmp_path / "runs.sqlite", key=b"k", create=True)
    other = train_twin(demo_telemetry, replace(get_preset("quick"), seed=7))
    run_a, run_b = store.save(result), store.save(other)
    part = "model/L1-M0-E0.txt"
    if tamper == "edit":
        path = store.artifacts / run_a / part
        path.write_bytes(path.read_bytes().replace(b"Tree=0", b"Tree=00", 1))
    elif tamper == "swap":  # a valid model file of another run
        (store.artifacts / run_a / part).write_bytes((store.artifacts / run_b / part).read_bytes())
    else:
        store = RunStore(tmp_path / "runs.sqlite", key=b"another key")
    with pytest.raises(ArtifactSignatureError, match="(was not|nothing was) loaded"):
        store.load_model(run_a)


class _Payload:
    """Reading this object back would create the marker file: what a forged artifact tries to do."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))

    def __setstate__(self, state):
        Path(state["marker"]).write_text("the payload ran")


def _forged_pickle(marker: Path) -> bytes:
    return pickle.dumps(_Payload(str(marker)))


def _forged_skops(marker: Path) -> bytes:
    payload = object.__new__(_Payload)
    payload.__dict__["marker"] = str(marker)
    return sio.dumps({"model": payload})


@pytest.mark.parametrize("part, forge, message", [
    ("model/L1-M0-E0.txt", _forged_pickle, "damaged|train the run again"),      # LightGBM text → a pickle
    ("model/L1-M1-E0.json", _forged_pickle, "damaged|train the run again"),     # coefficients → a pickle
    (MANIFEST, _forged_pickle, "not valid JSON"),                               # the manifest → a pickle
    ("model/L1-M3-E0.skops", _forged_pickle, "not a readable skops file"),      # skops part → a pickle
    ("model/L1-M3-E0.skops", _forged_skops, "types the store does not trust"),  # skops with an untrusted type
])
def test_a_forged_artifact_signed_with_the_real_key_runs_nothing(tmp_path, every_kind, part, forge, message,
                                                                   monkeypatch):
    monkeypatch.delenv("TWIN_STORE_KEY", raising=False)
    store = RunStore(tmp_path / "runs.sqlite", create=True)
    run_id = store.save(every_kind)
    assert (store.artifacts / run_id / part).is_file()
    marker = tmp_path / "payload-ran"
    resign(store, run_id, store.key_file.read_bytes().strip(), {part: forge(marker)})
    with pytest.raises(StoreError, match=message):
        store.load_model(run_id)
    assert not marker.exists()


def test_a_run_of_a_newer_or_unknown_format_is_refused(store, result):
    run_id = store.save(result)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET format_version = 9, library_version = '7.0' WHERE id = ?", (run_id,))
    with pytest.raises(StoreError, match=r"model format 9 by Digital Twin Studio 7\.0.*Upgrade"):
        store.load_model(run_id)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET format_version = 1 WHERE id = ?", (run_id,))
    manifest = json.loads((store.artifacts / run_id / MANIFEST).read_text())
    for version, pattern in [(2, "format 2 by Digital Twin Studio"), ("1", "not in a model format this version")]:
        resign(store, run_id, b"test-key", {MANIFEST: json.dumps({**manifest, "format_version": version}).encode()})
        with pytest.raises(StoreError, match=pattern):
            store.load_model(run_id)


def test_the_metrics_of_several_runs_come_in_the_order_asked_and_a_bad_one_is_one_store_error(store, result):
    first, second = store.save(result, "a"), store.save(result, "b")
    assert store.metrics_of([second, first, second]) == [store.metrics(second), store.metrics(first),
                                                         store.metrics(second)]
    assert store.metrics_of([]) == []
    with pytest.raises(StoreError, match="No run 'nope' in .*; see `runs list`"):
        store.metrics_of([first, "nope"])
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET metrics_json = ? WHERE id = ?", ("{not json", second))
    with pytest.raises(StoreError, match=f"The metrics of run '{second}' in .* are not valid JSON"):
        store.metrics_of([first, second])


@pytest.mark.parametrize("column, value", [("format_version", "one"), ("signature", b"x"), ("files_json", b"{}")])
def test_a_damaged_run_row_is_one_store_error(store, result, column, value):
    run_id = store.save(result)
    with sqlite3.connect(store.path) as db:
        db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))
    with pytest.raises(StoreError, match=f"The row of run '{run_id}' .* is damaged"):
        store.load_model(run_id)


def test_a_store_of_the_old_pickle_schema_is_refused(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    with pytest.raises(StoreError, match="schema version 1: its models are pickles"):
        RunStore(path, key=b"k")


def test_models_that_need_a_pickle_are_refused_for_saving(every_kind):
    pretrained = replace(get_preset("quick"), stack=replace(get_preset("quick").stack, layers=(
        LayerSpec((ModelSpec("old", "pretrained", {"file": "m.joblib"}, "quick"),)),)))
    with pytest.raises(UnstorableModelError, match="Model 'old' of layer 1 is a pre-trained model"):
        check_storable(pretrained)
    check_storable(every_kind.config)
    model = replace(every_kind.model, stack=every_kind.stack.__class__([]))
    model.stack.n_features_in_ = 1
    model.stack.layers_ = [[replace(every_kind.stack.layers_[0][0], estimators=[object()])]]
    with pytest.raises(UnstorableModelError, match="is a object, which the run store cannot keep without a pickle"):
        encode_model(model)


# -- faults ---------------------------------------------------------------------------------------------------
def _save_forever(path: str, result) -> None:
    store = RunStore(path, key=b"k")
    while True:
        store.save(result)


def test_a_kill_at_any_moment_of_a_save_leaves_only_complete_runs(tmp_path, result):
    path, rng = tmp_path / "runs.sqlite", random.Random(6)
    RunStore(path, key=b"k", create=True)
    context = multiprocessing.get_context("fork")  # the child shares the trained run: no import, no training
    for _ in range(6):
        saver = context.Process(target=_save_forever, args=(str(path), result))
        saver.start()
        time.sleep(rng.uniform(0.1, 0.7))
        os.kill(saver.pid, signal.SIGKILL)
        saver.join(timeout=30)
    store = RunStore(path, key=b"k")
    listed = store.list()["id"].tolist()
    assert listed
    for run_id in listed:
        assert store.load_model(run_id).target == "cpu_util_core_0" and not store.predictions(run_id).empty
    leftovers = [p for p in store.artifacts.iterdir() if p.name not in listed]
    for folder in leftovers:  # an interrupted save is cleaned up by a later one, once it is clearly abandoned
        os.utime(folder, (time.time() - ORPHAN_SECONDS - 1,) * 2)
    store.delete(listed[-1])
    assert sorted(p.name for p in store.artifacts.iterdir()) == sorted(listed[:-1])


def test_a_damaged_page_is_one_store_error_never_an_empty_store(tmp_path, result):
    original = RunStore(tmp_path / "runs.sqlite", key=b"k", create=True)
    ids = [original.save(result, label) for label in ("a", "b", "c")]
    clean = original.path.read_bytes()
    page = sqlite3.connect(original.path).execute("PRAGMA page_size").fetchone()[0]
    rng = np.random.default_rng(3)
    refused = 0
    for number in range(len(clean) // page):
        damaged = bytearray(clean)
        damaged[number * page:(number + 1) * page] = rng.integers(0, 256, page, dtype=np.uint8).tobytes()
        original.path.write_bytes(bytes(damaged))
        try:
            store = RunStore(original.path, key=b"k")
            assert store.list()["id"].tolist() == ids[::-1]
            assert [store.metrics(i) for i in ids] == [result.metrics] * 3
        except StoreError as exc:
            assert str(original.path) in str(exc) and "new one" in str(exc)
            refused += 1
    assert refused == len(clean) // page  # every page of this small store holds data that a damage shows


@pytest.mark.parametrize("content, pattern", [
    (b"", r"is empty \(0 bytes\).*train with --store to start a new one"),
    (b"not a database" * 400, "damaged or unreadable.*Move it aside"),
])
def test_an_empty_or_foreign_database_file_is_one_store_error(tmp_path, content, pattern):
    (tmp_path / "runs.sqlite").write_bytes(content)
    with pytest.raises(StoreError, match=pattern):
        RunStore(tmp_path / "runs.sqlite", key=b"k", create=True)
    assert (tmp_path / "runs.sqlite").read_bytes() == content


def _open_new_store(path: str, start, keys) -> None:
    os.environ.pop("TWIN_STORE_KEY", None)
    start.wait()
    try:
        keys.put(RunStore(path, create=True)._key())
    except Exception as exc:  # reported to the test, which fails on it
        keys.put(repr(exc))


def test_processes_creating_a_store_at_once_all_end_with_the_same_key(tmp_path):
    context = multiprocessing.get_context("fork")
    start, keys, n = context.Barrier(12), context.Queue(), 12
    workers = [context.Process(target=_open_new_store, args=(str(tmp_path / "runs.sqlite"), start, keys))
               for _ in range(n)]
    for worker in workers:
        worker.start()
    seen = [keys.get(timeout=60) for _ in range(n)]
    for worker in workers:
        worker.join(timeout=60)
    assert len(set(seen)) == 1 and isinstance(seen[0], bytes) and len(seen[0]) == 64
    assert (tmp_path / "runs.key").read_bytes() == seen[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_key_file_is_created_private_and_reused(tmp_path, result, monkeypatch):
    monkeypatch.delenv("TWIN_STORE_KEY", raising=False)
    store = RunStore(tmp_path / "runs.sqlite", create=True)
    key_file = tmp_path / "runs.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    run_id = store.save(result)
    assert RunStore(tmp_path / "runs.sqlite").load_model(run_id).target == "cpu_util_core_0"


@pytest.mark.parametrize("env, key_text, mode, pattern", [
    ("", None, None, r"\$TWIN_STORE_KEY is set but empty"),
    ("  ", None, None, r"\$TWIN_STORE_KEY is set but empty"),
    (None, "", 0o600, r"key file .*runs\.key is empty"),
    (None, "\n", 0o600, r"key file .*runs\.key is empty"),
    (None, "secret", 0o640, r"can be read by other users \(mode 640\); run `chmod 600 .*runs\.key`"),
    (None, "secret", 0o604, r"can be read by other users \(mode 604\); run `chmod 600 .*runs\.key`"),
])
def test_a_bad_key_is_refused(tmp_path, result, monkeypatch, env, key_text, mode, pattern):
    RunStore(tmp_path / "runs.sqlite", key=b"k", create=True)
    monkeypatch.delenv("TWIN_STORE_KEY", raising=False)
    if env is not None:
        monkeypatch.setenv("TWIN_STORE_KEY", env)
    if key_text is not None:
        (tmp_path / "runs.key").write_text(key_text)
        (tmp_path / "runs.key").chmod(mode)
    with pytest.raises(StoreError, match=pattern):
        RunStore(tmp_path / "runs.sqlite", create=True)
    assert RunStore(tmp_path / "runs.sqlite").list().empty  # reading the list needs no key


@pytest.mark.parametrize("argv", [["runs", "list"], ["runs", "show", "x"], ["runs", "delete", "x"]])
def test_a_read_only_command_on_a_missing_store_creates_nothing(tmp_path, capsys, argv):
    path = tmp_path / "nowhere" / "runs.sqlite"
    assert cli.main([*argv, "--store", str(path)]) == cli.EXIT_ERROR
    assert f"No run store at {path}; train with --store to create one." in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_train_with_a_broken_store_stops_before_training(tmp_path, demo_parquet_dir, capsys):
    (tmp_path / "runs.sqlite").write_bytes(b"")
    started = time.perf_counter()
    code = cli.main(["train", str(demo_parquet_dir), "--preset", "quick", "--quiet", "--store",
                     str(tmp_path / "runs.sqlite")])
    assert code == cli.EXIT_ERROR and time.perf_counter() - started < 2
    assert "is empty (0 bytes)" in capsys.readouterr().err


def test_a_constant_target_run_lists_and_shows_with_r2_not_available(tmp_path, capsys, monkeypatch):
    frames = make_demo_frames(rows=600, cores=4, sessions=3, seed=5)
    for _, frame in frames:
        frame["cpu_util_core_0"] = 0.0  # an idle core: R² has nothing to explain
    monkeypatch.setenv("TWIN_STORE_KEY", "test-key")
    store = RunStore(tmp_path / "runs.sqlite", create=True)
    run_id = store.save(train_twin(telemetry_from_frames(frames), get_preset("quick")))
    assert cli.main(["runs", "list", "--store", str(store.path)]) == cli.EXIT_OK
    line = [row for row in capsys.readouterr().out.splitlines() if run_id in row][0]
    assert line.split().count("n/a") == 2  # best and identity R²
    assert cli.main(["runs", "show", run_id, "--store", str(store.path)]) == cli.EXIT_OK
    report = capsys.readouterr().out
    model_rows = re.findall(r"^ +[12] +\S+ +\S+ +(\S+) +(\S+) +0\.000 +0\.000$", report, flags=re.MULTILINE)
    assert model_rows == [("n/a", "n/a")] * 3  # R² hold-out and OOF of every model; MAE and RMSE still shown
    assert "'lgbm' R² hold-out n/a" in report and not re.search(r"\bnan\b", report, flags=re.IGNORECASE)


@pytest.mark.parametrize("action, exception, message", [
    (lambda s: s.metrics("nope"), StoreError, r"^No run 'nope' in .*runs\.sqlite; see `runs list` for the kept runs"),
    (lambda s: s.config("nope"), StoreError, r"^No run 'nope' in .*; see `runs list`"),
    (lambda s: s.predictions("nope"), StoreError, r"^No run 'nope' in .*; see `runs list`"),
    (lambda s: s.load_model("nope"), StoreError, r"^No run 'nope' in .*; see `runs list`"),
    (lambda s: s.delete("nope"), StoreError, r"^No run 'nope' in .*; see `runs list`"),
    (lambda s: RunStore(s.artifacts.parent), StoreError, r" is a folder, not a run store; pass the database file"),
    (lambda s: RunStore(s.path.with_name("missing.sqlite")), StoreError,
     r"^No run store at .*missing\.sqlite; train with --store to create one\.$"),
])
def test_an_unknown_run_or_a_path_that_is_no_store_is_a_store_error_saying_what_to_do(store, action, exception,
                                                                                      message):
    with pytest.raises(exception, match=message):
        action(store)


SCHEMA_4_COLUMNS = ("fleet", "host", "data_rows", "data_sessions")


def _as_old_schema(path: Path, version: int) -> None:
    """Make a store look as schema `version` wrote it: without the columns (and the indexes) added since."""
    dropped = (("kind",) if version == 2 else ()) + (SCHEMA_4_COLUMNS if version < 4 else ()) + ("sweep",)
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX runs_by_sweep")
        if version < 4:
            db.execute("DROP INDEX runs_by_fleet")
        for column in dropped:
            db.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


@pytest.mark.parametrize("version", [2, 3, 4])
def test_an_old_store_gains_the_new_columns_in_place_and_keeps_every_run(tmp_path, result, demo_telemetry, version):
    path = tmp_path / f"v{version}.sqlite"
    store = RunStore(path, key=b"k", create=True)
    run_id = store.save(result)
    _as_old_schema(path, version)
    with sqlite3.connect(path) as db:
        assert "sweep" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        assert (version < 4) == (not {"fleet", "host"} & {row[1] for row in db.execute("PRAGMA table_info(runs)")})
    reopened = RunStore(path, key=b"k")
    listed = reopened.list()
    assert listed["id"].tolist() == [run_id] and listed["kind"].tolist() == ["reconstruction"]
    assert listed[["fleet", "host", "sweep"]].isna().all().all()  # an old run belongs to no fleet nor sweep
    assert reopened.metrics(run_id) == store.metrics(run_id)
    assert reopened.load_model(run_id).predict_layers(demo_telemetry)[0].shape[0] > 0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("5",)
        assert {*SCHEMA_4_COLUMNS, "sweep"} <= {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    reopened._upgrade(version)  # as a second process that read the old version before this one upgraded: no-op
    if version < 4:
        with pytest.raises(StoreError, match="kept before runs recorded the size of their data"):
            reopened.kept_run(run_id)
    behavioural = replace(result, config=replace(result.config, kind="behavioural"))  # the row keeps what it is given
    new_id = reopened.save(behavioural, fleet="f1", host="h1", sweep="s1")
    assert reopened.list().set_index("id")["kind"].to_dict() == {run_id: "reconstruction", new_id: "behavioural"}
    assert reopened.fleets()[["fleet", "hosts"]].values.tolist() == [["f1", 1]]
    assert reopened.sweeps()[["sweep", "runs"]].values.tolist() == [["s1", 1]]


def test_an_upgrade_that_fails_midway_is_one_store_error_and_leaves_the_store_as_it_was(tmp_path, result,
                                                                                        monkeypatch):
    path = tmp_path / "v3.sqlite"
    run_id = RunStore(path, key=b"k", create=True).save(result)
    _as_old_schema(path, 3)
    # the last statement fails after the first ones ran: none of them may stay
    monkeypatch.setitem(store_module._UPGRADES, 3, (*store_module._UPGRADES[3], "ALTER TABLE missing ADD COLUMN x"))
    with pytest.raises(StoreError, match=r"schema version 3 and must gain columns for the fleet.*no run is lost"):
        RunStore(path, key=b"k")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
        assert "fleet" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    monkeypatch.undo()
    assert RunStore(path, key=b"k").list()["id"].tolist() == [run_id]


def test_runs_of_a_fleet_carry_its_id_and_host_and_are_listed_by_fleet(store, result):
    first = store.save(result, "host-a", fleet="fleet-1", host="host-a")
    second = store.save(result, "host-b", fleet="fleet-1", host="host-b")
    other = store.save(result, "host-a", fleet="fleet-2", host="host-a")
    alone = store.save(result)
    assert set(store.list(fleet="fleet-1")["id"]) == {first, second}
    assert store.list(fleet="fleet-2")[["id", "host"]].values.tolist() == [[other, "host-a"]]
    assert len(store.list()) == 4 and store.list().set_index("id").loc[alone, ["fleet", "host"]].isna().all()
    assert store.fleets().set_index("fleet")["hosts"].to_dict() == {"fleet-1": 2, "fleet-2": 1}


def test_runs_of_a_sweep_carry_its_id_and_are_listed_by_sweep(store, result):
    first = store.save(result, "a", sweep="sweep-1")
    second = store.save(result, "b", sweep="sweep-1")
    other = store.save(result, "a", sweep="sweep-2")
    alone = store.save(result)
    assert set(store.list(sweep="sweep-1")["id"]) == {first, second}
    assert store.list(sweep="sweep-2")["id"].tolist() == [other]
    assert store.list().set_index("id")["sweep"].isna()[alone]
    assert store.sweeps().set_index("sweep")["runs"].to_dict() == {"sweep-1": 2, "sweep-2": 1}


def test_a_kept_run_opens_as_the_result_it_was(store, result):
    kept = store.kept_run(store.save(result))
    for part in ("models", "baselines", "layer_gain", "by_session", "by_workload", "predictions"):
        assert_frame_equal(getattr(kept.evaluation, part), getattr(result.evaluation, part).reset_index(drop=True),
                           check_exact=False, atol=1e-6, check_dtype=False, obj=part)
    assert kept.evaluation.best["key"] == result.evaluation.best["key"]
    assert kept.split.counts() == result.split.counts() and kept.cv_description == result.cv_description
    assert (kept.data_rows, kept.data_sessions) == (result.data_rows, result.data_sessions)
    assert kept.core_columns == result.core_columns and kept.metrics == json.loads(json.dumps(result.metrics))
    assert "<!DOCTYPE html>" in build_report(kept, "kept", "demo")  # Results' download works on it too

