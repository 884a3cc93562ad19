"""Preset list: bet a list of amounts in order, stepping on a win or a loss, looping or stopping at the end.

DiceBot's "preset list" mode. The list is written in units of base_bet (base_bet=1 makes them plain
amounts), so `sequence=[1,2,4,8]` with base_bet 0.01 bets 0.01, 0.02, 0.04, 0.08. After each result the
position moves as `on_win` / `on_loss` say: to the next amount, back one, back to the first, or nowhere.
Moving past the last amount loops to the first, stops the session, or holds the last amount (`at_end`).
The position moves when a result arrives, so it must see each result before its next bet.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

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

__all__ = ["PresetList", "PresetListParams"]

Step = Literal["next", "previous", "first", "keep"]


class PresetListParams(DiceParams):
    sequence: list[Annotated[Decimal, Field(gt=0, le=1_000_000)]] = Field(
        default_factory=lambda: [Decimal(1), Decimal(2), Decimal(3), Decimal(5), Decimal(8)],
        min_length=1, max_length=10_000,
        description="the amounts to bet in order, in units of base_bet (e.g. sequence=[1,2,4,8])",
    )
    on_win: Step = Field(default="first", description="after a win: next, previous, first or keep")
    on_loss: Step = Field(default="next", description="after a loss: next, previous, first or keep")
    at_end: Literal["loop", "stop", "hold"] = Field(
        default="loop", description="past the last amount: loop to the first, stop the session, or hold the last",
    )


class PresetList(Strategy):
    """Bets the listed amounts in order; on_win / on_loss choose the step, at_end what follows the last."""

    name = "preset-list"
    summary = "bet a list of amounts in order, stepping on win/loss; loop, stop or hold at the end"
    Params = PresetListParams
    max_in_flight = 1
    state_fields = ("index",)

    params: PresetListParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.index = 0

    def next_bet(self, view: SessionView) -> Decision:
        sequence = self.params.sequence
        return self.dice_bet(self.params.base_bet * sequence[min(self.index, len(sequence) - 1)])

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        step = self.params.on_win if result.win else self.params.on_loss
        if step == "first":
            self.index = 0
        elif step == "previous":
            self.index = max(0, self.index - 1)
        elif step == "next":
            self.index += 1
            if self.index >= len(self.params.sequence):
                at_end = self.params.at_end
                if at_end == "stop":
                    return StopStrategy(f"{self.name}: bet every amount of the list (at_end=stop)")
                self.index = 0 if at_end == "loop" else len(self.params.sequence) - 1
        return None
