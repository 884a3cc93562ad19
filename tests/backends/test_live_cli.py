"""`betbot run --live` end to end: a subprocess against the fake DuckDice server (uvicorn, 127.0.0.1).

Faults of every kind at a few percent; afterwards the server's ledger and the session agree to the
satoshi, and the API key appears nowhere in what the process printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from betbot.journal import Journal
from betbot.testing.fakeserver import FakeServerConfig, serve_fake_in_thread
from tests.cli_support import ENV

KEY = "LEAKCANARY-live-cli-key-0123456789"


def _betbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "betbot", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_live_run_with_every_fault_balances_to_the_satoshi(tmp_path: Path) -> None:
    faults = {"429": 0.03, "challenge": 0.03, "5xx": 0.02, "json-error": 0.0, "drop-after-execute": 0.02,
              "slow-after-execute": 0.01, "malformed": 0.02}
    config = FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal(50)}, latency=0.001, jitter=0.003,
                              faults={k: v for k, v in faults.items() if v}, slow_delay=0.5)
    summary_path = tmp_path / "summary.json"
    journal_path = tmp_path / "journal.sqlite3"
    with serve_fake_in_thread(config) as base_url:
        result = _betbot(
            "run", "--live", "--base-url", base_url, "--strategy", "flat", "--parallel", "--max-concurrent", "5",
            "--no-loss-limit",
            "--max-bets", "400", "--log-format", "json", "--log-level", "debug", "--summary-json", str(summary_path),
            "--dashboard", "off", "--journal", str(journal_path),
            env={**ENV, "BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json")},
        )
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert result.returncode == 0, result.stderr[-2000:]
    # The journal agrees with the site: every bet that ran, with the site's balance, and never the key.
    with Journal.open(journal_path, durable=False, readonly=True) as journal:
        [session] = journal.sessions()
        ran = [bet for bet in journal.bets(session.id) if bet.profit is not None]
        assert journal.pending_bets(session.id) == []
        assert len(ran) == ledger["executed"]
        assert str(journal.replay_balance(session.id)) == ledger["balances"]["DOGE"]["main"]
    for side_file in (path for path in tmp_path.glob("journal.sqlite3*") if path.is_file()):
        assert KEY.encode() not in side_file.read_bytes()
    summary = json.loads(summary_path.read_text())
    assert summary["stop_kind"] == "max_bets"
    assert summary["bets"] == 400
    assert summary["unresolved_bets"] == 0
    assert ledger["executed"] == 400  # exactly max_bets ran: none lost, none twice
    assert summary["balance"] == ledger["balances"]["DOGE"]["main"]  # to the satoshi
    assert "engine.reconciled" in result.stderr  # the unknown-outcome faults really happened
    for text in (result.stdout, result.stderr, summary_path.read_text()):
        assert KEY not in text


def test_live_refuses_without_a_key() -> None:
    result = _betbot("run", "--live", "--max-bets", "1", "--stop-loss", "10%", env=ENV)
    assert result.returncode == 2
    assert "no DuckDice API key" in result.stderr
    assert "BETBOT_API_KEY" in result.stderr


def test_live_with_a_wrong_key_is_one_line_exit_1() -> None:
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY)) as base_url:
        wrong = "WRONGKEY-" + KEY
        result = _betbot("run", "--live", "--base-url", base_url, "--max-bets", "1", "--stop-loss", "10%",
                         env={**ENV, "BETBOT_API_KEY": wrong})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("betbot: error: ")
    assert "Traceback" not in result.stderr
    assert wrong not in result.stderr + result.stdout


@pytest.mark.parametrize("policy", ["raise", "stop"])
def test_min_bet_learned_from_the_refusal(tmp_path: Path, policy: str) -> None:
    config = FakeServerConfig(api_key=KEY, min_bets={"DOGE": Decimal("0.05")})
    summary_path = tmp_path / "summary.json"
    cache = tmp_path / "min_bets.json"
    with serve_fake_in_thread(config) as base_url:
        result = _betbot("run", "--live", "--base-url", base_url, "--max-bets", "20", "--below-min-bet", policy,
                         "--min-balance", "1",
                         "--summary-json", str(summary_path), "--dashboard", "off",
                         env={**ENV, "BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(cache)})
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(summary_path.read_text())
    assert json.loads(cache.read_text())["min_bets"]["DOGE"]["amount"] == "0.05000000"
    if policy == "raise":
        assert summary["bets"] == 20
        assert summary["largest_bet"] == "0.05000000"
        assert ledger["executed"] == 20
    else:
        assert summary["stop_kind"] == "min_bet"
        assert summary["bets"] == 0
        assert ledger["executed"] == 0
