"""The journal's SQLite schema: the tables, their version, and the migrations that reach it.

The version lives in the database header (`PRAGMA user_version`), next to an `application_id` that says
"this file is a betbot journal". Migration N takes a journal from version N-1 to N in one transaction;
a journal from a newer betbot (a version above `SCHEMA_VERSION`) is refused before anything is written,
so an older binary can never damage it.

Money (amounts, payouts, profits, balances) is TEXT holding the exact decimal string, never REAL.
Wall-clock times are UTC: ISO 8601 text on sessions, integer microseconds since the Unix epoch on bets
(one per bet: an integer is cheap to write and exact to read back).

Bet status:  pending ──► settled | refused | unknown ──► reconciled
A bet is `pending` from the moment it is decided until its outcome is known; `unknown` when the request
went out and no answer came (it may have run); `reconciled` once the site's books said whether it ran
(`profit` NULL: it did not run).
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from pathlib import Path
from typing import Final

__all__ = [
    "APPLICATION_ID",
    "BET_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "UNRESOLVED",
    "BetStatus",
    "JournalError",
    "migrate",
    "read_version",
]

APPLICATION_ID: Final = 0x42455442  # "BETB": marks the file as a betbot journal


class BetStatus(StrEnum):
    PENDING = "pending"
    SETTLED = "settled"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    RECONCILED = "reconciled"


# The bets table's columns, in table order: the insert statements, the readers and the exports share it.
BET_COLUMNS: Final = (
    "session_id", "seq", "decided_at",
    "amount", "chance", "high", "currency", "faucet", "range_lo", "range_hi", "range_in",
    "status", "bet_hash", "nonce", "roll", "win", "payout", "profit", "balance_after",
    "latency_ms", "refusal", "message",
)

UNRESOLVED: Final = "(status = 'pending' OR status = 'unknown')"

_V1: Final = (
    """
    CREATE TABLE sessions (
        id               INTEGER PRIMARY KEY,
        created_at       TEXT NOT NULL,
        started_at       TEXT NOT NULL,
        ended_at         TEXT,
        strategy         TEXT NOT NULL,
        params           TEXT NOT NULL,  -- JSON
        limits           TEXT NOT NULL,  -- JSON
        backend          TEXT NOT NULL,
        currency         TEXT NOT NULL,
        starting_balance TEXT NOT NULL,
        seed             TEXT,           -- JSON: the seed pair at the start
        first_seq        INTEGER NOT NULL DEFAULT 1,
        stop_reason      TEXT,
        stop_kind        TEXT,
        summary          TEXT,           -- JSON
        strategy_state   TEXT,           -- JSON
        state_seq        INTEGER         -- the last seq the saved strategy state has seen
    )
    """,
    # WITHOUT ROWID: the primary key is the table's only b-tree, and bets arrive in key order (appends).
    # Foreign keys are declared, not enforced: the journal is their only writer, and enforcing would cost
    # a lookup per bet on the dry-run hot path.
    """
    CREATE TABLE bets (
        session_id    INTEGER NOT NULL REFERENCES sessions (id),
        seq           INTEGER NOT NULL,
        decided_at    INTEGER NOT NULL,  -- microseconds since the Unix epoch, UTC
        amount        TEXT NOT NULL,
        chance        TEXT NOT NULL,
        high          INTEGER NOT NULL,
        currency      TEXT NOT NULL,
        faucet        INTEGER NOT NULL,
        range_lo      INTEGER,           -- Range Dice only
        range_hi      INTEGER,
        range_in      INTEGER,
        -- ORs, not IN (...): an IN list costs an ephemeral table per inserted row, a third of a bet's cost.
        status        TEXT NOT NULL CHECK (status = 'settled' OR status = 'pending' OR status = 'refused'
                                           OR status = 'unknown' OR status = 'reconciled'),
        bet_hash      TEXT,
        nonce         INTEGER,
        roll          INTEGER,           -- 0..9999
        win           INTEGER,
        payout        TEXT,              -- the multiplier
        profit        TEXT,
        balance_after TEXT,
        latency_ms    REAL,              -- decided to released in seq order (a rate, not money)
        refusal       TEXT,              -- the refusal kind, for refused bets
        message       TEXT,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID
    """,
    # Only the few unresolved bets are in it: cheap to keep, and restart reconciliation reads it. A query
    # uses it only when its WHERE clause contains this condition spelled the same way (UNRESOLVED).
    f"CREATE INDEX bets_unresolved ON bets (session_id, seq) WHERE {UNRESOLVED}",
    """
    CREATE TABLE seed_pairs (
        session_id       INTEGER NOT NULL REFERENCES sessions (id),
        server_seed_hash TEXT NOT NULL,
        server_seed      TEXT,           -- once revealed
        client_seed      TEXT NOT NULL,
        first_nonce      INTEGER NOT NULL,
        first_seq        INTEGER NOT NULL,
        PRIMARY KEY (session_id, server_seed_hash)
    )
    """,
)

# Version 2: the site's books (`/bot/stats`) at a live session's start, JSON, so that a resumed session can
# still reconcile its unknown bets against the same zero after a restart.
_V2: Final = ("ALTER TABLE sessions ADD COLUMN site_baseline TEXT",)

# Version 3: the run's own settings that a resume restores besides the limits (the concurrency, the seed
# rotation), JSON, so that `--resume` never silently falls back to whatever flags are given.
_V3: Final = ("ALTER TABLE sessions ADD COLUMN run_settings TEXT",)

# Version 4: campaigns, chains of sessions under one budget (betbot.campaign), and each session's campaign.
# A campaign's limits are JSON with the amounts resolved (a percentage of its first session's balance).
_V4: Final = (
    """
    CREATE TABLE campaigns (
        id               INTEGER PRIMARY KEY,
        created_at       TEXT NOT NULL,
        ended_at         TEXT,
        currency         TEXT NOT NULL,
        starting_balance TEXT NOT NULL,
        limits           TEXT NOT NULL,  -- JSON
        stop_reason      TEXT
    )
    """,
    "ALTER TABLE sessions ADD COLUMN campaign_id INTEGER REFERENCES campaigns (id)",
)

# Version 5: `-n auto`: every change of the number of bets in flight, with its reason (betbot.engine.pacing).
_V5: Final = (
    """
    CREATE TABLE concurrency_changes (
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        at         TEXT NOT NULL,     -- UTC, ISO 8601
        after_seq  INTEGER NOT NULL,  -- the last bet admitted before the change
        old        INTEGER NOT NULL,
        new        INTEGER NOT NULL,
        reason     TEXT NOT NULL,     -- little, slow-start, increase, 429, challenge, latency, target
        detail     TEXT NOT NULL
    )
    """,
    "CREATE INDEX concurrency_changes_session ON concurrency_changes (session_id)",
)

# Version 6: with each change, the rate ceiling `-n auto` held after it (bets/s, NULL before it learned one), so
# that a later session against the same site starts at it instead of running into the site's limit again.
_V6: Final = ("ALTER TABLE concurrency_changes ADD COLUMN rate REAL",)

# MIGRATIONS[n - 1] takes a journal from version n - 1 to version n. Append; never edit a shipped one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION: Final = len(MIGRATIONS)


class JournalError(Exception):
    """The journal cannot be opened, read or written; the message says why in one line."""


def read_version(con: sqlite3.Connection, path: Path) -> int:
    """The journal's schema version, checked to be one this betbot can open. Reads only."""
    application_id = con.execute("PRAGMA application_id").fetchone()[0]
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if application_id != APPLICATION_ID:
        tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version or tables:
            raise JournalError(f"{path} is an SQLite database but not a betbot journal; nothing was changed")
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal {path} has schema version {version}, newer than this betbot understands "
            f"({SCHEMA_VERSION}); upgrade betbot to open it (nothing was changed)"
        )
    return int(version)


def migrate(con: sqlite3.Connection, path: Path) -> None:
    """Bring the journal up to `SCHEMA_VERSION`, one migration per transaction (autocommit connection).

    Raises sqlite3.Error (SQLITE_READONLY) when the journal cannot be written, even if it is up to date.
    """
    while True:
        con.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = read_version(con, path)
            if version == SCHEMA_VERSION:
                # Up to date. Still write (and roll back), to learn now whether the journal can be written:
                # in WAL mode BEGIN IMMEDIATE succeeds even on a read-only file.
                con.execute(f"PRAGMA user_version = {version:d}")
                con.execute("ROLLBACK")
                return
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {version + 1:d}")
            con.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
