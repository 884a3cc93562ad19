"""Python plug-in example: flat base bets, a bigger "strike" stake after a losing streak, stop at a profit.

Run it from a clone (or from the copy `betbot strategies path example_plugin.py` prints):

    betbot run --strategy strategies/example_plugin.py:StreakStrike --max-bets 1000
    betbot run --strategy strategies/example_plugin.py:StreakStrike -p streak=5 -p strike=0.05 --seed demo

A strategy is a subclass of `betbot.core.strategy.Strategy` with:
  - `name`, `summary`: how `betbot` names it and describes it in one line;
  - `Params`: a pydantic model of its parameters (`--param NAME=VALUE`, or `[params]` in a TOML config).
    Subclass `DiceParams` to get `base_bet`, `chance` and `high` with their validation; every field needs
    a default and a description, and bad values are reported in one line naming the parameter;
  - `max_in_flight`: how many unresolved bets it tolerates when deciding (1: it reads every result first);
  - `state_fields`: the attributes that hold its progress, saved with the session so `--resume` goes on;
  - `next_bet(view)`: the next bet (`self.dice_bet(amount)`), `WAIT`, or `StopStrategy(reason)`. It must not
    change the state: the progression moves in `on_result`;
  - `on_result(result, view)`: told every settled bet in order; may return `StopStrategy(reason)`.
It never reads the clock, the network or the disk: the same strategy runs live, simulated and in Monte Carlo.
`self.dice_bet` also places the chance as a Range Dice window with `--game range`.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from betbot.core.models import Settled
from betbot.core.strategy import (
    Decision,
    DiceParams,
    SessionView,
    StopStrategy,
    Strategy,
    StrategyContext,
    StrategyParams,
)


class StreakStrikeParams(DiceParams):
    streak: int = Field(default=4, ge=1, le=100, description="losses in a row before striking")
    strike: Decimal = Field(default=Decimal("0.03"), gt=0, description="the stake of a strike")
    target_profit: Decimal = Field(default=Decimal(1), gt=0, description="stop once the session is this far up")


class StreakStrike(Strategy):
    """Bets base_bet; after `streak` losses in a row bets `strike` until a win; stops at target_profit."""

    name = "streak-strike"
    summary = "flat base_bet; after N losses in a row bet the strike stake until a win; stop at a profit"
    Params = StreakStrikeParams
    max_in_flight = 1
    state_fields = ("losses_in_a_row",)

    params: StreakStrikeParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.losses_in_a_row = 0

    def next_bet(self, view: SessionView) -> Decision:
        striking = self.losses_in_a_row >= self.params.streak
        return self.dice_bet(self.params.strike if striking else self.params.base_bet)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        self.losses_in_a_row = 0 if result.win else self.losses_in_a_row + 1
        if view.profit >= self.params.target_profit:
            return StopStrategy(f"{self.name}: the profit reached {view.profit} (target_profit)")
        return None
