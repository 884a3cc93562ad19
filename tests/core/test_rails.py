"""Live safety rails and resuming with the session's own settings, in subprocesses.

A new live session needs a bound on what it can lose (or the explicit opt-out); nothing is placed and no
journal is written without one. `--resume` restores the session's own limits and concurrency: a flag given
again may tighten, never loosen, and says which. A second signal's stop reason says the bets were left
unknown. Seed rotation: every bet verifies against its own revealed pair.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import httpx

from betbot.core.fairness import roll
from betbot.testing.fakeserver import FakeServerConfig, serve_fake_in_thread
from tests.cli_support import ENV, betbot
from tests.journal.test_daemon import start, wait_for

KEY = "LEAKCANARY-rails-key-0123456789"


def test_a_live_run_without_a_loss_bound_places_nothing_and_writes_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY)) as base_url:
        result = betbot("run", "--live", "--base-url", base_url, "--max-bets", "5", "--journal", str(journal),
                        env={**ENV, "BETBOT_API_KEY": KEY})
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    for name in ("--stop-loss", "--min-balance", "--no-loss-limit"):
        assert name in lines[0]
    assert ledger["executed"] == 0
    assert not journal.exists()


def test_the_explicit_opt_out_bets(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY)) as base_url:
        result = betbot("run", "--live", "--no-loss-limit", "--base-url", base_url, "--max-bets", "5",
                        "--journal", str(journal), "--dashboard", "off", env={**ENV, "BETBOT_API_KEY": KEY})
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert result.returncode == 0, result.stderr[-2000:]
    assert ledger["executed"] == 5


def test_a_live_resume_with_nothing_to_resume_starts_only_under_the_rail(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY)) as base_url:
        refused = betbot("run", "--live", "--resume", "--base-url", base_url, "--max-bets", "3",
                         "--journal", str(journal), env={**ENV, "BETBOT_API_KEY": KEY})
        refused_left_a_journal = journal.exists()
        placed = betbot("run", "--live", "--resume", "--base-url", base_url, "--max-bets", "3", "--stop-loss", "1",
                        "--journal", str(journal), "--dashboard", "off", env={**ENV, "BETBOT_API_KEY": KEY})
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert refused.returncode == 2
    assert "no interrupted session" in refused.stderr
    assert "--stop-loss" in refused.stderr.strip().splitlines()[-1]
    assert not refused_left_a_journal  # refused before anything was written
    assert placed.returncode == 0, placed.stderr[-2000:]
    assert ledger["executed"] == 3


def _signalled_session(journal: Path, *args: str) -> None:
    proc = start("--journal", str(journal), "--sim-latency", "5ms", "--seed", "rails", *args)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_resume_keeps_the_sessions_own_limits_and_concurrency(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    _signalled_session(journal, "-n", "4", "--max-bets", "100000", "--stop-loss", "20", "--take-profit", "30")
    summary_path = tmp_path / "summary.json"
    # Given again: a looser stop-loss (kept), a tighter take-profit (taken), a lower max-bets (taken), and no
    # concurrency at all (the session's own 4, not the default of one at a time).
    result = betbot("run", "--resume", "--journal", str(journal), "--stop-loss", "50", "--take-profit", "0.05",
                    "--max-bets", "150", "--dashboard", "off", "--summary-json", str(summary_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stop_loss kept at the session's 20.00000000 (50.00000000 would loosen it)" in result.stderr
    assert "take_profit tightened from 30.00000000 to 0.05000000" in result.stderr
    assert "max_bets tightened from 100000 to 150" in result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["concurrency"] == 4
    assert summary["stop_kind"] in {"take_profit", "max_bets", "stop_loss"}


def test_resume_may_lower_the_concurrency_never_raise_it(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    _signalled_session(journal, "-n", "4", "--max-bets", "100000")
    summary_path = tmp_path / "summary.json"
    raised = betbot("run", "--resume", "--journal", str(journal), "-n", "16", "--max-bets", "40",
                    "--dashboard", "off", "--summary-json", str(summary_path))
    assert raised.returncode == 0, raised.stderr[-2000:]
    assert "concurrency kept at the session's 4 (16 would raise it)" in raised.stderr
    assert json.loads(summary_path.read_text())["concurrency"] == 4


def test_a_second_signal_says_bets_were_left_unknown(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    summary_path = tmp_path / "summary.json"
    proc = start("--journal", str(journal), "--sim-latency", "5s", "-n", "3", "--summary-json", str(summary_path))
    proc.send_signal(signal.SIGTERM)
    wait_for(proc, "engine.draining")  # two signals at once may reach the process as one
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    summary = json.loads(summary_path.read_text())
    assert "left unknown" in summary["stop_reason"]
    assert "drained" not in summary["stop_reason"]


def test_every_bet_verifies_under_its_own_seed_pair_after_reseeding(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    result = betbot("run", "--journal", str(journal), "--max-bets", "250", "--reseed-every", "100", "-n", "5",
                    "--sim-latency", "1ms", "--sim-jitter", "2ms", "--seed", "reseed", "--dashboard", "off")
    assert result.returncode == 0, result.stderr[-2000:]
    con = sqlite3.connect(journal)
    try:
        pairs = con.execute("SELECT server_seed, server_seed_hash, client_seed, first_nonce, first_seq "
                            "FROM seed_pairs ORDER BY first_seq").fetchall()
        rows = con.execute("SELECT seq, nonce, roll FROM bets ORDER BY seq").fetchall()
    finally:
        con.close()
    assert [pair[4] for pair in pairs] == [1, 101, 201]
    assert all(pair[0] for pair in pairs)  # every server seed revealed
    assert len({pair[0] for pair in pairs}) == 3
    for seq, nonce, number in rows:
        server_seed, _hash, client_seed, first_nonce, first_seq = next(p for p in reversed(pairs) if p[4] <= seq)
        assert nonce == first_nonce + seq - first_seq
        assert roll(server_seed, client_seed, nonce) == number
    assert len(rows) == 250


def test_the_journal_stores_money_as_fixed_point_text(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    result = betbot("run", "-p", "base_bet=0.00000001", "--max-bets", "20", "--journal", str(journal),
                    "--dashboard", "off", "--seed", "satoshi")
    assert result.returncode == 0, result.stderr[-2000:]
    con = sqlite3.connect(journal)
    try:
        texts = [text for row in con.execute("SELECT amount, profit, balance_after FROM bets") for text in row]
    finally:
        con.close()
    assert "0.00000001" in texts
    assert "-0.00000001" in texts
    assert not [text for text in texts if "E" in text]
