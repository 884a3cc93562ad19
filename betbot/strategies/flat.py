"""Flat betting: the same stake on every bet, whatever happened before.

The least volatile system: the loss of a losing streak grows only linearly with its length, and the
expected loss is the house edge times the amount wagered, like every other system. Because it never
looks at results it tolerates any number of bets in flight.
"""

from __future__ import annotations

from typing import ClassVar

from betbot.core.strategy import Decision, DiceParams, SessionView, Strategy

__all__ = ["Flat", "FlatParams"]


class FlatParams(DiceParams):
    """Flat takes only the shared dice parameters."""


class Flat(Strategy):
    """Bets base_bet every time."""

    name = "flat"
    summary = "the same stake (base_bet) on every bet"
    Params = FlatParams
    max_in_flight: ClassVar[int | None] = None

    params: FlatParams

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.params.base_bet)
