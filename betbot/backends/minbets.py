"""Minimum bets per currency, learned from the site's refusals and remembered on disk.

DuckDice does not publish its minimum bets; they differ per currency and change over time. The only
honest source is the refusal itself (`{"error":"The minimum bet is 1 DOGE","params":{"amount":
"1.00000000","symbol":"DOGE"}}`), so betbot learns them from it, never from probe bets, and keeps them in
a small JSON file so the next session starts informed. The file is written atomically (a temporary file
in the same directory, then `os.replace`), so a crash never leaves half a file; an unreadable file is
treated as empty (the cache only saves a refusal, it is never the authority).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import structlog

from betbot.atomicfile import atomic_write
from betbot.core.models import RefusalKind, Refused

__all__ = ["MinBet", "MinBetCache", "ParsedMinBet", "parse_min_bet"]

_FORMAT_VERSION = 1
_log = structlog.get_logger("betbot.minbets")

# "The minimum bet is 1 DOGE", "Minimum bet amount is 0.00000100 BTC", "Min. bet: 0.1 XLM", "min bet = 5"
_MESSAGE = re.compile(
    r"\bmin(?:imum|\.)?\s+bet(?:\s+amount)?\s*(?:is|of|:|=)?\s*:?\s*"
    r"(?P<amount>\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)"
    r"(?:\s*(?P<currency>[A-Za-z][A-Za-z0-9]{1,11})\b)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ParsedMinBet:
    amount: Decimal
    currency: str | None  # upper case; None when neither the params nor the message name it


def _decimal(value: Any) -> Decimal | None:
    # Money from text only: a float here would already be rounded.
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        parsed = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not parsed.is_finite() or parsed <= 0:
        return None
    return parsed


def parse_min_bet(message: str, params: Mapping[str, Any] | None = None) -> ParsedMinBet | None:
    """The minimum bet a refusal states: `params.amount` first, else the number in the message."""
    currency: str | None = None
    if params:
        symbol = params.get("symbol") or params.get("currency")
        if isinstance(symbol, str) and symbol.strip():
            currency = symbol.strip().upper()
        amount = _decimal(params.get("amount"))
        if amount is None:
            amount = _decimal(params.get("min")) or _decimal(params.get("minimum"))
        if amount is not None:
            return ParsedMinBet(amount, currency)
    match = _MESSAGE.search(message)
    if match is None:
        return None
    amount = _decimal(match["amount"])
    if amount is None:
        return None
    if currency is None and match["currency"]:
        currency = match["currency"].upper()
    return ParsedMinBet(amount, currency)


@dataclass(frozen=True, slots=True)
class MinBet:
    amount: Decimal
    learned_at: str  # ISO 8601, UTC


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _require_dict(value: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise TypeError("no min_bets object")
    return value


class MinBetCache:
    """Minimum bets by currency symbol, persisted as JSON at `path` (written on every change)."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._entries: dict[str, MinBet] = {}
        self.load_error: str | None = None  # why the file on disk was ignored, if it was
        self.load()

    def __contains__(self, currency: object) -> bool:
        return isinstance(currency, str) and currency.upper() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, currency: str) -> Decimal | None:
        entry = self._entries.get(currency.upper())
        return None if entry is None else entry.amount

    def entry(self, currency: str) -> MinBet | None:
        return self._entries.get(currency.upper())

    def learn(self, currency: str, amount: Decimal) -> bool:
        """Remember a minimum bet; True (and the file rewritten) when it changed what was known."""
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:  # a float is refused too
            raise ValueError(f"a minimum bet must be a positive Decimal, got {amount!r}")
        key = currency.upper()
        known = self._entries.get(key)
        if known is not None and known.amount == amount:
            return False
        self._entries[key] = MinBet(amount=amount, learned_at=self._clock().isoformat())
        self.save()
        return True

    def known(self) -> dict[str, Decimal]:
        """Every minimum known, by currency: what a session's minimum-bet rule starts from."""
        return {currency: entry.amount for currency, entry in self._entries.items()}

    def min_bet_learned(self, currency: str, amount: Decimal) -> None:
        """The session machine's event: remember the minimum for the next session. The cache is a
        convenience, so a full disk is logged and does not end the session."""
        try:
            self.learn(currency, amount)
        except OSError as exc:
            _log.warning("minbets.save_failed", path=str(self.path), error=str(exc))

    def learn_from_message(self, message: str, params: Mapping[str, Any] | None = None,
                           currency: str | None = None) -> Decimal | None:
        """Learn from a refusal's text and params; the currency named there wins over `currency`."""
        parsed = parse_min_bet(message, params)
        if parsed is None:
            return None
        symbol = parsed.currency or currency
        if symbol is None:
            return None
        self.learn(symbol, parsed.amount)
        return parsed.amount

    def learn_from_refusal(self, refused: Refused) -> Decimal | None:
        """Learn from a MIN_BET refusal (its `min_bet`, else its message); other refusals teach nothing."""
        if refused.kind is not RefusalKind.MIN_BET:
            return None
        if refused.min_bet is not None and refused.min_bet > 0:
            self.learn(refused.bet.currency, refused.min_bet)
            return refused.min_bet
        return self.learn_from_message(refused.message, currency=refused.bet.currency)

    # -- persistence -------------------------------------------------------------------------------
    def load(self) -> None:
        self._entries = {}
        self.load_error = None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            self.load_error = f"cannot read {self.path}: {exc.strerror or exc}"
            return
        try:
            data = json.loads(text)
            raw = data["min_bets"] if isinstance(data, dict) else None
            for currency, item in _require_dict(raw).items():
                amount = _decimal(item.get("amount") if isinstance(item, dict) else item)
                if amount is None:
                    continue
                learned = item.get("learned_at", "") if isinstance(item, dict) else ""
                self._entries[str(currency).upper()] = MinBet(amount=amount, learned_at=str(learned))
        except (ValueError, TypeError, KeyError) as exc:
            self._entries = {}
            self.load_error = f"{self.path} is not a minimum-bet cache ({type(exc).__name__}); starting empty"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "min_bets": {
                currency: {"amount": f"{entry.amount:f}", "learned_at": entry.learned_at}
                for currency, entry in sorted(self._entries.items())
            },
        }

    def save(self) -> None:
        """Write the cache atomically: a temporary file beside it, fsynced, then renamed over it."""
        text = json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
        with atomic_write(self.path, durable=True) as handle:
            handle.write(text)
