"""d'Alembert: add one increment to the stake after a loss, take one off after a win.

A gentle negative progression: the stake grows linearly with the excess of losses over wins, so a
streak of n losses costs n*base_bet + n*(n-1)/2*increment (with the defaults, 20 losses cost 2.10).
It relies on wins and losses evening out, which the house edge works against: a long drift the wrong
way leaves it betting many increments above base_bet. `max_steps` optionally bounds that.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from betbot.core.models import Settled
from betbot.core.money import SATOSHI
from betbot.core.strategy import (
    Decision,
    DiceParams,
    SessionView,
    StopStrategy,
    Strategy,
    StrategyContext,
    StrategyParams,
)

__all__ = ["DAlembert", "DAlembertParams"]


class DAlembertParams(DiceParams):
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


class DAlembert(Strategy):
    """Adds increment after a loss and takes it off after a win, never below base_bet; max_steps caps it."""

    name = "dalembert"
    summary = "add an increment to the stake after a loss, take one off after a win"
    Params = DAlembertParams
    max_in_flight = 1
    state_fields = ("steps",)

    params: DAlembertParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        # Counting increments rather than keeping the stake makes "never below base_bet" a max(0, ...).
        self.steps = 0

    @property
    def increment(self) -> Decimal:
        return self.params.increment if self.params.increment is not None else self.params.base_bet

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet + self.steps * self.increment)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        if result.win:
            self.steps = max(0, self.steps - 1)
        elif self.params.max_steps is not None and self.steps >= self.params.max_steps:
            self.steps = 0
        else:
            self.steps += 1
        return None
