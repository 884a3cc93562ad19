"""Live betting at high concurrency against the fake DuckDice: many unknown outcomes at once, never stuck.

Dozens of bets of unknown outcome at a time (dropped replies at N = 32, resets under a burst at N = 64, a
kill -9 at N = 32 and a resume): reconciliation settles every one of them from the site's books, the
client's books equal the server's ledger to the satoshi, and every executed bet is counted exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from betbot.core.models import StopKind, Unknown
from betbot.journal import Journal
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake_in_thread
from tests.backends.test_live_e2e import KEY, check_ledger_agrees, play
from tests.cli_support import ENV

HANG = 120  # seconds: a guard against a hang; the test waits on what the fake server holds, never on time


def _check_books(run: object, bets: int) -> list[Unknown]:
    session, engine, app = run.session, run.engine, run.app  # type: ignore[attr-defined]
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS, session.stop_reason
    settled = check_ledger_agrees(run)  # type: ignore[arg-type]
    unknown = [o for o in run.history.outcomes if isinstance(o, Unknown)]  # type: ignore[attr-defined]
    verdicts = [v for result in engine.reconciliations for v in result.verdicts]
    assert all(result.balanced for result in engine.reconciliations)
    assert sorted(v.seq for v in verdicts) == sorted(o.seq for o in unknown)  # each settled once
    hashes = [entry["hash"] for entry in app.ledger]
    assert len(hashes) == len(set(hashes)) == session.bets == bets  # none lost, none twice
    ran_unseen = [entry for entry in app.ledger if entry["hash"] not in {o.bet_hash for o in settled}]
    assert Counter(v.profit for v in verdicts if v.profit is not None) == Counter(
        Decimal(entry["profit"]) for entry in ran_unseen)
    assert session.unresolved_seqs == []
    assert session.balance == run.site.balance == Decimal(app.balances_json()["DOGE"]["main"])  # type: ignore[attr-defined]
    return unknown


async def test_thirty_percent_dropped_replies_at_n_32() -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="drop-32", latency=0.001, jitter=0.002,
                                        faults={"drop-after-execute": 0.3}))
    run = await play(app, n=32, bets=600, reconcile=True)
    unknown = _check_books(run, 600)
    assert len(unknown) > 100  # a third of the replies lost, every one of them settled from the books


async def test_resets_under_a_burst_at_n_64_none_of_which_ran() -> None:
    # 5xx before the game runs the bet: the client cannot tell, the books show none of them ran.
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="burst-64", latency=0.001, jitter=0.002,
                                        faults={"5xx": 0.35}))
    run = await play(app, n=64, bets=640, reconcile=True)
    unknown = _check_books(run, 640)
    verdicts = [v for result in run.engine.reconciliations for v in result.verdicts]
    assert len(unknown) > 64
    assert all(v.profit is None for v in verdicts)  # none ran: each is made up by a later bet
    # About a third of 63 bets in flight fail with each one: far beyond the 12 the old search examined.
    assert max(len(result.verdicts) for result in run.engine.reconciliations) > 12


class HeldAfter(FakeDuckDice):
    """The fake, holding every bet request after the first `free` before it runs, until `release` is set: the
    client's bets in flight pile up here, as many as it allows, however loaded the machine is."""

    def __init__(self, config: FakeServerConfig, free: int) -> None:
        super().__init__(config)
        self.free = free
        self.arrived = self.ran_free = self.held = self.finished = 0
        self.release = threading.Event()

    async def _bet(self, path: str, query: dict[str, list[str]], body: bytes, receive: Any, send: Any) -> None:
        self.arrived += 1
        if self.arrived <= self.free:
            await super()._bet(path, query, body, receive, send)
            self.ran_free += 1
            return None
        self.held += 1
        try:
            # The test's thread sets it: a worker thread waits for it, the server's event loop runs on.
            await anyio.to_thread.run_sync(self.release.wait, abandon_on_cancel=True)
            return await super()._bet(path, query, body, receive, send)
        finally:
            self.finished += 1


def window_stuck(app: HeldAfter, journal: Path, n: int) -> bool:
    """Whether every bet the journal has an intent for is at the fake, and at least n of them: each pending
    intent either waits there (held) or has run there (free) with its result still behind an earlier held bet
    in the ordered window, none on its way.

    Not `held >= n`: on a loaded machine the requests arrive out of order, so a bet behind the first held one
    may have run free; then only n - k are ever held while the window waits, and the held ones outlive the
    client's read timeout."""
    with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
        try:
            counts: dict[int, int] = dict(db.execute(
                "SELECT status = 'pending', count(*) FROM bets GROUP BY 1").fetchall())
        except sqlite3.OperationalError:  # the schema is not written yet
            return False
    pending, released = counts.get(1, 0), counts.get(0, 0)
    ran_unreleased = app.ran_free - released  # a free bet still running at the fake is in neither count
    return pending >= n and app.held + ran_unreleased == pending


def stop_when_stuck(proc: subprocess.Popen[str], app: HeldAfter, journal: Path, n: int, log: Path) -> None:
    """Leave betbot stopped (SIGSTOP) at a moment when `window_stuck` holds. Checked while it is stopped, so
    nothing changes between the check and the kill that follows: an intent committed after the check would
    otherwise be sent, or not, as the kill falls."""
    deadline = time.monotonic() + HANG
    while True:
        if proc.poll() is not None:
            pytest.fail(f"betbot ended before its window was stuck at the fake: {log.read_text()[-3000:]}")
        if app.held and journal.exists():
            os.kill(proc.pid, signal.SIGSTOP)
            os.waitpid(proc.pid, os.WUNTRACED)  # returns once it is stopped
            if window_stuck(app, journal, n):
                return
            os.kill(proc.pid, signal.SIGCONT)
        if time.monotonic() > deadline:
            pytest.fail(f"its window never held {n} bets all at the fake")
        time.sleep(0.01)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (state the fake server holds) until it holds; the deadline is a hang guard only."""
    deadline = time.monotonic() + HANG
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never {what}")
        time.sleep(0.01)


@pytest.mark.parametrize("n", [32])
def test_kill_9_at_n_32_then_resume(tmp_path: Path, n: int) -> None:
    journal = tmp_path / "journal.sqlite3"
    config = FakeServerConfig(api_key=KEY, seed="kill-32", balances={"DOGE": Decimal(500)}, latency=0.002,
                              jitter=0.003)
    app = HeldAfter(config, free=3 * n)  # in full flow first, then every slot held at the fake
    env = {**ENV, "BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json")}
    with serve_fake_in_thread(app=app) as base_url:
        common = ("run", "--live", "--base-url", base_url, "--journal", str(journal), "--dashboard", "off",
                  "--log-format", "json", "--stop-loss", "50%", "-n", str(n))
        log = tmp_path / "stderr.log"
        with log.open("w") as stderr:  # a file, not a pipe nobody reads while it bets
            proc = subprocess.Popen([sys.executable, "-m", "betbot", *common, "--max-bets", "400"],
                                    stdout=subprocess.DEVNULL, stderr=stderr, text=True, env=env)
        # Kill it with all n bets in flight: each reached the fake, so each intent was on disk before.
        stop_when_stuck(proc, app, journal, n, log)
        proc.kill()
        proc.wait()
        with Journal.open(journal, durable=False, readonly=True) as opened:
            [session] = opened.sessions()
            left = len(opened.pending_bets(session.id))
        assert left >= n > 12  # more than the old reconciliation examined
        # The held bets now run (their replies go nowhere), all before the resumed run reads the books.
        app.release.set()
        wait_until(lambda: app.finished == app.held, "let the fake run the held bets")
        summary_path = tmp_path / "summary.json"
        resumed = subprocess.run([sys.executable, "-m", "betbot", *common, "--resume", "--summary-json",
                                  str(summary_path)], capture_output=True, text=True, env=env, timeout=120,
                                 check=False)
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["bets"] == 400
    assert summary["unresolved_bets"] == 0
    assert ledger["executed"] == 400  # every bet that ran, once; none lost to the kill, none twice
    with Journal.open(journal, durable=False, readonly=True) as opened:
        [session] = opened.sessions()
        assert opened.pending_bets(session.id) == []
        assert str(opened.replay_balance(session.id)) == ledger["balances"]["DOGE"]["main"]
