"""Training jobs: one per browser session, run inside the page's script with live progress and a clean cancel
(ui.jobs says how cancel and settling work), so a run that did not finish is never kept or shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from twin_core.artifacts import check_storable
from twin_core.config import RunConfig
from twin_core.engine import SCHEDULER_ENV, open_engine, scheduler_address
from twin_core.errors import ConfigError, UnstorableModelError
from twin_core.pipeline import train_twin
from twin_core.telemetry import Telemetry
from ui import jobs, state, store

JOB = "train_job"
REFUSED = "train_refused"


@dataclass
class TrainingJob(jobs.Job):
    """One training request: its configuration, its data and the progress of its fits."""

    label: str
    config: RunConfig
    telemetry: Telemetry
    data_label: str
    keep: bool = True
    done: int = 0
    total: int = 0
    message: str = ""
    stored_as: str | None = None
    store_error: str | None = None
    plan: list[int] = field(default_factory=list)  # fits per layer: the request's until the run says its own

    def __post_init__(self) -> None:
        self.plan = self.plan or self.config.stack.fits_per_layer()

    def adopt_plan(self, plan: list[int]) -> None:
        """Take the fits per layer the run will really do (folds may be adapted to short sessions)."""
        self.plan = list(plan)


def current() -> TrainingJob | None:
    """This session's latest training job."""
    return st.session_state.get(JOB)


def is_active() -> bool:
    """Whether a training job is queued or running in this session."""
    job = current()
    return job is not None and job.active


def refusal() -> str | None:
    """Why the last Train click was refused (an invalid configuration), if it was."""
    return st.session_state.get(REFUSED)


def request(label: str, config: RunConfig, keep: bool = True) -> None:
    """Queue a run of `config` on the active data (kept in the run store when it finishes, if `keep`), or record
    why it is refused (Train button callback)."""
    st.session_state[REFUSED] = None
    if is_active():
        return
    try:
        config.validate()
        if keep:  # a run the store could not keep is refused before it trains, as `train --store` does
            check_storable(config)
    except (ConfigError, UnstorableModelError) as exc:
        st.session_state[REFUSED] = str(exc)
        return
    st.session_state[JOB] = TrainingJob(label=state.unique_label(label), config=config,
                                        telemetry=state.telemetry(), data_label=state.data_label(), keep=keep)


def request_cancel() -> None:
    """Ask the running job to stop after its current fit (Cancel button callback)."""
    jobs.request_cancel(current())


def settle() -> None:
    """Wait until a job still running in an earlier, interrupted script run has stopped between two fits."""
    jobs.settle(current(), "training")


class ProgressPanel:
    """Live progress of a job: overall fits, the current layer, and the current model/fold with elapsed time."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.box = st.status(f"Training **{job.label}** on {job.data_label}…", expanded=True)
        with self.box:
            self.overall = st.progress(0.0, text="Building features and splitting the hold-out…")
            self.layer = st.progress(0.0, text=f"Layer 1 of {len(job.plan)}")
            self.step = st.empty()

    def layer_progress(self) -> tuple[float, str]:
        """The current layer's bar: its share done and its text, on the fits per layer the run really does."""
        job, plan = self.job, self.job.plan
        done = job.done + sum(plan) - (job.total or sum(plan))  # layers reused from the cache come first, done
        before, depth = 0, 1
        for depth, fits in enumerate(plan, start=1):
            if done < before + fits or depth == len(plan):
                break
            before += fits
        fits = max(plan[depth - 1], 1)
        return min((done - before) / fits, 1.0), f"Layer {depth} of {len(plan)}: {done - before} of {fits} fits"

    def update(self) -> None:
        """Redraw the bars from the job's counters (also a point where Streamlit may stop the script)."""
        job = self.job
        total = job.total or sum(job.plan)
        self.overall.progress(min(job.done / total, 1.0),
                              text=f"Overall: {job.done} of {total} fits · {job.elapsed:.1f} s elapsed")
        share, text = self.layer_progress()
        self.layer.progress(share, text=text)
        self.step.caption(f"Last fit: {job.message}")

    def close(self) -> None:
        """Collapse the panel with the outcome in its label."""
        job = self.job
        if job.status == "done":
            self.box.update(label=f"Trained **{job.label}**", state="complete", expanded=False)
        else:
            self.box.update(label=f"Training **{job.label}** {job.status}", state="error", expanded=False)


def where_fits_run() -> str:
    """Where the app's training fits run, in words: this machine, or the Dask cluster $TWIN_DASK_SCHEDULER names."""
    address = scheduler_address()
    return (f"Fits run on the Dask cluster at {address} (${SCHEDULER_ENV})." if address
            else "Fits run on this machine.")


def execute(job: TrainingJob) -> None:
    """Run a queued job in this script run, drawing progress; keep the result only if every fit finished."""
    panel = ProgressPanel(job)

    def on_progress(done: int, total: int, message: str) -> None:
        job.done, job.total, job.message = done, total, message
        panel.update()

    with jobs.running(job, f"training of {job.label!r}"):
        with open_engine("dask" if scheduler_address() else "local") as engine:
            result = train_twin(job.telemetry, job.config, on_progress=on_progress, on_plan=job.adopt_plan,
                                should_cancel=job.cancel.is_set, cache=state.layer_cache(), engine=engine)
        if job.cancel.is_set():
            job.status = "cancelled"
        else:
            if job.keep:  # a store failure is only a message: the run is kept in the session either way
                job.stored_as, job.store_error = store.save(result, job.label)
            state.add_run(state.Run(job.label, result, job.data_label, job.stored_as))
            job.status = "done"
    panel.close()
