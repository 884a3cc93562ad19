"""A strategy that costs a second of a fake clock per decision, for the risk preview's time budget tests.

The preview reads `CLOCK.now` (passed as its clock); every `next_bet` advances it by a second, as a script
whose every call takes a second would, without any test waiting for it."""

from __future__ import annotations

from typing import Any

from betbot.core.strategy import DiceParams, Strategy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLOCK = FakeClock()


class SlowFlat(Strategy):
    name = "slow-flat"
    summary = "flat bets, each decision costing a second of the fake clock"
    Params = DiceParams
    max_in_flight = None

    def next_bet(self, view: Any) -> Any:
        CLOCK.now += 1.0
        return self.dice_bet(self.params.base_bet)
