"""Fibonacci: stakes follow 1, 1, 2, 3, 5, 8, ... base bets; a loss moves one step on, a win two back.

A negative progression that grows more slowly than a martingale (by about 1.618 per loss instead of 2),
so it survives longer streaks but needs more than one win to recover one. Its risk is the same in kind:
the stake still grows geometrically, so `max_steps` caps it and a loss at the cap starts again from the
first step, taking the loss (with the defaults, 13 losses in a row cost 6.09 at base_bet 0.01).

The steps are settings: `loss_steps` forward after a loss, `win_steps` back after a win (or back to the
first step with `reset_on_win`), and at `max_steps` the next loss resets to the first step or stops the
session (`at_max`).
"""

from __future__ import annotations

from typing import Literal

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

__all__ = ["Fibonacci", "FibonacciParams"]


class FibonacciParams(DiceParams):
    max_steps: int = Field(
        default=12, ge=1, le=64,
        description="steps into the sequence before the next loss resets to the first (step 12 bets 233 units)",
    )
    loss_steps: int = Field(default=1, ge=1, le=64, description="steps forward after a loss")
    win_steps: int = Field(default=2, ge=0, le=64, description="steps back after a win (0: stay)")
    reset_on_win: bool = Field(default=False, description="back to the first step after a win")
    at_max: Literal["reset", "stop"] = Field(
        default="reset", description="a loss at max_steps: back to the first step, or stop the session",
    )


def fibonacci_units(count: int) -> tuple[int, ...]:
    """The first `count` numbers of the betting sequence 1, 1, 2, 3, 5, ..."""
    units = [1, 1]
    while len(units) < count:
        units.append(units[-1] + units[-2])
    return tuple(units[:count])


class Fibonacci(Strategy):
    """Bets base_bet times 1, 1, 2, 3, 5, ...: one step on after a loss, two back after a win."""

    name = "fibonacci"
    summary = "stakes follow the Fibonacci sequence: one step on after a loss, two back after a win"
    Params = FibonacciParams
    max_in_flight = 1
    state_fields = ("step",)

    params: FibonacciParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self._units = fibonacci_units(self.params.max_steps + 1)
        self.step = 0

    def next_bet(self, view: SessionView) -> Decision:
        # min() keeps a step restored from a session saved with a larger max_steps inside the table.
        return self.dice_bet(self.params.base_bet * self._units[min(self.step, len(self._units) - 1)])

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        params = self.params
        if result.win:
            self.step = 0 if params.reset_on_win else max(0, self.step - params.win_steps)
        elif self.step >= params.max_steps:
            if params.at_max == "stop":
                return StopStrategy(f"{self.name}: a loss at step {self.step} (max_steps {params.max_steps})")
            self.step = 0
        else:
            self.step = min(self.step + params.loss_steps, params.max_steps)
        return None
