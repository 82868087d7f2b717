"""Training jobs: one per browser session, run inside the page's script with live progress and a clean cancel.

How cancel works: the Cancel button's callback sets the job's `threading.Event`; `train_twin` checks it
between fits (`should_cancel`) and raises `TrainingCancelled`. Any click makes Streamlit stop the running
script at its next progress update (also between fits); the new script run waits for the old one to let
go (`settle`) before it draws anything, so a run that did not finish is never kept or shown.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from twin_core.artifacts import check_storable
from twin_core.config import RunConfig
from twin_core.errors import ConfigError, TrainingCancelled, TwinError, UnstorableModelError
from twin_core.pipeline import train_twin
from twin_core.telemetry import Telemetry
from ui import state, store

JOB = "train_job"
REFUSED = "train_refused"
SETTLE_TIMEOUT_S = 600.0
LOG = logging.getLogger(__name__)


@dataclass
class TrainingJob:
    """One training request and what became of it: queued → running → done | cancelled | failed | interrupted."""

    label: str
    config: RunConfig
    telemetry: Telemetry
    data_label: str
    keep: bool = True
    cancel: threading.Event = field(default_factory=threading.Event)
    status: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    started: float = 0.0
    finished: float = 0.0
    error: str | None = None
    thread: int | None = None
    stored_as: str | None = None
    store_error: str | None = None

    @property
    def active(self) -> bool:
        """Queued or running: widgets that would start another run stay disabled."""
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (until it finished)."""
        if not self.started:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started


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
    """Ask the running job to stop after its current fit (Cancel button callback).

    The click itself may already have stopped the script (then the job reads 'interrupted'): it was a cancel.
    """
    job = current()
    if job is None:
        return
    job.cancel.set()
    if job.status == "interrupted":
        job.status = "cancelled"


def settle() -> None:
    """Wait until a job still running in an earlier, interrupted script run has stopped between two fits."""
    job = current()
    if job is None or job.status != "running" or job.thread == threading.get_ident():
        return
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with st.spinner("Stopping the training after its current fit…"):
        while job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
    if job.status == "running":
        job.status, job.error = "interrupted", "The training did not stop in time and was abandoned."


# The stack names every fit "layer <depth> · <model> · …" (twin_core.stack): the first one says which layer
# training starts at.
_LAYER_OF_FIT = re.compile(r"^layer (\d+) ")


class ProgressPanel:
    """Live progress of a job: overall fits, the current layer, and the current model/fold with elapsed time."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.models = [len(layer.models) for layer in job.config.stack.layers]
        self.first_layer: int | None = None  # the first layer that is trained (those below come from the cache)
        self.box = st.status(f"Training **{job.label}** on {job.data_label}…", expanded=True)
        with self.box:
            self.overall = st.progress(0.0, text="Building features and splitting the hold-out…")
            self.layer = st.progress(0.0, text=f"Layer 1 of {len(self.models)}")
            self.step = st.empty()

    def plan(self) -> list[int]:
        """Fits per layer as the run really does them: folds may have been reduced for short sessions, so the
        fits per model come from the reported total over the layers that are trained, not from the request."""
        if self.first_layer is None or not self.job.total:
            return self.job.config.stack.fits_per_layer()
        per_model = self.job.total // max(sum(self.models[self.first_layer - 1:]), 1)
        return [count * per_model for count in self.models]

    def update(self) -> None:
        """Redraw the bars from the job's counters (also a point where Streamlit may stop the script)."""
        job = self.job
        if self.first_layer is None and (found := _LAYER_OF_FIT.match(job.message)):
            self.first_layer = int(found.group(1))
        plan = self.plan()
        total = job.total or sum(plan)
        self.overall.progress(min(job.done / total, 1.0),
                              text=f"Overall: {job.done} of {total} fits · {job.elapsed:.1f} s elapsed")
        done = job.done + sum(plan[:(self.first_layer or 1) - 1])  # reused layers count as done
        before, depth = 0, 1
        for depth, fits in enumerate(plan, start=1):
            if done < before + fits or depth == len(plan):
                break
            before += fits
        fits = max(plan[depth - 1], 1)
        self.layer.progress(min((done - before) / fits, 1.0),
                            text=f"Layer {depth} of {len(plan)}: {done - before} of {fits} fits")
        self.step.caption(f"Last fit: {job.message}")

    def close(self) -> None:
        """Collapse the panel with the outcome in its label."""
        job = self.job
        if job.status == "done":
            self.box.update(label=f"Trained **{job.label}** in {job.elapsed:.1f} s", state="complete",
                            expanded=False)
        else:
            self.box.update(label=f"Training **{job.label}** {job.status}", state="error", expanded=False)


def execute(job: TrainingJob) -> None:
    """Run a queued job in this script run, drawing progress; keep the result only if every fit finished."""
    job.status, job.thread, job.started = "running", threading.get_ident(), time.perf_counter()
    panel = ProgressPanel(job)

    def on_progress(done: int, total: int, message: str) -> None:
        job.done, job.total, job.message = done, total, message
        panel.update()

    try:
        result = train_twin(job.telemetry, job.config, on_progress=on_progress, should_cancel=job.cancel.is_set,
                            cache=state.layer_cache())
    except TrainingCancelled:
        job.status = "cancelled"
    except TwinError as exc:
        job.status, job.error = "failed", str(exc)
    except Exception as exc:  # a bug: one line on the page, the traceback only in the server's log
        LOG.exception("Training job %r failed unexpectedly", job.label)
        job.status = "failed"
        job.error = (f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}. This is a bug in Digital Twin "
                     "Studio, not a problem with your data or settings: please report it with both.")
    else:
        if job.cancel.is_set():
            job.status = "cancelled"
        else:
            if job.keep:  # a store failure is only a message: the run is kept in the session either way
                job.stored_as, job.store_error = store.save(result, job.label)
            state.add_run(state.Run(job.label, result, job.data_label, job.stored_as))
            job.status = "done"
    finally:
        if job.status == "running":  # the script was stopped by a rerun between two fits
            job.status = "cancelled" if job.cancel.is_set() else "interrupted"
        job.finished = time.perf_counter()
    panel.close()
