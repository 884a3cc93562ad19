"""Cost of the advanced strategy, printed (not asserted): run `python bench/bench_advanced.py [--bets N]`.

1. Decisions per second of the strategy alone (next_bet + on_result on a fixed win/loss sequence): the
   martingale preset (the advanced implementation) against the classic martingale class it replaced, and
   the advanced strategy with every optional knob switched on.
2. Bets per second of whole sessions in the bare loop (the provably-fair game, the session machine): the
   same three, Original Dice, and the martingale preset on Range Dice with a random window per bet.
Rates are by CPU time of this process (the development machine is shared).
"""

from __future__ import annotations

import argparse
import random
import time
from decimal import Decimal
from typing import Any

from betbot.core.bare_loop import play_sync
from betbot.core.fairness import SeedPair, win_profit
from betbot.core.game import SimulatedGame
from betbot.core.models import BetRequest, Settled
from betbot.core.session import Limits, Session
from betbot.core.strategy import (
    DiceParams,
    RangeWindow,
    SessionView,
    StopStrategy,
    Strategy,
    StrategyContext,
    StrategyParams,
)
from betbot.strategies.registry import load_strategy

BALANCE = Decimal(1_000_000)


class ClassicParams(DiceParams):
    multiplier: Decimal = Decimal(2)
    max_multiplies: int = 8


class ClassicMartingale(Strategy):
    """The martingale class as it was before it became a preset (commit be8db18)."""

    name = "classic-martingale"
    summary = "reference"
    Params = ClassicParams
    params: ClassicParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.multiplies = 0

    def next_bet(self, view: SessionView) -> BetRequest:
        return self.dice_bet(self.params.base_bet * self.params.multiplier**self.multiplies)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        if result.win or self.multiplies >= self.params.max_multiplies:
            self.multiplies = 0
        else:
            self.multiplies += 1
        return None


EVERY_KNOB: dict[str, Any] = {
    "every_nth_loss": 1, "chance_after_losses": 4, "loss_streak_chance": "60", "chance_after_wins": 3,
    "win_streak_chance": "40", "switch_after_bets": 7, "switch_after_wins": 3, "switch_after_losses": 5,
    "reset_after_wins": 4, "reset_after_losses": 12, "reset_after_profit": "1000", "reset_after_loss": "1000",
    "stop_after_wins": 10**9, "stop_after_losses": 10**9, "stop_after_win_streak": 10**6,
    "stop_after_loss_streak": 10**6, "stop_after_streak_won": "100000", "stop_after_streak_lost": "100000",
}


def build(kind: str, window: RangeWindow | None = None) -> Strategy:
    ctx = StrategyContext(currency="DOGE", starting_balance=BALANCE, range_window=window, rng_seed=1)
    if kind == "classic":
        return ClassicMartingale(ClassicParams(), ctx)
    if kind == "every-knob":
        return load_strategy("advanced").from_options(EVERY_KNOB, ctx)
    return load_strategy("martingale").from_options({}, ctx)


def decisions_per_second(kind: str, bets: int) -> float:
    strategy = build(kind)
    rng = random.Random(5)
    wins = [rng.random() < 0.495 for _ in range(bets)]
    view: Any = None
    start = time.process_time()
    for seq, win in enumerate(wins, 1):
        bet = strategy.next_bet(view)
        assert isinstance(bet, BetRequest)
        profit = win_profit(bet.amount, Decimal(2)) if win else -bet.amount
        strategy.on_result(Settled(seq=seq, bet=bet, number=0, win=win, payout=Decimal(2), profit=profit,
                                   balance=BALANCE, nonce=seq, bet_hash=""), view)
    return bets / (time.process_time() - start)


def session_rate(kind: str, bets: int, window: RangeWindow | None = None) -> float:
    session = Session(currency="DOGE", starting_balance=BALANCE, limits=Limits(max_bets=bets), started_at=0.0)
    game = SimulatedGame(seeds=SeedPair.derive("bench"), balances={"DOGE": BALANCE})
    strategy = build(kind, window)
    start = time.process_time()
    play_sync(session, strategy, game)
    elapsed = time.process_time() - start
    assert session.bets == bets, session.stop_reason
    return bets / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bets", type=int, default=100_000)
    bets = parser.parse_args().bets
    print(f"strategy alone, {bets:,} decisions (next_bet + on_result):")
    classic = decisions_per_second("classic", bets)
    for kind in ("classic", "preset", "every-knob"):
        rate = classic if kind == "classic" else decisions_per_second(kind, bets)
        print(f"  {kind:<12} {rate:>12,.0f} decisions/s   {rate / classic:5.2f} x classic")
    print(f"whole sessions in the bare loop, {bets:,} bets (provably-fair rolls):")
    classic = session_rate("classic", bets)
    for kind in ("classic", "preset", "every-knob"):
        rate = classic if kind == "classic" else session_rate(kind, bets)
        print(f"  {kind:<12} {rate:>12,.0f} bets/s        {rate / classic:5.2f} x classic")
    rate = session_rate("preset", bets, RangeWindow(inside=True, at=None))
    print(f"  preset, Range Dice, random window {rate:>10,.0f} bets/s        {rate / classic:5.2f} x classic")


if __name__ == "__main__":
    main()
