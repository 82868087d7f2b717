"""Built-in demo telemetry: realistic, seeded, any core count, so the product can be tried and tested without data.

Each session is one workload recorded at `interval_s`. Per-core utilisation follows regime switches
(busy/idle levels per core) plus fast fluctuation inside every sample, quantised to psutil-like tick
steps. `cpu_util_overall` is measured over a window shifted by half a sample, so the identity
`N·overall − Σ other cores` recovers core 0 only partly, and history (lags) can improve on it.

With `response=True` core 0 is not a free core but follows a known function of the rest of the machine, so
tests (and users) can check that a behavioural twin, and what-if asked of it, recover a response that is known:
in every half sample core 0's load is `RESPONSE_GAIN × mean(other cores) + RESPONSE_OFFSETS[workload]` plus
Gaussian noise (sd `RESPONSE_NOISE`), within 0–100 %. Its reading is then that function of the other cores'
readings, up to their tick rounding; overall is measured from all cores as without the option, so the identity
errs by as many points as there (its R² is lower: core 0 varies less). The other cores, times and labels are
those of the demo without the option for the same seed, and without it the demo is unchanged.

With `anomalies=N` (`write_demo_parquet`) the recording carries N labelled anomalies: bursts of ANOMALY_POINTS
points on core 0 lasting ANOMALY_SAMPLES samples, which nothing on the other cores explains. They are added to core 0's
load before it is read, so its reading and cpu_util_overall (measured from every core as before) both carry them: a
reconstruction twin sees them by arithmetic, a behavioural twin only as core 0 leaving its band. The sessions share
them out in turn; inside a session each takes a slot of the last `anomaly_tail` share of its rows (all of it by
default; the last fifth is where the default hold-out lies) and, of a few places in its slot, the one where core 0
is least busy, so every burst shows in the data. Their labels (file, start, end, samples, points) go to
ANOMALY_LABELS beside the parquet files, a hidden file the loader does not read; `read_injected_anomalies` reads it.
Their places and sizes come from a generator of their own: every other value is that of the demo without them.

A demo fleet (`write_demo_fleet`) is one folder per host, `host-01`, `host-02`…, each host's telemetry drawn from a
seed of its own (derived from the fleet's seed and the host's number), so no two hosts are alike. Hosts differ a
little as machines of a real fleet do: every second host has FLEET_EXTRA_CORES more cores, and every third host
runs only the bursty workloads (FLEET_BURSTY: short busy spells that the half-sample shift of the overall reading
blurs), so a few hosts are harder to twin than the others.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin_core.errors import ConfigError
from twin_core.telemetry import DEFAULT_TARGET, OVERALL, TIMESTAMP, WORKLOAD, Telemetry, telemetry_from_frames

WORKLOADS = ("cpu_bound", "io_bound", "memory_bound", "mixed_workload", "network_bound", "idle")
TIMESTAMP_FORMATS = ("epoch_s", "epoch_ms", "datetime", "datetime_tz", "iso")
FREQUENCY = "cpu_freq_current_mhz"
START_EPOCH_S = 1_758_983_000.0  # 2025-09-27, the day the seed data was recorded
TICKS_PER_SAMPLE = np.array([9, 10, 11, 12])  # psutil counts whole scheduler ticks per sample
OVERALL_SHIFT = 0.35  # how far (in samples) the overall reading lags the per-core reading
RESPONSE_GAIN = 0.5  # under `response`, core 0 moves half a point per point of the other cores' mean
RESPONSE_OFFSETS = {"cpu_bound": 25.0, "io_bound": 10.0, "memory_bound": 20.0, "mixed_workload": 15.0,
                    "network_bound": 7.0, "idle": 5.0}  # points core 0 carries on top, per workload
RESPONSE_NOISE = 3.0  # sd (points) of core 0's own fluctuation around the response, per half sample
FLEET_EXTRA_CORES = 4  # every second host of a demo fleet has this many more cores
FLEET_BURSTY = ("io_bound", "network_bound", "mixed_workload")  # every third host's workloads: regimes switch often
MAX_FLEET_HOSTS = 999
ANOMALY_POINTS = (30.0, 50.0)  # an injected burst adds this many points (uniform) to core 0's load, within 0-100 %
ANOMALY_SAMPLES = (8, 20)  # and lasts this many samples (uniform, both ends included)
ANOMALY_APART = 10  # samples at least between two bursts of a session, so each is an episode of its own
ANOMALY_CHOICES = 5  # places tried in a burst's slot: the one where core 0 is least busy is taken
MAX_LABELS_BYTES = 16 * 2**20  # far above the labels any demo that fits in memory can carry
ANOMALY_LABELS = ".injected_anomalies.json"  # the labels beside the demo files (hidden: the loader skips it)


@dataclass(frozen=True)
class InjectedAnomaly:
    """One labelled burst of a demo recording: its file, first and last sample (epoch s), samples and points."""

    file: str
    start: float
    end: float
    samples: int
    points: float


@dataclass(frozen=True)
class _Profile:
    """How a workload loads the cores: share of busy time, regime changes per sample, level ranges."""

    busy_share: float
    switch: float
    busy: tuple[float, float]
    idle: tuple[float, float]
    jitter: float


PROFILES = {
    "cpu_bound": _Profile(0.55, 0.02, (80.0, 100.0), (0.0, 10.0), 5.0),
    "io_bound": _Profile(0.30, 0.12, (20.0, 80.0), (0.0, 6.0), 6.0),
    "memory_bound": _Profile(0.40, 0.03, (55.0, 100.0), (0.0, 10.0), 4.0),
    "mixed_workload": _Profile(0.40, 0.07, (30.0, 100.0), (0.0, 15.0), 6.0),
    "network_bound": _Profile(0.15, 0.10, (10.0, 60.0), (0.0, 5.0), 3.0),
    "idle": _Profile(0.05, 0.05, (5.0, 30.0), (0.0, 3.0), 1.5),
}


def make_demo_frames(
    rows: int = 6000,
    cores: int = 8,
    sessions: int = 6,
    interval_s: float = 0.1,
    seed: int = 0,
    timestamp_format: str = "epoch_s",
    *,
    response: bool = False,
    workloads: tuple[str, ...] = WORKLOADS,
) -> list[tuple[str, pd.DataFrame]]:
    """One (file name, frame) per session, each a different workload, separated by gaps of minutes.

    `response` makes core 0 follow the known function of the other cores and the workload (module docstring);
    `workloads` are the workloads the sessions take in turn (all six by default).
    """
    frames, _ = _demo_sessions(rows, cores, sessions, interval_s, seed, timestamp_format, response=response,
                               workloads=workloads)
    return frames


def _demo_sessions(
    rows: int, cores: int, sessions: int, interval_s: float, seed: int, timestamp_format: str, *, response: bool,
    workloads: tuple[str, ...], anomalies: int = 0, anomaly_tail: float = 1.0,
) -> tuple[list[tuple[str, pd.DataFrame]], list[InjectedAnomaly]]:
    """The demo's (file name, frame) per session and the labels of the `anomalies` bursts injected into them."""
    _check_args(rows, cores, sessions, interval_s, timestamp_format)
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if not workloads or unknown:
        raise ConfigError(f"Demo workloads must be some of {', '.join(WORKLOADS)}; got {unknown or 'none'}.")
    # the last child places the anomalies: spawning one more leaves every other child (so every value) unchanged
    children = np.random.SeedSequence(seed).spawn(sessions + 2)
    sizes = _session_sizes(rows, sessions, np.random.default_rng(children[0]))
    counts = _anomaly_counts(anomalies, anomaly_tail, sizes)
    anomaly_rng = np.random.default_rng(children[-1])
    width = max(2, len(str(sessions - 1)))
    start, frames, labels = START_EPOCH_S, [], []
    for index, size in enumerate(sizes):
        rng = np.random.default_rng(children[index + 1])
        workload = workloads[index % len(workloads)]
        times = _timestamps(start, int(size), interval_s, rng)
        # core 0's own noise under `response` comes from a generator of its own, so every other draw (and so
        # every other core) is the same as in the demo without the option
        own = np.random.default_rng(children[index + 1].spawn(1)[0]) if response else None
        bursts = _Bursts(int(counts[index]), anomaly_tail, anomaly_rng)
        frame = _session_frame(times, cores, workload, rng, own, bursts)
        frame[TIMESTAMP] = _format_times(times, timestamp_format)
        name = f"{workload}_{index:0{width}d}.parquet"
        frames.append((name, frame))
        labels += [InjectedAnomaly(name, float(times[a]), float(times[b - 1]), int(b - a), round(float(p), 1))
                   for a, b, p in bursts.placed]
        start = times[-1] + rng.uniform(60.0, 300.0)
    return frames, labels


def make_demo_telemetry(
    rows: int = 6000,
    cores: int = 8,
    sessions: int = 6,
    interval_s: float = 0.1,
    seed: int = 0,
    timestamp_format: str = "epoch_s",
    *,
    target: str = DEFAULT_TARGET,
    response: bool = False,
) -> Telemetry:
    """The demo frames validated into a Telemetry, exactly as uploaded files would be."""
    frames = make_demo_frames(rows, cores, sessions, interval_s, seed, timestamp_format, response=response)
    return telemetry_from_frames(frames, target=target)


def write_demo_parquet(
    out_dir: str | Path,
    rows: int = 6000,
    cores: int = 8,
    sessions: int = 6,
    interval_s: float = 0.1,
    seed: int = 0,
    timestamp_format: str = "epoch_s",
    *,
    response: bool = False,
    workloads: tuple[str, ...] = WORKLOADS,
    anomalies: int = 0,
    anomaly_tail: float = 1.0,
) -> list[Path]:
    """Write one parquet file per session (`<workload>_<index>.parquet`) and return their paths; with `anomalies`,
    inject that many labelled bursts (in the last `anomaly_tail` share of each session) and write their labels to
    ANOMALY_LABELS beside the files."""
    frames, labels = _demo_sessions(rows, cores, sessions, interval_s, seed, timestamp_format, response=response,
                                    workloads=workloads, anomalies=anomalies, anomaly_tail=anomaly_tail)
    out = Path(out_dir)  # made only once the arguments are known to be good: a refusal leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in frames:
        path = out / name
        frame.to_parquet(path, engine="pyarrow", index=False)
        paths.append(path)
    if anomalies:
        (out / ANOMALY_LABELS).write_text(json.dumps({"target": DEFAULT_TARGET,
                                                     "anomalies": [asdict(label) for label in labels]}, indent=1))
    return paths


def read_injected_anomalies(folder: str | Path) -> list[InjectedAnomaly] | None:
    """The labelled anomalies a demo folder carries (ANOMALY_LABELS), or None when it has no labels."""
    path = Path(folder) / ANOMALY_LABELS
    if not path.is_file():
        return None
    try:
        with path.open("rb") as file:  # labels are ~150 bytes each: read no further than a generous bound
            text = file.read(MAX_LABELS_BYTES + 1)
        if len(text) > MAX_LABELS_BYTES:
            raise ValueError(f"larger than {MAX_LABELS_BYTES:,} bytes")
        return [InjectedAnomaly(str(a["file"]), float(a["start"]), float(a["end"]), int(a["samples"]),
                                float(a["points"])) for a in json.loads(text)["anomalies"]]
    except KeyError as exc:
        raise ConfigError(f"The anomaly labels in '{path}' cannot be read (a label or the file has no {exc} "
                          "field); write the demo data again with `python -m twin_core demo-data DIR --anomalies N`."
                          ) from None
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(f"The anomaly labels in '{path}' cannot be read ({exc}); write the demo data again "
                          "with `python -m twin_core demo-data DIR --anomalies N`.") from None


def write_demo_fleet(
    out_dir: str | Path,
    hosts: int,
    rows: int = 6000,
    cores: int = 8,
    sessions: int = 6,
    interval_s: float = 0.1,
    seed: int = 0,
    *,
    response: bool = False,
) -> list[Path]:
    """Write a demo fleet, one folder of parquet files per host (`host-01`…), and return the folders.

    Every host has `rows` rows in `sessions` sessions; its seed, core count and workloads vary as the module
    docstring says.
    """
    if not 1 <= hosts <= MAX_FLEET_HOSTS:
        raise ConfigError(f"A demo fleet has 1 to {MAX_FLEET_HOSTS} hosts, got {hosts}.")
    _check_args(rows, cores + (FLEET_EXTRA_CORES if hosts > 1 else 0), sessions, interval_s, "epoch_s")
    width = max(2, len(str(hosts)))
    seeds = np.random.SeedSequence(seed).spawn(hosts)
    folders = []
    for number, host_seed in enumerate(seeds, start=1):
        folder = Path(out_dir) / f"host-{number:0{width}d}"
        write_demo_parquet(folder, rows, cores + (FLEET_EXTRA_CORES if number % 2 == 0 else 0), sessions, interval_s,
                           int(host_seed.generate_state(1)[0]), response=response,
                           workloads=FLEET_BURSTY if number % 3 == 0 else WORKLOADS)
        folders.append(folder)
    return folders


def _check_args(rows: int, cores: int, sessions: int, interval_s: float, timestamp_format: str) -> None:
    if not 2 <= cores <= 128:
        raise ConfigError(f"Demo core count must be between 2 and 128, got {cores}.")
    if sessions < 1 or rows < 2 * sessions:
        raise ConfigError(f"Demo needs at least one session and 2 rows per session, got {rows} rows "
                          f"for {sessions} sessions.")
    if not interval_s >= 0.01:
        raise ConfigError(f"Demo sampling interval must be at least 0.01 s, got {interval_s}.")
    if timestamp_format not in TIMESTAMP_FORMATS:
        raise ConfigError(
            f"Unknown timestamp_format {timestamp_format!r}; choose one of {', '.join(TIMESTAMP_FORMATS)}.")


def _anomaly_counts(anomalies: int, tail: float, sizes: np.ndarray) -> np.ndarray:
    """Bursts per session (shared out in turn), checked to fit: each needs a slot of the longest burst and the
    samples kept between two."""
    if not (isinstance(tail, (int, float)) and 0.0 < tail <= 1.0):
        raise ConfigError(f"The share of each session that may hold anomalies must be in (0, 1], got {tail!r}.")
    if anomalies < 0:
        raise ConfigError(f"The number of injected anomalies cannot be negative, got {anomalies}.")
    counts = np.full(len(sizes), anomalies // len(sizes)) + (np.arange(len(sizes)) < anomalies % len(sizes))
    slot = ANOMALY_SAMPLES[1] + ANOMALY_APART
    if (counts > np.floor(tail * sizes) // slot).any():
        raise ConfigError(f"{anomalies} anomalies do not fit in {len(sizes)} sessions (the shortest has "
                          f"{int(sizes.min()):,} rows; each anomaly needs {slot} rows of the last {tail:.0%} of its "
                          "session); ask for fewer anomalies, more rows, or a larger share.")
    return counts


def _session_sizes(rows: int, sessions: int, rng: np.random.Generator) -> np.ndarray:
    """Rows per session, roughly equal (±20 %), at least 2 each, summing to `rows`."""
    weights = rng.uniform(0.8, 1.2, sessions)
    sizes = np.maximum(np.floor(weights / weights.sum() * rows).astype(np.int64), 2)
    sizes[np.argmax(sizes)] += rows - sizes.sum()
    return sizes


def _timestamps(start: float, size: int, interval_s: float, rng: np.random.Generator) -> np.ndarray:
    """Epoch seconds with ±2 % sampling jitter, whole milliseconds so every format round-trips exactly."""
    steps = interval_s * np.clip(1.0 + 0.02 * rng.standard_normal(size), 0.9, 1.1)
    steps[0] = 0.0
    millis = np.rint((start + np.cumsum(steps)) * 1000.0)
    return millis / 1000.0


def _format_times(times: np.ndarray, timestamp_format: str) -> object:
    """The timestamps in the requested storage format (all describe the same instants)."""
    millis = np.rint(times * 1000.0).astype(np.int64)
    if timestamp_format == "epoch_s":
        return times
    if timestamp_format == "epoch_ms":
        return millis
    moments = pd.Series(pd.to_datetime(millis, unit="ms"))
    if timestamp_format == "datetime":
        return moments
    aware = moments.dt.tz_localize("UTC").dt.tz_convert("+02:00")
    if timestamp_format == "datetime_tz":
        return aware
    return aware.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def _session_frame(times: np.ndarray, cores: int, workload: str, rng: np.random.Generator,
                   response_rng: np.random.Generator | None, bursts: _Bursts) -> pd.DataFrame:
    """Per-core and overall utilisation for one session, in the seed data's column layout; core 0 follows the
    known response (drawing its noise from `response_rng`) when that generator is given, and carries `bursts`."""
    profile = PROFILES[workload]
    levels = _regime_levels(len(times), cores, profile, rng)
    # Each sample splits into a head (fraction OVERALL_SHIFT) and a tail: the cores measure head+tail of
    # sample n, the overall value tail of n + head of n+1, as psutil's two readings are taken apart.
    head = _jittered(levels, profile.jitter, rng)
    tail = _jittered(levels, profile.jitter, rng)
    if response_rng is not None:
        head[:, 0] = _responding(head[:, 1:], workload, response_rng)
        tail[:, 0] = _responding(tail[:, 1:], workload, response_rng)
    bursts.inject(head, tail)
    next_head = np.concatenate([head[1:], head[-1:]])
    per_core = _quantise(OVERALL_SHIFT * head + (1.0 - OVERALL_SHIFT) * tail, rng)
    overall = ((1.0 - OVERALL_SHIFT) * tail + OVERALL_SHIFT * next_head).mean(axis=1)
    overall = np.clip(np.round(overall, 1), 0.0, 100.0)
    columns: dict[str, object] = {TIMESTAMP: times, OVERALL: overall}
    columns.update({f"cpu_util_core_{c}": per_core[:, c] for c in range(cores)})
    columns[FREQUENCY] = _frequency(overall, rng)
    columns[WORKLOAD] = pd.array(np.full(len(times), workload), dtype="str")
    return pd.DataFrame(columns)


class _Bursts:
    """The anomalies of one session: `count` bursts on core 0 in the last `tail` share of its rows; `placed` holds
    each one's (first row, row after its last, points added) once injected."""

    def __init__(self, count: int, tail: float, rng: np.random.Generator) -> None:
        self.count, self.tail, self.rng = count, tail, rng
        self.placed: list[tuple[int, int, float]] = []

    def inject(self, head: np.ndarray, tail: np.ndarray) -> None:
        """Add the bursts to core 0's load in both half samples (in place), each in a slot of its own."""
        if not self.count:
            return
        size = len(head)
        first = size - int(np.floor(self.tail * size))
        edges = np.linspace(first, size, self.count + 1).astype(int)
        load = head[:, 0] + tail[:, 0]
        for low, high in zip(edges[:-1], edges[1:]):
            samples = int(self.rng.integers(ANOMALY_SAMPLES[0], ANOMALY_SAMPLES[1] + 1))
            starts = self.rng.integers(low, high - samples - ANOMALY_APART + 1, ANOMALY_CHOICES)
            start = int(starts[np.argmin([load[a:a + samples].mean() for a in starts])])
            points = float(self.rng.uniform(*ANOMALY_POINTS))
            for half in (head, tail):
                half[start:start + samples, 0] = np.minimum(half[start:start + samples, 0] + points, 100.0)
            self.placed.append((start, start + samples, points))


def _regime_levels(size: int, cores: int, profile: _Profile, rng: np.random.Generator) -> np.ndarray:
    """Piecewise-constant load per core: at random moments a core draws a new busy or idle level."""
    hot = rng.beta(2.0, 2.0 * (1.0 - profile.busy_share) / profile.busy_share, cores).astype(np.float32)
    new_regime = rng.random((size, cores), dtype=np.float32) < profile.switch
    new_regime[0] = True
    segment = np.cumsum(new_regime, axis=0, dtype=np.int32) - 1
    n_segments = int(segment[-1].max()) + 1
    busy = rng.random((n_segments, cores), dtype=np.float32) < hot
    table = np.where(
        busy,
        rng.uniform(*profile.busy, (n_segments, cores)),
        rng.uniform(*profile.idle, (n_segments, cores)),
    ).astype(np.float32)
    return np.take_along_axis(table, segment, axis=0)


def _jittered(levels: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Fast fluctuation inside a half sample, kept within 0..100 %."""
    noise = rng.standard_normal(levels.shape, dtype=np.float32) * np.float32(sd)
    return np.clip(levels + noise, 0.0, 100.0)


def _responding(others: np.ndarray, workload: str, rng: np.random.Generator) -> np.ndarray:
    """Core 0's load under the known response to the other cores' load (one half sample) and the workload."""
    level = np.float32(RESPONSE_GAIN) * others.mean(axis=1) + np.float32(RESPONSE_OFFSETS[workload])
    return _jittered(level, RESPONSE_NOISE, rng)


def _quantise(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """psutil-like per-core steps: whole ticks out of 9..12 per sample, rounded to 0.1 %."""
    ticks = rng.choice(TICKS_PER_SAMPLE, size=(values.shape[0], 1)).astype(np.float64)
    busy_ticks = np.rint(values.astype(np.float64) * ticks / 100.0)
    return np.round(busy_ticks * 100.0 / ticks, 1)


def _frequency(overall: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clock frequency rising with load, smoothed and in whole MHz (an extra column, never a feature)."""
    smooth = pd.Series(overall).ewm(alpha=0.05, adjust=False).mean().to_numpy()
    return np.round(1400.0 + 16.0 * smooth + rng.normal(0.0, 15.0, len(overall)))
