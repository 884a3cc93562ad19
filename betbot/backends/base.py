"""The protocol every backend speaks: place a bet, read balances and stats, rotate the seed pair."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from betbot.core.fairness import SeedPair
from betbot.core.models import BetRequest, Outcome, SeedRotation, SiteStats

__all__ = ["Backend", "SeedRotation", "SiteStats"]


class Backend(Protocol):
    name: str
    live: bool  # real money

    def place_now(self, seq: int, bet: BetRequest) -> Outcome | None:
        """The outcome at once when the backend can answer without waiting, else None.

        The engine's fast path: a zero-latency simulator answers here, and no task is spawned per bet.
        """
        ...

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
