"""Where work runs: on this machine (`local`) or on a Dask cluster (`dask`), with the same results for the same seed.

Two kinds of work go through an engine:
- the fits of one stack layer (`HierarchicalStack(engine=...)`): many small tasks that read one design matrix,
  which the Dask engine scatters to the workers once per layer, not once per task;
- independent runs (one twin per host of a fleet, the runs of a sweep): `Engine.map_unordered`, each run in a
  worker process of its own (a local process pool, or the cluster's workers).

`open_engine("dask")` with no scheduler address connects to `$TWIN_DASK_SCHEDULER` when it is set, else starts a
`LocalCluster` sized to the machine (one single-threaded worker per physical core, no dashboard: the app makes no
request to any other host). Dask is imported only when the Dask engine is asked for.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Literal

import joblib
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from twin_core.errors import ConfigError
from twin_core.schema import MAX_N_JOBS

EngineKind = Literal["local", "dask"]
ENGINES: tuple[str, ...] = ("local", "dask")
SCHEDULER_ENV = "TWIN_DASK_SCHEDULER"


def physical_cores() -> int:
    """The machine's physical cores: how many fits (or single-threaded workers) run side by side."""
    return max(1, joblib.cpu_count(only_physical_cores=True))


def _indexed(index: int, function: Callable[..., Any], *args: Any) -> tuple[int, Any]:
    return index, function(*args)


class Engine:
    """Runs independent tasks and reports each as it finishes; subclasses say where."""

    kind: EngineKind = "local"
    workers: int = 1

    def map_shared(self, function: Callable[..., Any], shared: tuple, items: Sequence[tuple], *,
                   jobs: int | None = None) -> Iterator[tuple[int, Any]]:
        """Yield `(index, function(*shared, *items[index]))` as each finishes; the first error is raised.

        `shared` (the large arguments every task reads, such as a layer's design matrix) is sent once, not once per
        task; `jobs` is how many tasks run at once on this machine (a cluster runs as many as it has workers).
        """
        raise NotImplementedError

    def map_unordered(self, function: Callable[[Any], Any], items: Sequence[Any]
                      ) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Yield `(index, result, None)` or `(index, None, error)` for each item as its task finishes."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the work runs, in words (printed by the CLI, shown by the app)."""
        raise NotImplementedError


class LocalEngine(Engine):
    """Independent runs in a pool of fresh worker processes on this machine (spawned: no inherited threads)."""

    kind: EngineKind = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or physical_cores()

    def map_unordered(self, function, items):
        """Each item in a worker process; a KeyboardInterrupt cancels the tasks not yet started."""
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, max(1, len(items))), mp_context=context) as pool:
            pending: dict[Future, int] = {pool.submit(function, item): i for i, item in enumerate(items)}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        index = pending.pop(future)
                        error = future.exception()
                        yield index, (None if error else future.result()), error
            finally:
                for future in pending:
                    future.cancel()

    def map_shared(self, function, shared, items, *, jobs=None):
        """Threads in this process: LightGBM and the tree ensembles release the GIL, and nothing is copied.

        OpenMP/BLAS pools are held to one thread while tasks run side by side (one level of parallelism). The tasks
        not yet started when the caller stops (a cancelled training) are dropped.
        """
        with threadpool_limits(limits=1 if jobs != 1 else None):
            results = Parallel(n_jobs=jobs, return_as="generator_unordered", prefer="threads")(
                delayed(_indexed)(i, function, *shared, *item) for i, item in enumerate(items))
            try:
                for result in results:  # not `yield from`: closing this generator must close joblib's in here
                    yield result
            finally:
                with warnings.catch_warnings():  # dropping the tasks in flight is on purpose
                    warnings.filterwarnings("ignore", message=".*(not used|have been cancelled)", category=UserWarning)
                    results.close()

    def describe(self) -> str:
        return f"this machine ({self.workers} worker process{'es' if self.workers != 1 else ''})"


class DaskEngine(Engine):
    """Tasks on a Dask cluster: an existing scheduler's, or a LocalCluster started (and closed) by this engine."""

    kind: EngineKind = "dask"

    def __init__(self, client, cluster=None):
        self.client, self.cluster = client, cluster
        self.workers = max(1, sum(info.get("nthreads", 1)
                                  for info in client.scheduler_info().get("workers", {}).values()))

    def map_unordered(self, function, items):
        """Each item as one task (never cached by Dask: pure=False); finished tasks are released at once."""
        from distributed import as_completed

        futures = self.client.map(function, list(items), pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                error = future.exception() if future.status == "error" else None
                yield index[future.key], (None if error else future.result()), error
                future.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def map_shared(self, function, shared, items, *, jobs=None):
        """Tasks on the cluster's workers; `shared` is scattered to every worker once (broadcast), then each task
        refers to it. Unfinished tasks are cancelled when the caller stops."""
        from distributed import as_completed

        handles = self.client.scatter(list(shared), broadcast=True, hash=False)
        futures = [self.client.submit(_indexed, i, function, *handles, *item, pure=False)
                   for i, item in enumerate(items)]
        try:
            for future in as_completed(futures):
                yield future.result()
                future.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])
            self.client.cancel(handles)

    def describe(self) -> str:
        where = ("a local Dask cluster" if self.cluster is not None
                 else f"the Dask cluster at {self.client.scheduler.address}")
        return f"{where} ({self.workers} worker thread{'s' if self.workers != 1 else ''})"

    def close(self) -> None:
        """Disconnect; a LocalCluster this engine started is shut down."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def scheduler_address(explicit: str | None = None) -> str | None:
    """The Dask scheduler to connect to: `explicit`, else `$TWIN_DASK_SCHEDULER`, else None (start a LocalCluster)."""
    return explicit or os.environ.get(SCHEDULER_ENV) or None


def _dask_engine(address: str | None, workers: int | None) -> DaskEngine:
    try:
        from distributed import Client, LocalCluster
        from distributed.comm import get_address_host_port
    except ImportError as exc:  # pragma: no cover - dask is in requirements.txt
        raise ConfigError("The Dask engine needs dask[distributed]; install it with "
                          "`pip install -r requirements.txt`, or use --engine local.") from exc
    if address is None:
        cluster = LocalCluster(n_workers=workers or physical_cores(), threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1", silence_logs=logging.CRITICAL)
        return DaskEngine(Client(cluster), cluster)
    try:
        get_address_host_port(address)  # parsed before connecting: a bad address is refused at once, not after 10 s
        return DaskEngine(Client(address, timeout=10))
    except (ValueError, TypeError) as exc:  # distributed's parsing of the address: no port, unknown scheme...
        raise ConfigError(f"'{address}' is not a Dask scheduler address we can connect to ({exc}); write it as "
                          f"tcp://HOST:8786, or unset ${SCHEDULER_ENV} to start a local cluster.") from None
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"Cannot reach the Dask scheduler at {address}: {exc}. Check the address (as "
                          f"tcp://HOST:8786), that the scheduler runs, or unset ${SCHEDULER_ENV} to start a "
                          "local cluster.") from None


@contextmanager
def open_engine(kind: str = "local", scheduler: str | None = None, workers: int | None = None
                ) -> Iterator[Engine]:
    """The engine `kind` names, closed on exit; `scheduler` (or $TWIN_DASK_SCHEDULER) applies to `dask` only."""
    if kind not in ENGINES:
        raise ConfigError(f"Unknown engine {kind!r}; use one of {', '.join(ENGINES)}.")
    if workers is not None and not (isinstance(workers, int) and 1 <= workers <= MAX_N_JOBS):
        # each is a process of its own (a local cluster starts them all at once): a typo must not start thousands
        raise ConfigError(f"--workers: the workers side by side must be a whole number from 1 to {MAX_N_JOBS}, got "
                          f"{workers!r}.")
    if kind == "local":
        yield LocalEngine(workers)
        return
    engine = _dask_engine(scheduler_address(scheduler), workers)
    try:
        yield engine
    finally:
        engine.close()
