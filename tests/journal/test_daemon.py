"""`betbot run` as a daemon, in subprocesses, with its journal: kill -9 at random moments and resume,
SIGTERM drains with every outcome journaled, a second SIGTERM leaves unknown bets that --resume settles,
and journals that cannot be used are one-line errors with nothing overwritten."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.core.fairness import roll
from betbot.journal import SCHEMA_VERSION, BetStatus, Journal
from tests.cli_support import BETBOT, ENV, betbot

# The three random kills come within 360 bets (and a journal batch); the session ends on its stop-loss some
# 800 bets in.
MAX_BETS = 4000
STOP_LOSS = Decimal(3)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return betbot(*args, timeout=timeout)


def start(*args: str) -> subprocess.Popen[str]:
    """A run in the background, returned once its engine handles signals (it says so on stderr)."""
    proc = subprocess.Popen([*BETBOT, "run", "--log-format", "json", "--dashboard", "off", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    wait_for(proc, "session.running")
    return proc


def wait_for(proc: subprocess.Popen[str], event: str) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("{") and json.loads(line)["event"] == event:
            return
    proc.kill()
    pytest.fail(f"never saw {event}: {proc.communicate()}")


def bets(path: Path) -> list[tuple[int, str, str | None, str | None, int | None, int | None]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT seq, status, profit, balance_after, nonce, roll FROM bets ORDER BY seq").fetchall()
    finally:
        con.close()


def wait_for_journaled(journal: Path, count: int, proc: subprocess.Popen[str]) -> int:
    """Wait until `count` bets are in the journal (its writer commits them in batches) while the run bets on;
    how many there are. The deadline only guards against a hang."""
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(sqlite3.OperationalError):  # the first session row may not be there yet
            con = sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True)
            try:
                journaled = int(con.execute("SELECT count(*) FROM bets").fetchone()[0])
            finally:
                con.close()
            if journaled >= count:
                return journaled
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {count} bets were journaled: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"never {count} bets in the journal")
        time.sleep(0.01)


def test_kill_9_at_random_moments_then_resume_accounts_for_every_bet(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    rng = random.Random(20261123)  # random moments, the same ones on every run of the test (and any load)
    common = ("--journal", str(journal), "-n", "5", "--sim-latency", "2ms", "--sim-jitter", "3ms")
    proc = start(*common, "--strategy", "dalembert", "--max-bets", str(MAX_BETS), "--stop-loss", str(STOP_LOSS),
                 "--seed", "crash-test")
    reached = 0
    for _ in range(3):
        # Let it bet a random number of bets more (counted in its journal, not timed), then kill it where it
        # stands: no drain, no flush, no goodbye.
        reached = wait_for_journaled(journal, reached + rng.randint(30, 120), proc)
        proc.kill()
        proc.communicate()
        with Journal.open(journal, durable=False, readonly=True) as reader:
            [interrupted] = reader.sessions()
        assert interrupted.ended_at is None  # the kill landed mid-session, not after its end
        proc = start(*common, "--resume")
    summary_path = tmp_path / "summary.json"
    proc.kill()
    proc.communicate()
    final = run("run", *common, "--resume", "--summary-json", str(summary_path))
    assert final.returncode == 0, final.stderr
    summary = json.loads(summary_path.read_text())

    rows = bets(journal)
    seqs = [row[0] for row in rows]
    assert seqs == list(range(1, len(rows) + 1))  # every seq once, no gaps
    assert all(row[1] in {BetStatus.SETTLED, BetStatus.RECONCILED} for row in rows)  # nothing left unresolved
    ran = [row for row in rows if row[2] is not None]
    # The limits held across the restarts: never more than max_bets, never a loss beyond the stop-loss.
    assert len(ran) <= MAX_BETS
    profit = Decimal(0)
    balance = Decimal(100)
    with Journal.open(journal, durable=False, readonly=True) as reader:
        [session] = reader.sessions()
        [pair] = reader.seed_pairs(session.id)
        replayed = reader.replay_balance(session.id)
    assert pair.server_seed is not None
    for _seq, _status, row_profit, balance_after, nonce, number in ran:
        profit += Decimal(row_profit)
        assert profit > -STOP_LOSS
        balance += Decimal(row_profit)
        assert Decimal(balance_after) == balance  # each balance is the previous one plus the bet's profit
        assert nonce is not None
        assert number == roll(pair.server_seed, pair.client_seed, nonce)  # provably fair across restarts
    assert summary["stop_kind"] in {"max_bets", "stop_loss"}
    if summary["stop_kind"] == "max_bets":
        assert len(ran) == MAX_BETS
    assert Decimal(summary["balance"]) == replayed == balance
    assert summary["bets"] == len(ran)
    assert summary["session_id"] == session.id


def test_sigterm_drains_and_journals_every_outcome(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    proc = start("--journal", str(journal), "-n", "5", "--sim-latency", "150ms", "--sim-jitter", "100ms")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    rows = bets(journal)
    assert rows, "the bets in flight at the signal were journaled"
    assert {row[1] for row in rows} == {BetStatus.SETTLED}
    with Journal.open(journal, durable=False, readonly=True) as reader:
        [session] = reader.sessions()
    assert session.stop_kind == "signal"
    assert session.summary is not None
    assert session.summary["bets"] == len(rows)


def test_a_second_sigterm_leaves_unknown_bets_that_resume_settles(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    # Replies take a minute: the first signal's drain cannot finish, the second one stops it.
    proc = start("--journal", str(journal), "-n", "5", "--sim-latency", "60s", "--drain-timeout", "120s",
                 "--max-bets", "12", "--seed", "twice")
    proc.send_signal(signal.SIGTERM)
    wait_for(proc, "engine.draining")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 3  # bets of unknown outcome remain
    assert [row[:2] for row in bets(journal)] == [(seq, BetStatus.UNKNOWN) for seq in range(1, 6)]

    result = run("run", "--journal", str(journal), "--resume", "-n", "5", "--log-format", "json")
    assert result.returncode == 0, result.stderr
    assert "resuming session 1 after bet 5" in result.stderr
    assert "resume.reconciled" in result.stderr
    rows = bets(journal)
    assert [row[:3] for row in rows[:5]] == [(seq, BetStatus.RECONCILED, None) for seq in range(1, 6)]
    assert [row[1] for row in rows[5:]] == [BetStatus.SETTLED] * 12  # max_bets counts the bets that ran
    with Journal.open(journal, durable=False, readonly=True) as reader:
        [session] = reader.sessions()
    assert session.stop_kind == "max_bets"
    assert session.unresolved == 0


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("betbot: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_a_journal_that_is_not_a_database_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes, not a journal\n")
    result = run("run", "--journal", str(path), "--max-bets", "5")
    _one_line_error(result, 1, str(path))
    assert path.read_text() == "my notes, not a journal\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_journal_from_a_newer_betbot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    assert run("run", "--journal", str(path), "--max-bets", "3").returncode == 0
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    before = path.read_bytes()
    result = run("run", "--journal", str(path), "--max-bets", "3")
    _one_line_error(result, 1, "newer than this betbot understands")
    assert path.read_bytes() == before


def test_a_journal_where_no_directory_can_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("run", "--journal", str(blocker / "journal.sqlite3"), "--max-bets", "3")
    _one_line_error(result, 1, str(blocker), "Not a directory")


def test_resume_of_a_session_that_does_not_exist(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    assert run("run", "--journal", str(journal), "--max-bets", "3").returncode == 0
    before = journal.read_bytes()
    _one_line_error(run("run", "--journal", str(journal), "--resume", "7"), 2, "no session 7", "betbot sessions")
    _one_line_error(run("run", "--journal", str(journal), "--resume", "x"), 2, "--resume takes a session id")
    _one_line_error(run("run", "--no-journal", "--resume"), 2, "drop --no-journal")
    assert journal.read_bytes() == before


def test_resume_with_nothing_to_resume_starts_a_new_session(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    result = run("run", "--journal", str(journal), "--resume", "--max-bets", "4")
    assert result.returncode == 0, result.stderr
    assert "no interrupted session" in result.stderr
    assert len(bets(journal)) == 4


def test_no_journal_leaves_no_file(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    result = run("run", "--journal", str(journal), "--no-journal", "--max-bets", "4")
    assert result.returncode == 0, result.stderr
    assert not journal.exists()
