"""Issue 17's scenarios, as processes: a second `betbot run --resume` while the first runs its session is refused
(exit 2, naming the process) and the first finishes exactly its bets, simulated and live against the fake
DuckDice; a holder killed with -9 is resumed at once; two processes run two sessions of one journal together.

Nothing here waits on the wall clock. The first process plays a flat strategy (`Parked`, written below) that,
at a chosen bet, stops inside `next_bet` on a named pipe until the test lets it go: it is running, with its
lease and bets in flight and no SQLite transaction open, for exactly as long as the test needs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from betbot.journal import Journal
from betbot.testing.fakeserver import FakeServerConfig, serve_fake_in_thread
from tests.cli_support import ENV, betbot

KEY = "LEAKCANARY-lease-cli-key-0123456789"

_PARKED = '''
import os
from betbot.strategies.flat import Flat

class Parked(Flat):
    """Flat; before its bet number $PARK_AT it says so on the pipe `parked` and waits on the pipe `go`."""

    name = "parked-flat"

    def __init__(self, params, context):
        super().__init__(params, context)
        self.asked = 0

    def next_bet(self, view):
        self.asked += 1
        if self.asked == int(os.environ.get("PARK_AT", "0")):  # a resumed run does not park
            with open(os.path.join(os.environ["PARK_DIR"], "parked"), "w") as pipe:
                pipe.write("parked")
            with open(os.path.join(os.environ["PARK_DIR"], "go")) as pipe:
                pipe.read()
        return super().next_bet(view)
'''


@dataclass
class Parked:
    """A `betbot run` process playing the Parked strategy, stopped at its bet `at` until `go()`."""

    proc: subprocess.Popen[str]
    pipes: Path
    stderr: Path

    def wait_parked(self) -> None:
        with (self.pipes / "parked").open() as pipe:  # opens once the strategy opens it to write
            assert pipe.read() == "parked"

    def go(self) -> None:
        with (self.pipes / "go").open("w") as pipe:
            pipe.write("go")

    def finish(self) -> tuple[int, str]:
        code = self.proc.wait(timeout=120)
        return code, self.stderr.read_text()


@contextmanager
def parked_run(tmp_path: Path, name: str, *args: str, at: int, env: dict[str, str] | None = None) -> Iterator[Parked]:
    strategy = tmp_path / "parked.py"
    if not strategy.exists():
        strategy.write_text(_PARKED)
    pipes = tmp_path / f"pipes-{name}"
    pipes.mkdir()
    os.mkfifo(pipes / "parked")
    os.mkfifo(pipes / "go")
    stderr = tmp_path / f"{name}.stderr"
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "betbot", "run", "--strategy", f"{strategy}:Parked", "--dashboard", "off",
             "--log-format", "json", "--no-preview", *args],
            stdout=subprocess.DEVNULL, stderr=err, text=True,
            env={**ENV, **(env or {}), "PARK_AT": str(at), "PARK_DIR": str(pipes)},
        )
    try:
        yield Parked(proc, pipes, stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def bet_counts(path: Path) -> dict[int, int]:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return dict(con.execute("SELECT session_id, count(*) FROM bets GROUP BY session_id").fetchall())
    finally:
        con.close()


def refused_in_one_line(result: subprocess.CompletedProcess[str], pid: int) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"session 1 is being run by process {pid} on host " in lines[0]
    assert " since 20" in lines[0]
    return lines[0]


def test_a_second_resume_while_the_first_runs_is_refused_and_the_first_bets_exactly_its_3000(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    common = ("--journal", str(journal))
    with parked_run(tmp_path, "first", *common, "--max-bets", "3000", "-n", "5", "--sim-latency", "1ms",
                    at=1500) as first:
        first.wait_parked()
        again = betbot("run", *common, "--resume")  # the command: the newest session is the running one
        line = refused_in_one_line(again, first.proc.pid)
        assert "no other session is interrupted" in line
        refused_in_one_line(betbot("run", *common, "--resume", "1"), first.proc.pid)
        first.go()
        code, stderr = first.finish()
    assert code == 0, stderr[-2000:]
    assert bet_counts(journal) == {1: 3000}  # one session, exactly its 3,000 bets: nothing ran it twice
    with Journal.open(journal, durable=False, readonly=True) as read:
        [session] = read.sessions()
        assert session.summary is not None
        assert session.summary["bets"] == 3000
        assert session.stop_kind == "max_bets"


def test_live_a_second_resume_is_refused_and_the_site_sees_exactly_the_sessions_bets(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    env = {"BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json")}
    config = FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal(100)}, latency=0.002, faults={"429": 0.3})
    with serve_fake_in_thread(config) as base_url:
        common = ("--journal", str(journal), "--live", "--base-url", base_url)
        with parked_run(tmp_path, "first", *common, "--max-bets", "300", "-n", "5", "--no-loss-limit",
                        "-p", "base_bet=0.01", at=150, env=env) as first:
            first.wait_parked()
            refused_in_one_line(betbot("run", *common, "--resume", env=env), first.proc.pid)
            first.go()
            code, stderr = first.finish()
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert code == 0, stderr[-2000:]
    assert ledger["executed"] == 300  # the site ran the session's bets once each, and no more
    with Journal.open(journal, durable=False, readonly=True) as read:
        [session] = read.sessions()
        assert read.pending_bets(session.id) == []
        assert sum(1 for bet in read.bets(session.id) if bet.profit is not None) == 300
        assert str(read.replay_balance(session.id)) == ledger["balances"]["DOGE"]["main"]


def test_kill_9_the_holder_then_resume_at_once_reconciles_and_finishes(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    env = {"BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json")}
    config = FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal(100)}, latency=0.002)
    with serve_fake_in_thread(config) as base_url:
        common = ("--journal", str(journal), "--live", "--base-url", base_url)
        with parked_run(tmp_path, "first", *common, "--max-bets", "200", "-n", "5", "--no-loss-limit",
                        "-p", "base_bet=0.01", at=100, env=env) as first:
            first.wait_parked()
            first.proc.send_signal(signal.SIGKILL)
            assert first.proc.wait(timeout=30) == -signal.SIGKILL
        # Without --base-url: a resumed session goes on at its own site (the fake), not the default one
        # (which it could not reach here, with a test key it would not accept anyway).
        resumed = betbot("run", "--journal", str(journal), "--live", "--resume", "--dashboard", "off",
                         "--log-format", "json", env=env)
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "being run by" not in resumed.stderr  # the dead holder's lease went with it
    events = [json.loads(line)["event"] for line in resumed.stderr.splitlines() if line.startswith("{")]
    assert "session.end" in events
    with Journal.open(journal, durable=False, readonly=True) as read:
        [session] = read.sessions()
        assert read.pending_bets(session.id) == []  # what the killed run left in flight is reconciled
        ran = [bet for bet in read.bets(session.id) if bet.profit is not None]
        assert len(ran) == ledger["executed"]  # none lost, none twice
        assert str(read.replay_balance(session.id)) == ledger["balances"]["DOGE"]["main"]
        assert session.stop_kind == "max_bets"
    assert KEY not in resumed.stderr + resumed.stdout


def test_two_processes_run_two_sessions_of_one_journal_together(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    common = ("--journal", str(journal), "--max-bets", "4000", "-n", "5", "--sim-latency", "0")
    with parked_run(tmp_path, "a", *common, "--seed", "a", at=10) as first, \
         parked_run(tmp_path, "b", *common, "--seed", "b", at=10) as second:
        first.wait_parked()
        second.wait_parked()  # both hold a session and have bets in flight: now let both run at once
        first.go()
        second.go()
        results = [first.finish(), second.finish()]
    for code, stderr in results:
        assert code == 0, stderr[-2000:]
        assert "locked" not in stderr
    assert bet_counts(journal) == {1: 4000, 2: 4000}  # no lost row
