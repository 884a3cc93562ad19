"""Group commit off the event loop: `admitted` queues, `await durable(seq)` returns once the intent is synced.

The contract the engine relies on, without the engine: a bet coroutine awaits `durable(seq)` before its
request leaves; when it returns, the bet's row is on disk (another connection sees it); one commit covers
every bet admitted before it, so bets in flight share syncs; a failed commit raises, and nothing of that
batch may be sent. And the proof under crashes: a child process is killed at each step of a commit, and
every bet whose `durable(seq)` had returned is in the journal afterwards.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from betbot.core.models import BetRequest, Settled
from betbot.core.session import Limits
from betbot.journal import BetStatus, Journal, JournalError
from betbot.journal.group_commit import GroupCommit

CURRENCY = "DOGE"
ROOT = Path(__file__).resolve().parents[2]
HANG = 30  # seconds: only a deadlock guard; every test below finishes on events, never on the clock


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


def start(journal: Journal) -> int:
    return journal.start_session(strategy="flat", params={}, limits=Limits(max_bets=100), backend="duckdice",
                                 currency=CURRENCY, starting_balance=Decimal(100))


def a_bet(seq: int) -> BetRequest:
    return BetRequest(amount=Decimal(seq) / 100, chance=Decimal("49.5"), currency=CURRENCY)


def on_disk(path: Path, seq: int) -> str | None:
    """The bet's status as another process sees it."""
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT status FROM bets WHERE seq = ?", (seq,)).fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


def settled(seq: int) -> Settled:
    bet = a_bet(seq)
    return Settled(seq=seq, bet=bet, number=100, win=False, payout=Decimal(2), profit=-bet.amount,
                   balance=Decimal(100), nonce=seq, bet_hash=f"h{seq}")


async def test_an_intent_is_on_disk_when_durable_returns_and_bets_share_syncs(path: Path) -> None:
    journal = Journal.open(path, durable=True)
    start(journal)
    seen: dict[int, str | None] = {}
    burst_queued = threading.Event()

    def hold_the_first_commit(step: str) -> None:  # on the writer thread: a sync as slow as the burst needs
        if step == "before-commit":
            assert burst_queued.wait(HANG)

    assert journal._writer is not None
    journal._writer.hook = hold_the_first_commit

    async def send(seq: int) -> None:
        await journal.durable(seq)
        seen[seq] = on_disk(path, seq)  # the request would leave now
        await anyio.lowlevel.checkpoint()
        journal.released(settled(seq), 1.0)

    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            for seq in range(1, 51):  # the strategy task admits a burst, as at N = 50
                journal.admitted(seq, a_bet(seq), 0.0)
                tg.start_soon(send, seq)
            burst_queued.set()
    assert seen == dict.fromkeys(range(1, 51), "pending")
    # Group commit: what the first commit did not take (it took at least bet 1), the next one takes whole.
    assert journal.syncs in (1, 2)
    journal.close()
    with Journal.open(path, durable=False, readonly=True) as reader:
        assert [b.status for b in reader.bets(1)] == [BetStatus.SETTLED] * 50


async def test_outcomes_piggy_back_on_the_next_commit(path: Path) -> None:
    journal = Journal.open(path, durable=True)
    session_id = start(journal)
    journal.admitted(1, a_bet(1), 0.0)
    await journal.durable(1)
    syncs = journal.syncs
    journal.released(settled(1), 0.5)
    journal.admitted(2, a_bet(2), 0.5)
    journal.released(settled(2), 0.6)  # resolved before its intent was even asked to be durable
    await anyio.wait_all_tasks_blocked()
    assert journal.syncs <= syncs + 1  # only bet 2's intent asked for a sync
    journal.admitted(3, a_bet(3), 1.0)
    await journal.durable(3)
    assert journal.syncs <= syncs + 2  # the outcomes rode along: no sync of their own was asked for
    assert (on_disk(path, 1), on_disk(path, 2), on_disk(path, 3)) == ("settled", "settled", "pending")
    journal.close()
    with Journal.open(path, durable=False) as reader:
        assert [b.status for b in reader.bets(session_id)] == [BetStatus.SETTLED, BetStatus.SETTLED,
                                                               BetStatus.PENDING]


async def test_a_reconciled_verdict_is_queued_and_counts_a_zero_profit_as_a_win(path: Path) -> None:
    journal = Journal.open(path, durable=True)
    session_id = start(journal)
    for seq in (1, 2, 3):
        journal.admitted(seq, a_bet(seq), 0.0)
        await journal.durable(seq)
    journal.reconciled(1, a_bet(1), None, 1.0, note="one of 2 identical bets")
    journal.reconciled(2, a_bet(2), Decimal("0E-8"), 1.0)
    journal.reconciled(3, a_bet(3), Decimal("-0.03"), 1.0)
    journal.sync()
    rows = {b.seq: (b.status, b.profit, b.win) for b in journal.bets(session_id)}
    assert rows == {1: (BetStatus.RECONCILED, None, None), 2: (BetStatus.RECONCILED, Decimal(0), True),
                    3: (BetStatus.RECONCILED, Decimal("-0.03"), False)}
    assert [b.message for b in journal.bets(session_id)] == ["one of 2 identical bets", None, None]
    con = sqlite3.connect(path)
    try:  # money as fixed-point text with 8 places, never 0E-8
        assert con.execute("SELECT profit FROM bets ORDER BY seq").fetchall() == [(None,), ("0.00000000",),
                                                                                  ("-0.03000000",)]
    finally:
        con.close()
    journal.close()


async def test_a_failed_commit_raises_in_every_waiter_and_nothing_more_is_queued(path: Path) -> None:
    journal = Journal.open(path, durable=True)
    start(journal)
    journal._con.close()  # the disk goes away under it
    journal.admitted(1, a_bet(1), 0.0)
    errors: list[str] = []

    async def send(seq: int) -> None:
        try:
            await journal.durable(seq)
        except JournalError as exc:
            errors.append(str(exc))

    async with anyio.create_task_group() as tg:
        tg.start_soon(send, 1)
        tg.start_soon(send, 1)  # two coroutines waiting on one commit
    assert len(errors) == 2
    assert all("bet 1 before sending it" in error for error in errors)
    with pytest.raises(JournalError, match="bet 1 before sending it"):
        journal.admitted(3, a_bet(3), 0.0)
    with pytest.raises(JournalError):
        journal.sync()


async def test_a_commit_failing_while_bets_wait_for_it_sends_none_of_them(path: Path) -> None:
    # The commit fails only once every bet coroutine is parked on it (the failure above came first).
    journal = Journal.open(path, durable=True)
    start(journal)
    parked = threading.Event()

    def fail_once_all_wait(step: str) -> None:  # on the writer thread, inside the transaction
        if step == "before-commit":
            assert parked.wait(HANG), "the bet coroutines never parked"
            raise sqlite3.OperationalError("disk I/O error")

    assert journal._writer is not None
    journal._writer.hook = fail_once_all_wait
    sent: list[int] = []
    errors: list[str] = []

    async def send(seq: int) -> None:
        try:
            await journal.durable(seq)
        except JournalError as exc:
            errors.append(str(exc))
        else:
            sent.append(seq)  # the request would leave now

    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as tg:
            for seq in (1, 2, 3):
                journal.admitted(seq, a_bet(seq), 0.0)
                tg.start_soon(send, seq)
            await anyio.wait_all_tasks_blocked()  # all three wait on the commit now
            parked.set()
    assert sent == []
    assert len(errors) == 3
    assert all("disk I/O error" in error for error in errors)
    assert [on_disk(path, seq) for seq in (1, 2, 3)] == [None, None, None]  # the batch was rolled back
    with pytest.raises(JournalError, match="disk I/O error"):
        await journal.durable(1)  # a late asker gets the failure too, never a go-ahead


async def test_an_intent_goes_to_disk_before_its_bet_waits_for_it(path: Path) -> None:
    # `admitted` itself wakes the writer: the sync runs while the engine still prepares the request.
    journal = Journal.open(path, durable=True)
    start(journal)
    committed = threading.Event()
    assert journal._writer is not None
    journal._writer.hook = lambda step: committed.set() if step == "after-commit" else None
    journal.admitted(1, a_bet(1), 0.0)  # nobody awaits durable(1)
    assert await anyio.to_thread.run_sync(committed.wait, HANG), "the intent was never committed"
    assert on_disk(path, 1) == "pending"
    journal.close()


def a_writer(path: Path) -> tuple[GroupCommit, sqlite3.Connection]:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("CREATE TABLE rows (n INTEGER)")
    return GroupCommit(con, threading.RLock(), path, lambda exc, doing: JournalError(f"{doing}: {exc}")), con


def committed_rows(path: Path) -> list[int]:
    con = sqlite3.connect(path)
    try:
        return [n for (n,) in con.execute("SELECT n FROM rows ORDER BY n")]
    finally:
        con.close()


async def test_waiting_for_a_row_nobody_wanted_yet_commits_it(path: Path) -> None:
    writer, con = a_writer(path)
    first = writer.put("INSERT INTO rows VALUES (?)", (1,), "row 1", wanted=False)
    second = writer.put("INSERT INTO rows VALUES (?)", (2,), "row 2", wanted=False)
    with anyio.fail_after(HANG):  # the wait itself must ask for the commit, or nothing ever writes it
        await writer.wait(second)
    assert committed_rows(path) == [1, 2]
    await writer.wait(first)  # covered by the same commit
    assert writer.syncs == 1
    writer.close()
    con.close()


def test_sync_commits_rows_nobody_wanted(path: Path) -> None:
    writer, con = a_writer(path)
    writer.put("INSERT INTO rows VALUES (?)", (1,), "row 1", wanted=False)
    syncing = threading.Thread(target=writer.sync, daemon=True)
    syncing.start()
    syncing.join(HANG)
    assert not syncing.is_alive(), "sync() never returned"
    assert committed_rows(path) == [1]
    assert writer.syncs == 1
    writer.close()
    con.close()


async def test_a_cancelled_waiter_leaves_the_others_waiting(path: Path) -> None:
    journal = Journal.open(path, durable=True)
    start(journal)
    done: list[int] = []

    async def send(seq: int) -> None:
        await journal.durable(seq)
        done.append(seq)

    async with anyio.create_task_group() as tg:
        for seq in (1, 2, 3):
            journal.admitted(seq, a_bet(seq), 0.0)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await journal.durable(1)  # cancelled before it could wait
        tg.start_soon(send, 2)
        tg.start_soon(send, 3)
    assert sorted(done) == [2, 3]
    await journal.durable(1)  # still durable, whoever asks
    journal.close()


async def test_dry_run_durable_returns_at_once_and_an_unknown_seq_is_an_error(path: Path) -> None:
    with Journal.open(path, durable=False) as journal:
        start(journal)
        journal.admitted(1, a_bet(1), 0.0)
        await journal.durable(1)
        assert journal.syncs == 0
    with Journal.open(path, durable=True) as journal:
        start(journal)
        with pytest.raises(JournalError, match="bet 9 was not admitted"):
            await journal.durable(9)


def test_sync_still_blocks_until_the_intent_is_on_disk(path: Path) -> None:
    with Journal.open(path, durable=True) as journal:
        start(journal)
        journal.admitted(1, a_bet(1), 0.0)
        journal.sync()
        assert on_disk(path, 1) == "pending"
        journal.sync()  # nothing queued: returns


# -- crashes at every step of a commit ------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import os, signal, sys
    from decimal import Decimal
    import anyio
    from betbot.core.models import BetRequest, Settled
    from betbot.core.session import Limits
    from betbot.journal import Journal

    path, step, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    journal = Journal.open(path, durable=True)
    journal.start_session(strategy="flat", params={}, limits=Limits(), backend="duckdice", currency="DOGE",
                          starting_balance=Decimal(100))
    commits = 0
    sent = 0  # bets whose request left (counted on the event loop's thread)

    def hook(at):
        # Runs on the writer thread. From the kill_at-th commit on (and, past the first, once some bet has
        # left, so that the check is not vacuous), die at this step.
        global commits
        if at == "before-commit":
            commits += 1
        if at == step and commits >= kill_at and (kill_at == 1 or sent > 0):
            os.kill(os.getpid(), signal.SIGKILL)

    journal._writer.hook = hook

    def bet(seq):
        return BetRequest(amount=Decimal(seq) / 100, chance=Decimal("49.5"), currency="DOGE")

    async def send(seq):
        global sent
        await journal.durable(seq)
        os.write(1, b"%d\\n" % seq)  # the request leaves: unbuffered, so it survives the kill
        sent += 1
        await anyio.sleep(0.001 * (seq % 4))
        journal.released(Settled(seq=seq, bet=bet(seq), number=1, win=False, payout=Decimal(2),
                                 profit=-bet(seq).amount, balance=Decimal(100), nonce=seq, bet_hash="h"), 1.0)

    async def main():
        async with anyio.create_task_group() as tg:
            for seq in range(1, 201):
                journal.admitted(seq, bet(seq), 0.0)
                tg.start_soon(send, seq)
                if seq % 9 == 0:
                    await anyio.sleep(0.0005)  # the writer may commit in the middle of a wave
                if seq % 20 == 0:
                    # The end of a wave: wait until it is durable, so that there are at least ten commits
                    # however slow the disk (on a loaded machine two commits could cover all 200 bets, and
                    # the kill at the third would never come).
                    await journal.durable(seq)
        os.write(2, b"finished without being killed\\n")

    anyio.run(main)
""")


@pytest.mark.parametrize("kill_at", [1, 3])
@pytest.mark.parametrize("step", ["before-commit", "after-commit", "after-wake"])
def test_every_bet_sent_is_in_the_journal_after_a_kill_at_any_step_of_a_commit(
        tmp_path: Path, step: str, kill_at: int) -> None:
    path = tmp_path / "journal.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", CHILD, str(path), step, str(kill_at)], capture_output=True,
                           env=env, timeout=120, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    sent = [int(line) for line in child.stdout.decode().split()]
    if kill_at > 1:
        assert sent  # the check below is not vacuous: bets had left when it died
    elif step != "after-wake":
        assert sent == []  # died in the first commit: nothing was durable yet, so nothing was sent
    con = sqlite3.connect(path)
    try:
        rows = dict(con.execute("SELECT seq, status FROM bets").fetchall())
    finally:
        con.close()
    missing = [seq for seq in sent if seq not in rows]
    assert missing == [], f"sent but not journaled: {missing}"
    assert set(rows.values()) <= {"pending", "settled"}


def test_a_journal_outlives_one_event_loop(path: Path) -> None:
    # Two runs (two event loops) on one durable journal: the writer wakes the loop that waits now.
    with Journal.open(path, durable=True) as journal:
        start(journal)
        for run in (1, 2):
            async def send(seq: int) -> None:
                journal.admitted(seq, a_bet(seq), 0.0)
                with anyio.fail_after(30):  # a wake-up sent to the first, closed loop would hang here
                    await journal.durable(seq)

            anyio.run(send, run)
            assert on_disk(path, run) == "pending"


# -- background=True (`betbot serve`): a dry run's batches committed on the writer thread ----------------------
def test_a_background_journal_commits_its_batches_off_the_calling_thread(path: Path) -> None:
    journal = Journal.open(path, durable=False, background=True, batch_size=4)
    session_id = start(journal)
    committing: list[str] = []
    assert journal._writer is not None
    journal._writer.hook = lambda step: committing.append(threading.current_thread().name) \
        if step == "before-commit" else None
    for seq in range(1, 11):
        journal.admitted(seq, a_bet(seq), seq / 10)
        assert on_disk(path, seq) is None  # no intent of its own: a dry run's bet waits for nothing
        journal.released(settled(seq), seq / 10)
    journal._committed()  # what the writer was given is committed
    assert committing
    assert all(name.startswith("betbot-journal") for name in committing)
    assert threading.current_thread().name not in committing
    # The first outcome is written at once (no flush yet), then batches of four: 1, 2-5, 6-9.
    assert on_disk(path, 9) == "settled"
    assert on_disk(path, 10) is None  # still buffered: it goes with the next batch, or at close
    journal.close()
    with Journal.open(path, durable=False) as reader:
        assert [(b.seq, b.status) for b in reader.bets(session_id)] == [(s, BetStatus.SETTLED) for s in range(1, 11)]


def test_a_background_journals_sync_waits_for_no_commit(path: Path) -> None:
    """The engine calls `sync()` before every bet it places at once: a dry run's bets never wait there for
    the writer thread's batch (only a durable journal's intents must be on disk first)."""
    journal = Journal.open(path, durable=False, background=True, batch_size=2)
    start(journal)
    assert journal._writer is not None
    committing, go_on = threading.Event(), threading.Event()

    def hold(step: str) -> None:
        if step == "before-commit":
            committing.set()
            go_on.wait()

    journal._writer.hook = hold
    for seq in (1, 2, 3):
        journal.admitted(seq, a_bet(seq), seq / 10)
        journal.released(settled(seq), seq / 10)
    assert committing.wait(30)  # the writer is inside a commit of the queued batch, and stays there
    syncing = threading.Thread(target=journal.sync)
    syncing.start()
    syncing.join(30)
    returned = not syncing.is_alive()
    go_on.set()
    syncing.join()
    assert returned, "sync() waited for the writer thread's commit"
    journal._writer.hook = None
    journal.close()
    with Journal.open(path, durable=False) as reader:
        assert [b.seq for b in reader.bets(1)] == [1, 2, 3]  # nothing lost: close() waited for every batch


async def test_a_background_journals_bets_wait_for_no_commit(path: Path) -> None:
    journal = Journal.open(path, durable=False, background=True)
    start(journal)
    journal.admitted(1, a_bet(1), 0.0)
    with anyio.fail_after(1):
        await journal.durable(1)  # returns at once, as any dry run's
    assert journal.syncs == 0
    journal.close()


def test_a_failed_background_commit_stops_the_next_batch(path: Path) -> None:
    journal = Journal.open(path, durable=False, background=True, batch_size=1)
    start(journal)
    journal._con.close()  # the disk goes away under it
    journal.admitted(1, a_bet(1), 0.0)
    journal.released(settled(1), 0.1)  # queued; the writer's commit fails
    with pytest.raises(JournalError, match="a batch of bets"):
        journal.flush()  # waits for the writer's commit
    journal.admitted(2, a_bet(2), 0.2)
    with pytest.raises(JournalError, match="a batch of bets"):
        journal.released(settled(2), 0.3)  # the engine's hook raises: the session stops


def test_the_journals_of_one_file_take_turns_on_one_lock(tmp_path: Path) -> None:
    """Sessions of one `serve` commit one file from many threads: they queue on one lock in this process
    rather than in SQLite's busy handler (which can starve a waiter past its timeout)."""
    path = tmp_path / "journal.sqlite3"
    (tmp_path / "sub").mkdir()
    first = Journal.open(path, durable=False, background=True)
    same = Journal.open(tmp_path / "sub" / ".." / "journal.sqlite3", durable=True)
    other = Journal.open(tmp_path / "other.sqlite3", durable=False)
    try:
        assert first._lock is same._lock
        assert first._writer is not None
        assert same._writer is not None
        assert first._writer._lock is same._writer._lock is first._lock  # the writer threads' commits too
        assert other._lock is not first._lock
    finally:
        for journal in (first, same, other):
            journal.close()
