"""The one unit of work: a chunk of consecutive session indices, computed from (spec, start, stop) alone.

Every executor runs this same function (in-process for one worker, in worker processes, on Dask workers),
so the sequential and parallel paths cannot differ. A chunk goes to the vectorised kernel when the kernel
supports the strategy (`betbot.montecarlo.kernel.kernel_for`), else through the generic path session by
session; the sessions whose balance path is sampled for the fan chart always take the generic path (the
kernel gives the same per-session results, proven by its tests, but keeps no path).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from betbot.montecarlo.generic import BalancePath, SessionFailure, play_session
from betbot.montecarlo.results import SessionResult
from betbot.montecarlo.spec import SimulationSpec

__all__ = ["BalancePath", "ChunkResult", "SessionFailure", "run_chunk", "uses_kernel"]


@dataclass(frozen=True, slots=True)
class ChunkResult:
    start: int
    stop: int
    results: list[SessionResult]
    bets: int
    seconds: float  # the worker's time on this chunk (for the figures, never for the results)
    paths: list[BalancePath] = field(default_factory=list)


KernelRunner = Callable[[SimulationSpec, range], list[SessionResult]]


def _kernel_for(spec: SimulationSpec) -> KernelRunner | None:
    """The vectorised kernel for this spec, if there is one and it supports the strategy."""
    if not spec.use_kernel:
        return None
    from betbot.montecarlo.kernel import kernel_for  # noqa: PLC0415 - NumPy loads only when a chunk runs

    runner: KernelRunner | None = kernel_for(spec)
    return runner


def uses_kernel(spec: SimulationSpec) -> bool:
    """Whether the vectorised kernel plays this spec's sessions (all but the sampled ones)."""
    return _kernel_for(spec) is not None


def run_chunk(spec: SimulationSpec, start: int, stop: int) -> ChunkResult:
    """Sessions start..stop-1 of the spec. Raises SessionFailure naming the first session that failed."""
    with _batch(spec):
        return _run_chunk(spec, start, stop)


@contextmanager
def _batch(spec: SimulationSpec) -> Iterator[None]:
    """A script played in thousands of simulated sessions prints nowhere and writes to scratch files only:
    the preview and `simulate` never flood the log or overwrite the files a live run of it keeps."""
    if spec.settings.strategy != "lua":
        yield
        return
    from betbot.strategies.lua import batch_mode  # noqa: PLC0415 - Lua only when a script plays

    with batch_mode():
        yield


def _run_chunk(spec: SimulationSpec, start: int, stop: int) -> ChunkResult:
    began = time.perf_counter()
    limits = spec.limits()
    results: list[SessionResult] = []
    paths: list[BalancePath] = []
    generic_stop = stop
    kernel = _kernel_for(spec)
    if kernel is not None:
        generic_stop = min(stop, max(start, spec.paths))  # the sampled sessions only
    for index in range(start, generic_stop):
        result, path = play_session(spec, index, limits)
        results.append(result)
        if path is not None:
            paths.append(path)
    if kernel is not None and generic_stop < stop:
        results.extend(kernel(spec, range(generic_stop, stop)))
    return ChunkResult(start=start, stop=stop, results=results, bets=sum(r.bets for r in results),
                       seconds=time.perf_counter() - began, paths=paths)
