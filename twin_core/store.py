"""Runs kept in an embedded SQLite database, with signed model artifacts, to compare across days.

A run's config, metrics and summary live in the database; its fitted model and hold-out predictions live as
files beside it. The model file is a pickle, so it is signed with an HMAC (SHA-256) under the store's key and
the run id, and never unpickled unless the signature verifies: a file copied in from elsewhere, edited, or
moved to another run is refused. The key comes from $TWIN_STORE_KEY or a key file created beside the database.
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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import joblib
import pandas as pd

from twin_core.config import RunConfig
from twin_core.errors import TwinError, UntrustedModelError
from twin_core.runs import FinishedRun, TwinModel, predictions_frame

STORE_ENV = "TWIN_STORE"
KEY_ENV = "TWIN_STORE_KEY"
DEFAULT_STORE = Path("runs") / "studio.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    label TEXT NOT NULL,
    preset TEXT NOT NULL,
    target TEXT NOT NULL,
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
    model_signature TEXT NOT NULL,
    predictions_sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_data ON runs (data_fingerprint, created_at);
"""
_SUMMARY = ["id", "created_at", "label", "preset", "target", "data_fingerprint", "leaky", "split", "best_layer",
            "best_name", "best_r2_holdout", "identity_r2_holdout", "train_seconds"]


class StoreError(TwinError):
    """The run store cannot do what was asked (unknown run, unreadable database)."""


class ArtifactSignatureError(UntrustedModelError):
    """A stored model file does not carry this store's signature for its run: it is not unpickled."""


def default_store_path() -> Path:
    """$TWIN_STORE, else runs/studio.sqlite under the working directory."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


class RunStore:
    """Save, list and reload finished runs. Safe for several processes: SQLite serialises the writes."""

    def __init__(self, path: str | Path | None = None, *, key: bytes | None = None):
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.artifacts = self.path.with_name(self.path.stem + "_artifacts")
        self._key = key or self._load_key()
        try:
            with self._connect() as db:
                db.executescript(_SCHEMA)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable run database ({exc}).") from None
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this version reads {SCHEMA_VERSION}.")

    def _load_key(self) -> bytes:
        if os.environ.get(KEY_ENV):
            return os.environ[KEY_ENV].encode()
        key_file = self.path.with_suffix(".key")
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def _sign(self, run_id: str, payload: bytes) -> str:
        return hmac.new(self._key, run_id.encode() + b"\0" + payload, hashlib.sha256).hexdigest()

    # -- writing ----------------------------------------------------------------------------------------------
    def save(self, result: FinishedRun, label: str | None = None) -> str:
        """Keep a finished run; returns its id (time-ordered, unique)."""
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        folder = self.artifacts / run_id
        folder.mkdir(parents=True)
        buffer = io.BytesIO()
        joblib.dump(result.model, buffer)
        model_bytes = buffer.getvalue()
        (folder / "model.joblib").write_bytes(model_bytes)
        predictions_frame(result).to_parquet(folder / "predictions.parquet", engine="pyarrow", index=False)
        metrics = result.metrics
        best = metrics["best"]
        row = {
            "id": run_id, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "label": label or result.config.name, "preset": result.config.name, "target": result.target,
            "data_fingerprint": result.data_fingerprint, "leaky": int(result.config.leaky),
            "split": result.split.description, "best_layer": best["layer"], "best_name": best["name"],
            "best_r2_holdout": best["r2_holdout"],
            "identity_r2_holdout": metrics["baselines"]["identity"]["r2_holdout"],
            "train_seconds": metrics["seconds"].get("train"),
            "config_json": result.config.to_json(), "metrics_json": json.dumps(metrics),
            "model_signature": self._sign(run_id, model_bytes),
            "predictions_sha256": hashlib.sha256((folder / "predictions.parquet").read_bytes()).hexdigest(),
        }
        with self._connect() as db:
            db.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))
        return run_id

    def delete(self, run_id: str) -> None:
        """Forget a run and remove its files."""
        self._row(run_id, "id")
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.artifacts / run_id, ignore_errors=True)

    # -- reading ----------------------------------------------------------------------------------------------
    def list(self, data_fingerprint: str | None = None) -> pd.DataFrame:
        """One row per kept run, newest first; only runs on the given data when a fingerprint is passed."""
        query = f"SELECT {', '.join(_SUMMARY)} FROM runs"
        params: tuple = ()
        if data_fingerprint:
            query, params = query + " WHERE data_fingerprint = ?", (data_fingerprint,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, rowid DESC", params).fetchall()
        frame = pd.DataFrame(rows, columns=_SUMMARY)
        frame["leaky"] = frame["leaky"].astype(bool)
        return frame

    def _row(self, run_id: str, columns: str) -> tuple:
        with self._connect() as db:
            row = db.execute(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"No run '{run_id}' in {self.path}.")
        return row

    def metrics(self, run_id: str) -> dict:
        return json.loads(self._row(run_id, "metrics_json")[0])

    def config(self, run_id: str) -> RunConfig:
        return RunConfig.from_json(self._row(run_id, "config_json")[0])

    def predictions(self, run_id: str) -> pd.DataFrame:
        """The run's hold-out predictions, checked against the digest recorded when it was saved."""
        expected = self._row(run_id, "predictions_sha256")[0]
        data = (self.artifacts / run_id / "predictions.parquet").read_bytes()
        if hashlib.sha256(data).hexdigest() != expected:
            raise StoreError(f"The predictions file of run '{run_id}' changed since it was saved.")
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")

    def load_model(self, run_id: str) -> TwinModel:
        """The run's fitted twin, unpickled only after its signature verifies."""
        signature = self._row(run_id, "model_signature")[0]
        path = self.artifacts / run_id / "model.joblib"
        if not path.is_file():
            raise StoreError(f"The model file of run '{run_id}' is missing ({path}).")
        data = path.read_bytes()
        if not hmac.compare_digest(self._sign(run_id, data), signature):
            raise ArtifactSignatureError(
                f"The model file of run '{run_id}' does not carry this store's signature (changed, copied from "
                "elsewhere, or signed with another key); it was not loaded.")
        model = joblib.load(io.BytesIO(data))
        if not isinstance(model, TwinModel):
            raise ArtifactSignatureError(f"Run '{run_id}' holds a {type(model).__name__}, not a trained twin.")
        return model
