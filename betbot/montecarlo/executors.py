"""Where chunks run: in this process, in local worker processes, or on a Dask cluster.

Every executor runs the same `run_chunk(spec, start, stop)`; they differ only in where. The driver
(`betbot.montecarlo.driver`) submits a bounded number of chunks, waits for any to finish, and on a failure
or Ctrl-C calls `close(abort=True)`, which must leave nothing running: local worker processes are
terminated and joined (no orphans), Dask tasks are cancelled and a cluster we started is shut down.

Local worker processes start from a fresh interpreter, never a fork of the parent (safe with threads in the
parent; `betbot.montecarlo.workers` says how). They ignore SIGINT: Ctrl-C reaches the parent, which stops
them itself, rather than each worker dying mid-chunk with its own traceback.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import signal
from collections.abc import Collection
from typing import Any, Protocol

from betbot.extras import install_hint
from betbot.montecarlo.chunk import ChunkResult, SessionFailure, run_chunk
from betbot.montecarlo.spec import SimulationSpec
from betbot.montecarlo.workers import worker_context

__all__ = ["DaskExecutor", "Executor", "ExecutorError", "InProcessExecutor", "ProcessExecutor"]


class ExecutorError(RuntimeError):
    """The executor itself failed (a worker process died, the cluster is unreachable)."""


class Executor(Protocol):
    name: str
    workers: int

    def submit(self, spec: SimulationSpec, start: int, stop: int) -> Any: ...

    def wait_any(self, handles: Collection[Any]) -> set[Any]: ...

    def result(self, handle: Any) -> ChunkResult: ...

    def close(self, *, abort: bool) -> None: ...


class InProcessExecutor:
    """One worker: the chunk runs in this process when it is submitted."""

    name = "in-process"
    workers = 1

    def submit(self, spec: SimulationSpec, start: int, stop: int) -> cf.Future[ChunkResult]:
        future: cf.Future[ChunkResult] = cf.Future()
        try:
            future.set_result(run_chunk(spec, start, stop))
        except Exception as exc:  # noqa: BLE001 - handed to the driver through the future, as a pool would
            future.set_exception(exc)
        return future

    def wait_any(self, handles: Collection[Any]) -> set[Any]:
        return set(handles)

    def result(self, handle: Any) -> ChunkResult:
        result: ChunkResult = handle.result()
        return result

    def close(self, *, abort: bool) -> None:
        return None


def _result(handle: Any, *, died: type[BaseException]) -> ChunkResult:
    """A chunk's result; a session's failure as it is, any other failure of a worker as an ExecutorError."""
    try:
        result: ChunkResult = handle.result()
    except SessionFailure:
        raise
    except died as exc:
        raise ExecutorError(f"a worker process died ({type(exc).__name__}: {exc})") from None
    except Exception as exc:
        raise ExecutorError(f"a worker failed: {type(exc).__name__}: {exc}") from exc
    return result


def _worker_start() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the workers


class ProcessExecutor:
    """K local worker processes (concurrent.futures over spawned processes)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._others = set(multiprocessing.active_children())  # children that are not this pool's
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=worker_context(),
                                            initializer=_worker_start)

    def submit(self, spec: SimulationSpec, start: int, stop: int) -> cf.Future[ChunkResult]:
        return self._pool.submit(run_chunk, spec, start, stop)

    def wait_any(self, handles: Collection[Any]) -> set[Any]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def result(self, handle: Any) -> ChunkResult:
        return _result(handle, died=cf.process.BrokenProcessPool)

    def close(self, *, abort: bool) -> None:
        # The processes, read before shutdown forgets them: terminating is the only way to stop a chunk
        # in the middle (concurrent.futures has no public call for it before Python 3.14).
        processes = list(getattr(self._pool, "_processes", {}).values()) if abort else []
        # shutdown(wait=False) forgets the pool's manager thread without joining it: kept here, to join it.
        manager = getattr(self._pool, "_executor_manager_thread", None)
        self._pool.shutdown(wait=not abort, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        if abort:
            self._pool.shutdown(wait=True)
            if manager is not None:
                manager.join()  # it winds down once its workers are gone
            # A worker started after the list above was read is this pool's all the same: none may outlive
            # the run.
            for process in set(multiprocessing.active_children()) - self._others:
                process.terminate()
                process.join()


class DaskExecutor:
    """Chunks as tasks on a dask.distributed cluster: an existing scheduler, or a LocalCluster we start."""

    name = "dask"

    def __init__(self, *, scheduler: str | None, workers: int) -> None:
        try:
            import distributed  # noqa: PLC0415 - an optional extra
        except ImportError:
            hint = install_hint("cluster", "'dask[distributed]'")
            raise ExecutorError(f"the Dask executor needs dask.distributed: {hint}") from None
        self._cluster: Any = None
        dask: Any = distributed  # untyped calls: the library has partial annotations
        try:
            if scheduler is None:
                # Everything on 127.0.0.1 with ports the system picks: no clash with another cluster's 8787.
                self._cluster = dask.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                                  worker_dashboard_address="127.0.0.1:0",
                                                  silence_logs=logging.CRITICAL)  # tasks we cancel log errors
                self._client: Any = dask.Client(self._cluster)
            else:
                self._client = dask.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            self._shutdown()
            raise ExecutorError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        self.address: str = self._client.scheduler.address
        threads = sum(self._client.nthreads().values())
        self.workers = max(1, threads)
        self._futures: set[Any] = set()
        self._spec: Any = None
        self._spec_of: SimulationSpec | None = None

    def submit(self, spec: SimulationSpec, start: int, stop: int) -> Any:
        if self._spec_of is not spec:  # sent once to every worker, not once per task
            self._spec = self._client.scatter(spec, broadcast=True)
            self._spec_of = spec
        future = self._client.submit(run_chunk, self._spec, start, stop, pure=False)
        self._futures.add(future)
        return future

    def wait_any(self, handles: Collection[Any]) -> set[Any]:
        import distributed  # noqa: PLC0415

        dask: Any = distributed
        done, _ = dask.wait(list(handles), return_when="FIRST_COMPLETED")
        self._futures -= set(done)
        return set(done)

    def result(self, handle: Any) -> ChunkResult:
        import distributed  # noqa: PLC0415

        return _result(handle, died=distributed.KilledWorker)

    def close(self, *, abort: bool) -> None:
        if abort and self._futures:
            self._client.cancel(list(self._futures))
        self._futures.clear()
        self._shutdown()

    def _shutdown(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
