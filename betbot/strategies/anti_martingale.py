"""Anti-martingale (reverse martingale): multiply the stake after every win, reset after a loss.

It lets winnings ride: a losing streak costs only base bets, while a winning streak compounds. The risk
is giving a streak back, since the one loss that ends it takes the whole multiplied stake; so the
progression banks its gains by starting again from base_bet after `max_multiplies` multiplies in a row.
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

__all__ = ["AntiMartingale", "AntiMartingaleParams"]


class AntiMartingaleParams(DiceParams):
    multiplier: Decimal = Field(
        default=Decimal(2), gt=1, le=100, description="stake multiplier applied after each win"
    )
    max_multiplies: int = Field(
        default=4, ge=1, le=64,
        description="multiplies in a row before the next win banks the streak and resets to base_bet",
    )


class AntiMartingale(Strategy):
    """Multiplies the stake after each win, at most max_multiplies times in a row; resets after a loss."""

    name = "anti-martingale"
    summary = "multiply the stake after a win, back to base_bet after a loss"
    Params = AntiMartingaleParams
    max_in_flight = 1
    state_fields = ("multiplies",)

    params: AntiMartingaleParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.multiplies = 0

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet * self.params.multiplier**self.multiplies)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        if not result.win or self.multiplies >= self.params.max_multiplies:
            self.multiplies = 0
        else:
            self.multiplies += 1
        return None
