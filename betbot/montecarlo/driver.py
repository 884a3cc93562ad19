"""The driver: chunks out to an executor, results back into the aggregates, in session-index order.

Theory of operation. Chunks are sized to take about half a second each (`ChunkPlanner`), so progress
moves at least every second and an interrupt finds sessions done. At most `2 * workers` chunks are in
flight, so every worker always has its next chunk waiting and memory stays bounded whatever the number of
sessions. Chunks come back in any order;
progress counts them as they arrive, and a reorder buffer (bounded by the chunks in flight) hands them to
the aggregates, the CSV rows and the path sample strictly in index order, so every output is identical
for any worker count, executor or scheduling.

A failure in a worker (a `SessionFailure` naming the session, or the executor breaking) stops everything:
the executor is closed with `abort=True` and the failure is raised. A stop request (`stop()` true: the
command's signal handler sets a flag, it never raises into the aggregates) is looked at between chunks, once
every result that came back has been absorbed whole: the executor is closed the same way and what was done
is returned, the sessions 0..N-1 aggregated in order. A KeyboardInterrupt raised anyway (no handler
installed) returns the same, and is only safe outside the absorption of a chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from betbot.montecarlo.chunk import ChunkResult, uses_kernel
from betbot.montecarlo.executors import Executor
from betbot.montecarlo.generic import BalancePath
from betbot.montecarlo.plan import ChunkPlanner, chunk_size
from betbot.montecarlo.results import Aggregates, SessionResult
from betbot.montecarlo.spec import SimulationSpec

__all__ = ["Progress", "SimulationOutcome", "simulate"]

IN_FLIGHT_PER_WORKER = 2


class Progress(Protocol):
    def advance(self, sessions: int, bets: int) -> None: ...


@dataclass(slots=True)
class SimulationOutcome:
    aggregates: Aggregates
    paths: list[BalancePath] = field(default_factory=list)
    interrupted: bool = False
    elapsed: float = 0.0
    worker_seconds: float = 0.0  # CPU-side time the workers spent on the chunks that came back

    @property
    def sessions(self) -> int:
        return self.aggregates.sessions


def simulate(spec: SimulationSpec, executor: Executor, *, progress: Progress | None = None,
             on_result: Callable[[SessionResult], Any] | None = None,
             clock: Callable[[], float] = time.perf_counter, first: int = 0,
             size: int | None = None, aggregate: bool = True,
             stop: Callable[[], bool] | None = None) -> SimulationOutcome:
    """Run sessions first..spec.sessions-1 of the spec (chunks of `size` sessions, or the plan's); raises
    SessionFailure / ExecutorError after stopping the workers.

    `first` lets a caller extend an evaluation it already has (`betbot optimize` plays a candidate on more
    sessions as it survives the pruning): the sessions are the same whether played in one call or several.
    `aggregate=False` leaves the aggregates empty for a caller that keeps its own (`on_result`): their
    sketches cost some microseconds a session. `stop`: asked between chunks; true stops the run there
    (`interrupted`), with every absorbed chunk absorbed whole.
    """
    began = clock()
    outcome = SimulationOutcome(aggregates=Aggregates())
    kernel = uses_kernel(spec)
    if size is None:  # sized to the time the chunks take
        chunks = ChunkPlanner(spec.sessions, chunk_size(spec.sessions - first, executor.workers, kernel=kernel),
                              kernel=kernel, first=first)
    else:  # the caller's own size: every chunk that size
        chunks = ChunkPlanner(spec.sessions, size, smallest=size, first=first)
    limit = IN_FLIGHT_PER_WORKER * executor.workers
    in_flight: set[Any] = set()
    arrived: dict[int, ChunkResult] = {}  # by start index, until every earlier chunk is in
    next_start = first
    stopping = stop if stop is not None else _never
    try:
        exhausted = False
        while not stopping():
            while not exhausted and len(in_flight) < limit and not stopping():
                chunk = chunks.next()
                if chunk is None:
                    exhausted = True
                    break
                in_flight.add(executor.submit(spec, *chunk))
            if not in_flight:
                break
            for handle in executor.wait_any(in_flight):
                in_flight.discard(handle)
                result = executor.result(handle)
                outcome.worker_seconds += result.seconds
                chunks.observe(result.stop - result.start, result.seconds)
                if progress is not None:
                    progress.advance(result.stop - result.start, result.bets)
                arrived[result.start] = result
            while next_start in arrived:
                result = arrived.pop(next_start)
                _absorb(outcome, result, on_result, aggregate=aggregate)
                next_start = result.stop
        else:  # asked to stop, between chunks
            outcome.interrupted = True
    except KeyboardInterrupt:
        outcome.interrupted = True
    except BaseException:
        executor.close(abort=True)
        raise
    executor.close(abort=outcome.interrupted)
    outcome.elapsed = clock() - began
    return outcome


def _never() -> bool:
    return False


def _absorb(outcome: SimulationOutcome, chunk: ChunkResult, on_result: Callable[[SessionResult], Any] | None, *,
            aggregate: bool) -> None:
    if aggregate:
        add = outcome.aggregates.add
        for result in chunk.results:
            add(result)
    if on_result is not None:
        for result in chunk.results:
            on_result(result)
    outcome.paths.extend(chunk.paths)
