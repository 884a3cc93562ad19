"""The protocol every backend speaks: place a bet, read balances and stats, rotate the seed pair."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from betbot.models import BetRequest, Outcome

__all__ = ["Backend", "SeedRotation", "SiteStats"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteStats:
    """What `/bot/stats/{SYMBOL}` reports: the tool for reconciliation."""

    currency: str
    bets: int
    wins: int
    profit: Decimal
    volume: Decimal
    balance: Decimal  # main balance
    faucet_balance: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedRotation:
    """A rotated seed pair: the old server seed revealed (when the backend tells), the new one's hash."""

    previous_server_seed: str | None
    previous_server_seed_hash: str | None
    server_seed_hash: str | None
    client_seed: str


class Backend(Protocol):
    name: str
    live: bool  # real money

    def place_now(self, seq: int, bet: BetRequest) -> Outcome | None:
        """The outcome at once when the backend can answer without waiting, else None.

        The engine's fast path: a zero-latency simulator answers here, and no task is spawned per bet.
        """
        ...

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        """Place one bet; never raises for the bet's own fate (settled, refused, unknown)."""
        ...

    async def balance(self, currency: str) -> Decimal: ...

    async def stats(self, currency: str) -> SiteStats: ...

    async def rotate_seed(self, client_seed: str | None = None) -> SeedRotation: ...

    async def aclose(self) -> None: ...
