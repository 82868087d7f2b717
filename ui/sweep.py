"""The Sweep page's parts: a grid chosen or edited as JSON, its runs trained one after another on the loaded data
with one progress bar and a clean cancel (as ui.training runs a training: in the page's script, stopped between two
fits), every run kept in the run store under the sweep, and the sweeps of the store read back as ranked tables.

Cancel and settling work as for training (ui.jobs).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import streamlit as st

from twin_core.config import RunConfig
from twin_core.engine import open_engine, scheduler_address
from twin_core.store import RunStore
from twin_core.sweep import SweepGrid, SweepRun, check_memory, expand, kept_rows, train_sweep_here
from twin_core.telemetry import Telemetry
from twin_core.wording import Gain, gain_against
from ui import jobs, state, training
from ui import store as run_store

SAMPLE_GRID = Path(__file__).resolve().parents[1] / "examples" / "sweep_quick.json"
JOB, REFUSED, CHOSEN, TEXT = "sweep_job", "sweep_refused", "sweep_choice", "sweep_grid_text"
LAYER_PREFIXES = tuple(f"L{depth}" for depth in range(1, 10))  # the table's per-layer R² columns: 'L1 hold-out'…


@dataclass
class SweepJob(jobs.Job):
    """One sweep request: its grid, its runs, its data and the runs finished so far."""

    grid: SweepGrid
    runs: list[SweepRun]
    telemetry: Telemetry
    sweep_id: str
    done: int = 0  # runs finished (trained or failed)
    failures: list[dict] = field(default_factory=list)


def sample_text() -> str:
    """The sample grid's JSON (12 runs of the quick preset), to start editing from."""
    return SAMPLE_GRID.read_text(encoding="utf-8")


def grid_from_config(config: RunConfig) -> str:
    """A starting grid (JSON) on a configuration (the Model page's): the first used feature set's core lags (two
    depths), the first LightGBM model's size (half, as is, double) and, with two layers or more, the top layer kept
    or dropped; a person edits it from there."""
    grid: dict = {"name": f"{config.name} grid", "config": config.to_dict()}
    used = config.used_feature_sets()
    if used:
        lags = used[0].core_lags
        grid["features"] = [{"feature_set": used[0].name, "field": "core_lags",
                             "values": sorted({lags, max(lags, 1) * 2})}]
    trees = [m for m in config.stack.layers[0].models if m.kind == "lightgbm"]
    if trees:
        size = int(trees[0].params.get("n_estimators", 100))
        grid["params"] = [{"layer": 1, "model": trees[0].name, "param": "n_estimators",
                           "values": sorted({max(size // 2, 1), size, size * 2})}]
    if len(config.stack.layers) > 1:
        top = config.stack.layers[-1]
        grid["layers"] = [{"layer": len(config.stack.layers),
                           "choices": {"as configured": [asdict(m) for m in top.models], "none": None}}]
    return json.dumps(grid, indent=2, default=list)


def start_from_model_page() -> None:
    """The Grid text starts again from the Model page's configuration (button callback)."""
    st.session_state[TEXT] = grid_from_config(state.config())


def parse(text: str) -> tuple[SweepGrid, list[SweepRun]]:
    """A grid's text and its runs; raises ConfigError naming the field."""
    grid = SweepGrid.from_json(text)
    return grid, expand(grid)


def current() -> SweepJob | None:
    """This session's latest sweep."""
    return st.session_state.get(JOB)


def is_active() -> bool:
    """Whether a sweep (or a training) is queued or running in this session: one at a time."""
    job = current()
    return (job is not None and job.active) or training.is_active()


def refusal() -> str | None:
    """Why the last Run click was refused, if it was."""
    return st.session_state.get(REFUSED)


def request() -> None:
    """Queue the grid being edited on the active data, or record why it is refused (Run button callback): an invalid
    grid, a sweep that would pass the memory budget, or a store that cannot keep its runs. The text is read here, not
    passed in: an edit committed by the same click is the one that runs."""
    st.session_state[REFUSED] = None
    if is_active():
        return
    # set it again: the grid is drawn disabled while the sweep runs, and Streamlit drops a disabled widget's value
    # unless it was set through session state
    text = st.session_state[TEXT] = st.session_state[TEXT]
    telemetry = state.telemetry()
    try:
        grid, runs = parse(text)
        check_memory(runs, telemetry, at_once=1)
        RunStore(run_store.path(), create=True)
    except run_store.STORE_FAILURES as exc:
        st.session_state[REFUSED] = str(exc)
        return
    sweep_id = datetime.now(timezone.utc).strftime("sweep-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    st.session_state[JOB] = SweepJob(grid, runs, telemetry, sweep_id)


def request_cancel() -> None:
    """Ask the running sweep to stop after its current fit (Cancel button callback)."""
    jobs.request_cancel(current())


def settle() -> None:
    """Wait until a sweep still running in an earlier, interrupted script run has stopped between two fits."""
    jobs.settle(current(), "sweep")


def execute(job: SweepJob) -> None:
    """Run a queued sweep in this script run under one progress bar over its runs, keeping each finished run in the
    store under the sweep; a cancel stops between two fits and keeps the runs already finished."""
    total = len(job.runs)
    bar = st.progress(0.0, text=f"Sweep **{job.grid.name}**: 0 of {total} runs")
    store = RunStore(run_store.path(), create=True)

    def on_progress(done: int, fits: int, message: str) -> None:
        share = (job.done + done / max(fits, 1)) / total
        bar.progress(min(share, 1.0), text=f"Sweep **{job.grid.name}**: {job.done} of {total} runs · run "
                                           f"{job.done + 1}: {message} · {job.elapsed:.0f} s")

    with jobs.running(job, f"sweep {job.grid.name!r}"):
        with open_engine("dask" if scheduler_address() else "local") as engine:
            for outcome in train_sweep_here(job.runs, job.telemetry, should_cancel=job.cancel.is_set,
                                            engine=engine, on_progress=on_progress):
                if outcome.result is None:
                    job.failures.append({"run": outcome.run.name, "error": outcome.error})
                else:
                    store.save(outcome.result, outcome.run.name, sweep=job.sweep_id)
                job.done += 1
                on_progress(0, 1, f"{outcome.run.name} {'failed' if outcome.result is None else 'kept'}")
        job.status = "cancelled" if job.cancel.is_set() else "done"
    if job.done:
        st.session_state[CHOSEN] = job.sweep_id  # the table below shows the sweep just run


def sweeps() -> pd.DataFrame:
    """The sweeps kept in the run store, newest first (empty when there is no store yet); raises a store failure."""
    if not run_store.exists():
        return pd.DataFrame(columns=["sweep", "created_at", "runs"])
    return run_store.open_store().sweeps()


def rows(sweep_id: str) -> list[dict]:
    """A kept sweep's table lines (sweep.kept_rows), each with its run id."""
    return kept_rows(run_store.open_store(), sweep_id)


def open_run(run_id: str, name: str) -> None:
    """Make a kept run of a sweep the active run of this session, so Results shows it (its data named by fingerprint
    when it is not the loaded data)."""
    fingerprint = run_store.open_store().metrics(run_id)["data_fingerprint"]
    same = fingerprint == state.telemetry().fingerprint
    run_store.open_kept(run_id, name, state.data_label() if same else f"data {fingerprint[:12]}")


def compare_with(winner_id: str, run_id: str) -> None:
    """Preselect the winner as Run A and another run as Run B on the Compare page's saved-runs tab (every saved
    run listed, so runs of a sweep on other data are offered too)."""
    st.session_state["saved_only_current"] = False
    st.session_state["saved_a"] = f"saved:{winner_id}"
    st.session_state["saved_b"] = f"saved:{run_id}"


def gain_over_baseline(best: dict | None, reference: str) -> Gain | None:
    """The winner's hold-out R² gain over its reference baseline on the same rows, as the card's delta (as Results
    shows it); None without a winner or a measured pair."""
    if best is None or best.get("r2_holdout") is None or best["baselines"].get(reference) is None:
        return None
    return gain_against(reference, best["r2_holdout"] - best["baselines"][reference])
