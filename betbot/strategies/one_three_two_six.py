"""1-3-2-6: bet 1, 3, 2 and 6 units on successive wins; back to 1 unit after a loss or the 4th win.

A positive progression with a fixed four-bet cycle: four wins in a row win 12 units, while a cycle
never loses more than 2 units (losing the 3-unit bet after the first win). The stake never exceeds 6
base bets and a losing streak costs one base bet per loss; like every system it does not change the
house edge.
"""

from __future__ import annotations

from typing import Final

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

__all__ = ["OneThreeTwoSix", "OneThreeTwoSixParams"]

UNITS: Final = (1, 3, 2, 6)


class OneThreeTwoSixParams(DiceParams):
    """1-3-2-6 takes only the shared dice parameters: base_bet is the unit."""


class OneThreeTwoSix(Strategy):
    """Bets 1, 3, 2, 6 times base_bet on a run of wins; a loss or a completed run starts again at 1."""

    name = "one-three-two-six"
    summary = "bet 1, 3, 2, 6 units on successive wins; back to 1 after a loss or the 4th win"
    Params = OneThreeTwoSixParams
    max_in_flight = 1
    state_fields = ("step",)

    params: OneThreeTwoSixParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.step = 0

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet * UNITS[self.step % len(UNITS)])

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        self.step = (self.step + 1) % len(UNITS) if result.win else 0
        return None
