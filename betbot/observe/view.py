"""What the watchers of a run (dashboard, progress lines, heartbeat, metrics) read about it, in one place.

Theory of operation. Every watcher reads the run through `view_of(engine)`: one frozen `RunView` per look,
built from the engine's public state (the session's snapshot, elapsed time, effective concurrency, the
back-off, the reorder buffer, the retry count). Nothing else in `betbot.observe` touches the engine, so
when the engine emits events instead of being polled, this function is the one place to rewire.
`RunView` is plain data: tests build one by hand and render it without an engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from betbot.core.session import SessionSnapshot

if TYPE_CHECKING:
    from betbot.engine.loop import Engine

__all__ = ["RunView", "concurrency_text", "concurrency_words", "view_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunView:
    """A run at one moment, as its watchers see it."""

    snapshot: SessionSnapshot
    elapsed: float  # seconds since this run's engine started
    concurrency: int  # the effective one
    buffered: int  # outcomes waiting in the reorder buffer for an earlier seq
    backing_off: bool
    backoff_remaining: float  # seconds
    backoff_reason: str
    backoff_trips: int  # back-off episodes so far (one per pause, however many bets hit it)
    retries: int  # bets sent again after a rate limit or a challenge
    # `-n auto`: the bets in flight allowed right now (the concurrency above is its cap), and why; None when
    # the concurrency is fixed.
    in_flight_limit: int | None = None
    pace_reason: str | None = None
    learned_rate: float | None = None  # bets/s: the site's rate `-n auto` learned from its 429s, once it has

    @property
    def stopped(self) -> bool:
        return self.snapshot.stop_reason is not None


def view_of(engine: Engine) -> RunView:
    """The run as it is now. Cheap: a snapshot and a few attribute reads, a few times a second."""
    backoff = engine.backoff
    return RunView(
        snapshot=engine.session.snapshot(),
        elapsed=engine.elapsed,
        concurrency=engine.concurrency,
        buffered=engine.buffer.depth,
        backing_off=backoff.active,
        backoff_remaining=backoff.remaining,
        backoff_reason=backoff.reason,
        backoff_trips=backoff.episodes,
        retries=engine.retries,
        in_flight_limit=None if engine.pacer is None else engine.machine.in_flight_limit,
        pace_reason=None if engine.pacer is None else engine.pacer.reason,
        learned_rate=None if engine.pacer is None else engine.pacer.learned_rate,
    )


def concurrency_text(engine: Engine) -> str:
    """The concurrency as the run was asked for it: `5`, or `auto (cap 32)` when a pacer moves it."""
    return concurrency_words(engine.concurrency, auto=engine.pacer is not None)


def concurrency_words(cap: int, *, auto: bool) -> str:
    """`5`, or `auto (cap 32)`: the words the dashboard's title and the summary use for the same run."""
    return f"auto (cap {cap})" if auto else str(cap)
