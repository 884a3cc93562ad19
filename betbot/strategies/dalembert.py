"""d'Alembert: add one increment to the stake after a loss, take one off after a win.

A gentle negative progression: the stake grows linearly with the excess of losses over wins, so a
streak of n losses costs n*base_bet + n*(n-1)/2*increment (with the defaults, 20 losses cost 2.10).
It relies on wins and losses evening out, which the house edge works against: a long drift the wrong
way leaves it betting many increments above base_bet. `max_steps` optionally bounds that.

A preset of the advanced strategy: on a loss add `increment`, on a win subtract it (never below
base_bet), at most `max_steps` raises, then reset.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from betbot.core.money import SATOSHI
from betbot.strategies.advanced import AdvancedStrategy
from betbot.strategies.advanced_params import AdvancedParams, PresetParams

__all__ = ["DAlembert", "DAlembertParams"]


class DAlembertParams(PresetParams):
    increment: Decimal | None = Field(
        default=None, gt=0,
        description="amount added after a loss and taken off after a win (default: base_bet)",
    )
    max_steps: int | None = Field(
        default=None, ge=1,
        description="increments above base_bet before the next loss resets the stake (default: no limit)",
    )

    @field_validator("increment")
    @classmethod
    def _increment_places(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        if value != value.quantize(SATOSHI):
            raise ValueError("must have at most 8 decimal places")
        return value.quantize(SATOSHI)

    def to_advanced(self) -> AdvancedParams:
        increment = self.increment if self.increment is not None else self.base_bet
        return AdvancedParams(
            base_bet=self.base_bet, chance=self.chance, high=self.high,
            on_win="subtract", on_win_by=increment, on_loss="add", on_loss_by=increment,
            max_multiplies=self.max_steps, at_max="reset",
        )


class DAlembert(AdvancedStrategy):
    """Adds increment after a loss and takes it off after a win, never below base_bet; max_steps caps it."""

    name = "dalembert"
    summary = "add an increment to the stake after a loss, take one off after a win"
    Params = DAlembertParams
    params: DAlembertParams
