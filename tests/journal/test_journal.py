"""The bet journal: whole sessions through the engine, intent before send, coalescing, exports,
reconciliation, seed pairs, and the files it refuses (one-line errors, nothing overwritten)."""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import random
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.fairness import SeedPair
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, Settled, StopKind, StopReason, Unknown
from betbot.core.session import Limits
from betbot.engine.loop import Engine
from betbot.journal import (
    SCHEMA_VERSION,
    BetStatus,
    Journal,
    JournalError,
    UnknownSession,
    default_journal_path,
)
from betbot.journal.export import ExportFormat, export_session, export_to_file, parse_row
from betbot.journal.schema import APPLICATION_ID, BET_COLUMNS, MIGRATIONS
from tests.helpers import CURRENCY, Martingale, dice, make_session

SEEDS = SeedPair.derive("journal-tests")


# -- helpers ---------------------------------------------------------------------------------------------
@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


def start(journal: Journal, balance: str = "100") -> int:
    return journal.start_session(
        strategy="martingale", params={"base_bet": Decimal("0.01")}, limits=Limits(max_bets=10),
        backend="simulator", currency=CURRENCY, starting_balance=Decimal(balance),
        server_seed_hash=SEEDS.server_seed_hash, client_seed=SEEDS.client_seed, first_nonce=SEEDS.first_nonce,
    )


def won(seq: int, bet: BetRequest, balance: str, *, number: int = 7000, seeds: SeedPair = SEEDS) -> Settled:
    return Settled(seq=seq, bet=bet, number=number, win=True, payout=Decimal("1.98"),
                   profit=(bet.amount * Decimal("0.98")).quantize(Decimal("0.00000001")),
                   balance=Decimal(balance), nonce=seq - 1, bet_hash=f"hash-{seq}",
                   client_seed=seeds.client_seed, server_seed_hash=seeds.server_seed_hash)


def lost(seq: int, bet: BetRequest, balance: str, *, number: int = 100) -> Settled:
    return Settled(seq=seq, bet=bet, number=number, win=False, payout=Decimal("1.98"), profit=-bet.amount,
                   balance=Decimal(balance), nonce=seq - 1, bet_hash=f"hash-{seq}",
                   client_seed=SEEDS.client_seed, server_seed_hash=SEEDS.server_seed_hash)


def play(journal: Journal, seq: int, outcome: Outcome | None, bet: BetRequest, now: float = 0.0) -> None:
    """One bet through the hooks, as the engine calls them; outcome None leaves it in flight."""
    journal.admitted(seq, bet, now)
    if outcome is not None:
        journal.released(outcome, now + 0.005)


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert text
    assert "\n" not in text
    return text


def siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()} if path.parent.exists() else set()


def read_row(path: Path, session_id: int, seq: int) -> tuple[str, str] | None:
    """A bet's status and amount as another process would see them on disk."""
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT status, amount FROM bets WHERE session_id = ? AND seq = ?",
                          (session_id, seq)).fetchone()
    finally:
        con.close()
    return None if row is None else (row[0], row[1])


# -- whole sessions through the engine -------------------------------------------------------------------
@pytest.mark.parametrize("durable", [False, True])
async def test_a_whole_session_chains_balances_and_replays(path: Path, durable: bool) -> None:
    game = SimulatedGame(seeds=SEEDS, balances={CURRENCY: Decimal(100)})
    backend = SimulatorBackend(game, LatencyModel(jitter=0.001, rng=random.Random(11)))
    session = make_session(balance="100", limits=Limits(max_bets=150))
    # A small batch, so flushes happen with bets in flight (written pending, then replaced).
    journal = Journal.open(path, durable=durable, batch_size=7)
    session_id = start(journal)
    engine = Engine(session=session, strategy=Martingale(), backend=backend, max_concurrent=5, hooks=journal)
    await engine.run()

    bets = list(journal.bets(session_id))
    assert [b.seq for b in bets] == list(range(1, session.submitted + 1))
    assert session.bets == len(bets) > 100
    balance = Decimal(100)
    for bet in bets:
        assert bet.status is BetStatus.SETTLED
        assert bet.profit is not None
        assert bet.balance_after is not None
        assert bet.balance_after == balance + bet.profit, bet.seq
        assert bet.win == (bet.profit >= 0)
        assert bet.latency_ms is not None
        assert bet.latency_ms >= 0
        balance = bet.balance_after
    assert journal.replay_balance(session_id) == session.balance == balance == game.balances[CURRENCY]
    assert len({b.amount for b in bets}) > 1  # the martingale's stakes vary: every amount went in exact
    assert journal.pending_bets(session_id) == []
    journal.close()


class _SpyBackend(SimulatorBackend):
    """Never answers at once (so the engine sends each bet); looks at the journal on disk when sending."""

    def __init__(self, game: SimulatedGame, path: Path) -> None:
        super().__init__(game, LatencyModel())
        self.path = path
        self.session_id = 0
        self.on_disk: dict[int, tuple[str, str] | None] = {}  # seq -> (status, amount) when it was sent
        self.sent: dict[int, str] = {}  # seq -> the stake sent

    answers_at_once = False

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        self.on_disk[seq] = read_row(self.path, self.session_id, seq)
        self.sent[seq] = str(bet.amount)
        return await super().place(seq, bet)


@pytest.mark.parametrize("durable", [True, False])
async def test_durable_journals_the_intent_before_the_request_leaves(path: Path, durable: bool) -> None:
    backend = _SpyBackend(SimulatedGame(seeds=SEEDS, balances={CURRENCY: Decimal(100)}), path)
    session = make_session(limits=Limits(max_bets=20))
    with Journal.open(path, durable=durable) as journal:
        backend.session_id = start(journal)
        await Engine(session=session, strategy=Martingale(), backend=backend, max_concurrent=5,
                     hooks=journal).run()
        assert sorted(backend.on_disk) == list(range(1, 21))
        if durable:  # every bet was on disk, pending, with its stake, when it was sent
            assert backend.on_disk == {seq: ("pending", stake) for seq, stake in backend.sent.items()}
            assert len(set(backend.sent.values())) > 1  # the martingale's stakes vary
        else:  # a dry run writes in batches: the check above is not vacuous
            assert any(seen is None for seen in backend.on_disk.values())
        assert {b.status for b in journal.bets(backend.session_id)} == {BetStatus.SETTLED}


async def test_a_journal_that_cannot_write_the_intent_stops_the_bet_from_being_sent(path: Path) -> None:
    backend = _SpyBackend(SimulatedGame(seeds=SEEDS, balances={CURRENCY: Decimal(100)}), path)
    journal = Journal.open(path, durable=True)
    start(journal)
    journal._con.close()  # the disk goes away under it
    engine = Engine(session=make_session(limits=Limits(max_bets=5)), strategy=Martingale(), backend=backend,
                    hooks=journal)
    with pytest.raises(BaseException) as raised:  # noqa: PT011 - anyio may wrap it in an ExceptionGroup
        await engine.run()
    errors = raised.value.exceptions if isinstance(raised.value, BaseExceptionGroup) else (raised.value,)
    assert any(isinstance(e, JournalError) and "bet 1 before sending it" in str(e) for e in errors)
    assert backend.on_disk == {}  # nothing was sent


# -- dry-run batching ------------------------------------------------------------------------------------
def test_a_bet_resolved_before_its_flush_goes_in_once_with_its_final_state(path: Path) -> None:
    journal = Journal.open(path, durable=False, batch_size=1000)
    session_id = start(journal)
    bet = dice("0.01")
    play(journal, 1, lost(1, bet, "99.99"), bet)  # the first release writes at once (the timer starts)
    for seq in (2, 3, 4):
        journal.admitted(seq, bet, 0.1)
    journal.released(won(2, bet, "100.0098"), 0.2)
    assert read_row(path, session_id, 2) is None  # still buffered
    journal.flush()
    assert [read_row(path, session_id, s) for s in (2, 3, 4)] == [
        ("settled", "0.01"), ("pending", "0.01"), ("pending", "0.01")]
    journal.released(Refused(seq=3, bet=bet, kind=RefusalKind.BALANCE, message="Insufficient balance"), 0.3)
    journal.released(Unknown(seq=4, bet=bet, message="read timeout"), 0.4)
    journal.close()
    con = sqlite3.connect(path)
    rows = con.execute("SELECT seq, status FROM bets ORDER BY seq").fetchall()
    con.close()
    assert rows == [(1, "settled"), (2, "settled"), (3, "refused"), (4, "unknown")]


def test_close_writes_bets_still_in_flight_as_pending(path: Path) -> None:
    journal = Journal.open(path, durable=False)
    session_id = start(journal)
    journal.admitted(1, dice("0.5"), 0.0)
    journal.close()
    with Journal.open(path, durable=False) as again:
        [pending] = again.pending_bets(session_id)
        assert (pending.seq, pending.status, pending.amount) == (1, BetStatus.PENDING, Decimal("0.5"))


# -- exports ---------------------------------------------------------------------------------------------
def _varied_session(journal: Journal) -> int:
    """One bet of every kind the journal holds."""
    session_id = start(journal)
    high = dice("0.01")
    low_faucet = BetRequest(amount=Decimal("0.00000001"), chance=Decimal("0.01"), high=False, currency=CURRENCY,
                            faucet=True)
    inside = BetRequest(amount=Decimal("12.5"), chance=Decimal("25"), currency=CURRENCY, range=(0, 2499))
    outside = BetRequest(amount=Decimal("3"), chance=Decimal("50"), currency=CURRENCY, range=(2500, 7499),
                         range_in=False)
    play(journal, 1, won(1, high, "100.0098"), high)
    play(journal, 2, lost(2, low_faucet, "100.00979999"), low_faucet)
    play(journal, 3, won(3, inside, "112.25979999", number=42), inside)
    play(journal, 4, lost(4, outside, "109.25979999", number=5000), outside)
    play(journal, 5, Refused(seq=5, bet=high, kind=RefusalKind.MIN_BET,
                             message='The minimum bet is 0.1, "DOGE"\nsee, ünïcode'), high)
    play(journal, 6, Unknown(seq=6, bet=high, message="read timeout"), high)
    play(journal, 7, Unknown(seq=7, bet=outside, message="connection lost"), outside)
    play(journal, 8, None, high)  # still in flight
    journal.mark_reconciled(session_id, 6, Decimal("-0.01"))
    journal.mark_reconciled(session_id, 7, None)
    return session_id


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_round_trips_every_field(path: Path, fmt: ExportFormat) -> None:
    with Journal.open(path, durable=False) as journal:
        session_id = _varied_session(journal)
        expected = list(journal.bets(session_id))
        out = io.StringIO()
        assert export_session(journal, session_id, out, fmt) == 8
    text = out.getvalue()
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = [json.loads(line) for line in text.splitlines()]
        assert rows[0]["amount"] == "0.01000000"  # money fixed-point, 8 places (betbot.journal.formats)
        assert rows[0]["high"] is True
    assert (rows[2]["roll"], str(rows[2]["roll_hundredths"])) == ("0.42", "42")  # the site's 0.00..99.99
    assert [parse_row(row) for row in rows] == expected
    statuses = [b.status for b in expected]
    assert statuses == ["settled"] * 4 + ["refused", "reconciled", "reconciled", "pending"]


def test_an_export_to_a_file_replaces_it_whole(path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bets.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    with Journal.open(path, durable=False) as journal:
        session_id = _varied_session(journal)
        with pytest.raises(UnknownSession):
            export_to_file(journal, 999, target, "jsonl")
        assert target.read_text() == "old\n"
        assert export_to_file(journal, session_id, target, "jsonl") == 8
    assert len(target.read_text().splitlines()) == 8
    assert sorted(p.name for p in target.parent.iterdir()) == ["bets.jsonl"]  # no temp file left behind


# -- sessions, reconciliation, seeds ---------------------------------------------------------------------
def test_restart_reconciliation(path: Path) -> None:
    bet = dice("2")
    with Journal.open(path, durable=True) as journal:
        session_id = start(journal)
        play(journal, 1, won(1, bet, "101.96"), bet)
        play(journal, 2, Unknown(seq=2, bet=bet, message="read timeout"), bet)
        journal.admitted(3, bet, 1.0)  # the process dies with bet 3 in flight
    with Journal.open(path, durable=True) as journal:
        [record] = journal.unfinished_sessions()
        assert (record.id, record.unresolved, record.last_seq, record.journaled) == (session_id, 2, 3, 3)
        assert [(b.seq, b.status) for b in journal.pending_bets(session_id)] == [
            (2, BetStatus.UNKNOWN), (3, BetStatus.PENDING)]
        assert journal.mark_unknown_pending(session_id) == 1
        assert [b.status for b in journal.pending_bets(session_id)] == [BetStatus.UNKNOWN] * 2
        # What Session.resolve_unknown is told, the journal records: bet 2 ran and lost, bet 3 never ran.
        journal.mark_reconciled(session_id, 2, Decimal("-2"))
        journal.mark_reconciled(session_id, 3, None)
        with pytest.raises(JournalError, match="not pending or unknown"):
            journal.mark_reconciled(session_id, 1, None)
        assert journal.pending_bets(session_id) == []
        assert journal.replay_balance(session_id) == Decimal("99.96")
        assert [s.id for s in journal.unfinished_sessions()] == [session_id]  # never finished
        reason = StopReason(kind=StopKind.UNKNOWN_OUTCOME, detail="bet 2: read timeout")
        journal.finish_session(session_id, reason, {"bets": 2, "profit": Decimal("-0.04")})
        assert journal.unfinished_sessions() == []
        record = journal.session(session_id)
        assert record.stop_kind == "unknown_outcome"
        assert record.stop_reason == str(reason)
        assert record.summary == {"bets": 2, "profit": "-0.04"}
        assert record.finished


def test_session_record_and_strategy_state(path: Path) -> None:
    with Journal.open(path, durable=False) as journal:
        session_id = start(journal, balance="250.5")
        journal.save_strategy_state(session_id, 12, {"stake": "0.04", "sequence": ["1", "2"]})
        record = journal.session(session_id)
        assert record.strategy_state == {"stake": "0.04", "sequence": ["1", "2"]}
        assert record.state_seq == 12
        assert record.starting_balance == Decimal("250.5")
        assert record.currency == CURRENCY
        assert record.params == {"base_bet": "0.01"}
        assert record.limits == {"max_bets": 10}
        assert record.seed == {"server_seed_hash": SEEDS.server_seed_hash, "client_seed": SEEDS.client_seed,
                               "first_nonce": 0}
        assert record.last_seq is None
        assert record.journaled == 0
        assert not record.finished
        assert [s.id for s in journal.sessions()] == [session_id]


def test_seed_pairs_rotation_and_reveal(path: Path) -> None:
    rotated = SEEDS.rotated(1)
    bet = dice("1")
    with Journal.open(path, durable=False) as journal:
        session_id = start(journal)
        play(journal, 1, won(1, bet, "100.98"), bet)
        play(journal, 2, won(2, bet, "101.96", seeds=rotated), bet)
        play(journal, 3, won(3, bet, "102.94", seeds=rotated), bet)
        pairs = journal.seed_pairs(session_id)
        assert [(p.server_seed_hash, p.first_seq, p.first_nonce) for p in pairs] == [
            (SEEDS.server_seed_hash, 1, 0), (rotated.server_seed_hash, 2, 1)]
        assert journal.reveal_seed(session_id, SEEDS.server_seed)
        assert not journal.reveal_seed(session_id, "not the seed")
        assert [p.server_seed for p in journal.seed_pairs(session_id)] == [SEEDS.server_seed, None]


def test_bets_filters(path: Path) -> None:
    bet = dice("1")
    with Journal.open(path, durable=False) as journal:
        session_id = start(journal)
        balance = Decimal(100)
        for seq in range(1, 11):
            balance += Decimal("0.98") if seq % 3 == 0 else -1
            play(journal, seq, (won if seq % 3 == 0 else lost)(seq, bet, str(balance)), bet)
        assert [b.seq for b in journal.bets(session_id, last=4)] == [7, 8, 9, 10]
        assert [b.seq for b in journal.bets(session_id, wins=True)] == [3, 6, 9]
        assert [b.seq for b in journal.bets(session_id, last=2, wins=False)] == [8, 10]


def test_hooks_need_a_session_and_one_session_at_a_time(path: Path) -> None:
    with Journal.open(path, durable=False) as journal:
        with pytest.raises(JournalError, match="start_session"):
            journal.admitted(1, dice(), 0.0)
        first = start(journal)
        journal.admitted(1, dice(), 0.0)
        with pytest.raises(JournalError, match="still in flight"):
            start(journal)
        journal.released(lost(1, dice(), "99"), 0.1)
        second = start(journal)
        assert second == first + 1


# -- files the journal refuses ---------------------------------------------------------------------------
def _unchanged(path: Path, before: bytes, names: set[str]) -> None:
    assert path.read_bytes() == before
    assert siblings(path) == names  # no -wal or -shm left behind either


def test_a_file_that_is_not_a_database_is_refused_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"these are my notes, not a journal\n" * 200)
    before, names = path.read_bytes(), siblings(path)
    with pytest.raises(JournalError) as raised:
        Journal.open(path, durable=True)
    assert one_line(raised) == f"{path} is not a betbot journal (not an SQLite database); nothing was changed"
    _unchanged(path, before, names)


def test_another_programs_sqlite_database_is_refused_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (text TEXT)")
    con.commit()
    con.close()
    before, names = path.read_bytes(), siblings(path)
    with pytest.raises(JournalError) as raised:
        Journal.open(path, durable=False)
    assert "is an SQLite database but not a betbot journal" in one_line(raised)
    _unchanged(path, before, names)


def test_a_journal_from_a_newer_betbot_is_refused_untouched(path: Path) -> None:
    with Journal.open(path, durable=False) as journal:
        start(journal)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    con.close()
    before, names = path.read_bytes(), siblings(path)
    for readonly in (False, True):
        with pytest.raises(JournalError) as raised:
            Journal.open(path, durable=True, readonly=readonly)
        message = one_line(raised)
        assert f"schema version {SCHEMA_VERSION + 5}, newer than this betbot understands" in message
        if readonly:  # a read-only connection leaves SQLite's -wal and -shm side files; the journal is as it was
            assert path.read_bytes() == before
        else:
            _unchanged(path, before, names)


_CAP_DAC_OVERRIDE = 1
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


@contextmanager
def permissions_apply() -> Iterator[None]:
    """Make permission bits bind in this thread even as root, by dropping CAP_DAC_OVERRIDE meanwhile."""
    if os.geteuid() != 0:
        yield
        return
    if sys.platform != "linux":
        pytest.skip("running as root, where permission bits do not bind")
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        pytest.skip("running as root and cannot read the capabilities")
    effective = data[0].effective
    data[0].effective = effective & ~(1 << _CAP_DAC_OVERRIDE)
    if libc.capset(ctypes.byref(header), data) != 0:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE")
    try:
        yield
    finally:
        data[0].effective = effective
        libc.capset(ctypes.byref(header), data)


def test_a_read_only_directory_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.parent.chmod(0o555)
    try:
        with permissions_apply(), pytest.raises(JournalError) as raised:
            Journal.open(path, durable=True)
    finally:
        path.parent.chmod(0o755)
    message = one_line(raised)
    assert message.startswith(f"cannot open the journal {path}: ")
    assert "writable" in message
    assert siblings(path) == set()


def test_a_read_only_journal_is_refused_for_writing_and_read_read_only(path: Path) -> None:
    with Journal.open(path, durable=False) as journal:
        session_id = start(journal)
    path.chmod(0o444)
    before = path.read_bytes()
    try:
        with permissions_apply():
            with pytest.raises(JournalError) as raised:
                Journal.open(path, durable=True)
            assert "writable" in one_line(raised)
            with Journal.open(path, durable=False, readonly=True) as journal:
                assert [s.id for s in journal.sessions()] == [session_id]
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_a_session_that_does_not_exist(path: Path) -> None:
    with Journal.open(path, durable=False) as journal:
        start(journal)
        for call in (lambda: journal.bets(999), lambda: journal.replay_balance(999),
                     lambda: journal.finish_session(999, None, {}), lambda: journal.pending_bets(999),
                     lambda: journal.save_strategy_state(999, 1, {}), lambda: journal.session(999)):
            with pytest.raises(UnknownSession) as raised:
                call()
            assert one_line(raised) == f"no session 999 in journal {path}"


def test_a_directory_or_a_missing_journal(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(JournalError, match="is a directory"):
        Journal.open(path, durable=False)
    with pytest.raises(JournalError, match="no journal at"):
        Journal.open(path.parent / "absent.sqlite3", durable=False, readonly=True)


# -- the file itself -------------------------------------------------------------------------------------
def test_a_new_journal_is_versioned_and_reopens(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.touch()  # an empty file is an empty database: it becomes a journal
    with Journal.open(path, durable=False) as journal:
        session_id = start(journal)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    with Journal.open(path, durable=True) as journal:
        assert [s.id for s in journal.sessions()] == [session_id]


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_journal_path() == tmp_path / "xdg" / "betbot" / "journal.sqlite3"
    with Journal.open(durable=False) as journal:
        assert journal.path == default_journal_path()
        assert journal.path.exists()
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_journal_path() == tmp_path / "home" / ".local" / "share" / "betbot" / "journal.sqlite3"


# -- upgrades and what reconciliation reads ---------------------------------------------------------------
def _version_1_journal(path: Path) -> sqlite3.Connection:
    """An empty journal with the version-1 schema, as betbot 0.1 made it (autocommit)."""
    path.parent.mkdir(parents=True)
    con = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        con.execute(statement)
    con.execute("PRAGMA user_version = 1")
    con.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
    return con


def test_a_version_1_journal_holding_data_upgrades_with_every_row_kept(path: Path) -> None:
    # Built by hand from the version-1 schema, as betbot 0.1 left it: two sessions, bets in every status.
    con = _version_1_journal(path)
    sessions = [
        (1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "martingale",
         '{"base_bet":"0.01"}', '{"max_bets":10}', "duckdice", "DOGE", "100", None, 1, "max bets", "max_bets",
         '{"bets":5}', '{"stake":"0.02"}', 5),
        (2, "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", None, "flat", "{}", "{}", "duckdice", "DOGE",
         "50.5", '{"client_seed":"c"}', 1, None, None, None, None, None),
    ]
    con.executemany(f"INSERT INTO sessions VALUES ({', '.join('?' * 17)})", sessions)  # noqa: S608 - constants
    bets = [
        (1, 1, 1_700_000_000_000_000, "0.01", "49.5", 1, "DOGE", 0, None, None, None, "settled", "h1", 0, 7000, 1,
         "2", "0.01", "100.01", 12.5, None, None),
        (1, 2, 1_700_000_000_100_000, "0.02", "49.5", 0, "DOGE", 0, None, None, None, "settled", "h2", 1, 9000, 0,
         "2", "-0.02", "99.99", 11.0, None, None),
        (1, 3, 1_700_000_000_200_000, "0.04", "77.77", 1, "DOGE", 0, 0, 2222, 1, "refused", None, None, None,
         None, None, None, None, 3.0, "min-bet", "The minimum bet is 1 DOGE"),
        (1, 4, 1_700_000_000_300_000, "0.04", "49.5", 1, "DOGE", 1, None, None, None, "reconciled", None, None,
         None, 0, None, "-0.04", None, None, None, None),
        (2, 1, 1_700_000_001_000_000, "1", "49.5", 1, "DOGE", 0, None, None, None, "unknown", None, None, None,
         None, None, None, None, 30000.0, None, "read timeout"),
        (2, 2, 1_700_000_001_100_000, "1", "49.5", 1, "DOGE", 0, None, None, None, "pending", None, None, None,
         None, None, None, None, None, None, None),
    ]
    con.executemany(f"INSERT INTO bets VALUES ({', '.join('?' * 22)})", bets)  # noqa: S608 - constants
    con.execute("INSERT INTO seed_pairs VALUES (1, 'hash', 'seed', 'client', 0, 1)")
    con.close()

    with Journal.open(path, durable=False) as journal:
        assert [s.id for s in journal.sessions()] == [1, 2]
        assert journal.session(1).params == {"base_bet": "0.01"}
        assert journal.session(1).site_baseline is None  # a column version 2 added, empty for old sessions
        assert [p.server_seed for p in journal.seed_pairs(1)] == ["seed"]
        assert [b.seq for b in journal.pending_bets(2)] == [1, 2]  # restart reconciliation still finds them
        assert journal.site_payouts(1) == {(Decimal("49.5"), False): Decimal(2)}
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # Every row kept, every value as it was.
        every_bet = f"SELECT {', '.join(BET_COLUMNS)} FROM bets ORDER BY session_id, seq"  # noqa: S608 - constants
        assert con.execute(every_bet).fetchall() == bets
        assert con.execute("SELECT * FROM seed_pairs").fetchall() == [(1, "hash", "seed", "client", 0, 1)]
        kept = con.execute("SELECT id, created_at, started_at, ended_at, strategy, params, limits, backend, currency, "
                           "starting_balance, seed, first_seq, stop_reason, stop_kind, summary, strategy_state, "
                           "state_seq FROM sessions ORDER BY id").fetchall()
        assert kept == sessions
    finally:
        con.close()


def test_site_payouts_are_what_settled_bets_were_paid(path: Path) -> None:
    # The latest payout per (chance, faucet) among settled bets: what a resumed session reconciles with.
    with Journal.open(path, durable=False) as journal:
        session_id = start(journal)
        paid = [("77.77", False, "1.2729"), ("49.5", False, "2"), ("77.77", True, "1.2472"),
                ("77.77", False, "1.2728"), ("49.50", False, "2")]
        for seq, (chance, faucet, payout) in enumerate(paid, start=1):
            bet = BetRequest(amount=Decimal(1), chance=Decimal(chance), currency=CURRENCY, faucet=faucet)
            outcome = Settled(seq=seq, bet=bet, number=1, win=False, payout=Decimal(payout), profit=Decimal(-1),
                              balance=Decimal(99 - seq), nonce=seq, bet_hash=f"h{seq}")
            play(journal, seq, outcome, bet)
        play(journal, 6, Unknown(seq=6, bet=dice("1", chance="10"), message="timeout"), dice("1", chance="10"))
        assert journal.site_payouts(session_id) == {
            (Decimal("77.77"), False): Decimal("1.2728"),
            (Decimal("49.5"), False): Decimal(2),
            (Decimal("77.77"), True): Decimal("1.2472"),
        }
        journal.reconciled(6, dice("1", chance="10"), Decimal("0E-8"), 1.0)  # a zero-profit verdict: a win
        (row,) = [b for b in journal.bets(session_id) if b.seq == 6]
        assert (row.status, row.profit, row.win) == (BetStatus.RECONCILED, Decimal(0), True)


def test_the_sites_rate_is_the_latest_held_against_that_site_and_recent_enough(path: Path) -> None:
    # `-n auto` starts a live session at the rate ceiling last held against the same site (any session of the
    # journal), not one of another site's, a change with no ceiling yet, or one older than asked.
    with Journal.open(path, durable=False) as journal:
        site, other, simulated = start(journal), start(journal), start(journal)
        journal.set_run_settings(site, {"concurrency": 8, "base_url": "https://duckdice.io/api"})
        journal.set_run_settings(other, {"concurrency": 8, "base_url": "http://127.0.0.1:8080/api"})
        journal.set_run_settings(simulated, {"concurrency": 8})
        assert journal.site_rate("https://duckdice.io/api", since=datetime(2026, 1, 1, tzinfo=UTC)) is None
        journal.concurrency_changed(site, after_seq=0, old=2, new=4, reason="slow-start", detail="d")  # no rate
        journal.concurrency_changed(site, after_seq=40, old=4, new=3, reason="429", detail="d", rate=95.5)
        journal.concurrency_changed(site, after_seq=90, old=3, new=4, reason="probe", detail="d", rate=95.5)
        journal.concurrency_changed(other, after_seq=9, old=4, new=2, reason="429", detail="d", rate=12.0)
        journal.concurrency_changed(simulated, after_seq=9, old=4, new=2, reason="429", detail="d", rate=7.0)
        journal.concurrency_changed(site, after_seq=99, old=4, new=3, reason="429", detail="d", rate=90.25)
        journal.concurrency_changed(other, after_seq=19, old=2, new=3, reason="probe", detail="d", rate=12.0)
        found = journal.site_rate("https://duckdice.io/api", since=datetime.now(UTC) - timedelta(minutes=1))
        assert found is not None
        rate, session_id, at = found
        assert (rate, session_id) == (90.25, site)
        assert datetime.now(UTC) - at < timedelta(minutes=1)
        local = journal.site_rate("http://127.0.0.1:8080/api", since=datetime(2026, 1, 1, tzinfo=UTC))
        assert local is not None
        assert local[:2] == (12.0, other)
        assert journal.site_rate("https://duckdice.io/api", since=datetime.now(UTC) + timedelta(minutes=1)) is None
        assert journal.site_rate("https://example.com/api", since=datetime(2026, 1, 1, tzinfo=UTC)) is None
        assert [change["rate"] for change in journal.concurrency_changes(site)] == [None, 95.5, 95.5, 90.25]


def test_a_reading_command_opens_a_journal_of_an_older_betbot(path: Path) -> None:
    con = _version_1_journal(path)
    con.execute("INSERT INTO sessions (created_at, started_at, strategy, params, limits, backend, currency, "
                "starting_balance) VALUES ('2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 'flat', "
                "'{}', '{}', 'simulator', 'DOGE', '100')")
    con.close()
    with Journal.open(path, durable=False, readonly=True) as journal:  # upgraded first, then read
        [session] = journal.sessions()
        assert session.strategy == "flat"
        assert session.run_settings is None
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
