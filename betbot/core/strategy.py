"""The strategy protocol: sans-IO deciders that the session's owner asks for the next bet.

Theory of operation. The strategy task (the engine, or a plain loop in Monte Carlo) owns one strategy.
Whenever a slot is free it calls `next_bet(view)`, which answers with a `BetRequest`, `WAIT` ("ask me
again after the next result") or a `StopStrategy`. Every result is then handed to `on_result` strictly
in `seq` order. A strategy never sees the clock, the network or the disk.

`next_bet` is called once per bet that is then admitted or dropped (the gate may hold a decided bet until
exposure frees up; it is never asked twice for the same slot), so a strategy may advance a fixed sequence
in `next_bet`. A progression that depends on results updates itself in `on_result`.

Besides a bet, WAIT and StopStrategy, a strategy may answer `Pause(seconds)` ("wait this long, then ask
me again": a real pause live, virtual time in a simulation) or `RESEED` ("rotate the seed pair, then ask me
again": the owner drains the bets in flight first, so every later bet rolls under the new pair).

`max_in_flight` declares how many unresolved bets the strategy tolerates when it decides: 1 means it
must see every result before deciding the next (a martingale); None means it never looks at results
(a flat bettor). The engine runs at min(--max-concurrent, max_in_flight) and says so at start.

Parameters are a pydantic model (`Params`), validated with defaults sized for the default balance so
that every built-in runs with no flag at all.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from betbot.core.fairness import ROLLS, GameRules, range_chance
from betbot.core.models import BetRequest, Settled
from betbot.core.money import SATOSHI, quantize

__all__ = [
    "RESEED",
    "WAIT",
    "Decision",
    "DiceParams",
    "Pause",
    "RangeWindow",
    "Reseed",
    "SessionView",
    "StopStrategy",
    "Strategy",
    "StrategyContext",
    "StrategyParams",
    "Wait",
]


class Wait:
    """A strategy's "not yet: ask me again after the next result"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "WAIT"


WAIT: Final = Wait()


@dataclass(frozen=True, slots=True)
class StopStrategy:
    """A strategy's decision to end the session, with the reason shown to the user."""

    reason: str


@dataclass(frozen=True, slots=True)
class Pause:
    """A strategy's "wait this long, then ask me again" (DiceBot's `sleep(ms)`)."""

    seconds: float


class Reseed:
    """A strategy's "rotate the seed pair, then ask me again" (DiceBot's `resetseed()`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RESEED"


RESEED: Final = Reseed()


Decision = BetRequest | Wait | StopStrategy | Pause | Reseed


class SessionView(Protocol):
    """What a strategy may read of the session: the ordered history so far, never the future."""

    @property
    def balance(self) -> Decimal: ...
    @property
    def starting_balance(self) -> Decimal: ...
    @property
    def profit(self) -> Decimal: ...
    @property
    def wagered(self) -> Decimal: ...
    @property
    def bets(self) -> int: ...
    @property
    def wins(self) -> int: ...
    @property
    def losses(self) -> int: ...
    @property
    def streak(self) -> int: ...  # +N wins in a row, -N losses in a row, 0 before the first result
    @property
    def in_flight(self) -> int: ...
    @property
    def exposure(self) -> Decimal: ...  # the sum of the stakes in flight


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyContext:
    """Fixed facts about the session a strategy plays in."""

    currency: str
    starting_balance: Decimal
    rules: GameRules = field(default_factory=GameRules)
    faucet: bool = False
    # Seeds the strategy's own randomness (a Lua script's math.random, a random range window), derived
    # from the session's seed so that a run with a fixed --seed replays exactly.
    rng_seed: int = 0
    # Range Dice: every chance a strategy picks is played as a window of rolls; None plays Original Dice.
    range_window: RangeWindow | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeWindow:
    """Where `Strategy.dice_bet` places a chance as a Range Dice window (`--game range`).

    A chance of C % is W = C * 100 winning rolls. With `inside` the window is those W rolls; outside, it
    is the 10000 - W rolls that lose. The window starts at roll `at` (moved down so it ends by 9999), or,
    with `at` None, at a position drawn for each bet from a generator seeded with the context's rng_seed.
    """

    inside: bool = True
    at: int | None = 0

    def place(self, chance: Decimal, rng: random.Random | None) -> tuple[int, int]:
        """The inclusive bounds of the window for `chance` (`rng` draws the place when `at` is None)."""
        winning = int(chance * 100)
        width = winning if self.inside else ROLLS - winning
        last_start = ROLLS - width
        # random() * n is uniform over 0..n-1 to within 2**-53: cheaper than randint on a per-bet path.
        if self.at is not None:
            start = min(self.at, last_start)
        else:
            if rng is None:
                raise ValueError("a window at a random place needs a generator")
            start = int(rng.random() * (last_start + 1))
        return start, start + width - 1


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model: unknown names are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _not_huge(cls, value: Any) -> Any:
        # A number with more digits than a Decimal holds (1e400) would crash the first quantize(): for every
        # field of every strategy, it is bad input (one line, exit 2) instead.
        if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool):
            try:
                number = Decimal(str(value).strip())
            except ArithmeticError:
                return value  # not a number: the field's own validation says what it wants
            if number.is_finite() and number and number.adjusted() >= _MAX_PARAM_DIGITS:
                raise ValueError(f"{value} is too large")
        return value


_MAX_PARAM_DIGITS: Final = 20  # digits before the point: with 8 places that fills Decimal's 28


def _check_amount(value: Decimal) -> Decimal:
    if value != value.quantize(SATOSHI):
        raise ValueError("must have at most 8 decimal places")
    return value.quantize(SATOSHI)


class DiceParams(StrategyParams):
    """Parameters shared by the built-in Original Dice strategies."""

    base_bet: Decimal = Field(
        default=Decimal("0.01"), gt=0, description="stake of the first bet and after a reset"
    )
    chance: Decimal = Field(
        default=Decimal("49.5"), ge=Decimal("0.01"), le=Decimal("99"), decimal_places=2,
        description="win chance in percent (0.01 steps)",
    )
    high: bool = Field(default=True, description="bet high (roll above 99.99 - chance) or low")

    @field_validator("base_bet")
    @classmethod
    def _base_bet_places(cls, value: Decimal) -> Decimal:
        return _check_amount(value)


_BET_CACHE: Final = 1024  # distinct requests remembered per strategy (a progression's stakes, bounded)


class Strategy(ABC):
    """Base of every strategy. Subclasses set the class variables and implement `next_bet`.

    The class variables: `name` and `summary` (one line, for `betbot strategies`), `Params` (a pydantic model
    of the parameters, usually a `DiceParams` subclass: every field with a default and a description),
    `max_in_flight` (1 if it reads every result before deciding; None if it never reads results) and
    `state_fields` (the attributes holding its progress, saved with the session for `--resume`).
    `next_bet` must not change that state (the owner may ask again); `on_result` moves it, in seq order.

    A worked example: bet base_bet, double after two losses in a row, stop after ten wins in all. Save it as
    `mine.py` and run `betbot run --strategy mine.py:TwoLosses -p base_bet=0.02` (the same class can be
    published by a package in the `betbot.strategies` entry-point group)::

        class TwoLossesParams(DiceParams):
            wins_to_stop: int = Field(default=10, ge=1, description="stop after this many wins in all")

        class TwoLosses(Strategy):
            name = "two-losses"
            summary = "double after two losses in a row; stop after wins_to_stop wins"
            Params = TwoLossesParams
            max_in_flight = 1
            state_fields = ("stake", "losses", "wins")
            params: TwoLossesParams

            def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
                super().__init__(params, context)
                self.stake, self.losses, self.wins = self.params.base_bet, 0, 0

            def next_bet(self, view: SessionView) -> Decision:
                return self.dice_bet(self.stake)  # at params.chance, params.high (a window with --game range)

            def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
                if result.win:
                    self.stake, self.losses, self.wins = self.params.base_bet, 0, self.wins + 1
                    if self.wins >= self.params.wins_to_stop:
                        return StopStrategy(f"{self.name}: {self.wins} wins")
                else:
                    self.losses += 1
                    if self.losses % 2 == 0:
                        self.stake *= 2
                return None

    `strategies/example_plugin.py` is a complete file of this kind.
    """

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `betbot strategies`
    Params: ClassVar[type[StrategyParams]]
    max_in_flight: ClassVar[int | None] = 1
    # Attributes that make up the strategy's progress, saved with the session so a resume continues it.
    state_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        expected = type(self).Params
        if not isinstance(params, expected):  # subclasses read their own parameters' fields
            raise TypeError(f"{type(self).__name__} needs {expected.__name__}, got {type(params).__name__}")
        self.params = params
        self.context = context

    @classmethod
    def from_options(cls, options: dict[str, Any], context: StrategyContext) -> Self:
        """Build from raw `--param k=v` values; raises pydantic's ValidationError on bad input."""
        return cls(cls.Params.model_validate(options), context)

    @abstractmethod
    def next_bet(self, view: SessionView) -> Decision:
        """The next bet to place, WAIT, or StopStrategy."""

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        """Told every settled bet in seq order; may end the session by returning StopStrategy."""
        return None

    def dice_bet(self, amount: Decimal, chance: Decimal | None = None, high: bool | None = None) -> BetRequest:
        """A bet in this session's currency, with the amount quantised to 8 places.

        With a range window in the context (`--game range`) the chance becomes a Range Dice window and
        `high` is not used: every strategy that picks a chance plays Range Dice this way.
        """
        context = self.context
        window = context.range_window
        defaults = chance is None and high is None and window is None
        if defaults:
            # The same stake object as last time, at the parameters' chance and side: the same request,
            # recognised by identity (a flat bettor's every bet), at a fraction of the lookup below.
            last = self.__dict__.get("_last_default_bet")
            if last is not None and last[0] is amount:
                return last[1]  # type: ignore[no-any-return]
        params = self.params
        if chance is None:
            chance = getattr(params, "chance", Decimal("49.5"))
        if window is None:
            if high is None:
                high = getattr(params, "high", True)
            # One request object per (amount, chance, side): a bettor who repeats a bet repeats the object, and
            # what follows it (the gate, the simulated house, the journal) recognises it at no cost. The amount
            # is keyed by its text: a progression computes a new Decimal every bet, and hashing a new Decimal
            # costs six times as much as writing its text (equal text is an equal amount; an equal amount
            # written otherwise, 0.1 against 0.10, only misses the sharing).
            key = (str(amount), chance, high)
            bets = self.__dict__.get("_bets")
            if bets is None:
                bets = self.__dict__["_bets"] = {}
            bet = bets.get(key)
            if bet is None:
                if len(bets) >= _BET_CACHE:
                    bets.clear()
                bet = bets[key] = BetRequest(amount=quantize(amount), chance=chance, high=high,
                                             currency=context.currency, faucet=context.faucet)
            if defaults:
                self.__dict__["_last_default_bet"] = (amount, bet)
            return bet
        if window.at is not None:  # a fixed window: the same (amount, chance) is the same request, as above
            bets = self.__dict__.get("_bets")
            if bets is None:
                bets = self.__dict__["_bets"] = {}
            key = (str(amount), chance, None)
            bet = bets.get(key)
            if bet is None:
                if len(bets) >= _BET_CACHE:
                    bets.clear()
                bet = bets[key] = self._range_bet(amount, chance, window, None)
            return bet
        rng = self.__dict__.get("_window_rng")
        if rng is None:  # made on first use, so a subclass need not call anything to get it
            rng = self.__dict__["_window_rng"] = random.Random(context.rng_seed)
        return self._range_bet(amount, chance, window, rng)

    def _range_bet(self, amount: Decimal, chance: Decimal, window: RangeWindow,
                   rng: random.Random | None) -> BetRequest:
        low, high_end = window.place(chance, rng)
        return BetRequest(
            amount=quantize(amount),
            chance=range_chance(low, high_end, window.inside),
            currency=self.context.currency,
            faucet=self.context.faucet,
            range=(low, high_end),
            range_in=window.inside,
        )

    def save_state(self) -> dict[str, Any]:
        """The progress named by `state_fields`, as JSON-ready values (Decimals become strings)."""
        return {name: _to_json(getattr(self, name)) for name in self.state_fields}

    def restore_state(self, state: dict[str, Any]) -> None:
        """Undo `save_state`: each field is restored with the type it has now."""
        for name in self.state_fields:
            if name in state:
                setattr(self, name, _from_json(state[name], getattr(self, name)))


def _to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any, like: Any) -> Any:
    if isinstance(like, Decimal):
        return Decimal(value)
    if isinstance(like, list | tuple):
        items = [Decimal(item) if isinstance(item, str) else item for item in value]
        return type(like)(items)
    return value
