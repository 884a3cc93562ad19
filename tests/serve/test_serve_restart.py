"""kill -9 of `betbot serve` with three sessions running (two simulated, one live against the fake server),
then a restart: every session resumes (its own journal session, its history replayed), the live one's
unknown bets are reconciled first, and after a SIGTERM drain the books equal the fake server's ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from betbot.journal import Journal
from betbot.redact import unregister_secret
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake_in_thread
from tests.serve_process import start_serve

KEY = "LEAKCANARY-restart-4e8d2b6f0a1c3957"

pytestmark = pytest.mark.slow


def config_text(journal: Path, url: str) -> str:
    sessions = [
        ("sim-a", 'strategy = "flat"\nsim_latency = "5ms"\nseed = "a"'),
        ("sim-b", 'strategy = "flat"\nparallel = true\nmax_concurrent = 4\nsim_latency = "10ms"\nseed = "b"'),
        ("live", 'strategy = "flat"\nlive = true\nstop_loss = "50"\nparallel = true\nmax_concurrent = 4'),
    ]
    tables = "".join(f'\n[[sessions]]\nname = "{name}"\nautostart = true\nmax_bets = 1000000\npreview = false\n{body}\n'
                     for name, body in sessions)
    return f'journal = "{journal}"\nbase_url = "{url}"\n{tables}'


def test_kill_9_then_restart_resumes_and_reconciles_every_session(tmp_path: Path) -> None:
    fake = FakeDuckDice(FakeServerConfig(api_key=KEY, latency=0.02, seed="restart"))
    journal = tmp_path / "journal.sqlite3"
    env = {"BETBOT_API_KEY": KEY}
    try:
        with serve_fake_in_thread(app=fake) as url:
            config = tmp_path / "serve.toml"
            config.write_text(config_text(journal, url))
            first = start_serve(tmp_path, "--config", str(config), env=env, name="first")
            try:
                first.wait_until("every session betting",
                                 lambda: all(row.get("bets", 0) > 20 for row in first.sessions().values())
                                 and len(first.sessions()) == 3)
                before = {name: row["session_id"] for name, row in first.sessions().items()}
            finally:
                first.kill()  # kill -9: bets in flight are left as they were
            second = start_serve(tmp_path, "--config", str(config), env=env, name="second")
            try:
                second.wait_until("every session resumed and betting on",
                                  lambda: len(second.sessions()) == 3 and all(
                                      row["state"] == "running" and row.get("bets", 0) > 40
                                      for row in second.sessions().values()))
                after = {name: row["session_id"] for name, row in second.sessions().items()}
                assert after == before  # the same journal sessions, resumed, not new ones
                assert KEY not in second.log.read_text()
            finally:
                assert second.terminate() == 0  # SIGTERM drains every session, exit 0
            assert KEY not in first.log.read_text()
            reconciled = [line for line in second.log.read_text().splitlines() if "resume.reconciled" in line]
    finally:
        unregister_secret(KEY)
    with Journal.open(journal, durable=False, readonly=True) as opened:
        records = {record.id: record for record in opened.sessions()}
        assert len(records) == 3
        live = records[before["live"]]
        assert live.unresolved == 0
        settled = [bet for bet in opened.bets(live.id) if bet.profit is not None]
    summary = live.summary
    assert summary is not None
    # kill -9 left bets of the live session without an outcome (4 in flight at 20 ms): reconciled at the start.
    assert any(f'"session": {live.id}' in line for line in reconciled), reconciled
    # The books equal the fake's ledger: every bet it ran is journaled once, and the balances agree.
    assert len(settled) == fake.executed
    assert Decimal(summary["balance"]) == Decimal(fake.balances_json()["DOGE"]["main"])
    assert Decimal(summary["profit"]) == sum((bet.profit for bet in settled), Decimal(0))
