"""The bet journal: every session and every bet in one SQLite file (WAL mode), written from the engine's hooks.

Theory of operation. A `Journal` is opened on one file and driven by one task. The engine's strategy task
calls `admitted(seq, bet, now)` when a bet is decided, before the request is sent, and
`released(outcome, now)` for every outcome in seq order (the `betbot.engine.loop.EngineHooks` protocol). The
journal files them under the session bound by `start_session` (or `attach`, to resume one).

Two durability modes:
- durable=True (live money): `admitted` queues the bet's row as `pending`, `released` and `reconciled`
  queue its outcome; a writer thread commits what is queued, synced to disk, many bets per sync (group
  commit, `betbot.journal.group_commit`), so the event loop never waits for the disk. A bet coroutine
  `await`s `durable(seq)` before its request leaves: it returns once a synced commit holds the bet's
  intent, and raises JournalError if that commit failed (the bet is then not sent). So a crash at any
  moment leaves a record of every bet that might have been placed. Outcomes piggy-back on the next commit;
  one not yet committed at a crash leaves its bet pending, which the restart reconciles from the site's
  books. `sync()` blocks until everything queued is on disk (for callers that are not the hot path).
- durable=False (dry runs): rows wait in memory and go to disk in batches (one transaction, many rows per
  INSERT, every `batch_size` bets, after a second of engine time, or on `flush()`/`close()`). A bet that
  resolves before its batch is written goes in once, with its final state; a bet still in flight at a
  flush goes in as pending and is replaced when it resolves. A crash loses at most the last batch. Per
  bet, the hot path builds one tuple.

Everything that reads (sessions, bets, replay, reconciliation) flushes first, so it sees every bet.

One runner per session: `start_session` takes the new session's lease (`betbot.journal.lease`) inside the
transaction that creates it, so no other process can see the session before it is leased; a resume takes
it with `claim` before anything of the session is reconciled. The journal holds its leases until `close()`.
Several processes may write one journal (different sessions): WAL, short write transactions, and a busy
timeout for the moments two of them commit at once. A damaged journal is refused before anything is
written into it (`_check_integrity`); readers write nothing and leave no `-wal`/`-shm` (`_connect_reader`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from time import time_ns
from types import TracebackType
from typing import Any, Final, Self

from betbot.config.paths import data_dir
from betbot.core.fairness import server_seed_hash
from betbot.core.models import BetRequest, Outcome, Refused, Settled, StopReason
from betbot.core.session import Limits
from betbot.journal.group_commit import GroupCommit
from betbot.journal.lease import Holder, LeaseHeld, Leases
from betbot.journal.records import (
    BetRecord,
    SeedPairRecord,
    SessionRecord,
    bet_record,
    session_record,
    utc_iso,
)
from betbot.journal.schema import BET_COLUMNS, SCHEMA_VERSION, UNRESOLVED, JournalError, migrate, read_version

__all__ = ["DEFAULT_BATCH_SIZE", "Journal", "UnknownSession", "default_journal_path"]

DEFAULT_BATCH_SIZE: Final = 2048
FLUSH_INTERVAL: Final = 1.0  # seconds of engine clock: a slow dry run still reaches the disk this often
QUICK_CHECK_MAX_BYTES: Final = 32 * 1024 * 1024  # a dry run checks a journal's pages when it is at most this big
BUSY_TIMEOUT_MS: Final = 5000  # another process (a second session, `betbot history`) holds the write lock
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"

_COLUMNS: Final = ", ".join(BET_COLUMNS)
_SELECT_BETS: Final = f"SELECT {_COLUMNS} FROM bets"  # noqa: S608 - constant column names
# Every column of a bet; REPLACE because a bet written as pending (durable, or in flight at a flush) is
# overwritten with its outcome.
_INSERT_ROW: Final = (
    "INSERT OR REPLACE INTO bets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The dry-run hot path: settled Original Dice bets. The columns they never fill are constants, which binds
# 16 parameters instead of 22, and up to 64 rows go in per statement: binding and stepping a statement
# per row are most of the cost of a row.
_SETTLED_DICE_VALUES: Final = (
    "(?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, 'settled', ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
)
_SETTLED_DICE_WIDTH: Final = 16  # parameters per row
_SETTLED_DICE_ROWS: Final = 64  # rows per statement, fewer if the SQLite build allows fewer parameters
_INSERT_SETTLED_DICE: Final = f"INSERT OR REPLACE INTO bets VALUES {_SETTLED_DICE_VALUES}"  # noqa: S608 - constants
_INSERT_PENDING: Final = (
    "INSERT INTO bets (session_id, seq, decided_at, amount, chance, high, currency, faucet, range_lo, range_hi, "
    "range_in, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')"
)
# A dry run's bets in flight at a flush; IGNORE: one still in flight at the next flush is there already.
_INSERT_PENDING_IF_ABSENT: Final = _INSERT_PENDING.replace("INSERT INTO", "INSERT OR IGNORE INTO")
_INSERT_SEED_PAIR: Final = (
    "INSERT OR IGNORE INTO seed_pairs (session_id, server_seed_hash, client_seed, first_nonce, first_seq) "
    "VALUES (?, ?, ?, ?, ?)"
)
_SESSION_SELECT: Final = f"""
    SELECT s.id, s.created_at, s.started_at, s.ended_at, s.strategy, s.params, s.limits, s.backend,
           s.currency, s.starting_balance, s.seed, s.first_seq, s.stop_reason, s.stop_kind, s.summary,
           s.strategy_state, s.state_seq, s.site_baseline, s.run_settings,
           (SELECT max(seq) FROM bets WHERE session_id = s.id),
           (SELECT count(*) FROM bets INDEXED BY bets_unresolved WHERE session_id = s.id AND {UNRESOLVED})
    FROM sessions AS s
"""  # noqa: S608 - constants
# ?2: NULL for every bet, 1 for wins only, 0 for losses only. ?3: how many of the last bets.
_SESSION_BETS: Final = f"{_SELECT_BETS} WHERE session_id = ?1 AND (?2 IS NULL OR win = ?2) ORDER BY seq"
_LAST_BETS: Final = f"SELECT * FROM ({_SESSION_BETS} DESC LIMIT ?3) ORDER BY seq"  # noqa: S608 - constants
# The unresolved bets of a session, through the partial index that holds only them (INDEXED BY: the planner
# would scan every bet of the session instead, and a query that cannot use the index is an error).
_UNRESOLVED_BETS: Final = (
    f"SELECT {_COLUMNS} FROM bets INDEXED BY bets_unresolved "  # noqa: S608 - constants
    f"WHERE session_id = ? AND {UNRESOLVED} ORDER BY seq"
)
_UNFINISHED: Final = (
    f"{_SESSION_SELECT} WHERE s.ended_at IS NULL OR EXISTS "  # noqa: S608 - constants
    f"(SELECT 1 FROM bets INDEXED BY bets_unresolved WHERE session_id = s.id AND {UNRESOLVED}) ORDER BY s.id"
)
_RECONCILE: Final = (
    "UPDATE bets SET status = 'reconciled', profit = ?, win = ?, message = coalesce(?, message) "  # noqa: S608
    f"WHERE session_id = ? AND seq = ? AND {UNRESOLVED}"
)
_PENDING_TO_UNKNOWN: Final = (
    "UPDATE bets INDEXED BY bets_unresolved SET status = 'unknown', "  # noqa: S608 - constants
    "message = coalesce(message, 'still in flight at shutdown; it may have run') "
    f"WHERE session_id = ? AND {UNRESOLVED} AND status = 'pending'"
)

_Row = tuple[Any, ...]


class UnknownSession(JournalError, LookupError):
    """No session with that id in the journal."""


# One lock per journal file, shared by this process's journals of it. Many sessions writing one file at once
# (`betbot serve`: each session's journal commits on a writer thread of its own) would otherwise meet in
# SQLite's busy handler, which sleeps in growing steps and can leave one waiting past BUSY_TIMEOUT_MS while
# the others keep taking the write lock ("database is locked"). Taking turns here first, each waits only for
# the commits before it; other processes still meet this one in the busy handler, as before.
_file_locks: dict[str, threading.RLock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(path: Path) -> threading.RLock:
    key = os.path.realpath(path)
    with _file_locks_guard:
        lock = _file_locks.get(key)
        if lock is None:
            lock = _file_locks[key] = threading.RLock()
        return lock


def default_journal_path() -> Path:
    """`$XDG_DATA_HOME/betbot/journal.sqlite3`, or `~/.local/share/betbot/journal.sqlite3`."""
    return data_dir() / "journal.sqlite3"


class Journal:
    """One journal file. Implements `EngineHooks`; drive it from one task only."""

    def __init__(self, con: sqlite3.Connection, path: Path, *, durable: bool, batch_size: int,
                 background: bool = False) -> None:
        """Use `Journal.open`."""
        self._con = con
        self.path = path
        self.synced_commits = durable  # live money: every commit synced to disk, intents before sends
        self._batch_size = max(1, batch_size)
        self._session_id: int | None = None  # the session the hooks journal into
        self._seed_hash = ""  # the server seed hash of the last settled bet, to notice a new seed pair
        self._open: dict[int, tuple[float, int, BetRequest]] = {}  # seq -> (now, wall µs, bet), until released
        # Buffered settled dice bets, flat: 16 values per bet (the multi-row insert's parameters as they are).
        self._settled: list[Any] = []
        limit = con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per_statement = max(1, min(_SETTLED_DICE_ROWS, limit // _SETTLED_DICE_WIDTH))
        values = ", ".join([_SETTLED_DICE_VALUES] * per_statement)
        self._insert_many = f"INSERT OR REPLACE INTO bets VALUES {values}"  # noqa: S608 - constants
        self._many_width = _SETTLED_DICE_WIDTH * per_statement
        self._batch_values = self._batch_size * _SETTLED_DICE_WIDTH
        self._rows: list[_Row] = []  # buffered other outcomes (full rows)
        self._flush_due = -math.inf
        self._closed = False
        self._wall_offset: int | None = None  # µs from the engine's clock to the Unix epoch
        self._chance: tuple[Decimal, str] = (Decimal(0), "0")  # the last chance and its text
        self._payout: tuple[Decimal, str] = (Decimal(0), "0")  # the last payout and its text
        self._amount: tuple[Decimal, str] = (Decimal(0), "0")  # the last stake and its text
        # The last profit of a loss and of a win, and their texts: the house pays a request with the same two
        # objects bet after bet.
        self._profits: list[tuple[Decimal, str]] = [(Decimal(0), "0"), (Decimal(0), "0")]
        # Every write on the connection holds this: a writer thread commits on it too. One lock per file in
        # this process (`_file_lock`): its journals' transactions take turns here, not in SQLite's busy wait.
        self._lock = _file_lock(path)
        self._writer: GroupCommit | None = None
        if durable or background:
            self._writer = GroupCommit(con, self._lock, path, lambda exc, doing: _error(path, exc, doing))
        self._tickets: dict[int, int] = {}  # durable: seq -> the ticket of its intent, until released
        self._leases = Leases(path)  # the sessions this journal runs, one runner each (betbot.journal.lease)

    # -- opening ---------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        *,
        durable: bool,
        readonly: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        background: bool = False,
    ) -> Self:
        """Open (creating the file and its directories) or raise JournalError with a one-line reason.

        `background` (durable=False): the batches of bets are committed on the writer thread, as a durable
        journal's are (without its syncs, and no bet waits for them), so that the event loop never runs a
        commit or a WAL checkpoint; `betbot serve` opens its sessions' journals so, one loop hosting many.

        Refused, with nothing written: a file that is not an SQLite database, an SQLite database that is
        not a betbot journal, a journal from a newer betbot, a file or directory that cannot be written.
        An older journal is migrated. `readonly` opens an existing journal for reading only.
        """
        path = default_journal_path() if path is None else Path(path).expanduser()
        _check_header(path, must_exist=readonly)
        if readonly and _older_than_this_betbot(path):
            # A journal from an older betbot is brought up to date first (the migrations only add), so
            # that a reading command works on it the day betbot is upgraded; then it is read read-only.
            with contextlib.suppress(JournalError):  # not writable here: the open below says it is older
                cls.open(path, durable=False).close()
        if not readonly:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(
                    f"cannot create the journal's directory {path.parent}: {exc.strerror or exc}"
                ) from None
        try:
            if readonly:
                con = _connect_reader(path)
            else:
                # Not bound to this thread: a durable journal commits on its writer thread (under a lock).
                con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _error(path, exc, f"cannot open the journal {path}") from None
        try:
            _prepare(con, path, durable=durable, readonly=readonly)
        except JournalError:
            con.close()
            raise
        except sqlite3.Error as exc:
            con.close()
            raise _error(path, exc, f"cannot open the journal {path}") from None
        except BaseException:
            con.close()
            raise
        return cls(con, path, durable=durable, batch_size=batch_size, background=background)

    def close(self) -> None:
        """Write what is buffered (bets in flight as pending) and close. Idempotent."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            try:
                if self._writer is not None:
                    self._writer.close()
            finally:
                try:
                    with self._lock:
                        self._con.close()
                finally:
                    self._leases.release_all()  # last: every row of the run is written

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the engine's hooks ----------------------------------------------------------------------------
    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        """A bet was decided and admitted; before its request leaves, the engine awaits `durable(seq)`.

        durable=True: the bet's row is queued as pending for the writer thread's next commit. If that
        commit fails, `durable(seq)` raises JournalError into the engine, which then stops without sending
        the bet. durable=False: only remembered.
        """
        session_id = self._session_id
        if session_id is None:
            raise JournalError("no session to journal into: call start_session() or attach() first")
        offset = self._wall_offset
        if offset is None:
            # Wall time from the engine's clock plus one offset: a clock read per bet costs more than the
            # rest of this hook, and monotonic time cannot jump back with the wall clock.
            offset = self._wall_offset = time_ns() // 1000 - int(now * 1_000_000)
        wall = int(now * 1_000_000) + offset
        self._open[seq] = (now, wall, bet)
        writer = self._writer
        if writer is not None and self.synced_commits:
            self._tickets[seq] = writer.put(_INSERT_PENDING, _pending_row(session_id, seq, wall, bet),
                                            f"bet {seq} before sending it", wanted=True)

    async def durable(self, seq: int) -> None:
        """Return once bet `seq`'s intent (from `admitted`) is committed and synced to disk.

        Raises JournalError if the commit failed: the bet must not be sent. durable=False: returns at once.
        The event loop runs on meanwhile; one commit covers every bet admitted before it started.
        """
        writer = self._writer
        if writer is None or not self.synced_commits:
            return
        ticket = self._tickets.get(seq)
        if ticket is None:
            raise JournalError(f"bet {seq} was not admitted through this journal (or is already released)")
        await writer.wait(ticket)

    def sync(self) -> None:
        """durable=True: block until everything queued (intents, outcomes) is committed, synced. Else nothing:
        the engine calls it before every bet placed at once, and a `background` journal's batches must not make
        each of those wait for the writer thread."""
        if self._writer is not None and self.synced_commits:
            self._writer.sync()

    def _committed(self) -> None:
        """Block until every row queued for the writer thread is committed (its readers and writers go after)."""
        if self._writer is not None:
            self._writer.sync()

    @property
    def syncs(self) -> int:
        """Commits made by the writer thread (each one disk sync): the figure group commit keeps low."""
        return 0 if self._writer is None else self._writer.syncs

    def released(self, outcome: Outcome, now: float) -> None:
        """An outcome, in seq order. durable=True: written and committed now; else buffered."""
        seq = outcome.seq
        entry = self._open.pop(seq, None)
        if entry is None:  # not admitted through this journal (a resumed session's stray): no latency
            wall, latency = time_ns() // 1000, None
        else:
            wall, latency = entry[1], (now - entry[0]) * 1000.0
        if isinstance(outcome, Settled):
            if outcome.server_seed_hash != self._seed_hash:
                self._seed_seen(outcome)
            bet = outcome.bet
            if bet.range is None and not self.synced_commits:
                # Texts of the last chance and payout: strategies pass the same chance bet after bet.
                chance, chance_text = self._chance
                if bet.chance is not chance:
                    chance, chance_text = self._chance = bet.chance, _text(bet.chance)
                payout, payout_text = self._payout
                if outcome.payout != payout:
                    payout, payout_text = self._payout = outcome.payout, _text(outcome.payout)
                amount, amount_text = self._amount
                if bet.amount is not amount:
                    amount, amount_text = self._amount = bet.amount, _text(bet.amount)
                win = outcome.win
                profit, profit_text = self._profits[win]
                if outcome.profit is not profit:
                    profit, profit_text = self._profits[win] = outcome.profit, _text(outcome.profit)
                settled = self._settled
                settled += (
                    self._session_id, seq, wall, amount_text, chance_text, 1 if bet.high else 0,
                    bet.currency, 1 if bet.faucet else 0, outcome.bet_hash, outcome.nonce, outcome.number,
                    1 if win else 0, payout_text, profit_text, _text(outcome.balance), latency,
                )
                if len(settled) >= self._batch_values or now >= self._flush_due:
                    self._flush_due = now + FLUSH_INTERVAL
                    self._spill()
                return
        row = _outcome_row(self._session_id, seq, wall, outcome, latency)
        writer = self._writer
        if writer is not None:
            self._tickets.pop(seq, None)
            writer.put(_INSERT_ROW, row, f"the outcome of bet {seq}", wanted=False)  # with the next commit
            return
        self._rows.append(row)
        if len(self._rows) >= self._batch_size or now >= self._flush_due:
            self._flush_due = now + FLUSH_INTERVAL
            self._spill()

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None = None) -> None:
        """Reconciliation's verdict on an unknown bet of the bound session (the engine's hook).

        `note` (`Verdict.note`): why this bet carries the verdict when the books could not single it out,
        kept in the bet's message."""
        del bet, now  # the row has the request; a verdict has no latency
        if self._session_id is None:
            raise JournalError("no session to journal into: call start_session() or attach() first")
        self._open.pop(seq, None)
        writer = self._writer
        if writer is not None:
            self._tickets.pop(seq, None)
            # With the next commit (a bet's intent, sync() or close()): a verdict sends nothing.
            writer.put(_RECONCILE, _verdict_row(self._session_id, seq, profit, note),
                       f"the reconciliation of bet {seq}", wanted=False)
            return
        self.mark_reconciled(self._session_id, seq, profit, note)

    def _spill(self) -> None:
        """A batch is due (the hooks, on the event loop): `background`, hand it to the writer and go on."""
        if self._writer is not None and not self.synced_commits:
            self._queue_pending()
            return
        self.flush()

    def flush(self) -> None:
        """Write the buffered bets, and the bets in flight as pending, in one transaction. Returns once they
        are committed (a reader of the journal's own connection then sees them, and no commit is running)."""
        if self._writer is not None:
            if not self.synced_commits:
                self._queue_pending()  # background: the writer commits them, then _committed() waits for it
            self._committed()  # every bet is queued for the writer already; commit them
            return
        batch = self._batch()
        if not batch:
            return
        with self._transaction("a batch of bets") as con:
            for sql, params in batch:
                con.executemany(sql, params)
        # Only now: a failed write keeps the rows for the next attempt.
        self._settled = []
        self._rows = []

    def _batch(self) -> list[tuple[str, list[Sequence[Any]]]]:
        """The buffered bets, and the bets in flight as pending, as statements with their rows (settled dice
        bets many to a statement); empty when there is nothing to write."""
        session_id = self._session_id
        pending: list[Sequence[Any]] = [_pending_row(session_id, seq, wall, bet)
                                        for seq, (_, wall, bet) in self._open.items()]
        settled = self._settled
        many, width = self._many_width, _SETTLED_DICE_WIDTH
        whole = len(settled) - len(settled) % many
        statements: list[tuple[str, list[Sequence[Any]]]] = [
            (self._insert_many, [settled[i : i + many] for i in range(0, whole, many)]),
            (_INSERT_SETTLED_DICE, [settled[i : i + width] for i in range(whole, len(settled), width)]),
            (_INSERT_ROW, list(self._rows)),
            (_INSERT_PENDING_IF_ABSENT, pending),
        ]
        return [(sql, params) for sql, params in statements if params]

    def _queue_pending(self) -> None:
        """`background`: the buffered bets, and the bets in flight as pending, go to the writer thread (one
        commit, soon); the caller only queues them."""
        writer = self._writer
        assert writer is not None  # noqa: S101 - background journals have one
        work = [(sql, row) for sql, rows in self._batch() for row in rows]
        if not work:
            return
        for index, (sql, params) in enumerate(work):
            writer.put(sql, params, "a batch of bets", wanted=index == len(work) - 1)  # the last wakes it
        self._settled = []
        self._rows = []

    def _seed_seen(self, outcome: Settled) -> None:
        """The first settled bet under a seed pair this session has not journaled yet (or a rotation)."""
        self._seed_hash = outcome.server_seed_hash
        if outcome.server_seed_hash and self._session_id is not None:
            self._write(
                _INSERT_SEED_PAIR,
                (self._session_id, outcome.server_seed_hash, outcome.client_seed, outcome.nonce, outcome.seq),
                f"the seed pair of bet {outcome.seq}",
            )

    # -- sessions --------------------------------------------------------------------------------------
    def start_session(
        self,
        *,
        strategy: str,
        params: Mapping[str, Any],
        limits: Limits | Mapping[str, Any],
        backend: str,
        currency: str,
        starting_balance: Decimal,
        server_seed_hash: str | None = None,
        client_seed: str | None = None,
        first_nonce: int | None = None,
        first_seq: int = 1,
    ) -> int:
        """Record a new session, bind the hooks to it, and return its id.

        The seed pair, when known at the start, is recorded as the session's first; later pairs (a
        rotation) are recorded from the first bet settled under them.
        """
        self._check_idle()
        self.flush()
        now = utc_iso(datetime.now(UTC))
        seed = None
        if server_seed_hash is not None or client_seed is not None:
            seed = {"server_seed_hash": server_seed_hash, "client_seed": client_seed, "first_nonce": first_nonce}
        limits_map = _limits_dict(limits) if isinstance(limits, Limits) else dict(limits)
        session_id: int | None = None
        try:
            with self._transaction("a new session") as con:
                cursor = con.execute(
                    "INSERT INTO sessions (created_at, started_at, strategy, params, limits, backend, currency, "
                    "starting_balance, seed, first_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (now, now, strategy, _to_json(dict(params)), _to_json(limits_map), backend, currency,
                     str(starting_balance), None if seed is None else _to_json(seed), first_seq),
                )
                session_id = cursor.lastrowid
                assert session_id is not None  # noqa: S101 - an INSERT always sets it
                if server_seed_hash and client_seed is not None:
                    con.execute(_INSERT_SEED_PAIR,
                                (session_id, server_seed_hash, client_seed, first_nonce or 0, first_seq))
                # Before the commit makes the session visible: no `--resume` elsewhere can take it first.
                self._take_new_lease(session_id)
        except BaseException:
            if session_id is not None:  # the commit failed: there is no such session to hold
                self._leases.release(session_id)
            raise
        assert session_id is not None  # noqa: S101 - set in the transaction
        self._session_id = session_id
        self._seed_hash = server_seed_hash or ""
        return session_id

    def _take_new_lease(self, session_id: int) -> None:
        try:
            self._leases.take(session_id)
        except LeaseHeld as held:  # a lock file left from a journal of the same name that was replaced
            raise JournalError(f"cannot run the new session {session_id}: its lock {self._leases.path_of(session_id)} "
                               f"is held by {held.holder.describe()}") from None

    # -- leases: one runner per session ------------------------------------------------------------
    def claim(self, session_id: int) -> None:
        """Take the session's lease for as long as this journal is open (until `release`).

        Raises LeaseHeld when another runner (another process, or another journal of this process) has it,
        JournalError when the lock cannot be tried. `start_session` takes a new session's lease itself.
        """
        self._require_session(session_id)
        self._leases.take(session_id)

    def release(self, session_id: int) -> None:
        """Give the session's lease back before the journal closes (no-op if this journal does not hold it)."""
        self._leases.release(session_id)

    def runner(self, session_id: int) -> Holder | None:
        """Who runs the session now (this journal included), without taking anything; None if no one."""
        return self._leases.holder(session_id)

    def attach(self, session_id: int) -> None:
        """Bind the hooks to an existing session, to journal the bets of its resumption."""
        self._require_session(session_id)
        self._check_idle()
        self.flush()
        row = self._con.execute(
            "SELECT server_seed_hash FROM seed_pairs WHERE session_id = ? ORDER BY first_seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        self._session_id = session_id
        self._seed_hash = row[0] if row else ""

    def finish_session(self, session_id: int, stop_reason: StopReason | None, summary: Mapping[str, Any]) -> None:
        """Record the end: the time, why it stopped, and the summary (the `--summary-json` dict)."""
        self.flush()
        with self._transaction("the end of the session") as con:
            cursor = con.execute(
                "UPDATE sessions SET ended_at = ?, stop_reason = ?, stop_kind = ?, summary = ? WHERE id = ?",
                (utc_iso(datetime.now(UTC)), None if stop_reason is None else str(stop_reason),
                 None if stop_reason is None else stop_reason.kind.value, _to_json(dict(summary)), session_id),
            )
            if cursor.rowcount == 0:
                raise self._unknown(session_id)

    def reopen_session(self, session_id: int) -> None:
        """A session resumes: it is running again, so it has no end (a crash now leaves it unfinished)."""
        with self._transaction("the resumption of the session") as con:
            cursor = con.execute(
                "UPDATE sessions SET ended_at = NULL, stop_reason = NULL, stop_kind = NULL WHERE id = ?",
                (session_id,),
            )
            if cursor.rowcount == 0:
                raise self._unknown(session_id)

    def set_site_baseline(self, session_id: int, baseline: Mapping[str, Any]) -> None:
        """Live: the site's books at the session's start, which reconciliation counts from."""
        with self._transaction("the site's books at the start") as con:
            cursor = con.execute("UPDATE sessions SET site_baseline = ? WHERE id = ?",
                                 (_to_json(dict(baseline)), session_id))
            if cursor.rowcount == 0:
                raise self._unknown(session_id)

    def set_run_settings(self, session_id: int, settings: Mapping[str, Any]) -> None:
        """The run's own settings that a resume restores besides the limits (the concurrency, ...)."""
        with self._transaction("the run's settings") as con:
            cursor = con.execute("UPDATE sessions SET run_settings = ? WHERE id = ?",
                                 (_to_json(dict(settings)), session_id))
            if cursor.rowcount == 0:
                raise self._unknown(session_id)

    def concurrency_changed(self, session_id: int, *, after_seq: int, old: int, new: int, reason: str,
                            detail: str, rate: float | None = None) -> None:
        """`-n auto` changed the number of bets in flight (rare: at most about once per reply time); `rate`: the
        rate ceiling that held after it, bets/s."""
        self._write("INSERT INTO concurrency_changes (session_id, at, after_seq, old, new, reason, detail, rate) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (session_id, datetime.now(UTC).isoformat(), after_seq, old, new, reason, detail, rate),
                    "a concurrency change")

    def site_rate(self, base_url: str, since: datetime) -> tuple[float, int, datetime] | None:
        """The rate ceiling `-n auto` last held against the site at `base_url`, in any session of this journal,
        if journaled at `since` or later: (bets/s, the session, when); None if there is none that recent."""
        with self._lock:  # a hosted session starts while the writer thread commits the others' bets
            rows = self._con.execute(
                "SELECT c.rate, c.session_id, c.at, s.run_settings FROM concurrency_changes c JOIN sessions s "
                "ON s.id = c.session_id WHERE c.rate IS NOT NULL AND c.at >= ? ORDER BY c.rowid DESC",
                (since.astimezone(UTC).isoformat(),)).fetchall()
        for rate, session_id, at, run_settings in rows:
            if run_settings is not None and json.loads(run_settings).get("base_url") == base_url:
                return float(rate), int(session_id), datetime.fromisoformat(at)
        return None

    def concurrency_changes(self, session_id: int) -> list[dict[str, Any]]:
        """A session's concurrency changes, oldest first (`-n auto`)."""
        rows = self._con.execute(
            "SELECT at, after_seq, old, new, reason, detail, rate FROM concurrency_changes WHERE session_id = ? "
            "ORDER BY rowid", (session_id,)).fetchall()
        return [{"at": at, "after_seq": seq, "old": old, "new": new, "reason": reason, "detail": detail, "rate": rate}
                for at, seq, old, new, reason, detail, rate in rows]

    def save_strategy_state(self, session_id: int, seq: int, state: Mapping[str, Any]) -> None:
        """Save `Strategy.save_state()` as of bet `seq` (every bet up to it is flushed with it)."""
        self.flush()
        with self._transaction("the strategy state") as con:
            cursor = con.execute(
                "UPDATE sessions SET strategy_state = ?, state_seq = ? WHERE id = ?",
                (_to_json(dict(state)), seq, session_id),
            )
            if cursor.rowcount == 0:
                raise self._unknown(session_id)

    def add_seed_pair(
        self, session_id: int, *, server_seed_hash: str, client_seed: str, first_nonce: int, first_seq: int
    ) -> None:
        """Record a seed pair the session plays under from bet `first_seq` (no-op if already recorded)."""
        self._require_session(session_id)
        self._write(_INSERT_SEED_PAIR, (session_id, server_seed_hash, client_seed, first_nonce, first_seq),
                    "a seed pair")
        if session_id == self._session_id:
            self._seed_hash = server_seed_hash

    def reveal_seed(self, session_id: int, server_seed: str) -> bool:
        """Store a revealed server seed with its pair, found by its SHA-256. False if no pair matches."""
        self._require_session(session_id)
        with self._transaction("a revealed server seed") as con:
            cursor = con.execute(
                "UPDATE seed_pairs SET server_seed = ? WHERE session_id = ? AND server_seed_hash = ?",
                (server_seed, session_id, server_seed_hash(server_seed)),
            )
        return cursor.rowcount > 0

    def seed_pairs(self, session_id: int) -> list[SeedPairRecord]:
        self._require_session(session_id)
        rows = self._con.execute(
            "SELECT session_id, server_seed_hash, server_seed, client_seed, first_nonce, first_seq "
            "FROM seed_pairs WHERE session_id = ? ORDER BY first_seq",
            (session_id,),
        )
        return [
            SeedPairRecord(session_id=r[0], server_seed_hash=r[1], server_seed=r[2], client_seed=r[3],
                           first_nonce=r[4], first_seq=r[5])
            for r in rows
        ]

    def sessions(self) -> list[SessionRecord]:
        """Every session, oldest first."""
        self.flush()
        return [session_record(row) for row in self._con.execute(_SESSION_SELECT + " ORDER BY s.id")]

    def session(self, session_id: int) -> SessionRecord:
        self.flush()
        row = self._con.execute(_SESSION_SELECT + " WHERE s.id = ?", (session_id,)).fetchone()
        if row is None:
            raise self._unknown(session_id)
        return session_record(row)

    def unfinished_sessions(self) -> list[SessionRecord]:
        """Sessions never finished (a crash) or left with bets pending or unknown: reconcile these first."""
        self.flush()
        rows = self._con.execute(_UNFINISHED)
        return [session_record(row) for row in rows]

    # -- bets ------------------------------------------------------------------------------------------
    def bets(self, session_id: int, *, last: int | None = None, wins: bool | None = None) -> Iterator[BetRecord]:
        """A session's bets in seq order: all, or the last `last`; only wins (True) or losses (False)."""
        return (bet_record(row) for row in self.bet_rows(session_id, last=last, wins=wins))

    def bet_rows(self, session_id: int, *, last: int | None = None, wins: bool | None = None) -> Iterator[_Row]:
        """As `bets`, but raw rows in `BET_COLUMNS` order (for streaming exports of millions of rows)."""
        self._require_session(session_id)
        self.flush()
        win = None if wins is None else int(wins)
        if last is None:
            return self._stream(_SESSION_BETS, (session_id, win))
        return self._stream(_LAST_BETS, (session_id, win, max(0, last)))

    def bet_columns(self, session_id: int, columns: Sequence[str], *, after: int = 0,
                    limit: int = -1) -> Iterator[_Row]:
        """A session's bets in seq order, only the named columns (of `BET_COLUMNS`), as raw rows: a reader of
        a million bets that needs a few columns (the report) fetches a third of the data. `after`, `limit`:
        at most `limit` bets (-1: all) after seq `after` (a reader that follows a run, a batch at a time)."""
        unknown = [name for name in columns if name not in BET_COLUMNS]
        if unknown or not columns:
            raise ValueError(f"not columns of the bets table: {', '.join(unknown) or '(none)'}")
        self._require_session(session_id)
        self.flush()
        sql = (f"SELECT {', '.join(columns)} FROM bets WHERE session_id = ? AND seq > ? "  # noqa: S608 - checked names
               "ORDER BY seq LIMIT ?")
        return self._stream(sql, (session_id, after, limit))

    def pending_bets(self, session_id: int) -> list[BetRecord]:
        """The session's bets still pending or unknown, in seq order: what reconciliation resolves."""
        self._require_session(session_id)
        self.flush()
        rows = self._con.execute(_UNRESOLVED_BETS, (session_id,))
        return [bet_record(row) for row in rows]

    def site_payouts(self, session_id: int) -> dict[tuple[Decimal, bool], Decimal]:
        """The multiplier the site paid per (chance, faucet) in this session's settled bets (the latest one
        if it changed): what reconciliation takes a win at that chance to pay."""
        self._require_session(session_id)
        self.flush()
        paid: dict[tuple[Decimal, bool], tuple[int, Decimal]] = {}
        rows = self._con.execute(
            "SELECT chance, faucet, payout, max(seq) FROM bets WHERE session_id = ? AND status = 'settled' "
            "AND payout IS NOT NULL GROUP BY chance, faucet, payout",
            (session_id,),
        )
        for chance, faucet, payout, seq in rows:
            key = (Decimal(chance), bool(faucet))
            if key not in paid or paid[key][0] < seq:
                paid[key] = (seq, Decimal(payout))
        return {key: payout for key, (_, payout) in paid.items()}

    def mark_reconciled(self, session_id: int, seq: int, profit: Decimal | None, note: str | None = None) -> None:
        """Reconciliation's verdict on a pending or unknown bet: it did not run (None) or ran with `profit`.

        `note`, if any, replaces the bet's message (why this bet, when the books could not single it out)."""
        self.flush()
        with self._transaction(f"the reconciliation of bet {seq}") as con:
            cursor = con.execute(_RECONCILE, _verdict_row(session_id, seq, profit, note))
            if cursor.rowcount == 0:
                self._require_session(session_id)
                raise JournalError(f"bet {seq} of session {session_id} is not pending or unknown")

    def mark_unknown_pending(self, session_id: int) -> int:
        """At shutdown after a forced stop: the session's pending bets become unknown. Returns how many."""
        self._require_session(session_id)
        self.flush()  # bets still in flight go in as pending first
        with self._transaction("unresolved bets") as con:
            cursor = con.execute(_PENDING_TO_UNKNOWN, (session_id,))
        if session_id == self._session_id:
            self._open.clear()  # their outcomes will not be released now; reconciliation resolves them
            self._tickets.clear()
        return cursor.rowcount

    def replay_balance(self, session_id: int) -> Decimal:
        """The starting balance plus every settled (or reconciled) profit, in seq order."""
        self.flush()
        row = self._con.execute("SELECT starting_balance FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise self._unknown(session_id)
        balance = Decimal(row[0])
        for (profit,) in self._con.execute(
            "SELECT profit FROM bets WHERE session_id = ? AND status IN ('settled', 'reconciled') "
            "AND profit IS NOT NULL ORDER BY seq",
            (session_id,),
        ):
            balance += Decimal(profit)
        return balance

    # -- plumbing --------------------------------------------------------------------------------------
    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[_Row]:
        """A query's rows, read as they are consumed; a damaged page met on the way is a one-line JournalError."""
        try:
            yield from self._con.execute(sql, params)
        except sqlite3.Error as exc:
            raise _error(self.path, exc, f"cannot read the journal {self.path}") from None

    def _check_idle(self) -> None:
        if self._open:
            raise JournalError(
                f"{len(self._open)} bet(s) of session {self._session_id} are still in flight; "
                "finish it before starting or attaching another"
            )

    def _require_session(self, session_id: int) -> None:
        if self._con.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise self._unknown(session_id)

    def _unknown(self, session_id: int) -> UnknownSession:
        return UnknownSession(f"no session {session_id} in journal {self.path}")

    def _write(self, sql: str, params: Sequence[Any], what: str) -> None:
        """One statement, committed on its own (the connection is in autocommit mode)."""
        self._committed()
        with self._lock:
            try:
                self._con.execute(sql, params)
            except sqlite3.Error as exc:
                raise _error(self.path, exc, f"cannot journal {what} in {self.path}") from None

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        con = self._con
        self._committed()  # bets queued but not yet committed go first, in their own transaction
        with self._lock:
            try:
                con.execute("BEGIN IMMEDIATE")
                yield con
                con.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(con)
                raise _error(self.path, exc, f"cannot journal {what} in {self.path}") from None
            except BaseException:
                _rollback(con)
                raise


def _rollback(con: sqlite3.Connection) -> None:
    """Undo the open transaction, if the connection can still say it has one (the error is what matters)."""
    with suppress(sqlite3.Error):
        if con.in_transaction:
            con.execute("ROLLBACK")


def _prepare(con: sqlite3.Connection, path: Path, *, durable: bool, readonly: bool) -> None:
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    # Read the version before anything writes: a journal from a newer betbot must stay untouched.
    version = read_version(con, path)
    if readonly:
        if version < SCHEMA_VERSION:
            raise JournalError(
                f"journal {path} has schema version {version}, older than this betbot's ({SCHEMA_VERSION}); "
                "it is upgraded the next time a session writes to it"
            )
        return
    _check_integrity(con, path, durable=durable)
    mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise JournalError(f"journal {path}: cannot use WAL mode (the file system gave {mode!r})")
    # durable: every commit syncs the WAL. Otherwise a commit survives a crash of the process but not one
    # of the machine, which is what a dry run needs.
    con.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    migrate(con, path)  # takes the write lock even when current: the check that the journal can be written


def _check_integrity(con: sqlite3.Connection, path: Path, *, durable: bool) -> None:
    """Refuse a damaged journal before anything is written into it (a new session would hide the damage
    until a reader trips on it).

    `PRAGMA quick_check` reads every page: on a journal of a million bets it took 1.9 s on the shared 2-core
    development machine at a load average of 8 to 12 (`bench/bench_journal_open.py`). A live run (durable)
    always pays it: money is at stake and it is paid once per run. A dry run pays it up to
    QUICK_CHECK_MAX_BYTES (about 230,000 bets, well under half a second); above, a damaged page is still
    reported in one line when something reads it.
    """
    if not durable:
        try:
            if path.stat().st_size > QUICK_CHECK_MAX_BYTES:
                return
        except OSError:
            return  # a new file: nothing to check
    try:
        found = [row[0] for row in con.execute("PRAGMA quick_check(1)")]
    except sqlite3.DatabaseError as exc:
        found = [str(exc)]
    if found != ["ok"]:
        raise _damaged(path, "; ".join(str(problem) for problem in found), untouched=True)


def _damaged(path: Path, detail: str, *, untouched: bool) -> JournalError:
    said = "; nothing was written to it" if untouched else ""
    return JournalError(
        f"journal {path} is damaged ({detail.replace(chr(10), ' ')}){said}: move it aside and start a new "
        f"journal (`sqlite3 {path.name} .recover` can save what is still readable)"
    )


def _older_than_this_betbot(path: Path) -> bool:
    try:
        con = _connect_reader(path)
    except sqlite3.Error:
        return False  # the read-only open that follows says what is wrong
    try:
        return int(con.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION
    except sqlite3.Error:
        return False
    finally:
        con.close()


def _connect_reader(path: Path) -> sqlite3.Connection:
    """A connection that reads and writes nothing, and leaves no `-wal`/`-shm` file it did not find.

    A `mode=ro` connection to a WAL journal creates the `-wal` and `-shm` files and, being read-only, can
    never remove them. So where the journal can change, a reader opens it as a writer does but with
    `query_only` (nothing can be written through it): the last connection to close removes those files, as
    a writer's does. Where it cannot change (a read-only file system, file or directory), SQLite could not
    create them: with no `-wal` there is nothing but the file, read as `immutable`; a `-wal` left there is
    part of the journal, read with `mode=ro`.
    """
    uri = path.resolve().as_uri()
    if _can_change(path):
        con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA query_only = ON")
        return con
    wal = path.with_name(path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    return sqlite3.connect(f"{uri}?{mode}", uri=True, isolation_level=None, check_same_thread=False)


def _can_change(path: Path) -> bool:
    """Can anything write the journal (and make its `-wal` beside it)?"""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        pass  # no statvfs here: the permissions decide
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


# -- rows ----------------------------------------------------------------------------------------------
def _text(value: Decimal) -> str:
    """A decimal as stored: fixed-point, with the places it has (`0.00000001`, never `1E-8` or `0E-8`)."""
    text = str(value)  # fixed-point already unless tiny or with a positive exponent; a third of format's cost
    return format(value, "f") if "E" in text else text


def _request_columns(bet: BetRequest) -> _Row:
    span = bet.range
    head = (_text(bet.amount), _text(bet.chance), int(bet.high), bet.currency, int(bet.faucet))
    if span is None:
        return (*head, None, None, None)
    return (*head, span[0], span[1], int(bet.range_in))


def _verdict_row(session_id: int | None, seq: int, profit: Decimal | None, note: str | None = None) -> _Row:
    """The parameters of `_RECONCILE`: a zero profit is a win (a loss always costs the stake)."""
    if profit is None:
        return (None, None, note or None, session_id, seq)
    return (f"{profit:.8f}", int(profit >= 0), note or None, session_id, seq)  # fixed-point text, never 0E-8


def _pending_row(session_id: int | None, seq: int, wall: int, bet: BetRequest) -> _Row:
    return (session_id, seq, wall, *_request_columns(bet))


def _outcome_row(session_id: int | None, seq: int, wall: int, outcome: Outcome, latency: float | None) -> _Row:
    """A full row (BET_COLUMNS order). Empty text is stored as NULL, so exports can tell nothing apart."""
    head = (session_id, seq, wall, *_request_columns(outcome.bet))
    if isinstance(outcome, Settled):
        return (*head, "settled", outcome.bet_hash or None, outcome.nonce, outcome.number, int(outcome.win),
                _text(outcome.payout), _text(outcome.profit), _text(outcome.balance), latency, None, None)
    if isinstance(outcome, Refused):
        return (*head, "refused", None, None, None, None, None, None, None, latency, outcome.kind.value,
                outcome.message or None)
    return (*head, "unknown", None, None, None, None, None, None, None, latency, None, outcome.message or None)


def _limits_dict(limits: Limits) -> dict[str, Any]:
    return {f.name: getattr(limits, f.name) for f in dataclasses.fields(limits) if getattr(limits, f.name) is not None}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # money stays exact
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot journal a {type(value).__name__} as JSON")


def _to_json(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


# -- errors --------------------------------------------------------------------------------------------
def _check_header(path: Path, *, must_exist: bool) -> None:
    """Refuse a file that is not an SQLite database before SQLite opens it (so it is never written)."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        if must_exist:
            raise JournalError(f"no journal at {path}") from None
        return
    except IsADirectoryError:
        raise JournalError(f"journal path {path} is a directory, not a file") from None
    except OSError as exc:
        raise JournalError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
    if head and head != _SQLITE_MAGIC:
        raise JournalError(f"{path} is not a betbot journal (not an SQLite database); nothing was changed")


def _error(path: Path, exc: sqlite3.Error, doing: str) -> JournalError:
    """An sqlite3 error as one line: what failed (naming the file), why, and where it helps, what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).replace("\n", " ")
    if name.startswith("SQLITE_NOTADB"):
        return JournalError(f"{path} is not a betbot journal (not an SQLite database); nothing was changed")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return JournalError(
            f"{doing}: {text} (check that the file and its directory {path.parent} are writable, "
            "or choose another journal path)"
        )
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return _damaged(path, f"{doing}: {text}", untouched=False)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return JournalError(f"{doing}: it is locked by another process ({text})")
    if name.startswith("SQLITE_FULL"):
        return JournalError(f"{doing}: the disk is full")
    return JournalError(f"{doing}: {text}")
