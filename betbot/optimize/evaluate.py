"""One candidate on sessions 0..n-1: `simulate`'s own driver, spec, kernel and executors, n growing as it survives.

Theory of operation. A candidate is the base settings with its parameters in place (`settings.params`); its
spec is built by `SimulationSpec.create`, the very call `betbot simulate` makes, with the same master seed
for every candidate (common random numbers) and the same cap on a session's bets as `simulate` (so the
preset written for the winner reproduces the figures through `simulate`). The executor (local processes or
Dask) is started once for the whole search and kept open between candidates (`KeptOpen`): the driver closes
it only to abort. Each candidate's per-session columns are cached by its parameters, so a candidate that
survives a round of pruning plays only its new sessions (`simulate(first=...)`), and a candidate the sampler
proposes twice is played once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from betbot.config.settings import Settings
from betbot.core.rolls import RollSource
from betbot.montecarlo.chunk import ChunkResult, uses_kernel
from betbot.montecarlo.driver import simulate
from betbot.montecarlo.executors import Executor
from betbot.montecarlo.plan import MAX_KERNEL_CHUNK
from betbot.montecarlo.results import SessionResult
from betbot.montecarlo.spec import SimulationSpec
from betbot.optimize.figures import Columns
from betbot.optimize.space import candidate_key

__all__ = ["Evaluator", "Interrupted", "KeptOpen"]


class Interrupted(Exception):
    """The evaluation was stopped in the middle (a second Ctrl-C); its sessions are not counted."""


class KeptOpen:
    """An executor the driver may abort but not close: one pool of workers serves every candidate."""

    def __init__(self, executor: Executor) -> None:
        self.inner = executor
        self.name = executor.name
        self.workers = executor.workers
        self.aborted = False

    def submit(self, spec: SimulationSpec, start: int, stop: int) -> Any:
        return self.inner.submit(spec, start, stop)

    def wait_any(self, handles: Collection[Any]) -> set[Any]:
        return self.inner.wait_any(handles)

    def result(self, handle: Any) -> ChunkResult:
        return self.inner.result(handle)

    def close(self, *, abort: bool) -> None:
        if abort and not self.aborted:
            self.aborted = True
            self.inner.close(abort=True)

    def shutdown(self) -> None:
        if not self.aborted:
            self.aborted = True
            self.inner.close(abort=False)


@dataclass(slots=True)
class Evaluator:
    """Plays candidates of one base configuration on the common sessions."""

    settings: Settings
    master_seed: str
    executor: KeptOpen
    max_bets_cap: int | None = None
    rolls: RollSource = RollSource.FAST
    use_kernel: bool = True
    seconds: float = 0.0  # wall time inside the driver, all candidates (the rest is the optimiser's)
    sessions_played: int = 0
    _cache: dict[str, Columns] = field(default_factory=dict)
    _kernel: bool | None = None

    def spec(self, params: Mapping[str, Any], sessions: int) -> SimulationSpec:
        """The candidate's spec (SettingsError when the parameters are invalid)."""
        settings = self.settings.model_copy(update={"params": dict(params)})
        return SimulationSpec.create(settings, sessions=sessions, master_seed=self.master_seed, rolls=self.rolls,
                                     max_bets_cap=self.max_bets_cap, use_kernel=self.use_kernel)

    def on_kernel(self, spec: SimulationSpec) -> bool:
        """Whether the kernel plays the sessions (the strategy, the balance and the limits decide, not the
        parameters searched; asked once)."""
        if self._kernel is None:
            self._kernel = uses_kernel(spec)
        return self._kernel

    def cached(self, params: Mapping[str, Any]) -> Columns | None:
        return self._cache.get(candidate_key(params))

    def evaluate(self, params: Mapping[str, Any], sessions: int) -> Columns:
        """The candidate's columns for sessions 0..sessions-1, playing only those not played yet."""
        columns = self._cache.setdefault(candidate_key(params), Columns())
        if columns.sessions >= sessions:
            return columns.head(sessions)
        spec = self.spec(params, sessions)
        todo = sessions - columns.sessions
        workers = self.executor.workers
        # The kernel wants long chunks (its cost is mostly per step, whatever the sessions in the step): one
        # per worker. Measured on 10,000 sessions of 500 bets: 14 M bets per CPU second in chunks of 2,500,
        # 20 M in chunks of 5,000.
        size = min(MAX_KERNEL_CHUNK, math.ceil(todo / workers)) if self.on_kernel(spec) else None
        results: list[SessionResult] = []
        began = time.perf_counter()
        outcome = simulate(spec, self.executor, first=columns.sessions, size=size, on_result=results.append,
                           aggregate=False)
        self.seconds += time.perf_counter() - began
        if outcome.interrupted:
            raise Interrupted
        self.sessions_played += len(results)
        columns.extend(results)
        return columns.head(sessions)
