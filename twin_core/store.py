"""Runs kept in an embedded SQLite database, with signed artifacts that run no code, to compare across days.

A run's config, metrics and summary live in the database; its fitted twin (`twin_core.artifacts`: LightGBM model
text, coefficients in JSON, skops files with a trusted-types list; never a pickle) and its hold-out predictions
live as files in a folder beside it. The SHA-256 of every file is recorded in the run's row and signed with an
HMAC (SHA-256) under the store's key and the run id: a file edited, copied in from elsewhere or moved to another
run is refused. The key comes from $TWIN_STORE_KEY or a key file beside the database, readable by its owner only.

Faults: a save writes its files into a temporary folder, renames it into place and only then commits the row,
so a kill at any instant leaves either no run or a complete one (leftover folders are never listed and are
removed by a later save); a damaged or 0-byte database is one StoreError; reading never creates a store.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import pandas as pd

import twin_core
from twin_core.artifacts import FORMAT_VERSION, decode_model, encode_model
from twin_core.config import RunConfig
from twin_core.errors import ArtifactSignatureError, StoreError
from twin_core.evaluate import REFERENCE_BY_KIND, Evaluation, grouped_scores, model_key
from twin_core.runs import FinishedRun, TwinModel, predictions_frame
from twin_core.telemetry import SESSION, WORKLOAD

__all__ = ["ArtifactSignatureError", "KeptRun", "RunStore", "StoreError", "default_store_path"]

STORE_ENV = "TWIN_STORE"
KEY_ENV = "TWIN_STORE_KEY"
DEFAULT_STORE = Path("runs") / "studio.sqlite"
SCHEMA_VERSION = 5  # 3 added the twin's kind, 4 the fleet and host and the data's size, 5 the sweep; older stores
# (from 2) gain the columns on opening, old runs being 'reconstruction' twins of no fleet nor sweep whose data size was
# not recorded
_UPGRADES = {  # the statements that take a store from each version to the next, run in one transaction
    2: ("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'reconstruction'",),
    3: ("ALTER TABLE runs ADD COLUMN fleet TEXT", "ALTER TABLE runs ADD COLUMN host TEXT",
        "ALTER TABLE runs ADD COLUMN data_rows INTEGER", "ALTER TABLE runs ADD COLUMN data_sessions INTEGER",
        "CREATE INDEX IF NOT EXISTS runs_by_fleet ON runs (fleet, host)"),
    4: ("ALTER TABLE runs ADD COLUMN sweep TEXT", "CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep)"),
}
_UPGRADE_GAINS = {2: "a column for the twin's kind", 3: "columns for the fleet and host of a run and its data's size",
                  4: "a column for the sweep of a run"}
PREDICTIONS = "predictions.parquet"
ORPHAN_SECONDS = 3600  # a folder without a row this old is left over from a crash (a save takes seconds)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    label TEXT NOT NULL,
    preset TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'reconstruction',
    fleet TEXT,
    host TEXT,
    sweep TEXT,
    data_rows INTEGER,
    data_sessions INTEGER,
    data_fingerprint TEXT NOT NULL,
    leaky INTEGER NOT NULL,
    split TEXT NOT NULL,
    best_layer INTEGER,
    best_name TEXT,
    best_r2_holdout REAL,
    identity_r2_holdout REAL,
    train_seconds REAL,
    config_json TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    format_version INTEGER NOT NULL,
    library_version TEXT NOT NULL,
    files_json TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_data ON runs (data_fingerprint, created_at);
CREATE INDEX IF NOT EXISTS runs_by_fleet ON runs (fleet, host);
CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep);
"""
_SUMMARY = ["id", "created_at", "label", "preset", "target", "kind", "data_fingerprint", "leaky", "split", "best_layer",
            "best_name", "best_r2_holdout", "identity_r2_holdout", "train_seconds", "fleet", "host", "sweep"]


def default_store_path() -> Path:
    """$TWIN_STORE, else runs/studio.sqlite under the working directory."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk, so a rename that follows never exposes a half-written file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(write, final: Path) -> None:
    """Create `final` complete or not at all: write a private temporary file, then hard-link it into place.

    When another process got there first, its file is kept (os.link never replaces), so every creator
    ends up reading the same complete file.
    """
    temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(temporary)
        _fsync(temporary)
        try:
            os.link(temporary, final)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


class RunStore:
    """Save, list and reload finished runs. Safe for several processes: SQLite serialises the writes.

    Opening a path where no store exists is a StoreError unless `create` is true (only training creates one).
    """

    def __init__(self, path: str | Path | None = None, *, key: bytes | None = None, create: bool = False):
        self.path = Path(path) if path is not None else default_store_path()
        self.artifacts = self.path.with_name(self.path.stem + "_artifacts")
        self.key_file = self.path.with_suffix(".key")
        self._given_key = key
        if not self.path.exists():
            if not create:
                raise StoreError(f"No run store at {self.path}; train with --store to create one.")
            self._create()
        self._check()
        if create:
            self._key(create=True)  # a writer learns about a bad key now, before it trains

    # -- opening ----------------------------------------------------------------------------------------------
    def _create(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the run store folder {self.path.parent} ({exc.strerror}).") from None

        def write(temporary: Path) -> None:
            db = sqlite3.connect(temporary)
            try:
                with db:
                    db.executescript(_SCHEMA)
                    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            finally:
                db.close()

        try:
            _publish(write, self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot create the run store {self.path} ({exc}).") from None

    def _check(self) -> None:
        """Refuse a 0-byte, damaged or foreign database, or one of another schema, with one message."""
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a run store; pass the database file (e.g. studio.sqlite).")
        if self.path.stat().st_size == 0:
            raise StoreError(f"The run store {self.path} is empty (0 bytes), so its runs are lost or it is not a run "
                             "store; move it aside and train with --store to start a new one.")
        with self._connect() as db:
            problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(problems[:3]))
            try:
                version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            except (sqlite3.OperationalError, TypeError, ValueError):
                raise StoreError(f"{self.path} is an SQLite database but not a run store; pass another path "
                                 "with --store (or $TWIN_STORE).") from None
        if version in _UPGRADES:
            self._upgrade(version)
        elif version < SCHEMA_VERSION:
            raise StoreError(
                f"The run store {self.path} has schema version {version}: its models are pickles, which this "
                "version never loads (reading one can run code). Move it aside and train with --store to start a "
                "new store.")
        if version > SCHEMA_VERSION:
            raise StoreError(f"The run store {self.path} has schema version {version}, written by a newer version; "
                             f"this version ({twin_core.__version__}) reads {SCHEMA_VERSION}. Upgrade to read it.")

    def _upgrade(self, version: int) -> None:
        """Bring a store of an older schema (2 to 4) to this one, in one transaction: every run is kept (as a
        'reconstruction' twin, the only kind before 3; in no fleet and of unrecorded data size, before 4; in no
        sweep, before 5), and a failure leaves the store as it was. Another process may have upgraded it since the
        version was read: the version is read again inside the transaction."""
        with self._connect() as db:
            try:
                db.execute("BEGIN IMMEDIATE")  # sqlite3 runs DDL outside a transaction unless one is begun
                version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
                for step in range(version, SCHEMA_VERSION):
                    for statement in _UPGRADES[step]:
                        db.execute(statement)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            except sqlite3.OperationalError as exc:
                gains = " and ".join(_UPGRADE_GAINS[step] for step in range(version, SCHEMA_VERSION))
                raise StoreError(f"The run store {self.path} has schema version {version} and must gain {gains}, but "
                                 f"cannot be changed ({exc}); open it once with write access to upgrade it (no run is "
                                 "lost).") from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction; any SQLite failure becomes one StoreError that says what to do."""
        try:
            # mode=rw: SQLite never creates a database here (an empty file would pass for an empty store)
            db = sqlite3.connect(self.path.resolve().as_uri() + "?mode=rw", uri=True, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"The run store {self.path} cannot be opened ({exc}).") from None
        try:
            with db:
                yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"The run store {self.path} is damaged or unreadable ({exc}). Move it aside (keep a "
                             "copy) and train with --store to start a new one.") from None
        finally:
            db.close()

    # -- the key ----------------------------------------------------------------------------------------------
    def _key(self, create: bool = False) -> bytes:
        """The signing key: given, else $TWIN_STORE_KEY, else the key file (created only by a writer)."""
        if self._given_key is not None:
            if not self._given_key.strip():
                raise StoreError("The run store key given is empty; pass a long random key.")
            return self._given_key
        if KEY_ENV in os.environ:
            if not os.environ[KEY_ENV].strip():
                raise StoreError(f"${KEY_ENV} is set but empty; unset it (the key file {self.key_file} is then "
                                 "used) or set it to a long random value.")
            return os.environ[KEY_ENV].strip().encode()
        if not self.key_file.exists():
            if not create:
                raise StoreError(f"The key file {self.key_file} of the run store is missing, so its runs cannot be "
                                 f"verified; restore it from a backup or set ${KEY_ENV}.")
            _publish(lambda temporary: _write_private(temporary, secrets.token_hex(32)), self.key_file)
        mode = self.key_file.stat().st_mode & 0o777
        if os.name == "posix" and mode & 0o077:
            raise StoreError(f"The key file {self.key_file} can be read by other users (mode {mode:o}); run "
                             f"`chmod 600 {self.key_file}` and try again.")
        key = self.key_file.read_bytes().strip()
        if not key:
            raise StoreError(f"The key file {self.key_file} is empty, so no run can be signed or verified; restore "
                             "it from a backup, or move the store and its key aside and train with --store to start "
                             "a new one.")
        return key

    def _sign(self, run_id: str, payload: bytes, *, create: bool = False) -> str:
        return hmac.new(self._key(create), run_id.encode() + b"\0" + payload, hashlib.sha256).hexdigest()

    # -- writing ----------------------------------------------------------------------------------------------
    def save(self, result: FinishedRun, label: str | None = None, *, fleet: str | None = None,
             host: str | None = None, sweep: str | None = None) -> str:
        """Keep a finished run, all or nothing; returns its id (time-ordered, unique). A run of a fleet carries the
        fleet's id and its host's name, a run of a sweep the sweep's id, so either can be listed; the data's size is
        kept when the run knows it (a TrainResult does), so a kept run can be opened as a result again."""
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        files = encode_model(result.model)  # refuses models it cannot keep before anything is written
        buffer = io.BytesIO()
        predictions_frame(result).to_parquet(buffer, engine="pyarrow", index=False)
        files[PREDICTIONS] = buffer.getvalue()
        files_json = json.dumps({name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
                                sort_keys=True)
        metrics = result.metrics
        best = metrics["best"]
        row = {
            "id": run_id, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "label": label or result.config.name, "preset": result.config.name, "target": result.target,
            "kind": result.config.kind, "fleet": fleet, "host": host, "sweep": sweep,
            "data_rows": getattr(result, "data_rows", None), "data_sessions": getattr(result, "data_sessions", None),
            "data_fingerprint": result.data_fingerprint, "leaky": int(result.config.leaky),
            "split": result.split.description, "best_layer": best["layer"], "best_name": best["name"],
            "best_r2_holdout": best["r2_holdout"],
            "identity_r2_holdout": metrics["baselines"].get("identity", {}).get("r2_holdout"),  # none if behavioural
            "train_seconds": metrics["seconds"].get("train"),
            "config_json": result.config.to_json(), "metrics_json": json.dumps(metrics),
            "format_version": FORMAT_VERSION, "library_version": twin_core.__version__,
            "files_json": files_json, "signature": self._sign(run_id, files_json.encode(), create=True),
        }
        staging = self.artifacts / f".tmp-{run_id}"
        for name, data in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            _fsync(target)
        os.rename(staging, self.artifacts / run_id)
        _fsync(self.artifacts)
        with self._connect() as db:  # the run exists from this commit on, with all its files already in place
            db.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))
        self._remove_leftovers()
        return run_id

    def delete(self, run_id: str) -> None:
        """Forget a run and remove its files (the row goes first: a kill in between leaves only a leftover)."""
        self._row(run_id, "id")
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.artifacts / run_id, ignore_errors=True)
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Remove artifact folders an interrupted save or delete left without a row (older than ORPHAN_SECONDS)."""
        if not self.artifacts.is_dir():
            return
        with self._connect() as db:
            kept = {row[0] for row in db.execute("SELECT id FROM runs")}
        cutoff = time.time() - ORPHAN_SECONDS
        for entry in self.artifacts.iterdir():
            if entry.name not in kept and entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)

    # -- reading ----------------------------------------------------------------------------------------------
    def list(self, data_fingerprint: str | None = None, *, fleet: str | None = None,
             sweep: str | None = None) -> pd.DataFrame:
        """One row per kept run, newest first; only runs on the given data when a fingerprint is passed, only the
        runs of one fleet or one sweep when its id is."""
        query = f"SELECT {', '.join(_SUMMARY)} FROM runs"
        params: tuple = ()
        where = {column: value for column, value in
                 (("data_fingerprint", data_fingerprint), ("fleet", fleet), ("sweep", sweep)) if value}
        if where:
            query += " WHERE " + " AND ".join(f"{column} = ?" for column in where)
            params = tuple(where.values())
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, rowid DESC", params).fetchall()
        frame = pd.DataFrame(rows, columns=_SUMMARY)
        frame["leaky"] = frame["leaky"].astype(bool)
        return frame

    def fleets(self) -> pd.DataFrame:
        """One row per fleet kept in the store (id, when its first run was kept, hosts, configuration), newest first."""
        query = ("SELECT fleet, MIN(created_at) AS created_at, COUNT(*) AS hosts, MIN(preset) AS preset FROM runs "
                 "WHERE fleet IS NOT NULL GROUP BY fleet ORDER BY MIN(created_at) DESC, fleet DESC")
        with self._connect() as db:
            rows = db.execute(query).fetchall()
        return pd.DataFrame(rows, columns=["fleet", "created_at", "hosts", "preset"])

    def sweeps(self) -> pd.DataFrame:
        """One row per sweep kept in the store (id, when its first run was kept, runs), newest first."""
        query = ("SELECT sweep, MIN(created_at) AS created_at, COUNT(*) AS runs FROM runs WHERE sweep IS NOT NULL "
                 "GROUP BY sweep ORDER BY MIN(created_at) DESC, sweep DESC")
        with self._connect() as db:
            rows = db.execute(query).fetchall()
        return pd.DataFrame(rows, columns=["sweep", "created_at", "runs"])

    def _row(self, run_id: str, columns: str) -> tuple:
        with self._connect() as db:
            row = db.execute(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"No run '{run_id}' in {self.path}; see `runs list` for the kept runs.")
        return row

    def metrics(self, run_id: str) -> dict:
        """The run's metrics.json as it was saved."""
        return self._parsed_metrics(run_id, self._row(run_id, "metrics_json")[0])

    def metrics_of(self, run_ids: list[str]) -> list[dict]:
        """The metrics.json of several runs, in the order given, read in one query (a table of saved runs shows a
        figure of each on every rerun)."""
        with self._connect() as db:
            found = dict(db.execute(f"SELECT id, metrics_json FROM runs WHERE id IN ({', '.join('?' * len(run_ids))})",
                                    tuple(run_ids)).fetchall()) if run_ids else {}
        missing = [run_id for run_id in run_ids if run_id not in found]
        if missing:
            raise StoreError(f"No run '{missing[0]}' in {self.path}; see `runs list` for the kept runs.")
        return [self._parsed_metrics(run_id, found[run_id]) for run_id in run_ids]

    def _parsed_metrics(self, run_id: str, text: str) -> dict:
        try:
            return json.loads(text)
        except ValueError:
            raise StoreError(f"The metrics of run '{run_id}' in {self.path} are not valid JSON.") from None

    def config(self, run_id: str) -> RunConfig:
        """The configuration the run was trained with."""
        try:
            return RunConfig.from_json(self._row(run_id, "config_json")[0])
        except ValueError as exc:
            raise StoreError(f"The configuration of run '{run_id}' in {self.path} cannot be read ({exc}).") from None

    def _reader(self, run_id: str):
        """A function returning a file of the run, only after the signed digests and the file's own verify."""
        version, library, files_json, signature = self._row(
            run_id, "format_version, library_version, files_json, signature")
        if not isinstance(version, int) or not isinstance(files_json, str) or not isinstance(signature, str):
            raise StoreError(f"The row of run '{run_id}' in {self.path} is damaged; delete the run and train it again.")
        if version > FORMAT_VERSION:
            raise StoreError(f"Run '{run_id}' was saved in model format {version} by Digital Twin Studio {library}; "
                             f"this version ({twin_core.__version__}) reads format {FORMAT_VERSION}. Upgrade to "
                             "load it.")
        if not hmac.compare_digest(self._sign(run_id, files_json.encode()), signature):
            raise ArtifactSignatureError(
                f"The files of run '{run_id}' do not carry this store's signature (changed, copied from elsewhere, "
                "or signed with another key); nothing was loaded.")
        digests = json.loads(files_json)
        folder = self.artifacts / run_id

        def read(name: str) -> bytes:
            if name not in digests:
                raise ArtifactSignatureError(f"Run '{run_id}' refers to a file '{name}' it never signed; "
                                             "nothing was loaded.")
            path = folder / name
            if not path.is_file():
                raise StoreError(f"The file {path} of run '{run_id}' is missing; delete the run and train it again.")
            data = path.read_bytes()
            if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), digests[name]):
                raise ArtifactSignatureError(
                    f"The file {path} of run '{run_id}' changed since it was saved; it was not loaded.")
            return data

        return read

    def predictions(self, run_id: str) -> pd.DataFrame:
        """The run's hold-out predictions, checked against the signed digest recorded when it was saved."""
        data = self._reader(run_id)(PREDICTIONS)
        try:
            return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
        except (OSError, ValueError) as exc:
            raise StoreError(f"The predictions of run '{run_id}' cannot be read ({exc}).") from None

    def load_model(self, run_id: str) -> TwinModel:
        """The run's fitted twin, read from files that run no code, after every signature verifies."""
        return decode_model(self._reader(run_id), f"run '{run_id}'")

    def kept_run(self, run_id: str) -> KeptRun:
        """A kept run as a finished run again (scores, hold-out predictions, its twin on demand), to open it in the
        app's result views; a run kept before runs recorded their data's size (schema 4) cannot be."""
        rows, sessions = self._row(run_id, "data_rows, data_sessions")
        if rows is None or sessions is None:
            raise StoreError(f"Run '{run_id}' was kept before runs recorded the size of their data, so it cannot be "
                             "opened as a result; compare it on the Compare page, or train it again.")
        metrics, config = self.metrics(run_id), self.config(run_id)
        evaluation = _kept_evaluation(metrics, self.predictions(run_id))
        split = metrics["split"]
        return KeptRun(config=config, target=metrics["target"], data_fingerprint=metrics["data_fingerprint"],
                       split=KeptSplit(split["kind"], split.get("gap_rows", 0), split["description"], split["leaky"],
                                       metrics["rows"]),
                       evaluation=evaluation, seconds=dict(metrics["seconds"]), notes=list(metrics["notes"]),
                       data_rows=int(rows), data_sessions=int(sessions), metrics=metrics,
                       _load_model=lambda: self.load_model(run_id))


@dataclass(frozen=True)
class KeptSplit:
    """What a kept run still knows of its hold-out: how it was chosen and how many rows each part had."""

    kind: str
    gap_rows: int
    description: str
    leaky: bool
    rows: dict[str, int]
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """Rows of training, purge gap and hold-out, as HoldoutSplit.counts gives them."""
        return dict(self.rows)


@dataclass
class KeptRun:
    """A run read back from the store in the shape of a finished run, so the app's result views can show it: the
    scores come from its metrics.json, the per-session and per-workload tables are recomputed from its kept
    hold-out predictions, and its twin is loaded (signatures checked) only when a view asks for it."""

    config: RunConfig
    target: str
    data_fingerprint: str
    split: KeptSplit
    evaluation: Evaluation
    seconds: dict[str, float]
    notes: list[str]
    data_rows: int
    data_sessions: int
    metrics: dict = field(repr=False)
    _load_model: Callable[[], TwinModel] = field(repr=False)

    @property
    def cv_description(self) -> str:
        """The out-of-fold scheme in words, as it was when the run was trained."""
        return self.metrics["split"]["cv"]["description"]

    @cached_property
    def model(self) -> TwinModel:
        """The fitted twin, read from the store on first use."""
        return self._load_model()

    @property
    def core_columns(self) -> tuple[str, ...]:
        """The core columns the twin was trained on."""
        return self.model.core_columns


_NUMBERS = ("r2_holdout", "mae_holdout", "rmse_holdout", "r2_oof", "mae_oof", "rmse_oof", "gain_holdout", "gain_oof",
            "coverage_holdout", "mean_width_holdout", "coverage_oof", "mean_width_oof")


def _numeric(records: list[dict]) -> pd.DataFrame:
    """Records from metrics.json as a frame whose scores are numbers (null, an unmeasured score, becomes NaN)."""
    frame = pd.DataFrame.from_records(records)
    return frame.assign(**{c: pd.to_numeric(frame[c]).astype(float) for c in _NUMBERS if c in frame})


def _kept_evaluation(metrics: dict, kept_predictions: pd.DataFrame) -> Evaluation:
    """The Evaluation a run was scored with, rebuilt from its metrics.json and its kept hold-out predictions."""
    predictions = kept_predictions.drop(columns=[c for c in kept_predictions
                                                 if c.startswith("residual ") or c in ("lower", "upper", "anomaly")])
    # each model's interval (runs kept since intervals) back as the columns of a fresh Evaluation's models table
    models = _numeric([{**{k: v for k, v in m.items() if k != "interval"},
                        **{k: v for k, v in m.get("interval", {}).items() if k not in ("nominal", "method")}}
                       for m in metrics["models"]])
    interval = {k: metrics["best"]["interval"][k] for k in ("nominal", "method")} if "interval" in metrics["best"] \
        else {}
    models.insert(3, "key", [model_key(layer, name) for layer, name in zip(models["layer"], models["name"])])
    baselines = _numeric([{"name": name, "label": b["label"], "r2_holdout": b["r2_holdout"],
                           "mae_holdout": b["mae_holdout"], "rmse_holdout": b["rmse_holdout"],
                           "n": int((predictions["actual"].notna() & predictions[name].notna()).sum())}
                          for name, b in metrics["baselines"].items()])
    best = {**{k: v for k, v in metrics["best"].items() if k != "interval"},
            "key": model_key(metrics["best"]["layer"], metrics["best"]["name"])}
    best = {k: (float("nan") if v is None else v) for k, v in best.items()}
    reference = REFERENCE_BY_KIND[metrics["kind"]]
    return Evaluation(models=models, baselines=baselines, layer_gain=_numeric(metrics["layer_gain"]),
                      by_session=grouped_scores(predictions, SESSION, best["key"], reference),
                      by_workload=grouped_scores(predictions, WORKLOAD, best["key"], reference),
                      predictions=predictions, best=best, target=metrics["target"], kind=metrics["kind"],
                      kind_sentence=metrics["kind_sentence"], interval=interval)


def _write_private(path: Path, text: str) -> None:
    """Write a new file readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
