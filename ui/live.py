"""Live glue: a trained twin following this machine (or a replayed recording) sample by sample, in the session.

This machine is sampled by a `BackgroundSampler`: a process, its handle kept in the session, samples on a steady
cadence while the page predicts and draws, so no span goes unsampled (a sampler run only inside the fragment lost
the time of every redraw, which the chart then drew as straight ramps). Each fragment run collects the samples
taken since the previous one, adds them to a rolling buffer of the last max(look-back, WINDOW_S) samples, and asks
the twin for the newest rows through its own feature code (`TwinModel.predict_layers` on the buffer as telemetry).
Stop and leaving the page (see `stop_if_the_page_was_left`) end the sampling; so does a page that stops collecting
(a closed tab): the sampling process ends itself LEASE_S after the last collection.

`$TWIN_LIVE_REPLAY=recording.parquet` replays a recording in our schema instead of sampling this machine, one
fragment run's worth of ticks per run, as fast as the fragment asks for rows (no process, no waiting): for tests,
and for demos on a machine whose core count differs from the twin's.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from twin_core.errors import TwinError
from twin_core.evaluate import scores
from twin_core.recorder import (
    BackgroundSampler,
    PsutilSource,
    ReplayClock,
    ReplaySource,
    Sample,
    Sampler,
    recording_frame,
)
from twin_core.runs import TwinModel
from twin_core.telemetry import (
    TIMESTAMP,
    Telemetry,
    load_telemetry,
    telemetry_from_frames,
)
from ui import state

REPLAY_ENV = "TWIN_LIVE_REPLAY"
LIVE = "live_session"
START = "live_start"
RUN_EVERY_S = 1.0
LEASE_S = 15 * RUN_EVERY_S  # the sampling process ends when no fragment run collected its samples for this long (a
# rerun on a busy 2-core machine can take several seconds)
WINDOW_S = 60.0  # the chart and the scores cover the last WINDOW_S seconds of predictions
MAX_KEPT_ROWS = 100_000


@dataclass(frozen=True)
class Machine:
    """Where the samples come from: this machine through psutil, or a replayed recording (its interval is fixed)."""

    name: str
    n_cores: int
    replay: Path | None = None
    replay_interval: float | None = None

    def feed(self, interval: float) -> BackgroundSampler | ReplayFeed:
        """Samples from now on: this machine sampled in a background process, or the recording from its first row."""
        if self.replay is None:
            return BackgroundSampler(PsutilSource(), interval, LEASE_S)
        clock = ReplayClock()
        return ReplayFeed(Sampler(ReplaySource(_replayed(str(self.replay))), interval, monotonic=clock.monotonic,
                                  sleep=clock.sleep, wall=clock.wall))

    def core_columns(self) -> tuple[str, ...]:
        """The core columns its samples fill."""
        return tuple(f"cpu_util_core_{i}" for i in range(self.n_cores))


class ReplayFeed:
    """A replayed recording, read when collected: each `take()` returns the ticks of one fragment run, at once."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler
        self.ended: str | None = None  # a replay starts again after its last row: it never ends by itself

    def take(self) -> list[Sample]:
        """The next RUN_EVERY_S seconds' worth of rows (at least one)."""
        return list(self.sampler.samples(max(1, math.floor(RUN_EVERY_S / self.sampler.interval + 1e-9))))

    def lag_note(self) -> str | None:
        """What the replay's lag cost: None, as its clock waits for nothing."""
        return self.sampler.lag_note()

    def stop(self) -> None:
        """Nothing runs between two `take()`s: nothing to end."""


@st.cache_data(show_spinner="Reading the recording to replay…", max_entries=2)
def _replayed(path: str) -> Telemetry:
    """The recording to replay, validated, cached on its path (a demo's file does not change while it runs)."""
    return load_telemetry(path)


def machine() -> Machine:
    """This machine, or the recording `$TWIN_LIVE_REPLAY` names; raises TwinError when that cannot be read."""
    replay = os.environ.get(REPLAY_ENV)
    if not replay:
        n_cores = PsutilSource().n_cores
        return Machine(f"this machine ({n_cores} cpus, read through psutil)", n_cores)
    telemetry = _replayed(replay)
    return Machine(f"a replay of `{replay}` (${REPLAY_ENV}; {telemetry.n_cores} cores, "
                   f"{len(telemetry.frame):,} rows every {telemetry.sampling_interval:.3g} s)",
                   telemetry.n_cores, Path(replay), telemetry.sampling_interval)


def mismatch(model: TwinModel, source: Machine) -> str | None:
    """Why the twin cannot follow this source (other cores), or None when it can."""
    if model.core_columns == source.core_columns():
        return None
    return (f"This twin was trained on {len(model.core_columns)} cores ({', '.join(model.core_columns)}); "
            f"{source.name} has {source.n_cores}. A twin follows only a machine like the one it learned from: "
            f"train one on telemetry of this machine (record some with `python -m twin_core record`), or replay a "
            f"recording of the twin's machine with ${REPLAY_ENV}=recording.parquet.")


@dataclass
class LiveSession:
    """One Start-to-Stop following of a source by a twin: where its samples come from, the rolling buffer, the
    predictions of the last WINDOW_S seconds, every row taken so far (for keeping), why it stopped (and what failed,
    if anything), and what keeping it did."""

    twin_key: str
    model: TwinModel = field(repr=False)
    source: Machine
    interval: float
    label: str
    feed: BackgroundSampler | ReplayFeed = field(repr=False)
    buffer: deque[Sample] = field(repr=False)
    kept: list[Sample] = field(default_factory=list, repr=False)
    history: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[TIMESTAMP, "actual", "predicted"]))
    notes: tuple[str, ...] = ()
    running: bool = True
    stopped: str | None = None
    problem: str | None = None
    kept_as: str | None = None

    @property
    def needed(self) -> int:
        """Samples the twin needs before its first prediction (its look-back plus the row predicted)."""
        return self.model.config.lookback + 1

    @property
    def taken(self) -> int:
        """Samples taken since Start: the one count every text and card of the page shows."""
        return len(self.kept)

    def step(self) -> None:
        """Collect the samples taken since the previous step, then predict the rows that are new."""
        for sample in self.feed.take():
            self.buffer.append(sample)
            self.kept.append(sample)
        if self.feed.ended:
            self.stop(self.feed.ended)
        if len(self.kept) >= MAX_KEPT_ROWS:
            self.stop(f"the recording reached {MAX_KEPT_ROWS:,} rows; keep it or start again")
        if len(self.buffer) >= self.needed:
            self._predict()

    def _predict(self) -> None:
        frame = recording_frame(list(self.buffer), self.label, self.source.n_cores)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                telemetry = telemetry_from_frames([("live", frame)], target=self.model.target)
                layers = self.model.predict_layers(telemetry)
                predicted = layers[-1].mean(axis=1).clip(0.0, 100.0)
            except TwinError as exc:
                self.problem = f"The twin could not read the samples: {exc}"
                self.stop("the twin could not read the samples")
                return
        self.notes = tuple(dict.fromkeys([*self.notes, *(str(w.message) for w in caught)]))
        rows = telemetry.frame.loc[predicted.index]
        lower, upper = self.model.top_band(telemetry, layers[-1].iloc[:, 0]) or (float("nan"), float("nan"))
        new = pd.DataFrame({TIMESTAMP: rows[TIMESTAMP].to_numpy(), "actual": rows[self.model.target].to_numpy(),
                            "predicted": predicted.to_numpy(), "lower": lower, "upper": upper})
        if len(self.history):
            new = new[new[TIMESTAMP] > self.history[TIMESTAMP].iloc[-1]]
        history = pd.concat([self.history, new], ignore_index=True) if len(self.history) else new
        self.history = history[history[TIMESTAMP] >= history[TIMESTAMP].iloc[-1] - WINDOW_S].reset_index(drop=True)

    def stop(self, why: str) -> None:
        """End the sampling; the rows taken stay, to look at or keep."""
        self.feed.stop()
        if self.running:
            self.running, self.stopped = False, why

    def scores(self) -> dict[str, float]:
        """R², MAE and the count of rows over the predictions of the last WINDOW_S seconds (the chart's)."""
        return scores(self.history["actual"].to_numpy(dtype=float), self.history["predicted"].to_numpy(dtype=float))


def current() -> LiveSession | None:
    """This browser session's live following, running or stopped, if any."""
    return st.session_state.get(LIVE)


def start(twin_key: str, model: TwinModel, source: Machine, interval: float, label: str) -> None:
    """Start button callback: a fresh following (the previous one's rows are dropped)."""
    window = max(model.config.lookback + 1, math.ceil(WINDOW_S / interval))
    previous = current()
    if previous is not None:
        previous.stop("you pressed Start again")
    st.session_state[LIVE] = LiveSession(twin_key, model, source, interval, label, source.feed(interval),
                                         deque(maxlen=window))


def stop(why: str = "you pressed Stop") -> None:
    """Stop button callback, and what leaving the page does."""
    session = current()
    if session is not None:
        session.stop(why)


def stop_if_the_page_was_left() -> None:
    """Called first in every full run of the Live page: end any following when the page's previous full run was
    not this page's. Streamlit deletes a widget's state after a run that does not draw it, so the Start button's
    state is missing exactly when another page ran in between (or on the first visit)."""
    if START not in st.session_state:
        stop("you left the Live page")


def keep() -> None:
    """Keep button callback: stop, and make the rows taken so far the app's active data, as an upload would."""
    session = current()
    if session is None or not session.kept:
        return
    session.stop("you kept the recording as data")
    name = f"live recording {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(session.kept[0].timestamp))} UTC"
    try:
        frame = recording_frame(session.kept, session.label, session.source.n_cores)
        telemetry = telemetry_from_frames([(name, frame)], target=session.model.target)
    except TwinError as exc:
        session.kept_as = f"The recording could not be kept as data: {exc}"
        return
    state.use_telemetry(telemetry, name)
    session.kept_as = f"Kept as the active data: {name} ({len(telemetry.frame):,} rows). See the Data page."
