"""Shared by the tests of the Lua programmer mode: load a script, play it, and a plain-Python reference harness.

The reference harness replays the contract of docs/dicebot-scripts.md in Python with the same arithmetic a
Lua 5.1 script does (Python floats are the same IEEE doubles), against the same provably-fair rolls, so a
script and its Python twin must choose the same bets, bet for bet.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from betbot.core.bare_loop import play_sync
from betbot.core.fairness import SeedPair, payout_multiplier, roll, win_profit
from betbot.core.game import SimulatedGame
from betbot.core.models import BetRequest, Refused, Settled
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.strategies.lua import LuaParams, LuaStrategy

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "strategies"
SEED = "lua-tests"
RNG_SEED = 7

Bet = tuple[Decimal, Decimal, bool]


def write(tmp_path: Path, text: str, name: str = "script.lua") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(script: Path, *, balance: str = "100", printer: Callable[[str], None] | None = None,
         files_dir: Path | None = None, epoch: float = 1_700_000_000.0, **params: Any) -> LuaStrategy:
    context = StrategyContext(currency="DOGE", starting_balance=Decimal(balance), rng_seed=RNG_SEED)
    return LuaStrategy(LuaParams(script=script, **params), context, printer=printer or (lambda _text: None),
                       epoch=epoch, files_dir=files_dir)


class RecordingGame(SimulatedGame):
    """The simulated house, keeping every settled bet."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settled: list[Settled] = []

    def play(self, seq: int, bet: BetRequest) -> Settled | Refused:
        outcome = super().play(seq, bet)
        if isinstance(outcome, Settled):
            self.settled.append(outcome)
        return outcome


def play(strategy: LuaStrategy, *, bets: int = 300, balance: str = "100") -> tuple[Session, list[Settled]]:
    start = Decimal(balance)
    session = Session(currency="DOGE", starting_balance=start, limits=Limits(max_bets=bets), started_at=0.0)
    game = RecordingGame(seeds=SeedPair.derive(SEED), balances={"DOGE": start})
    play_sync(session, strategy, game)
    return session, game.settled


def bets_of(settled: list[Settled]) -> list[Bet]:
    return [(s.bet.amount, s.bet.chance, s.bet.high) for s in settled]


# -- the Python reference --------------------------------------------------------------------------------
def to_amount(value: float) -> Decimal:
    """DiceBot's double -> decimal (15 significant digits), then 8 places, rounded down."""
    return Decimal(format(value, ".15g")).quantize(Decimal("0.00000001"), rounding=ROUND_DOWN)


def to_chance(value: float) -> Decimal:
    return Decimal(format(float(value), ".15g")).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass
class Globals:
    """What a script sees, as floats and ints like Lua's, plus the reference's own variables in `v`."""

    nextbet: float = 0.0
    chance: float = 49.5
    bethigh: bool = True
    previousbet: float = 0.0
    win: bool = False
    currentprofit: float = 0.0
    currentstreak: int = 0
    currentroll: float = 0.0
    balance: float = 0.0
    profit: float = 0.0
    wagered: float = 0.0
    bets: int = 0
    wins: int = 0
    losses: int = 0
    stopped: bool = False
    v: dict[str, Any] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(RNG_SEED))


def reference_bets(init: Callable[[Globals], None], dobet: Callable[[Globals], None], *, count: int,
                   balance: str = "100") -> list[Bet]:
    """The bets the rules in `init`/`dobet` choose over the first `count` rolls of the test seed."""
    seeds = SeedPair.derive(SEED)
    edge = Decimal(1)
    money = Decimal(balance)
    profit = wagered = Decimal(0)
    g = Globals(balance=float(money))
    init(g)
    out: list[Bet] = []
    for i in range(count):
        amount, chance, high = to_amount(g.nextbet), to_chance(g.chance), bool(g.bethigh)
        if amount > money:
            break
        out.append((amount, chance, high))
        number = roll(seeds.server_seed, seeds.client_seed, seeds.first_nonce + i)
        winning = int(chance * 100)
        won = number >= 10000 - winning if high else number < winning
        bet_profit = win_profit(amount, payout_multiplier(chance, edge)) if won else -amount
        money += bet_profit
        profit += bet_profit
        wagered += amount
        g.bets += 1
        g.wins += won
        g.losses += not won
        g.currentstreak = (max(g.currentstreak, 0) + 1) if won else (min(g.currentstreak, 0) - 1)
        g.previousbet = g.nextbet = float(amount)
        g.win, g.currentprofit, g.currentroll = won, float(bet_profit), number / 100
        g.balance, g.profit, g.wagered = float(money), float(profit), float(wagered)
        dobet(g)
        if g.stopped:
            break
    return out
