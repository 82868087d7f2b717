"""Record this machine's CPU utilisation into our telemetry schema: the `record` command and the Live page's samples.

A `Sampler` reads a `CpuSource` once per tick on a steady cadence: it sleeps to the next tick (ticks are
`origin + k * interval`), not `interval` after its work, so the rows keep their spacing however long a read takes.
When the machine lags by a whole interval or more, the missed ticks are skipped (a read straight after another
would measure almost nothing) and counted, as is a tick less than half an interval after a late read. The source
is psutil on this machine, read as the seed telemetry was recorded (busy share overall and per cpu since the
previous reading, as psutil's `cpu_percent` counts it, from a first reading taken before the first tick), or a
recording replayed row by row (tests, and demos on a machine whose core count differs from a twin's), driven by a
`ReplayClock` so a replay never waits for the wall clock.
A `BackgroundSampler` runs a sampler in a process of its own, for a reader (the Live page) that is busy between reads.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import psutil

from twin_core.errors import ConfigError
from twin_core.telemetry import OVERALL, TIMESTAMP, WORKLOAD, Telemetry
from twin_core.telemetry.labels import UNLABELLED
from twin_core.telemetry.writing import write_telemetry

MIN_INTERVAL_S = 0.01
MAX_ROWS = 10_000_000
MAX_LABEL_CHARS = 200


@dataclass(frozen=True)
class Sample:
    """One reading: when (epoch seconds, UTC) and the utilisation (%) overall and per cpu since the last reading."""

    timestamp: float
    overall: float
    cores: tuple[float, ...]


class CpuSource(Protocol):
    """Where readings come from: `n_cores` cpus; `prime()` starts a measurement, `read()` ends one and starts the
    next, returning (overall %, per-cpu %) over the time between them."""

    n_cores: int

    def prime(self) -> None: ...

    def read(self) -> tuple[float, tuple[float, ...]]: ...


class PsutilSource:
    """This machine through psutil's cumulative `cpu_times`, measured per source: psutil's own `cpu_percent` keeps
    one previous reading per process, so two samplers in one server (two Live pages, say) would each measure the
    other's intervals. Counted as `cpu_percent` counts: each field's increase (never below 0), total = every field
    but the guest times (already inside user and nice), busy = total - idle - iowait, percent to one decimal."""

    def __init__(self) -> None:
        self.n_cores = len(psutil.cpu_times(percpu=True))
        self._last: tuple[tuple, list[tuple]] | None = None

    @staticmethod
    def _times() -> tuple[tuple, list[tuple]]:
        return psutil.cpu_times(percpu=False), psutil.cpu_times(percpu=True)

    def prime(self) -> None:
        """Take the reading the next read measures from."""
        self._last = self._times()

    def read(self) -> tuple[float, tuple[float, ...]]:
        """Utilisation overall and per cpu since the previous reading."""
        (overall_before, cores_before), now = self._last, self._times()
        self._last = now
        return _busy_percent(overall_before, now[0]), tuple(
            _busy_percent(before, after) for before, after in zip(cores_before, now[1], strict=True))


def _busy_percent(before: tuple, after: tuple) -> float:
    """Share of the time between two cpu_times readings that was neither idle nor iowait, in % (0 when none passed)."""
    delta = {name: max(0.0, getattr(after, name) - getattr(before, name)) for name in after._fields}
    total = sum(delta.values()) - delta.get("guest", 0.0) - delta.get("guest_nice", 0.0)
    if total <= 0:
        return 0.0
    busy = total - delta["idle"] - delta.get("iowait", 0.0)
    return round(min(100.0, max(0.0, 100.0 * busy / total)), 1)


class ReplaySource:
    """A recording in our schema, read one row per tick from the first, starting again after the last."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.n_cores = telemetry.n_cores
        self._overall = telemetry.frame[OVERALL].to_numpy(dtype=float)
        self._cores = telemetry.frame[list(telemetry.core_columns)].to_numpy(dtype=float)
        self._row = 0

    def prime(self) -> None:
        """Nothing to start: each row already is a measurement."""

    def read(self) -> tuple[float, tuple[float, ...]]:
        """The next recorded row."""
        row = self._row % len(self._overall)
        self._row += 1
        return float(self._overall[row]), tuple(float(v) for v in self._cores[row])


class ReplayClock:
    """Time that passes only when slept through, so a replay runs as fast as it is read; `wall()` counts from
    the moment the clock was made, so replayed rows carry present-day timestamps."""

    def __init__(self) -> None:
        self._now, self._epoch = 0.0, time.time()

    def monotonic(self) -> float:
        """Seconds slept so far."""
        return self._now

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass at once."""
        self._now += max(0.0, seconds)

    def wall(self) -> float:
        """Epoch seconds: the clock's creation plus the time slept."""
        return self._epoch + self._now


class Sampler:
    """One `Sample` per tick from a source on a steady cadence; counts the ticks skipped and taken late.

    Successive `samples(n)` calls continue one cadence: ticks that pass between two calls are missed, and counted
    as skipped (a reader busy between its reads samples through a `BackgroundSampler` instead).
    """

    def __init__(self, source: CpuSource, interval: float, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, wall: Callable[[], float] = time.time) -> None:
        _check_interval(interval)
        self.source, self.interval = source, float(interval)
        self._monotonic, self._sleep, self._wall = monotonic, sleep, wall
        self._origin: float | None = None
        self._tick = 0
        self._read_at: float | None = None
        self.skipped = 0
        self.late = 0

    def _tick_time(self) -> float:
        return self._origin + self._tick * self.interval

    def samples(self, count: int) -> Iterator[Sample]:
        """The next `count` ticks' samples (fewer when ticks are skipped: each skipped tick uses up one)."""
        now = self._monotonic()
        if self._origin is None:
            self.source.prime()
            self._origin, self._tick = now, 0
        end = self._tick + count
        while self._tick < end:
            self._tick += 1
            lateness = self._monotonic() - self._tick_time()
            if lateness < 0:
                self._sleep(-lateness)
            elif lateness >= self.interval:  # skip to the newest tick already due; the next read averages the time
                # since the previous read, lag included (lag_note says such rows are unevenly spaced)
                latest = self._tick + math.floor(lateness / self.interval)
                if latest > end:
                    self.skipped += end - self._tick + 1
                    self._tick = end
                    return
                self.skipped += latest - self._tick
                lateness -= (latest - self._tick) * self.interval
                self._tick = latest
            if self._read_at is not None and self._monotonic() - self._read_at < self.interval / 2:
                self.skipped += 1  # straight after a late read: /proc/stat's 10 ms jiffies would give 0 or 100 %
                continue
            self.late += int(lateness > self.interval / 2)
            self._read_at = self._monotonic()
            overall, cores = self.source.read()
            yield Sample(self._wall(), overall, cores)

    def lag_note(self) -> str | None:
        """What the lag cost, in words, or None when every tick was sampled on time."""
        return _lag_words(self.skipped, self.late, self.interval)


def _lag_words(skipped: int, late: int, interval: float) -> str | None:
    """The lag of a sampling in words, or None when every tick was sampled on time."""
    if not skipped and not late:
        return None
    return (f"The machine lagged: {skipped:,} tick(s) skipped and {late:,} sampled more than half an interval late "
            f"(of {interval:g} s); rows are missing or unevenly spaced there.")


class BackgroundSampler:
    """A `Sampler` run in a process of its own, so the sampling never pauses while its reader is busy (a Live page
    predicting and drawing between its redraws): the reader `take()`s what was sampled since its last call. A
    process, not a thread: a thread waits for the interpreter lock while the reader computes, and missed ticks of up
    to half a second under load.

    It samples only while read: a reader that has not called `take()` for `lease` seconds (it left the page, or
    closed the tab) ends it, as does `stop()`; `ended` then says why, in words.
    """

    def __init__(self, source: CpuSource, interval: float, lease: float) -> None:
        _check_interval(interval)
        self.interval, self._lease = float(interval), lease
        # forked, not spawned: spawning re-imports the app (several seconds on a busy machine) before the first
        # sample; the child only reads /proc through psutil and writes to its pipe, touching no lock a thread holds
        context = multiprocessing.get_context("fork")
        self._samples, sending = context.Pipe(duplex=False)
        self._stop = context.Event()
        self._deadline = context.Value("d", time.monotonic() + lease)
        self.skipped = self.late = 0
        self.ended: str | None = None
        self._process = context.Process(target=_sample_in_background, name="live-sampler", daemon=True,
                                        args=(source, self.interval, lease, sending, self._stop, self._deadline))
        self._process.start()
        sending.close()

    def take(self) -> list[Sample]:
        """The samples taken since the previous call, oldest first; renews the lease."""
        self._deadline.value = time.monotonic() + self._lease
        taken = []
        try:
            while self._samples.poll():
                kind, payload, self.skipped, self.late = self._samples.recv()
                if kind == "sample":
                    taken.append(payload)
                else:
                    self.ended = payload
        except EOFError:  # the process is gone: stopped, or it said why first, unless it was killed
            if not self._stop.is_set():
                self.ended = self.ended or "the sampling process ended unexpectedly"
            self._process.join(timeout=1)  # reap it: an ended child left unjoined stays a zombie of the server
        return taken

    def lag_note(self) -> str | None:
        """What the lag cost, in words, or None when every tick was sampled on time."""
        return _lag_words(self.skipped, self.late, self.interval)

    def stop(self) -> None:
        """End the sampling now (the process wakes from its wait for the next tick and leaves, and is reaped)."""
        self._stop.set()
        self._process.join(timeout=2)


def _sample_in_background(source: CpuSource, interval: float, lease: float, sending: Connection, stop: Event,
                          deadline: Synchronized) -> None:
    """BackgroundSampler's process: send each tick's sample until stopped, unread for longer than the lease, or the
    source fails (a reason is sent last in those two cases)."""
    sampler = Sampler(source, interval, sleep=stop.wait)
    try:
        for sample in sampler.samples(MAX_ROWS):
            if stop.is_set():
                return
            if time.monotonic() > deadline.value:
                sending.send(("ended", f"nothing read the samples for {lease:g} s (the page was left or hidden)",
                              sampler.skipped, sampler.late))
                return
            sending.send(("sample", sample, sampler.skipped, sampler.late))
    except Exception as exc:  # noqa: BLE001 -- the process's failure must reach its reader, not stderr
        sending.send(("ended", f"the machine could not be read ({type(exc).__name__}: {exc})", sampler.skipped,
                      sampler.late))
    finally:
        sending.close()


def _check_interval(interval: float) -> None:
    """Refuse a sampling interval psutil cannot honour (shorter than MIN_INTERVAL_S) or that is not a number."""
    if not math.isfinite(interval):
        raise ConfigError(f"The sampling interval must be a number of seconds, at least {MIN_INTERVAL_S}, got "
                          f"{interval:g}.")
    if interval < MIN_INTERVAL_S:
        raise ConfigError(f"The sampling interval must be at least {MIN_INTERVAL_S} s, got {interval:g} s: shorter "
                          "intervals measure scheduler noise, not utilisation. Sample less often.")


def _planned_rows(seconds: float, interval: float) -> int:
    """Rows a recording of `seconds` every `interval` s will hold; refuses plans that are empty or over MAX_ROWS."""
    _check_interval(interval)
    if not math.isfinite(seconds) or seconds < interval:
        raise ConfigError(f"A recording must last at least one interval ({interval:g} s), got {seconds:g} s.")
    rows = math.floor(seconds / interval + 1e-9)
    if rows > MAX_ROWS:
        raise ConfigError(f"Recording {seconds:g} s every {interval:g} s would make {rows:,} rows, more than the "
                          f"{MAX_ROWS:,} one recording may hold; record for less time or at a longer interval.")
    return rows


def _check_label(label: str) -> str:
    """The workload label, trimmed; refuses an empty or overlong one."""
    text = label.strip()
    if not text or len(text) > MAX_LABEL_CHARS:
        raise ConfigError(f"The workload label must have 1 to {MAX_LABEL_CHARS} characters, got {label!r}.")
    return text


def recording_frame(samples: Sequence[Sample], label: str, n_cores: int) -> pd.DataFrame:
    """Samples in our schema: timestamp (UTC datetime), workload_type, cpu_util_overall, cpu_util_core_0..N-1."""
    cores = np.array([s.cores for s in samples], dtype=float).reshape(len(samples), n_cores)
    frame = pd.DataFrame({TIMESTAMP: pd.to_datetime([s.timestamp for s in samples], unit="s", utc=True),
                          WORKLOAD: [label] * len(samples),
                          OVERALL: np.array([s.overall for s in samples], dtype=float)})
    for i in range(n_cores):
        frame[f"cpu_util_core_{i}"] = cores[:, i]
    return frame


def _check_output(path: Path) -> None:
    """Refuse, before recording anything, an output path that could not be written at the end."""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give a file name for the recording, e.g. {path / 'recording.parquet'}.")
    if not path.parent.is_dir():
        raise ConfigError(f"The folder {path.parent} does not exist; create it or record elsewhere.")
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"The folder {path.parent} is not writable; record elsewhere.")


@dataclass(frozen=True)
class Recording:
    """What `record` kept: the rows written, the rows planned, whether Ctrl-C stopped it, and the lag in words."""

    path: Path
    rows: int
    planned: int
    n_cores: int
    stopped_early: bool
    lag: str | None


def record(path: Path, seconds: float, interval: float, label: str = UNLABELLED, *,
           sampler: Sampler | None = None,
           on_progress: Callable[[int, int, str], None] | None = None) -> Recording:
    """Sample for `seconds` every `interval` s and write the rows to `path` (parquet, renamed into place whole).

    Ctrl-C (KeyboardInterrupt) stops the sampling and keeps what was recorded; nothing is written when no row was.
    `sampler` defaults to psutil on this machine.
    """
    planned = _planned_rows(seconds, interval)
    label = _check_label(label)
    _check_output(path)
    sampler = sampler or Sampler(PsutilSource(), interval)
    samples: list[Sample] = []
    stopped_early = False
    try:
        for sample in sampler.samples(planned):
            samples.append(sample)
            if on_progress is not None:
                on_progress(len(samples) + sampler.skipped, planned, f"{len(samples):,} rows")
    except KeyboardInterrupt:
        stopped_early = True
    if samples:
        write_telemetry(recording_frame(samples, label, sampler.source.n_cores), path)
    return Recording(path, len(samples), planned, sampler.source.n_cores, stopped_early, sampler.lag_note())
