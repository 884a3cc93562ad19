"""The plain data that flows through betbot: a bet request, its outcome, and why a session stopped.

Frozen, slotted, keyword-only dataclasses with no behaviour beyond a few derived properties (the h11
events model); `Settled`, built once per bet, is an immutable named tuple instead (see its docstring).
Validation of a bet against the game's rules is the session's job (`betbot.core.session`), not the
constructor's, so that building one stays cheap on the hot path.

Every bet coroutine ends in exactly one outcome:

    Outcome
     ├── Settled   the site answered with the bet: it ran, with this roll and this profit
     ├── Refused   the bet was not placed (a JSON error, a challenge page, a 429, a connect error)
     └── Unknown   the request left and no usable answer came: the bet may have run; never resend it
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "BetRequest",
    "Game",
    "Outcome",
    "RefusalKind",
    "Refused",
    "SeedRotation",
    "Settled",
    "SiteStats",
    "StopKind",
    "StopReason",
    "Unknown",
]


class Game(StrEnum):
    DICE = "dice"
    RANGE = "range-dice"


@dataclass(frozen=True, slots=True, kw_only=True)
class BetRequest:
    """One bet as decided: what would be sent to `/dice/play` or `/range-dice/play`.

    For Original Dice, `chance` (percent, 0.01 steps) and `high` say what wins. For Range Dice,
    `range` holds the inclusive bounds in 0..9999 and `range_in` whether the roll must fall inside;
    `chance` is then derived from the range (see `betbot.core.fairness.range_chance`).
    """

    amount: Decimal
    chance: Decimal
    currency: str
    high: bool = True
    faucet: bool = False
    range: tuple[int, int] | None = None
    range_in: bool = True

    @property
    def game(self) -> Game:
        return Game.DICE if self.range is None else Game.RANGE


class Settled(NamedTuple):
    """The site ran the bet. `balance` is the site's balance of that currency just after it.

    A named tuple rather than a frozen dataclass: as immutable, and a simulated bet builds one in 0.1-0.2 us
    instead of the frozen dataclass's 1.1 us (its __init__ sets each of the eleven fields through
    object.__setattr__), which was a seventh of a Monte Carlo bet.
    """

    seq: int
    bet: BetRequest
    number: int  # the roll, 0..9999 (shown as 0.00..99.99)
    win: bool
    payout: Decimal  # the multiplier
    profit: Decimal  # negative on a loss
    balance: Decimal
    nonce: int
    bet_hash: str
    client_seed: str = ""
    server_seed_hash: str = ""


class RefusalKind(StrEnum):
    MIN_BET = "min-bet"
    BALANCE = "insufficient-balance"
    RATE_LIMIT = "rate-limit"
    CHALLENGE = "challenge"
    BAD_REQUEST = "bad-request"
    AUTH = "auth"
    CONNECT = "connect"


@dataclass(frozen=True, slots=True, kw_only=True)
class Refused:
    """The bet was not placed. Rate limits and challenges are retried by the engine; the rest stop."""

    seq: int
    bet: BetRequest
    kind: RefusalKind
    message: str
    min_bet: Decimal | None = None
    retry_after: float | None = None  # seconds, from a Retry-After header


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown:
    """The request was sent and no usable answer came: the bet may have run. Never send it again."""

    seq: int
    bet: BetRequest
    message: str


Outcome = Settled | Refused | Unknown


class StopKind(StrEnum):
    MAX_BETS = "max_bets"
    MAX_DURATION = "max_duration"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    MAX_LOSSES = "max_losses"
    MAX_WINS = "max_wins"
    TRAILING_STOP = "trailing_stop"
    MAX_BET = "max_bet"
    MIN_BALANCE = "min_balance"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    MIN_BET = "min_bet"
    INVALID_BET = "invalid_bet"
    STRATEGY = "strategy"
    STRATEGY_ERROR = "strategy_error"
    REFUSED = "refused"
    UNKNOWN_OUTCOME = "unknown_outcome"
    BACKEND_ERROR = "backend_error"
    SIGNAL = "signal"


@dataclass(frozen=True, slots=True, kw_only=True)
class StopReason:
    """Why a session stopped: a stable machine-readable `kind` and a sentence for people."""

    kind: StopKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteStats:
    """What `/bot/stats/{SYMBOL}` reports: the tool for reconciliation."""

    currency: str
    bets: int
    wins: int
    profit: Decimal
    volume: Decimal
    balance: Decimal  # the session's wallet: main, or the faucet one for DuckDiceBackend(faucet=True)
    faucet_balance: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedRotation:
    """A rotated seed pair: the old server seed revealed (when the backend tells), the new one's hash."""

    previous_server_seed: str | None
    previous_server_seed_hash: str | None
    server_seed_hash: str | None
    client_seed: str
