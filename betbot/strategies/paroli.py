"""Paroli: double the stake after a win, bank the streak after `target_wins` wins, reset after a loss.

A positive progression: a losing streak costs only base bets, and a run of `target_wins` wins returns
2**target_wins - 1 base bets for one base bet at risk. The one loss that ends a streak before the target
takes everything the streak had won, and with the house edge the long-run loss is the same as flat
betting's per amount wagered.

A preset of the advanced strategy: on a win multiply by 2, on a loss reset, at most target_wins - 1
raises, so the target-th win in a row resets.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from betbot.strategies.advanced import AdvancedStrategy
from betbot.strategies.advanced_params import AdvancedParams, PresetParams

__all__ = ["Paroli", "ParoliParams"]


class ParoliParams(PresetParams):
    target_wins: int = Field(
        default=3, ge=1, le=32, description="wins in a row to bank before starting again from base_bet"
    )

    def to_advanced(self) -> AdvancedParams:
        return AdvancedParams(
            base_bet=self.base_bet, chance=self.chance, high=self.high,
            on_win="multiply", on_win_by=Decimal(2), on_loss="reset",
            max_multiplies=self.target_wins - 1, at_max="reset",
        )


class Paroli(AdvancedStrategy):
    """Doubles the stake after each win; back to base_bet after target_wins wins in a row or a loss."""

    name = "paroli"
    summary = "double the stake after a win, up to target_wins wins; back to base_bet after a loss"
    Params = ParoliParams
    params: ParoliParams
