"""Labouchere (the cancellation system): bet the sum of the two ends of a line of units.

Each win crosses off both ends, each loss writes the lost stake's units at the end; clearing the line
wins the sum of the original line (10 units with the default 1, 2, 3, 4) and starts it again. A win
cancels two numbers and a loss adds one, so it can recover from more losses than wins, but the stake
grows with every loss and a long bad run leaves a long line of large bets: 20 losses in a row cost
2.90 with the defaults at base_bet 0.01, and the cost keeps growing quadratically after that.

Reverse Labouchère (`reverse=true`) swaps the roles: a win writes the stake's units at the end and a loss
crosses off both ends, so the stake grows with winning runs and a losing run only ever costs the line
(clearing it loses the line's sum, and the line starts again).
"""

from __future__ import annotations

from typing import Annotated

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

__all__ = ["Labouchere", "LabouchereParams"]


class LabouchereParams(DiceParams):
    sequence: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 2, 3, 4], min_length=1, max_length=100,
        description="the starting line, in units of base_bet (e.g. sequence=[1,2,3,4])",
    )
    reverse: bool = Field(
        default=False, description="reverse Labouchere: append the stake on a win, cross off both ends on a loss",
    )
    stop_after_cycles: int | None = Field(
        default=None, ge=1, description="stop the session after clearing the line this many times (default: never)",
    )


class Labouchere(Strategy):
    """Bets first + last units of the line; a win crosses both off, a loss appends the units lost."""

    name = "labouchere"
    summary = "bet the two ends of a line of units; cross them off on a win, append the stake on a loss"
    Params = LabouchereParams
    max_in_flight = 1
    state_fields = ("line", "cycles")

    params: LabouchereParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.line: list[int] = list(self.params.sequence)
        self.cycles = 0

    def _units(self) -> int:
        # An empty line can only come from a restored state; it means "start again", as a cleared line does.
        line = self.line or self.params.sequence
        return line[0] if len(line) == 1 else line[0] + line[-1]

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet * self._units())

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        if not self.line:
            self.line = list(self.params.sequence)
        if result.win == self.params.reverse:  # a loss, or a win in reverse: the stake's units go on the line
            self.line.append(self._units())
            return None
        self.line = self.line[1:-1]
        if self.line:
            return None
        self.line = list(self.params.sequence)
        self.cycles += 1
        limit = self.params.stop_after_cycles
        if limit is not None and self.cycles >= limit:
            return StopStrategy(f"labouchere: cleared the line {self.cycles} time{'s' if self.cycles != 1 else ''}")
        return None
