"""Martingale: multiply the stake after every loss, go back to the base bet after a win.

One win recovers the whole losing streak plus one base bet, so it wins small amounts very often. The
risk is the streak it cannot survive: the stake grows geometrically, so n losses in a row cost
base_bet * (multiplier**n - 1) / (multiplier - 1). `max_multiplies` caps that: after that many
multiplies in a row the next loss takes the loss and starts again from base_bet (with the defaults, a
streak of 9 losses costs 5.11 at base_bet 0.01).

A preset of the advanced strategy: on a loss multiply by `multiplier`, on a win reset (or divide by
`multiplier` with reset_on_win=false), at most `max_multiplies` raises, then reset.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from betbot.strategies.advanced import AdvancedStrategy
from betbot.strategies.advanced_params import AdvancedParams, PresetParams

__all__ = ["Martingale", "MartingaleParams"]


class MartingaleParams(PresetParams):
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

    def to_advanced(self) -> AdvancedParams:
        return AdvancedParams(
            base_bet=self.base_bet, chance=self.chance, high=self.high,
            on_win="reset" if self.reset_on_win else "divide", on_win_by=self.multiplier,
            on_loss="multiply", on_loss_by=self.multiplier,
            max_multiplies=self.max_multiplies, at_max="reset",
        )


class Martingale(AdvancedStrategy):
    """Multiplies the stake after each loss, at most max_multiplies times in a row; resets after a win."""

    name = "martingale"
    summary = "multiply the stake after a loss, back to base_bet after a win"
    Params = MartingaleParams
    params: MartingaleParams
