"""Anti-martingale (reverse martingale): multiply the stake after every win, reset after a loss.

It lets winnings ride: a losing streak costs only base bets, while a winning streak compounds. The risk
is giving a streak back, since the one loss that ends it takes the whole multiplied stake; so the
progression banks its gains by starting again from base_bet after `max_multiplies` multiplies in a row.

A preset of the advanced strategy: on a win multiply by `multiplier`, on a loss reset, at most
`max_multiplies` raises, then reset.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from betbot.strategies.advanced import AdvancedStrategy
from betbot.strategies.advanced_params import AdvancedParams, PresetParams

__all__ = ["AntiMartingale", "AntiMartingaleParams"]


class AntiMartingaleParams(PresetParams):
    multiplier: Decimal = Field(
        default=Decimal(2), gt=1, le=100, description="stake multiplier applied after each win"
    )
    max_multiplies: int = Field(
        default=4, ge=1, le=64,
        description="multiplies in a row before the next win banks the streak and resets to base_bet",
    )

    def to_advanced(self) -> AdvancedParams:
        return AdvancedParams(
            base_bet=self.base_bet, chance=self.chance, high=self.high,
            on_win="multiply", on_win_by=self.multiplier, on_loss="reset",
            max_multiplies=self.max_multiplies, at_max="reset",
        )


class AntiMartingale(AdvancedStrategy):
    """Multiplies the stake after each win, at most max_multiplies times in a row; resets after a loss."""

    name = "anti-martingale"
    summary = "multiply the stake after a win, back to base_bet after a loss"
    Params = AntiMartingaleParams
    params: AntiMartingaleParams
