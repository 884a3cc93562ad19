"""The advanced strategy's parameters: DiceBot's "advanced mode" knobs as one frozen pydantic model.

Every knob is a plain field with a default that switches it off (None, 1 or "keep"), so a model says
everything the strategy will do and nothing is hidden elsewhere: the strategy's only other inputs are the
results it is told, and its only memory is the state named in `AdvancedStrategy.state_fields`. A
vectorised kernel can read this model directly; `betbot/strategies/advanced.py` states the exact order in
which the knobs act on each result.

The amounts are Decimals with at most 8 places; the chances have 0.01 % steps; the counts are positive
integers. A knob that needs a second value (a chance after a streak) fails validation, naming the
missing field, when only one half is given.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from betbot.core.money import SATOSHI
from betbot.core.strategy import DiceParams

__all__ = ["ACTIONS", "Action", "AdvancedParams", "AtMax", "PresetParams"]


def _eight_places(value: Decimal) -> Decimal:
    if value != value.quantize(SATOSHI):
        raise ValueError("must have at most 8 decimal places")
    return value.quantize(SATOSHI)


Amount = Annotated[Decimal, Field(gt=0), AfterValidator(_eight_places)]
Count = Annotated[int, Field(ge=1)]
Chance = Annotated[Decimal, Field(ge=Decimal("0.01"), le=Decimal("99"), decimal_places=2)]
Factor = Annotated[Decimal, Field(gt=0)]

Action = Literal["reset", "multiply", "divide", "add", "subtract", "keep"]
ACTIONS: tuple[Action, ...] = ("reset", "multiply", "divide", "add", "subtract", "keep")
AtMax = Literal["reset", "stop"]


def _none_words(cls: type[DiceParams], data: Any) -> Any:
    """`-p max_multiplies=none` (text from the command line) switches an optional knob off, like JSON null."""
    if isinstance(data, dict):
        optional = {name for name, field in cls.model_fields.items() if field.default is None
                    or name == "max_multiplies"}
        return {key: None if key in optional and isinstance(value, str) and value.strip().lower() in
                ("none", "null", "off") else value for key, value in data.items()}
    return data


class AdvancedParams(DiceParams):
    """DiceBot's advanced mode. The defaults are a martingale capped at 8 multiplies."""

    @model_validator(mode="before")
    @classmethod
    def _off(cls, data: Any) -> Any:
        return _none_words(cls, data)

    # --- the stake after a result ----------------------------------------------------------------------
    on_win: Action = Field(
        default="reset",
        description="after a win: reset (to base_bet), multiply, divide, add, subtract (by on_win_by) or keep",
    )
    on_win_by: Factor = Field(default=Decimal(2), description="the X of on_win: a factor or an amount")
    on_loss: Action = Field(
        default="multiply",
        description="after a loss: reset (to base_bet), multiply, divide, add, subtract (by on_loss_by) or keep",
    )
    on_loss_by: Factor = Field(default=Decimal(2), description="the X of on_loss: a factor or an amount")
    every_nth_win: Count = Field(
        default=1, description="apply on_win only on every Nth win in a row (the others keep the stake)"
    )
    every_nth_loss: Count = Field(
        default=1, description="apply on_loss only on every Nth loss in a row (the others keep the stake)"
    )
    max_multiplies: int | None = Field(
        default=8, ge=0, le=1000,
        description="raises (multiply or add) above base_bet before the next raise does at_max instead "
                    "(none: no limit)",
    )
    at_max: AtMax = Field(default="reset", description="at max_multiplies: reset to base_bet, or stop the session")

    # --- the chance and the side ------------------------------------------------------------------------
    chance_after_losses: Count | None = Field(
        default=None, description="after this many losses in a row bet loss_streak_chance (none: never)"
    )
    loss_streak_chance: Chance | None = Field(
        default=None, description="the chance while the losing streak lasts (with chance_after_losses)"
    )
    chance_after_wins: Count | None = Field(
        default=None, description="after this many wins in a row bet win_streak_chance (none: never)"
    )
    win_streak_chance: Chance | None = Field(
        default=None, description="the chance while the winning streak lasts (with chance_after_wins)"
    )
    switch_after_wins: Count | None = Field(
        default=None, description="switch high/low after every N wins in a row (none: never)"
    )
    switch_after_losses: Count | None = Field(
        default=None, description="switch high/low after every N losses in a row (none: never)"
    )
    switch_after_bets: Count | None = Field(
        default=None, description="switch high/low every N bets (1: zig-zag; none: never)"
    )

    # --- resets -----------------------------------------------------------------------------------------
    reset_after_wins: Count | None = Field(
        default=None, description="back to base_bet after every N wins in a row (none: never)"
    )
    reset_after_losses: Count | None = Field(
        default=None, description="back to base_bet after every N losses in a row (none: never)"
    )
    reset_after_profit: Amount | None = Field(
        default=None, description="back to base_bet once the profit since the last reset reaches this"
    )
    reset_after_loss: Amount | None = Field(
        default=None, description="back to base_bet once the loss since the last reset reaches this"
    )

    # --- stops ------------------------------------------------------------------------------------------
    stop_after_wins: Count | None = Field(default=None, description="stop after this many wins in all")
    stop_after_losses: Count | None = Field(default=None, description="stop after this many losses in all")
    stop_after_win_streak: Count | None = Field(default=None, description="stop after this many wins in a row")
    stop_after_loss_streak: Count | None = Field(
        default=None, description="stop after this many losses in a row"
    )
    stop_after_streak_won: Amount | None = Field(
        default=None, description="stop once a winning streak has won this much"
    )
    stop_after_streak_lost: Amount | None = Field(
        default=None, description="stop once a losing streak has lost this much"
    )

    @model_validator(mode="after")
    def _pairs(self) -> AdvancedParams:
        pairs = (("chance_after_losses", "loss_streak_chance"), ("chance_after_wins", "win_streak_chance"))
        for count, chance in pairs:
            if (getattr(self, count) is None) != (getattr(self, chance) is None):
                missing = chance if getattr(self, chance) is None else count
                other = count if missing == chance else chance
                raise ValueError(f"{missing} is required with {other}")
        for side in ("on_win", "on_loss"):
            by = getattr(self, f"{side}_by")
            if getattr(self, side) in ("add", "subtract") and by != by.quantize(SATOSHI):
                raise ValueError(f"{side}_by is an amount when {side} adds or subtracts: at most 8 decimal places")
        return self


class PresetParams(DiceParams):
    """Base of a preset's parameters: the names users know, translated into the advanced model."""

    @model_validator(mode="before")
    @classmethod
    def _off(cls, data: Any) -> Any:
        return _none_words(cls, data)

    def to_advanced(self) -> AdvancedParams:
        """The advanced-mode parameters that play exactly this preset."""
        raise NotImplementedError
