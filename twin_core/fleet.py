"""Fleets: one twin per host, each trained as an independent task on an engine (local processes or a Dask cluster).

What runs where:
- the client (the process that calls `train_fleet`) finds the hosts from the paths it is given: folder names, and
  for a file that holds several hosts the values of its `host` column alone (`discover_hosts`). It sends each host
  to the engine as a `HostTask` (the host's name, file paths and `host` value, the configuration as JSON and the
  options) and gets a `HostOutcome` back for each host as it finishes; it then writes the files and keeps the runs.
- a worker loads that host's files (of a file that holds several hosts, only its rows), builds the features, trains
  with `train_twin` one fit at a time (the hosts are the parallelism: one level of it), builds the host's report and
  returns its `TrainResult` and report: the scores, the hold-out predictions, the fitted twin, never the telemetry
  nor the feature matrix.
The client never reads the fleet's telemetry, and what it unpickles is what `train_host` returned. A host that cannot
be trained (a bad file, too short) is an outcome with its one message; the other hosts go on.

`train_tasks` is the part a sweep shares (twin_core.sweep): many independent runs of named files on an engine, each
outcome as it finishes, a task that died as one line. A worker keeps the last telemetry it loaded, so the runs of a
sweep (the same files, other configurations) read the files once per worker.
"""
from __future__ import annotations

import csv
import io
import os
import re
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from twin_core.config import RunConfig
from twin_core.engine import Engine
from twin_core.errors import ConfigError, TelemetryError, TwinError
from twin_core.evaluate import model_key, model_words
from twin_core.pipeline import TrainResult, train_twin
from twin_core.report import build_report
from twin_core.telemetry import PARQUET_MAGIC, SessionRule, Telemetry, load_telemetry, load_uploaded
from twin_core.wording import files_label, reference_gain, reference_r2

HOST_COLUMN = "host"
TELEMETRY_SUFFIXES = (".parquet", ".csv", ".json", ".txt", ".log", ".prom")  # what a folder is read for
_CSV_DELIMITERS = (",", ";", "\t")
_BATCH_ROWS = 65_536  # rows of a `host` column read at a time when the hosts of a file are listed


@dataclass(frozen=True)
class Host:
    """One host of a fleet: its name, its telemetry files and, when those files hold several hosts, the value of
    their `host` column that is this host's (None: every row of the files is this host's)."""

    name: str
    files: tuple[str, ...]
    value: object = None

    @property
    def folder(self) -> str:
        """The name of the host's output folder: its name with anything but letters, digits, `.`, `_` and `-`
        replaced, so no host name can write outside the fleet's folder."""
        return re.sub(r"[^A-Za-z0-9._-]", "_", self.name).strip(".") or "host"


@dataclass(frozen=True)
class FleetOptions:
    """What every host's run shares besides the configuration: the memory budget of one worker and the session
    rule (see SessionRule)."""

    memory_budget: int | None = None
    gap_factor: float = SessionRule().gap_factor
    min_gap_s: float = SessionRule().min_gap_s


@dataclass(frozen=True)
class HostTask:
    """What a worker needs to train one host (or one run of a sweep, its `host` then naming the run and its data):
    plain, small and picklable (the configuration travels as JSON); `report` asks for the run's report.html."""

    host: Host
    config_json: str
    options: FleetOptions
    report: bool = True


@dataclass(frozen=True)
class HostOutcome:
    """One host's end: its run (a TrainResult, which holds no telemetry nor feature matrix) with its report built on
    the worker, or the one message that says why it has none (`invalid_data` when its data was the cause)."""

    host: Host
    run: TrainResult | None = None
    error: str | None = None
    invalid_data: bool = False
    report_deflated: bytes = field(default=b"", repr=False)  # report.html, deflated: Plotly's script is most of 5 MB

    @property
    def report(self) -> str:
        """The host's report (report.html), built on the worker; empty when the task asked for none."""
        return zlib.decompress(self.report_deflated).decode("utf-8") if self.report_deflated else ""


def discover_hosts(paths: Sequence[str | Path]) -> tuple[list[Host], list[HostOutcome]]:
    """The hosts of the fleet in `paths`, sorted by name, and the files that could not be read to find them.

    A folder of folders holds one host per sub-folder (named by it); a folder of files is one host (named by the
    folder), unless every file has a `host` column; files with a `host` column hold one host per value of that
    column (only that column is read here). Raises ConfigError when a path is missing, a file has no `host` column,
    a host is found twice, or no host is found.
    """
    hosts: dict[str, Host] = {}
    unreadable: list[HostOutcome] = []

    def add(host: Host, where: str) -> None:
        if host.name in hosts:
            raise ConfigError(f"Host '{host.name}' is found twice ({', '.join(hosts[host.name].files[:1])} and "
                              f"{where}); give each host one folder, or one value of the `{HOST_COLUMN}` column.")
        hosts[host.name] = host

    def add_files(files: list[Path], folder: Path | None) -> None:
        values: dict[str, tuple[object, list[str]]] = {}
        without: list[Path] = []
        broken: dict[Path, str] = {}
        for path in files:
            try:
                found = _host_values(path)
            except (OSError, ValueError, pa.ArrowException) as exc:
                broken[path] = str(exc)
                continue
            if found is None:
                without.append(path)
            for value in found or ():
                values.setdefault(str(value), (value, []))[1].append(str(path))
        if without and (folder is None or values):
            raise ConfigError(f"File '{without[0]}' has no `{HOST_COLUMN}` column, so its host is not known: put "
                              "each host's files in a folder named after the host, or add a `host` column.")
        if folder is not None and not values:  # a host folder: a file that cannot be read fails its host's run
            add(Host(folder.name, tuple(str(p) for p in sorted([*without, *broken]))), str(folder))
            return
        unreadable.extend(HostOutcome(Host(path.name, (str(path),)), error=f"File '{path}' cannot be read to find its "
                                      f"hosts ({reason}); check the file.", invalid_data=True)
                          for path, reason in broken.items())
        for name, (value, names) in values.items():
            add(Host(name, tuple(names), value), ", ".join(names))

    loose: list[Path] = []
    for item in paths:
        path = Path(item).resolve()  # workers open the same paths (on a cluster: a shared file system)
        if not path.exists():
            raise ConfigError(f"Fleet path '{item}' does not exist; pass folders of hosts' files, host folders, or "
                              f"files with a `{HOST_COLUMN}` column.")
        if path.is_file():
            loose.append(path)
            continue
        folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        for folder in folders or [path]:
            add_files(_telemetry_files(folder), folder)
    if loose:
        add_files(loose, None)
    if not hosts and not unreadable:
        raise ConfigError(f"No host found in {', '.join(str(p) for p in paths)}: pass a folder with one folder of "
                          f"telemetry files per host, or files with a `{HOST_COLUMN}` column.")
    _check_folders(list(hosts.values()))
    return sorted(hosts.values(), key=lambda h: h.name), unreadable


def _telemetry_files(folder: Path) -> list[Path]:
    """The telemetry files directly in a folder, as the loaders expand a folder (an empty host folder is left to
    the loader, which says so as that host's failure)."""
    found = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in TELEMETRY_SUFFIXES and not p.name.startswith("."))
    return found or [folder]


def _check_folders(hosts: list[Host]) -> None:
    """Refuse hosts whose names would share an output folder (e.g. `a/b` and `a_b`)."""
    seen: dict[str, str] = {}
    for host in hosts:
        if host.folder.lower() in seen:
            raise ConfigError(f"Hosts '{seen[host.folder.lower()]}' and '{host.name}' would write to the same folder "
                              f"'{host.folder}'; rename one of them.")
        seen[host.folder.lower()] = host.name


def _host_values(path: Path) -> list | None:
    """The distinct values of a file's `host` column (read alone, in batches), or None when it has none."""
    if path.is_dir():
        return None
    with path.open("rb") as file:
        head = file.read(4)
    if head == PARQUET_MAGIC:
        parquet = pq.ParquetFile(path)
        if HOST_COLUMN not in parquet.schema_arrow.names:
            return None
        seen: set = set()
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=[HOST_COLUMN]):
            seen.update(v for v in pc.unique(batch.column(0)).to_pylist() if v is not None)
        return sorted(seen, key=str)
    header = _csv_header(path)
    if header is None:
        return None
    delimiter, names = header
    at = names.index(HOST_COLUMN)
    with path.open(newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file, delimiter=delimiter)
        next(rows, None)
        return sorted({row[at].strip() for row in rows if len(row) > at and row[at].strip()})


def _csv_header(path: Path) -> tuple[str, list[str]] | None:
    """(delimiter, names) when a text file's first non-blank line is a header with a `host` column."""
    with path.open(encoding="utf-8-sig", errors="replace") as file:
        first = next((line for line in file if line.strip()), "")
    for delimiter in _CSV_DELIMITERS:
        names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter), [])]
        if HOST_COLUMN in names:
            return delimiter, names
    return None


# -- on a worker ------------------------------------------------------------------------------------------------
def train_host(task: HostTask) -> HostOutcome:
    """Train one host's twin on a worker: load its files, train, score and report; its failure as its message."""
    host = task.host
    try:
        config = RunConfig.from_json(task.config_json)
        started = time.perf_counter()
        telemetry = _load_host(host, config.target, task.options)
        load_seconds = time.perf_counter() - started
        with _one_thread_per_fit(), warnings.catch_warnings():  # unseen workloads are in the run's notes
            warnings.filterwarnings("ignore", message=".*not seen in training", category=UserWarning)
            result = train_twin(telemetry, replace(config, stack=replace(config.stack, n_jobs=1)),
                                memory_budget=task.options.memory_budget)
        result.seconds["load"] = load_seconds
        report = zlib.compress(_host_report(result, host).encode("utf-8")) if task.report else b""
        return HostOutcome(host, result, report_deflated=report)
    except TwinError as exc:
        return HostOutcome(host, error=str(exc), invalid_data=isinstance(exc, TelemetryError))
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return HostOutcome(host, error=f"{exc.strerror or exc}{where}", invalid_data=True)


@contextmanager
def _one_thread_per_fit() -> Iterator[None]:
    """Each model of a host's run on one thread: joblib (and so the pipeline's thread count) reads this variable, and
    the hosts running side by side already use the cores."""
    before = os.environ.get("LOKY_MAX_CPU_COUNT")
    os.environ["LOKY_MAX_CPU_COUNT"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LOKY_MAX_CPU_COUNT", None)
        else:
            os.environ["LOKY_MAX_CPU_COUNT"] = before


def _load_host(host: Host, target: str, options: FleetOptions) -> Telemetry:
    """The host's telemetry, through the same readers and checks as `train`: its files as they are, or of files that
    hold several hosts only its rows (a parquet file read with a filter, a CSV file line by line). The last one
    loaded is kept on the worker, so the next task on the same files (a sweep's) does not read them again."""
    return _load_files(host.files, host.value, target, options)


@lru_cache(maxsize=1)
def _load_files(files: tuple[str, ...], value: object, target: str, options: FleetOptions) -> Telemetry:
    rule = {"target": target, "gap_factor": options.gap_factor, "min_gap_s": options.min_gap_s,
            "memory_budget": options.memory_budget}
    if value is None:
        return load_telemetry(list(files), **rule)
    return load_uploaded([(Path(p).name, _host_rows(Path(p), value)) for p in files], **rule)


def _host_rows(path: Path, value: object) -> bytes:
    """A file's rows of one host in the file's own format, without the `host` column nor the columns this host
    never fills (a file of hosts with 4 and 8 cores leaves the last 4 core columns empty on the smaller hosts)."""
    with path.open("rb") as file:
        head = file.read(4)
    if head == PARQUET_MAGIC:
        table = pq.read_table(path, filters=[(HOST_COLUMN, "=", value)])
        empty = [name for name, column in zip(table.column_names, table.columns)
                 if table.num_rows and column.null_count == table.num_rows]
        buffer = io.BytesIO()
        pq.write_table(table.drop_columns([HOST_COLUMN, *empty]), buffer)
        return buffer.getvalue()
    delimiter, names = _csv_header(path)
    at = names.index(HOST_COLUMN)
    with path.open(newline="", encoding="utf-8-sig") as file:
        rows = [row for row in csv.reader(file, delimiter=delimiter) if len(row) > at and row[at].strip() == value]
    filled = [i for i in range(len(names)) if i != at and (not rows or any(i < len(r) and r[i].strip() for r in rows))]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow([names[i] for i in filled])
    writer.writerows([row[i] if i < len(row) else "" for i in filled] for row in rows)
    return out.getvalue().encode("utf-8")


def _host_report(result: TrainResult, host: Host) -> str:
    """The host's report.html, named after the run and the host, its data named by the host's files."""
    names = tuple(Path(p).name for p in host.files)
    data_label = files_label(names) if host.value is None else f"the rows of {host.name} in {files_label(names)}"
    return build_report(result, f"{result.config.name} · {host.name}", data_label)


# -- on the client ----------------------------------------------------------------------------------------------
def train_fleet(hosts: Sequence[Host], config: RunConfig, engine: Engine,
                options: FleetOptions = FleetOptions()) -> Iterator[HostOutcome]:
    """Train every host's twin as an independent task on `engine`; yield each host's outcome as it finishes.

    A task that ends in an exception rather than an outcome (its worker died, or a bug) is that host's failure.
    """
    config.validate()
    yield from train_tasks([HostTask(host, config.to_json(), options) for host in hosts], engine)


def train_tasks(tasks: Sequence[HostTask], engine: Engine) -> Iterator[HostOutcome]:
    """Train independent runs (a fleet's hosts, a sweep's runs) on `engine`; yield each outcome as it finishes.

    A task that ends in an exception rather than an outcome (its worker died, or a bug) is that run's failure, in
    one line.
    """
    for index, outcome, error in engine.map_unordered(train_host, tasks):
        if error is None:
            yield outcome
        else:
            said = " ".join(str(error).split())  # one line, however the cluster wrapped it
            yield HostOutcome(tasks[index].host, error=f"its task stopped on {engine.describe()} "
                                                       f"({type(error).__name__}: {said}); see the worker's log, then "
                                                       "train it again.")


def host_summary(host: str, metrics: dict) -> dict:
    """One host's line of a fleet table from its run's metrics.json: the best model's hold-out R² against the
    baseline its kind must beat (the identity for a reconstruction twin), the gain, the split and the rows."""
    best = metrics["best"]
    reference, gain = reference_gain(metrics)
    return {"host": host, "kind": metrics["kind"], "best_model": model_words(model_key(best["layer"], best["name"])),
            "best_r2_holdout": _number(best["r2_holdout"]), "reference": model_words(reference),
            "reference_r2_holdout": _number(reference_r2(metrics)), "gain": _number(gain),
            "split": metrics["split"]["description"], "leaky": bool(metrics["leaky"]),
            "rows_train": metrics["rows"]["train"], "rows_test": metrics["rows"]["test"]}


def worst_first(rows: list[dict]) -> list[dict]:
    """Hosts ordered from the lowest best hold-out R² up (an R² that could not be measured first), then by name."""
    return sorted(rows, key=lambda r: (r["best_r2_holdout"] is not None, r["best_r2_holdout"] or 0.0, r["host"]))


def _number(value: float | None) -> float | None:
    """A score as JSON keeps it: None when it could not be measured."""
    return None if value is None or not np.isfinite(value) else round(float(value), 6)
