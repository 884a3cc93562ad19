"""The simulator: DuckDice's game, offline, with the site's provably-fair roll.

The roll of bet `seq` depends only on the seed pair in force and its nonce, and the nonce follows the
seq (first_nonce + seq - first seq of that pair), never the moment the bet completes. So a run with a
fixed `--seed` replays exactly at any concurrency and under any latency. Balances move when a bet
executes, as on the site.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import anyio

from betbot.backends.base import SeedRotation, SiteStats
from betbot.core.fairness import SeedPair
from betbot.core.game import SimulatedGame
from betbot.core.models import BetRequest, Outcome

__all__ = ["LatencyModel", "SimulatedGame", "SimulatorBackend"]  # SimulatedGame re-exported from betbot.core.game


@dataclass(slots=True)
class LatencyModel:
    """Reply latency: `fixed` seconds plus uniform jitter in [0, jitter). Jitter reorders replies."""

    fixed: float = 0.0
    jitter: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    @property
    def instant(self) -> bool:
        return self.fixed <= 0 and self.jitter <= 0

    def sample(self) -> float:
        return self.fixed + (self.rng.random() * self.jitter if self.jitter > 0 else 0.0)


class SimulatorBackend:
    """The simulated game behind the `Backend` protocol, with an optional latency model."""

    name = "simulator"
    live = False

    def __init__(self, game: SimulatedGame, latency: LatencyModel | None = None) -> None:
        self.game = game
        self.latency = latency or LatencyModel()

    @property
    def known_seeds(self) -> Sequence[SeedPair]:
        return self.game.seed_history

    @property
    def answers_at_once(self) -> bool:
        return self.latency.instant

    def place_now(self, seq: int, bet: BetRequest) -> Outcome:
        return self.game.play(seq, bet)

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        # The bet runs as the request arrives and the reply takes the whole latency to come back: as on
        # the site, a bet cut off in flight may already have run (and a drain must treat it so).
        outcome = self.game.play(seq, bet)
        await anyio.sleep(self.latency.sample())
        return outcome

    async def balance(self, currency: str) -> Decimal:
        return self.game.balances.get(currency, Decimal(0))

    async def stats(self, currency: str) -> SiteStats:
        game = self.game
        return SiteStats(
            currency=currency, bets=game.bets, wins=game.wins,
            profit=game.profit.get(currency, Decimal(0)), volume=game.volume.get(currency, Decimal(0)),
            balance=game.balances.get(currency, Decimal(0)), faucet_balance=Decimal(0),
        )

    async def rotate_seed(self, client_seed: str | None = None) -> SeedRotation:
        # The owner drains the bets in flight first, so every later seq belongs to the new pair.
        return self.game.rotate(self.game.last_seq + 1, client_seed)

    async def aclose(self) -> None:
        return None
