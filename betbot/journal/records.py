"""What the journal hands back: one session, one bet, one seed pair, as frozen data with Decimals.

Rows come out of SQLite as tuples in table order (`betbot.journal.schema.BET_COLUMNS`); these
functions turn them into records. Readers that stream millions of rows (the exports) skip the records
and work on the raw tuples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from betbot.core.models import BetRequest
from betbot.journal.schema import BetStatus

__all__ = [
    "BetRecord",
    "SeedPairRecord",
    "SessionRecord",
    "bet_record",
    "datetime_to_micros",
    "micros_to_datetime",
    "parse_utc",
    "session_record",
    "utc_iso",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros_to_datetime(micros: int) -> datetime:
    """Microseconds since the Unix epoch as an aware UTC datetime (exact: no float on the way)."""
    return _EPOCH + timedelta(microseconds=micros)


def datetime_to_micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def utc_iso(moment: datetime) -> str:
    """The journal's text form of a time: ISO 8601, UTC, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class BetRecord:
    """One journaled bet: the request as decided, and what became of it.

    Outcome fields are None until known: a pending bet has none, a refused one only `refusal` and
    `message`, a reconciled one `profit` and `win` (or neither, when it did not run) but no roll.
    """

    session_id: int
    seq: int
    decided_at: datetime
    amount: Decimal
    chance: Decimal
    high: bool
    currency: str
    faucet: bool
    range: tuple[int, int] | None
    range_in: bool | None  # None for Original Dice
    status: BetStatus
    bet_hash: str | None
    nonce: int | None
    roll: int | None
    win: bool | None
    payout: Decimal | None
    profit: Decimal | None
    balance_after: Decimal | None
    latency_ms: float | None
    refusal: str | None
    message: str | None

    @property
    def request(self) -> BetRequest:
        """The bet as it was decided (what reconciliation and a resumed session need)."""
        return BetRequest(
            amount=self.amount, chance=self.chance, currency=self.currency, high=self.high,
            faucet=self.faucet, range=self.range, range_in=True if self.range_in is None else self.range_in,
        )


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def bet_record(row: Sequence[Any]) -> BetRecord:
    """A raw `bets` row (BET_COLUMNS order) as a record. Empty text is read as absent."""
    (session_id, seq, decided_at, amount, chance, high, currency, faucet, range_lo, range_hi, range_in,
     status, bet_hash, nonce, roll, win, payout, profit, balance_after, latency_ms, refusal, message) = row
    return BetRecord(
        session_id=session_id, seq=seq, decided_at=micros_to_datetime(decided_at),
        amount=Decimal(amount), chance=Decimal(chance), high=bool(high), currency=currency, faucet=bool(faucet),
        range=None if range_lo is None else (range_lo, range_hi), range_in=_bool(range_in),
        status=BetStatus(status), bet_hash=bet_hash or None, nonce=nonce, roll=roll, win=_bool(win),
        payout=_decimal(payout), profit=_decimal(profit), balance_after=_decimal(balance_after),
        latency_ms=latency_ms, refusal=refusal or None, message=message or None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """One journaled session. `summary` is the `--summary-json` dict once the session finished."""

    id: int
    created_at: datetime
    started_at: datetime
    ended_at: datetime | None
    strategy: str
    params: dict[str, Any]
    limits: dict[str, Any]
    backend: str
    currency: str
    starting_balance: Decimal
    seed: dict[str, Any] | None
    first_seq: int
    stop_reason: str | None
    stop_kind: str | None
    summary: dict[str, Any] | None
    strategy_state: dict[str, Any] | None
    state_seq: int | None  # the last seq the saved strategy state has seen
    site_baseline: dict[str, Any] | None  # live: the site's /bot/stats at the start (reconciliation's zero)
    run_settings: dict[str, Any] | None  # what a resume restores besides the limits (concurrency, ...)
    last_seq: int | None  # the highest seq journaled; None before the first bet
    unresolved: int  # bets still pending or unknown

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    @property
    def journaled(self) -> int:
        """Bets journaled: every seq from first_seq to last_seq has a row (refused ones included)."""
        return 0 if self.last_seq is None else self.last_seq - self.first_seq + 1


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def session_record(row: Sequence[Any]) -> SessionRecord:
    """A row of `store._SESSION_SELECT` as a record."""
    (id_, created_at, started_at, ended_at, strategy, params, limits, backend, currency, starting_balance,
     seed, first_seq, stop_reason, stop_kind, summary, strategy_state, state_seq, site_baseline, run_settings,
     last_seq, unresolved) = row
    return SessionRecord(
        id=id_, created_at=parse_utc(created_at), started_at=parse_utc(started_at),
        ended_at=None if ended_at is None else parse_utc(ended_at), strategy=strategy,
        params=json.loads(params), limits=json.loads(limits), backend=backend, currency=currency,
        starting_balance=Decimal(starting_balance), seed=_json(seed), first_seq=first_seq,
        stop_reason=stop_reason, stop_kind=stop_kind, summary=_json(summary),
        strategy_state=_json(strategy_state), state_seq=state_seq, site_baseline=_json(site_baseline),
        run_settings=_json(run_settings), last_seq=last_seq, unresolved=unresolved,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedPairRecord:
    """A seed pair a session played under, from bet `first_seq` (nonce `first_nonce`) on."""

    session_id: int
    server_seed_hash: str
    server_seed: str | None
    client_seed: str
    first_nonce: int
    first_seq: int
