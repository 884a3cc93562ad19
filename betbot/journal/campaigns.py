"""Campaign records in the journal: a campaign row, and the campaign each of its sessions belongs to.

A campaign (betbot.campaign) is created by its first session, once that session's starting balance is known
(percentages of the campaign's budget resolve against it), in the same journal connection that records the
session; later sessions join it. A campaign ends with a reason (`ended_at` set); one left open was interrupted
(a crash, a signal) and `betbot run --resume` continues it. These helpers use the journal's own connection
and transactions (they belong to the journal package), and read a journal too old to know campaigns as one
without any.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from betbot.journal.records import parse_utc, utc_iso
from betbot.journal.store import Journal

__all__ = [
    "CampaignRecord",
    "campaign",
    "campaign_of",
    "campaign_sessions",
    "finish_campaign",
    "join_campaign",
    "newest_open_campaign",
    "session_campaigns",
    "start_campaign",
]

_SELECT = "SELECT id, created_at, ended_at, currency, starting_balance, limits, stop_reason FROM campaigns"


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignRecord:
    id: int
    created_at: datetime
    ended_at: datetime | None
    currency: str
    starting_balance: Decimal
    limits: dict[str, Any]  # the budget, amounts resolved (text), counts as integers
    stop_reason: str | None

    @property
    def finished(self) -> bool:
        return self.ended_at is not None


def _record(row: tuple[Any, ...]) -> CampaignRecord:
    id_, created_at, ended_at, currency, starting_balance, limits, stop_reason = row
    return CampaignRecord(id=id_, created_at=parse_utc(created_at),
                          ended_at=None if ended_at is None else parse_utc(ended_at), currency=currency,
                          starting_balance=Decimal(starting_balance), limits=json.loads(limits),
                          stop_reason=stop_reason)


def start_campaign(journal: Journal, *, currency: str, starting_balance: Decimal, limits: Mapping[str, Any],
                   first_session: int) -> int:
    """A new campaign, with `first_session` in it; its id."""
    with journal._transaction("a new campaign") as con:
        cursor = con.execute(
            "INSERT INTO campaigns (created_at, currency, starting_balance, limits) VALUES (?, ?, ?, ?)",
            (utc_iso(datetime.now(UTC)), currency, format(starting_balance, "f"), json.dumps(dict(limits))))
        campaign_id = cursor.lastrowid
        assert campaign_id is not None  # noqa: S101 - an INSERT always sets it
        con.execute("UPDATE sessions SET campaign_id = ? WHERE id = ?", (campaign_id, first_session))
    return campaign_id


def join_campaign(journal: Journal, campaign_id: int, session_id: int) -> None:
    with journal._transaction("the session's campaign") as con:
        con.execute("UPDATE sessions SET campaign_id = ? WHERE id = ?", (campaign_id, session_id))


def finish_campaign(journal: Journal, campaign_id: int, reason: str) -> None:
    with journal._transaction("the end of the campaign") as con:
        con.execute("UPDATE campaigns SET ended_at = ?, stop_reason = ? WHERE id = ?",
                    (utc_iso(datetime.now(UTC)), reason, campaign_id))


def campaign(journal: Journal, campaign_id: int) -> CampaignRecord | None:
    row = _read(journal, _SELECT + " WHERE id = ?", (campaign_id,))
    return None if not row else _record(row[0])


def newest_open_campaign(journal: Journal) -> CampaignRecord | None:
    """The newest campaign that never ended (interrupted between two sessions, or in one)."""
    row = _read(journal, _SELECT + " WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1", ())
    return None if not row else _record(row[0])


def campaign_of(journal: Journal, session_id: int) -> int | None:
    row = _read(journal, "SELECT campaign_id FROM sessions WHERE id = ?", (session_id,))
    return None if not row else row[0][0]


def campaign_sessions(journal: Journal, campaign_id: int) -> list[int]:
    """The ids of a campaign's sessions, in order."""
    return [row[0] for row in _read(journal, "SELECT id FROM sessions WHERE campaign_id = ? ORDER BY id",
                                    (campaign_id,))]


def session_campaigns(journal: Journal) -> dict[int, int]:
    """session id -> campaign id, for the sessions in a campaign (`betbot sessions` groups them)."""
    return {row[0]: row[1] for row in _read(journal, "SELECT id, campaign_id FROM sessions "
                                                     "WHERE campaign_id IS NOT NULL", ())}


def _read(journal: Journal, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    journal.flush()
    with journal._lock:
        try:
            return journal._con.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such" in str(exc):  # a read-only journal from before campaigns: it has none
                return []
            raise
