"""Low-chance hunter: bet a small chance (1 % by default) and size each stake so that one win recovers the
hunt's losses and makes a fixed profit.

The hunt's stake after n losses is (losses so far + profit_target) / (payout - 1), rounded up to the
satoshi so that the site's rounded-down win still reaches the target, and never below base_bet. At 1 %
(payout 99) the stake grows by about 1 % per loss, so a hunt survives long droughts, but droughts are
long: 300 losses in a row happen once in about 20 hunts, 460 once in 100. `max_stake` bounds the
stake: reaching it resets the hunt (taking its loss) or stops the session.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from betbot.core.fairness import payout_multiplier
from betbot.core.models import Settled
from betbot.core.money import SATOSHI, ZERO
from betbot.core.strategy import (
    Decision,
    DiceParams,
    SessionView,
    StopStrategy,
    Strategy,
    StrategyContext,
    StrategyParams,
)

__all__ = ["Hunter", "HunterParams"]


class HunterParams(DiceParams):
    chance: Decimal = Field(
        default=Decimal(1), ge=Decimal("0.01"), le=Decimal(99), decimal_places=2,
        description="win chance in percent: the low chance hunted (0.01 steps)",
    )
    profit_target: Decimal | None = Field(
        default=None, gt=0, description="what a win makes over the hunt's losses (default: what base_bet wins)",
    )
    max_stake: Decimal | None = Field(
        default=Decimal(1), gt=0, description="a stake above this ends the hunt as at_max says (none: no cap)",
    )
    at_max: Literal["reset", "stop"] = Field(
        default="reset", description="at max_stake: start a new hunt from base_bet, or stop the session",
    )

    @model_validator(mode="after")
    def _cap_above_base(self) -> HunterParams:
        if self.max_stake is not None and self.max_stake < self.base_bet:
            raise ValueError(f"max_stake {self.max_stake} is below base_bet {self.base_bet}")
        return self

    @field_validator("profit_target", "max_stake", mode="before")
    @classmethod
    def _none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() in ("none", "null", "off") else value

    @field_validator("profit_target", "max_stake")
    @classmethod
    def _places(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value != value.quantize(SATOSHI):
            raise ValueError("must have at most 8 decimal places")
        return value


class Hunter(Strategy):
    """Bets a low chance; each stake recovers the hunt's losses plus profit_target on a win."""

    name = "hunter"
    summary = "hunt a low chance (1 %), each stake sized to recover the hunt's losses plus a profit"
    Params = HunterParams
    max_in_flight = 1
    state_fields = ("hunt_loss",)

    params: HunterParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.hunt_loss: Decimal = ZERO  # what the current hunt has lost so far (positive)
        edge = context.rules.faucet_edge if context.faucet else context.rules.edge
        self._net = payout_multiplier(self.params.chance, edge) - 1
        target = self.params.profit_target
        self._target = target if target is not None else (self.params.base_bet * self._net).quantize(SATOSHI)

    def _stake(self) -> Decimal:
        if self._net <= 0:
            return self.params.base_bet
        needed = ((self.hunt_loss + self._target) / self._net).quantize(SATOSHI, rounding=ROUND_UP)
        return max(needed, self.params.base_bet)

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self._stake())

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        if result.win:
            self.hunt_loss = ZERO
            return None
        self.hunt_loss -= result.profit
        cap = self.params.max_stake
        if cap is not None and self._stake() > cap:
            if self.params.at_max == "stop":
                return StopStrategy(f"{self.name}: the next stake {self._stake():f} is above max_stake {cap:f}")
            self.hunt_loss = ZERO
        return None
