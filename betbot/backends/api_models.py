"""Typed models of the DuckDice Bot API's replies (pydantic v2), and the error-reply helpers.

Rules (duckdice-api.md): unknown fields are ignored; a missing required field is an error that names it;
money (`betAmount`, `profit`, `balance`, ...) is a `Decimal` parsed from the site's decimal *string*: a
JSON float for money is refused, because by the time it is a float it may already be wrong. Plain numbers
that are not money (`chance`, the `payout` multiplier, `luck`) arrive as JSON numbers and are converted
through their shortest text form, which is the text the site wrote.

Both bet shapes are accepted: the current `choice` (e.g. ">4999") and the older `isHigh` + `threshold`.
`POST /randomize` has no documented reply, so `parse_seed_rotation` looks for the usual key names and
returns None for what it cannot find rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from betbot.backends.base import SeedRotation

__all__ = [
    "BalanceEntry",
    "BetInfo",
    "BetResponse",
    "CurrentSeeds",
    "ErrorBody",
    "GameInfo",
    "Money",
    "Number",
    "Offer",
    "StatsBalances",
    "StatsResponse",
    "UserInfo",
    "UserSummary",
    "describe_validation_error",
    "parse_current_seeds",
    "parse_seed_rotation",
]


def _money(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("money must be a decimal string, not a boolean")  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, float):
        raise ValueError("money must be a decimal string, not a JSON float")  # noqa: TRY004 - as above
    return _decimal(value, "amount", "money must be a decimal string")


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")  # noqa: TRY004 - as above
    if isinstance(value, float):
        # repr() is the shortest text that round-trips: the digits the site sent.
        value = repr(value)
    return _decimal(value, "number", "expected a number")


def _decimal(value: Any, what: str, otherwise: str) -> Decimal:
    """An int, a Decimal, or decimal text as a finite Decimal (bools and floats are dealt with before)."""
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value[:40]!r} is not a decimal {what}") from None
        if not parsed.is_finite():
            raise ValueError(f"{value[:40]!r} is not a finite {what}")
        return parsed
    if isinstance(value, Decimal):
        return value
    raise ValueError(f"{otherwise}, got {type(value).__name__}")


Money = Annotated[Decimal, BeforeValidator(_money)]
"""An amount of a currency: a decimal string (or an integer); never a float."""

Number = Annotated[Decimal, BeforeValidator(_number)]
"""A plain number that is not money (a chance, a multiplier), exact as the site wrote it."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GameInfo(_Model):
    name: str = ""
    slug: str = ""


class BetInfo(_Model):
    """`bet` in a bet reply."""

    hash: str = Field(min_length=1)
    symbol: str
    result: bool
    number: int = Field(ge=0, le=9999)
    chance: Number
    payout: Number
    bet_amount: Money = Field(alias="betAmount")
    win_amount: Money | None = Field(default=None, alias="winAmount")
    profit: Money
    nonce: int = Field(ge=0)
    choice: str | None = None
    choice_option: str | None = Field(default=None, alias="choiceOption")
    is_high: bool | None = Field(default=None, alias="isHigh")
    threshold: Number | None = None
    mined: Money | None = None
    created: int | None = None
    game_mode: str | None = Field(default=None, alias="gameMode")
    game: GameInfo | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> BetInfo:
        if self.choice is None and self.is_high is None and self.choice_option is None:
            raise ValueError("the bet names neither `choice` nor the older `isHigh` + `threshold`")
        return self

    @property
    def high(self) -> bool | None:
        """High (True) or low (False) for Original Dice, from either shape; None when it cannot tell."""
        if self.is_high is not None:
            return self.is_high
        if self.choice:
            if self.choice.startswith(">"):
                return True
            if self.choice.startswith("<"):
                return False
        return None


class UserSummary(_Model):
    """`user` in a bet reply. `balance` is that of the bet's currency and mode, just after the bet."""

    balance: Money
    hash: str | None = None
    username: str | None = None
    level: int | str | None = None
    bets: int | None = None
    wins: int | None = None
    nonce: int | None = None
    luck: Number | None = None
    profit: Money | None = None
    volume: Money | None = None


class BetResponse(_Model):
    """The reply of `POST /dice/play` and `POST /range-dice/play`."""

    bet: BetInfo
    user: UserSummary
    is_jackpot: bool | None = Field(default=None, alias="isJackpot")


class BalanceEntry(_Model):
    currency: str
    main: Money | None = None
    faucet: Money | None = None
    bonus: Money | None = None  # not in the documented reply; shown when the site sends it


class UserInfo(_Model):
    """`GET /bot/user-info`: the profile and the balances per currency (no seed or nonce fields)."""

    hash: str | None = None
    username: str | None = None
    level: int | str | None = None
    balances: list[BalanceEntry] = Field(default_factory=list)
    # Any items: an entry of an unexpected shape is skipped by `events()`/`bonuses()`, never fatal to the balances.
    wagering_bonuses: list[Any] = Field(default_factory=list, alias="wageringBonuses")
    tle: list[Any] = Field(default_factory=list)

    def events(self) -> list[Offer]:
        """The time-limited events (TLE) the account has, as far as the reply says."""
        return [offer for item in self.tle if (offer := Offer.from_reply(item)) is not None]

    def bonuses(self) -> list[Offer]:
        """The wagering bonuses the account has, as far as the reply says."""
        return [offer for item in self.wagering_bonuses if (offer := Offer.from_reply(item)) is not None]

    def balance_of(self, currency: str) -> BalanceEntry | None:
        wanted = currency.upper()
        for entry in self.balances:
            if entry.currency.upper() == wanted:
                return entry
        return None


_ACTIVE: Final = frozenset({"active", "running", "open", "started", "ongoing", "1", "true"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """A time-limited event or a wagering bonus of the account: its hash (what a bet names) and what else
    the reply says (`tle[]` items are documented as `{hash, name, status}`; bonuses are not documented)."""

    hash: str
    name: str | None
    status: str | None
    details: dict[str, str]  # the other scalar fields, as text (amounts, dates ...), for the listing

    @property
    def active(self) -> bool:
        return self.status is None or self.status.strip().lower() in _ACTIVE

    @classmethod
    def from_reply(cls, item: Any) -> Offer | None:
        if not isinstance(item, dict):
            return None
        found = _first_str(item, ("hash", "tleHash", "userWageringBonusHash", "bonusHash", "id"))
        if found is None:
            return None
        name = _first_str(item, ("name", "title", "type"))
        status = item.get("status", item.get("state"))
        details = {key: str(value) for key, value in item.items()
                   if key not in ("hash", "name", "status") and isinstance(value, str | int | float | bool)}
        return cls(hash=found, name=name, status=None if status is None else str(status), details=details)


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentSeeds:
    """The seed pair bets are rolled with now, as `GET /randomize` says: what a session journals at its start."""

    server_seed_hash: str
    client_seed: str | None
    nonce: int | None


def parse_current_seeds(data: Any) -> CurrentSeeds | None:
    """Read a `GET /randomize` reply (not documented: the usual key names, nested or flat); None without a
    server seed hash."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("data"), dict):
        data = data["data"]
    current = _first_dict(data, _CURRENT_KEYS) or data
    seed_hash = _first_str(current, _HASH_KEYS) or _first_str(data, ("serverSeedHash", "hashedServerSeed"))
    if seed_hash is None:
        return None
    nonce = current.get("nonce", data.get("nonce"))
    return CurrentSeeds(server_seed_hash=seed_hash,
                        client_seed=_first_str(current, _CLIENT_KEYS) or _first_str(data, _CLIENT_KEYS),
                        nonce=nonce if isinstance(nonce, int) and not isinstance(nonce, bool) and nonce >= 0
                        else None)


class StatsBalances(_Model):
    main: Money
    faucet: Money = Decimal(0)


class StatsResponse(_Model):
    """`GET /bot/stats/{SYMBOL}`: bet count and balance, the tool for reconciliation."""

    bets: int = Field(ge=0)
    wins: int = Field(ge=0)
    profit: Money
    volume: Money
    balances: StatsBalances


class ErrorBody(_Model):
    """A refusal: `{"error": "<message>", "params": {...}}` (some stacks say `message` instead)."""

    error: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _message_alias(cls, data: Any) -> Any:
        if isinstance(data, dict):
            error = data.get("error")
            if isinstance(error, dict):  # {"error": {"message": ...}}
                data = {**data, "error": error.get("message") or error.get("error") or str(error)}
            elif error is None and isinstance(data.get("message"), str):
                data = {**data, "error": data["message"]}
            if not isinstance(data.get("params"), dict):
                data = {key: value for key, value in data.items() if key != "params"}
        return data


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """A short sentence naming the bad fields ("missing field bet.hash; user.balance: ..."), no input values."""
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(part) for part in error["loc"]) or "reply"
        if error["type"] == "missing":
            parts.append(f"missing field {where}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            parts.append(f"{where}: {message}")
    extra = exc.error_count() - limit
    if extra > 0:
        parts.append(f"and {extra} more")
    return "; ".join(parts)


_SEED_KEYS = ("serverSeed", "server_seed", "seed")
_HASH_KEYS = ("serverSeedHash", "server_seed_hash", "hashedServerSeed", "hash")
_CLIENT_KEYS = ("clientSeed", "client_seed")
_PREVIOUS_KEYS = ("previous", "previousSeed", "old", "oldSeed", "revealed", "previousSeeds")
_CURRENT_KEYS = ("current", "currentSeed", "new", "newSeed", "next", "nextSeed", "seed", "seeds")


def _first_str(data: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _first_dict(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, dict):
            return value
    return None


def parse_seed_rotation(data: Any, client_seed: str) -> SeedRotation:
    """Read a `POST /randomize` reply whose shape is not documented; whatever is missing is None.

    Looked for: a nested "previous"/"current" pair, or flat keys such as `previousServerSeed`,
    `serverSeedHash`, `clientSeed`.
    """
    if not isinstance(data, dict):
        return SeedRotation(previous_server_seed=None, previous_server_seed_hash=None,
                            server_seed_hash=None, client_seed=client_seed)
    if isinstance(data.get("data"), dict):  # some stacks wrap everything in "data"
        data = data["data"]
    previous = _first_dict(data, _PREVIOUS_KEYS) or {}
    current = _first_dict(data, _CURRENT_KEYS) or {}
    previous_seed = _first_str(previous, _SEED_KEYS) or _first_str(
        data, ("previousServerSeed", "oldServerSeed", "revealedServerSeed", "serverSeed")
    )
    previous_hash = _first_str(previous, _HASH_KEYS) or _first_str(
        data, ("previousServerSeedHash", "oldServerSeedHash")
    )
    new_hash = _first_str(current, _HASH_KEYS) or _first_str(
        data, ("serverSeedHash", "newServerSeedHash", "nextServerSeedHash", "hashedServerSeed")
    )
    new_client = _first_str(current, _CLIENT_KEYS) or _first_str(data, ("clientSeed", "newClientSeed"))
    return SeedRotation(
        previous_server_seed=previous_seed,
        previous_server_seed_hash=previous_hash,
        server_seed_hash=new_hash,
        client_seed=new_client or client_seed,
    )
