"""A live campaign against the fake DuckDice on 127.0.0.1, end to end: new seeds each session, the budget
kept against the site's own ledger, notifications to a local target, and never the API key in them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from betbot.journal import Journal
from betbot.testing.fakeserver import FakeServerConfig, serve_fake_in_thread
from tests.backends.test_live_cli import ENV, KEY, _betbot
from tests.notify_target import Target


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


def test_a_live_campaign_rotates_seeds_keeps_its_budget_and_reports(tmp_path: Path, target: Target) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY, seed="live-campaign", latency=0.001)) as base_url:
        result = _betbot(
            "run", "--live", "--base-url", base_url, "-s", "flat", "-p", "base_bet=1", "--stop-loss", "3",
            "--take-profit", "2", "--repeat", "--new-seed-each", "--pause-between", "0s", "--max-sessions", "3",
            "--total-stop-loss", "4", "--dashboard", "off", "--journal", str(journal_path), "--log-format", "json",
            "--notify", target.url(), "--notify-on", "stopped,take-profit,campaign",
            env={**ENV, "BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json")},
        )
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert result.returncode == 0, result.stderr[-2000:]
    with Journal.open(journal_path, durable=False, readonly=True) as journal:
        sessions = journal.sessions()
    bets = ledger["bets"]
    # The site's own books: the campaign never lost more than its total stop-loss.
    site_profit = sum((Decimal(entry["profit"]) for entry in bets), Decimal(0))
    assert site_profit >= Decimal(-4)
    assert sum((Decimal(s.summary["profit"]) for s in sessions), Decimal(0)) == site_profit  # type: ignore[index]
    assert len(sessions) >= 2  # a take-profit or its own stop-loss (3 of the 4) ends the first: a second follows
    # Every session after the first started on a new seed pair: its first bet has nonce 0 again.
    starts = [sum(s.journaled for s in sessions[:i]) for i in range(len(sessions))]
    assert [bets[i]["nonce"] for i in starts] == [0] * len(sessions)
    # The target heard each session end and the campaign end, and never the key.
    bodies = target.wait_for(len(sessions) + 1)
    assert bodies[-1]["title"].startswith("betbot: campaign 1 ended")
    assert all(KEY not in json.dumps(body) for body in bodies)
    assert KEY not in result.stderr + result.stdout
