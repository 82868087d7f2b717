"""The run store as the app uses it: where it is, keeping a finished run, and saved runs read back to compare.

Store failures never break a page: they come back as messages (a run that could not be kept stays in the session).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from twin_core.config import RunConfig
from twin_core.errors import TwinError
from twin_core.evaluate import model_key
from twin_core.runs import FinishedRun
from twin_core.store import RunStore, default_store_path
from ui import state
from ui.state import Run

STORE_FAILURES = (TwinError, OSError, sqlite3.Error)


@dataclass(frozen=True)
class ComparedRun:
    """What the Compare page needs of a run, whether of this session or read back from the store; `key` names the
    run itself, whatever label it is shown under: the store and id of a kept run (a run of this session that was kept
    is the same run as the one read back, so what is worked out for one serves the other), else its session key."""

    label: str
    data: str
    config: RunConfig
    metrics: dict = field(repr=False)
    predictions: pd.DataFrame = field(repr=False)
    key: str

    @property
    def best_key(self) -> str:
        """Model key (`L<layer>:<name>`) of the run's best model by out-of-fold R²."""
        return model_key(self.metrics["best"]["layer"], self.metrics["best"]["name"])

    @property
    def kind(self) -> str:
        """The twin's kind (TWIN_KINDS): what question its scores answer."""
        return self.config.kind

    @property
    def fingerprint(self) -> str:
        """Content hash of the telemetry the run was trained on."""
        return self.metrics["data_fingerprint"]

    @property
    def split(self) -> str:
        """How the run's hold-out was chosen."""
        return self.metrics["split"]["description"]


def path() -> Path:
    """Where the store lives ($TWIN_STORE or runs/studio.sqlite)."""
    return default_store_path()


def exists() -> bool:
    """Whether a store has been created yet (only keeping a run creates one)."""
    return path().exists()


def open_store() -> RunStore:
    """The existing store, for reading and deleting; raises a TwinError when there is none or it cannot be used."""
    return RunStore(path())


def caption() -> str:
    """One line for the sidebar: the store's file name (its whole path would break mid-word in the narrow sidebar)
    and how many runs it holds (nothing is created to say so)."""
    if not exists():
        return f"Run store: `{path().name}` · no runs yet"
    try:
        count = len(open_store().list())
    except STORE_FAILURES as exc:
        return f"Run store: `{path().name}` cannot be read ({exc})"
    return f"Run store: `{path().name}` · {count} run{'s' if count != 1 else ''}"


def path_help() -> str:
    """The store's whole path, for a tooltip: the page body names only its file (a temporary path reads as noise)."""
    return f"The file that keeps finished runs: {path()}"


def save(result: FinishedRun, label: str) -> tuple[str | None, str | None]:
    """Keep a finished run: (run id, None), or (None, why it could not be kept)."""
    try:
        return RunStore(path(), create=True).save(result, label), None
    except STORE_FAILURES as exc:
        return None, str(exc)


def open_kept(run_id: str, name: str, data_label: str) -> None:
    """Make a kept run the active run of this session, read from the store once: opened again, the same run is made
    active rather than added twice. Raises the store's error when it cannot be read."""
    opened = next((run for run in state.runs() if run.stored_as == run_id), None)
    if opened is None:
        opened = Run(state.unique_label(name), open_store().kept_run(run_id), data_label, stored_as=run_id)
        state.add_run(opened)
    st.session_state[state.ACTIVE_RUN] = opened.label


def from_session(run: Run, label: str | None = None) -> ComparedRun:
    """A run of this session in the form the store gives back (shown as `label`, by default its own)."""
    result = run.result
    key = f"session:{run.key}" if run.stored_as is None else _saved_key(str(path()), run.stored_as)
    return ComparedRun(label or run.label, run.data_label, result.config, result.metrics,
                       result.evaluation.predictions, key)


@st.cache_data(show_spinner="Reading the saved run…", max_entries=16)
def from_store(store_path: str, run_id: str, label: str) -> ComparedRun:
    """A saved run's config, metrics and hold-out predictions, cached on its (immutable) id; raises TwinError."""
    store = RunStore(store_path)
    metrics = store.metrics(run_id)
    return ComparedRun(label, f"data {metrics['data_fingerprint'][:12]}", store.config(run_id), metrics,
                       store.predictions(run_id), _saved_key(store_path, run_id))


def _saved_key(store_path: str, run_id: str) -> str:
    return f"saved:{run_id}@{store_path}"
