"""What-if glue: which twin is asked (a run of this session or a saved one), whether it fits the current data,
and the question itself with the library's warnings and refusals kept as messages."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import streamlit as st

from twin_core.errors import TwinError
from twin_core.runs import TwinModel
from twin_core.telemetry import Telemetry
from twin_core.whatif import Scenario, WhatIfAnswer, ask
from ui import store as run_store
from ui.state import Run

LOADED = "whatif_loaded_twins"


@dataclass(frozen=True)
class Twin:
    """A trained twin and, in words, which run it is and what it was trained on."""

    key: str
    model: TwinModel = field(repr=False)
    name: str
    trained_on: str
    fingerprint: str


@dataclass(frozen=True)
class Asked:
    """One question put to a twin: the answer, or why there is none, and the library's warnings."""

    twin: Twin
    data_label: str
    answer: WhatIfAnswer | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None


def session_twin(run: Run) -> Twin:
    """The twin of a finished run of this browser session."""
    result = run.result
    counts = result.split.counts()
    return Twin(f"session:{run.label}", result.model, f"run **{run.label}** of this session",
                f"{run.data_label}, {counts['train']:,} training rows; hold-out: {result.split.description}",
                result.data_fingerprint)


def saved_twin(run_id: str, label: str, created_at: str) -> Twin:
    """The twin of a saved run, loaded once per browser session (its signature is verified); raises TwinError."""
    loaded = st.session_state.setdefault(LOADED, {})
    if run_id not in loaded:
        store = run_store.open_store()
        metrics = store.metrics(run_id)
        loaded[run_id] = Twin(
            f"saved:{run_id}", store.load_model(run_id), f"saved run **{label}** (`{run_id}`, saved {created_at} UTC)",
            f"data {metrics['data_fingerprint'][:12]}, {metrics['rows']['train']:,} training rows; "
            f"hold-out: {metrics['split']['description']}", metrics["data_fingerprint"])
    return loaded[run_id]


def input_cores(model: TwinModel, telemetry: Telemetry) -> list[str]:
    """The cores of the current data a scenario may edit: all but the twin's target."""
    return [core for core in telemetry.core_columns if core != model.target]


def ask_twin(twin: Twin, telemetry: Telemetry, data_label: str, scenario: Scenario) -> Asked:
    """Ask the twin about the scenario on the current data; a refused scenario becomes a message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            answer = ask(twin.model, telemetry, scenario)
        except TwinError as exc:
            return Asked(twin, data_label, error=str(exc))
    return Asked(twin, data_label, answer, tuple(dict.fromkeys(str(w.message) for w in caught)))
