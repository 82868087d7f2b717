"""Jobs a page runs inside its own script (a training, a sweep): one per browser session, with a clean cancel.

How cancel works: the Cancel button's callback sets the job's `threading.Event`; the work checks it between fits
(`should_cancel`) and raises `TrainingCancelled`. Any click makes Streamlit stop the running script at its next
progress update (also between fits); the new script run waits for the old one to let go (`settle`) before it draws
anything, so work that did not finish is never kept or shown.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import streamlit as st

from twin_core.errors import TrainingCancelled, TwinError

SETTLE_TIMEOUT_S = 600.0
LOG = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Job:
    """A request and what became of it: queued → running → done | cancelled | failed | interrupted."""

    cancel: threading.Event = field(default_factory=threading.Event)
    status: str = "queued"
    error: str | None = None
    thread: int | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def active(self) -> bool:
        """Queued or running: widgets that would start another stay disabled."""
        return self.status in ("queued", "running")

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (until it finished)."""
        if not self.started:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started


def request_cancel(job: Job | None) -> None:
    """Ask a running job to stop after its current fit (a Cancel button's callback). The click itself may already
    have stopped the script (then the job reads 'interrupted'): it was a cancel."""
    if job is None:
        return
    job.cancel.set()
    if job.status == "interrupted":
        job.status = "cancelled"


def settle(job: Job | None, what: str) -> None:
    """Wait until a job still running in an earlier, interrupted script run has stopped between two fits."""
    if job is None or job.status != "running" or job.thread == threading.get_ident():
        return
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with st.spinner(f"Stopping the {what} after its current fit…"):
        while job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
    if job.status == "running":
        job.status, job.error = "interrupted", f"The {what} did not stop in time and was abandoned."


@contextmanager
def running(job: Job, what: str) -> Iterator[None]:
    """Run a job's work in this script run: a cancel, one of our errors or a bug ends it as one line on the page (a
    bug's traceback only in the server's log); the work sets `job.status = "done"` itself when it finishes."""
    job.status, job.thread, job.started = "running", threading.get_ident(), time.perf_counter()
    try:
        yield
    except TrainingCancelled:
        job.status = "cancelled"
    except TwinError as exc:
        job.status, job.error = "failed", str(exc)
    except Exception as exc:
        LOG.exception("The %s failed unexpectedly", what)
        job.status = "failed"
        job.error = (f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}. This is a bug in Digital Twin "
                     "Studio, not a problem with your data or settings: please report it with both.")
    finally:
        if job.status == "running":  # the script was stopped by a rerun between two fits
            job.status = "cancelled" if job.cancel.is_set() else "interrupted"
        job.finished = time.perf_counter()
