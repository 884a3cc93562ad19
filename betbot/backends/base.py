"""The protocol every backend speaks: place a bet, read balances and stats, rotate the seed pair; and the one
capability only some have (answering a bet at once, with no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from betbot.core.fairness import SeedPair
from betbot.core.models import BetRequest, Outcome, SeedRotation, SiteStats

__all__ = ["Backend", "ImmediateBackend", "SeedRotation", "SiteStats", "immediate_placer"]


class Backend(Protocol):
    name: str
    live: bool  # real money

    @property
    def known_seeds(self) -> Sequence[SeedPair]:
        """The seed pairs whose server seeds betbot holds, oldest first: all of the simulator's own (a simulated
        house's secret guards no one's money: it is revealed, journaled, verified), none of a real site's."""
        ...

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        """Place one bet; never raises for the bet's own fate (settled, refused, unknown)."""
        ...

    async def balance(self, currency: str) -> Decimal: ...

    async def stats(self, currency: str) -> SiteStats: ...

    async def rotate_seed(self, client_seed: str | None = None) -> SeedRotation: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ImmediateBackend(Protocol):
    """A capability, not part of `Backend`: a backend that can answer a bet at once, with no I/O (a simulator
    without latency). The engine asks for it once per run (`immediate_placer`): it then plays each bet inline,
    with no task and a journal sync before it. Every other backend's bets go through bet coroutines, which wait
    for their intent to be durable and share the disk syncs (group commit)."""

    @property
    def answers_at_once(self) -> bool:
        """Whether `place_now` may be used in this run (False for a simulator given latency)."""
        ...

    def place_now(self, seq: int, bet: BetRequest) -> Outcome:
        """The bet's outcome, played before this returns (a retryable refusal means it was not played)."""
        ...


def immediate_placer(backend: Backend) -> Callable[[int, BetRequest], Outcome] | None:
    """The backend's `place_now` when it answers at once in this run, else None (its bets are sent by tasks)."""
    if isinstance(backend, ImmediateBackend) and backend.answers_at_once:
        return backend.place_now
    return None
