"""Martingale: multiply the stake after every loss, go back to the base bet after a win.

One win recovers the whole losing streak plus one base bet, so it wins small amounts very often. The
risk is the streak it cannot survive: the stake grows geometrically, so n losses in a row cost
base_bet * (multiplier**n - 1) / (multiplier - 1). `max_multiplies` caps that: after that many
multiplies in a row the next loss takes the loss and starts again from base_bet (with the defaults, a
streak of 9 losses costs 5.11 at base_bet 0.01).
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

__all__ = ["Martingale", "MartingaleParams"]


class MartingaleParams(DiceParams):
    multiplier: Decimal = Field(
        default=Decimal(2), gt=1, le=100, description="stake multiplier applied after each loss"
    )
    max_multiplies: int = Field(
        default=8, ge=1, le=64,
        description="multiplies in a row before the next loss resets the stake to base_bet",
    )
    reset_on_win: bool = Field(
        default=True,
        description="back to base_bet after a win; if false, divide the stake by the multiplier instead",
    )


class Martingale(Strategy):
    """Multiplies the stake after each loss, at most max_multiplies times in a row; resets after a win."""

    name = "martingale"
    summary = "multiply the stake after a loss, back to base_bet after a win"
    Params = MartingaleParams
    max_in_flight = 1
    state_fields = ("multiplies",)

    params: MartingaleParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        # The stake is kept as a power of the multiplier rather than as a running product, so it
        # never accumulates rounding and dividing after a win lands exactly on the earlier stake.
        self.multiplies = 0

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet * self.params.multiplier**self.multiplies)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        if result.win:
            self.multiplies = 0 if self.params.reset_on_win else max(0, self.multiplies - 1)
        elif self.multiplies >= self.params.max_multiplies:
            self.multiplies = 0
        else:
            self.multiplies += 1
        return None
