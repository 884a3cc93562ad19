"""Paroli: double the stake after a win, bank the streak after `target_wins` wins, reset after a loss.

A positive progression: a losing streak costs only base bets, and a run of `target_wins` wins returns
2**target_wins - 1 base bets for one base bet at risk. The one loss that ends a streak before the target
takes everything the streak had won, and with the house edge the long-run loss is the same as flat
betting's per amount wagered.
"""

from __future__ import annotations

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

__all__ = ["Paroli", "ParoliParams"]


class ParoliParams(DiceParams):
    target_wins: int = Field(
        default=3, ge=1, le=32, description="wins in a row to bank before starting again from base_bet"
    )


class Paroli(Strategy):
    """Doubles the stake after each win; back to base_bet after target_wins wins in a row or a loss."""

    name = "paroli"
    summary = "double the stake after a win, up to target_wins wins; back to base_bet after a loss"
    Params = ParoliParams
    max_in_flight = 1
    state_fields = ("wins",)

    params: ParoliParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.wins = 0

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet * 2**self.wins)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        self.wins = self.wins + 1 if result.win else 0
        if self.wins >= self.params.target_wins:
            self.wins = 0
        return None
