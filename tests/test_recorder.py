"""Recorder: the sampler's cadence and lag accounting on a fake clock, the background sampler (real time, short
intervals), the rows it writes, Ctrl-C, the refusals."""
from __future__ import annotations

import math
import multiprocessing
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from twin_core.cli import main
from twin_core.demo import make_demo_telemetry
from twin_core.errors import ConfigError
from twin_core.recorder import (
    BackgroundSampler,
    PsutilSource,
    ReplayClock,
    ReplaySource,
    Sample,
    Sampler,
    record,
    recording_frame,
)
from twin_core.telemetry import load_telemetry


class FakeClock:
    """Monotonic time that moves only when slept through or when a fake source 'works'."""

    def __init__(self) -> None:
        self.now, self.sleeps = 100.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now


class FakeSource:
    """Two cpus whose n-th reading is (n, (n, 2n)); each read takes `work[n]` seconds of the fake clock (0.03 by
    default) and raises KeyboardInterrupt at read `interrupt_at`."""

    n_cores = 2

    def __init__(self, clock: FakeClock, work: dict[int, float] | None = None, interrupt_at: int | None = None):
        self.clock, self.work, self.interrupt_at = clock, work or {}, interrupt_at
        self.reads: list[float] = []
        self.primed_at: list[float] = []

    def prime(self) -> None:
        self.primed_at.append(self.clock.now)

    def read(self) -> tuple[float, tuple[float, ...]]:
        n = len(self.reads) + 1
        if n == self.interrupt_at:
            raise KeyboardInterrupt
        self.reads.append(self.clock.now)
        self.clock.now += self.work.get(n, 0.03)
        return float(n), (float(n), float(2 * n))


def fake_sampler(interval: float = 0.1, **source_args: object) -> tuple[Sampler, FakeSource, FakeClock]:
    clock = FakeClock()
    source = FakeSource(clock, **source_args)
    return Sampler(source, interval, monotonic=clock.monotonic, sleep=clock.sleep, wall=clock.wall), source, clock


def test_reads_fall_on_the_ticks_whatever_the_work_takes() -> None:
    sampler, source, clock = fake_sampler(0.1)
    samples = list(sampler.samples(5))
    assert source.primed_at == [100.0]  # psutil's first call measures nothing: primed once, before the first tick
    np.testing.assert_allclose(source.reads, [100.1, 100.2, 100.3, 100.4, 100.5])
    np.testing.assert_allclose(clock.sleeps, [0.1, 0.07, 0.07, 0.07, 0.07])  # to the next tick, not `interval`
    assert [s.cores for s in samples] == [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0), (4.0, 8.0), (5.0, 10.0)]
    np.testing.assert_allclose([s.timestamp for s in samples], [1_700_000_000.0 + t for t in source.reads])
    assert (sampler.skipped, sampler.late, sampler.lag_note()) == (0, 0, None)


def test_a_lagging_machine_skips_the_missed_ticks_and_says_how_many() -> None:
    sampler, source, _ = fake_sampler(0.1, work={2: 0.37})  # the 2nd read ends at 100.57: ticks .3 .4 .5 are past
    samples = list(sampler.samples(8))
    np.testing.assert_allclose(source.reads, [100.1, 100.2, 100.57, 100.7, 100.8])
    assert len(samples) == 5
    # .3 and .4 skipped; .5 read 0.07 late (over half an interval), so .6, 0.03 after that read, is skipped too
    assert (sampler.skipped, sampler.late) == (3, 1)
    assert sampler.lag_note() == ("The machine lagged: 3 tick(s) skipped and 1 sampled more than half an interval "
                                  "late (of 0.1 s); rows are missing or unevenly spaced there.")


def test_ticks_missed_between_two_calls_count_as_skipped() -> None:
    sampler, source, clock = fake_sampler(0.1)
    list(sampler.samples(2))
    clock.now += 5.0  # the caller was busy: ticks .3 and .4, the next call's two, have passed unread
    assert list(sampler.samples(2)) == []
    np.testing.assert_allclose(source.reads, [100.1, 100.2])
    assert (sampler.skipped, sampler.late) == (2, 0)
    assert source.primed_at == [100.0]


class CountingSource:
    """Reads 1, 2, 3, … on one core; fails on read number `fail_at` (0: never)."""

    n_cores = 1

    def __init__(self, fail_at: int = 0) -> None:
        self.reads, self.fail_at = 0, fail_at

    def prime(self) -> None:
        pass

    def read(self) -> tuple[float, tuple[float, ...]]:
        self.reads += 1
        if self.reads == self.fail_at:
            raise OSError("/proc/stat vanished")
        return float(self.reads), (float(self.reads),)


def sampling_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "live-sampler"]


def taken_until(sampler: BackgroundSampler, count: int, seconds: float = 20.0) -> list[Sample]:
    """Take until `count` samples came (the process takes a second or two to start) or the sampler ended."""
    taken: list[Sample] = []
    deadline = time.monotonic() + seconds
    while len(taken) < count and sampler.ended is None and time.monotonic() < deadline:
        time.sleep(0.05)
        taken += sampler.take()
    return taken


def test_a_background_sampler_keeps_sampling_while_its_reader_is_busy_and_loses_no_sample() -> None:
    sampler = BackgroundSampler(CountingSource(), 0.02, lease=30.0)
    first = taken_until(sampler, 1)
    time.sleep(0.4)  # the reader is busy (a Live page drawing): the sampling goes on
    second = sampler.take()
    sampler.stop()
    assert len(second) >= 8  # 20 on time; fewer only on a very loaded machine
    assert [s.overall for s in first + second] == list(range(1, len(first) + len(second) + 1))  # none lost
    assert first[-1].timestamp < second[0].timestamp <= second[-1].timestamp <= time.time()
    assert sampler.ended is None


def test_a_background_sampler_nobody_reads_ends_itself_and_says_why() -> None:
    sampler = BackgroundSampler(CountingSource(), 0.01, lease=0.1)
    deadline = time.monotonic() + 30  # nothing takes (a take renews the lease): the process ends itself after it
    while sampling_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    sampler.take()  # and says why to the next take
    assert sampler.ended == "nothing read the samples for 0.1 s (the page was left or hidden)"
    time.sleep(0.2)
    assert sampler.take() == [] and not sampling_processes()


def test_stop_ends_a_background_sampler_at_once_even_between_long_ticks() -> None:
    sampler = BackgroundSampler(CountingSource(), 1.0, lease=30.0)
    assert len(taken_until(sampler, 1)) == 1
    sampler.stop()
    deadline = time.monotonic() + 0.5  # its wait for the next tick ends at once
    while sampling_processes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sampling_processes() and sampler.take() == [] and sampler.ended is None


def test_a_source_that_fails_ends_a_background_sampler_with_the_reason() -> None:
    sampler = BackgroundSampler(CountingSource(fail_at=3), 0.01, lease=30.0)
    assert [s.overall for s in taken_until(sampler, 10_000)] == [1.0, 2.0]
    assert sampler.ended == "the machine could not be read (OSError: /proc/stat vanished)"


Times = namedtuple("Times", "user nice system idle iowait guest guest_nice")


def test_each_psutil_source_measures_its_own_interval_as_cpu_percent_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    now: dict[str, object] = {}
    monkeypatch.setattr(psutil, "cpu_times", lambda percpu=False: now["cores"] if percpu else now["overall"])

    def at(overall: Times, cores: list[Times]) -> None:  # cumulative seconds, overall and of 2 cpus
        now.update(overall=overall, cores=cores)

    at(Times(0, 0, 0, 0, 0, 0, 0), [Times(0, 0, 0, 0, 0, 0, 0)] * 2)
    a, b = PsutilSource(), PsutilSource()
    a.prime()
    at(Times(1, 0, 0, 1, 0, 0, 0), [Times(1, 0, 0, 0, 0, 0, 0), Times(0, 0, 0, 1, 0, 0, 0)])
    b.prime()
    at(Times(2, 0, 0, 2, 0, 0, 0), [Times(2, 0, 0, 0, 0, 0, 0), Times(0, 0, 0, 2, 0, 0, 0)])
    assert b.read() == (50.0, (100.0, 0.0))  # from B's own first reading, not A's
    # cpu 0: 3 s user (1 s of it guest, counted once) and 1 s iowait (not busy) since A's first reading
    at(Times(4, 0, 0, 3, 1, 1, 0), [Times(3, 0, 0, 0, 1, 1, 0), Times(0, 0, 0, 3, 0, 0, 0)])
    assert a.read() == (50.0, (75.0, 0.0))


def test_psutil_source_reads_every_cpu_of_this_machine() -> None:
    source = PsutilSource()
    source.prime()
    overall, cores = source.read()
    assert source.n_cores == len(cores) == psutil.cpu_count(logical=True)
    assert 0.0 <= overall <= 100.0 and all(0.0 <= v <= 100.0 for v in cores)


def test_a_replay_reads_the_recording_row_by_row_then_starts_again_without_waiting() -> None:
    telemetry = make_demo_telemetry(rows=40, cores=3, sessions=1, seed=2)
    clock = ReplayClock()
    sampler = Sampler(ReplaySource(telemetry), telemetry.sampling_interval, monotonic=clock.monotonic,
                      sleep=clock.sleep, wall=clock.wall)
    samples = list(sampler.samples(45))
    cores = telemetry.frame[list(telemetry.core_columns)].to_numpy()
    np.testing.assert_allclose([s.cores for s in samples], np.vstack([cores, cores[:5]]))
    np.testing.assert_allclose([s.overall for s in samples[:40]], telemetry.frame["cpu_util_overall"])
    assert clock.monotonic() == pytest.approx(45 * telemetry.sampling_interval)


def test_recording_frame_is_our_schema() -> None:
    frame = recording_frame([Sample(1_700_000_000.5, 12.5, (10.0, 15.0)), Sample(1_700_000_001.0, 50.0, (100.0, 0.0))],
                            "idle", 2)
    expected = pd.DataFrame({
        "timestamp": pd.to_datetime([1_700_000_000.5, 1_700_000_001.0], unit="s", utc=True),
        "workload_type": ["idle", "idle"], "cpu_util_overall": [12.5, 50.0],
        "cpu_util_core_0": [10.0, 100.0], "cpu_util_core_1": [15.0, 0.0]})
    pd.testing.assert_frame_equal(frame, expected)


def test_record_writes_about_one_row_per_interval_that_load_telemetry_accepts(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "idle.parquet"
    assert main(["record", str(out), "--seconds", "2", "--interval", "0.1", "--label", "idle", "--quiet"]) == 0
    telemetry = load_telemetry(out)
    n = psutil.cpu_count(logical=True)
    assert 18 <= len(telemetry.frame) <= 20  # a busy test machine may skip a tick or two
    assert telemetry.n_cores == n and set(telemetry.frame["workload_type"]) == {"idle"}
    assert telemetry.sampling_interval == pytest.approx(0.1, abs=0.02)
    assert f"({n} cpus every 0.1 s, label 'idle') to {out}" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["idle.parquet"]  # no temporary file left beside it


def test_ctrl_c_keeps_the_rows_already_recorded(tmp_path: Path) -> None:
    sampler, _, _ = fake_sampler(0.1, interrupt_at=4)
    recording = record(tmp_path / "kept.parquet", 10, 0.1, "busy", sampler=sampler)
    assert (recording.rows, recording.planned, recording.stopped_early) == (3, 100, True)
    frame = pd.read_parquet(tmp_path / "kept.parquet")
    assert frame["cpu_util_core_1"].tolist() == [2.0, 4.0, 6.0]
    assert frame["workload_type"].tolist() == ["busy"] * 3


@pytest.mark.parametrize(("interrupt_at", "code", "said"), [
    (4, 0, "Stopped early (Ctrl-C): kept 3 of 100 rows in "),
    (1, 3, "cancelled: stopped before the first sample; nothing was written"),
])
def test_the_cli_exits_0_when_ctrl_c_kept_rows_and_3_when_it_kept_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        interrupt_at: int, code: int, said: str) -> None:
    clock = FakeClock()
    monkeypatch.setattr("twin_core.recorder.PsutilSource", lambda: FakeSource(clock, interrupt_at=interrupt_at))
    monkeypatch.setattr("twin_core.recorder.Sampler",
                        lambda source, interval: Sampler(source, interval, monotonic=clock.monotonic,
                                                         sleep=clock.sleep, wall=clock.wall))
    out = tmp_path / "out.parquet"
    assert main(["record", str(out), "--seconds", "10", "--interval", "0.1", "--quiet"]) == code
    captured = capsys.readouterr()
    assert said in captured.out + captured.err
    assert out.exists() == (code == 0)


@pytest.mark.parametrize(("seconds", "interval", "label", "message"), [
    (1e9, 0.01, "x", r"would make 100,000,000,000 rows, more than the 10,000,000 one recording may hold"),
    (10, 0.001, "x", r"sampling interval must be at least 0\.01 s, got 0\.001 s"),
    (10, math.nan, "x", r"sampling interval must be a number of seconds, at least 0\.01, got nan"),
    (0.05, 0.1, "x", r"must last at least one interval \(0\.1 s\), got 0\.05 s"),
    (10, 0.1, "  ", r"workload label must have 1 to 200 characters"),
])
def test_refused_plans_say_what_to_change_before_sampling(tmp_path: Path, seconds: float, interval: float,
                                                          label: str, message: str) -> None:
    sampler, source, _ = fake_sampler(0.1)
    with pytest.raises(ConfigError, match=message):
        record(tmp_path / "never.parquet", seconds, interval, label, sampler=sampler)
    assert source.reads == [] and not (tmp_path / "never.parquet").exists()


def test_an_output_folder_that_does_not_exist_is_refused_before_sampling(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    assert main(["record", str(tmp_path / "missing" / "out.parquet"), "--seconds", "1", "--quiet"]) == 1
    assert f"error: The folder {tmp_path / 'missing'} does not exist; create it or record elsewhere." in \
        capsys.readouterr().err
