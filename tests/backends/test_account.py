"""Issue 17 part 5, the DuckDice account, against the fake server on 127.0.0.1: `betbot account` lists balances
per mode, time-limited events and wagering bonuses with their hashes and the seed pair; `--tle auto` bets toward
the single active event (and refuses, exit 2, when there is not exactly one); a live session journals the seed
pair the site rolls with at its start, so that `betbot verify --session` checks its bets once a rotation reveals
the server seed."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from betbot.backends.api_models import Offer, UserInfo, parse_current_seeds
from betbot.cli import cli
from betbot.journal import Journal
from betbot.testing.fakeserver import FakeServerConfig, serve_fake_in_thread

KEY = "LEAKCANARY-account-key-0123456789"
EVENTS = [{"hash": "tle-old", "name": "Last week's race", "status": "finished"},
          {"hash": "tle-now", "name": "Weekend race", "status": "active", "prize": "100 DOGE"}]
BONUSES = [{"hash": "wb-1", "name": "Deposit bonus", "status": "active", "wagered": "12.5", "required": "500"}]


def betbot(*args: str, tmp_path: Path) -> Result:
    env = {"BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json"), "COLUMNS": "200"}
    return CliRunner().invoke(cli, list(args), env=env)


def live_run(base_url: str, journal: Path, *extra: str) -> Result:
    return betbot("run", "--live", "--base-url", base_url, "--journal", str(journal), "--max-bets", "20",
                  "--no-loss-limit", "-p", "base_bet=0.01", "--dashboard", "off", *extra, tmp_path=journal.parent)


def test_account_lists_balances_events_bonuses_and_the_seed_pair(tmp_path: Path) -> None:
    config = FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal("12.5"), "BTC": Decimal("0.001")},
                              faucet_balances={"DOGE": Decimal("0.3")}, events=EVENTS, wagering_bonuses=BONUSES)
    with serve_fake_in_thread(config) as base_url:
        as_json = betbot("account", "--json", "--base-url", base_url, tmp_path=tmp_path)
        table = betbot("account", "--base-url", base_url, tmp_path=tmp_path)
        seeds = httpx.get(f"{base_url}/_fake/ledger").json()["seeds"]
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.output)
    assert found["balances"] == [
        {"currency": "BTC", "main": "0.00100000", "faucet": "0.00000000", "bonus": None},
        {"currency": "DOGE", "main": "12.50000000", "faucet": "0.30000000", "bonus": None},
    ]
    assert [(e["hash"], e["active"]) for e in found["events"]] == [("tle-old", False), ("tle-now", True)]
    assert found["events"][1]["details"] == {"prize": "100 DOGE"}
    assert found["wagering_bonuses"][0]["hash"] == "wb-1"
    assert found["seeds"] == {"server_seed_hash": seeds[-1]["server_seed_hash"],
                              "client_seed": seeds[-1]["client_seed"], "nonce": 0}
    assert table.exit_code == 0, table.output
    for text in ("tle-now", "Weekend race", "wb-1", "--tle HASH", seeds[-1]["server_seed_hash"], "12.50000000"):
        assert text in table.output
    assert KEY not in as_json.output + table.output


def test_tle_auto_bets_toward_the_one_active_event(tmp_path: Path) -> None:
    config = FakeServerConfig(api_key=KEY, events=EVENTS)
    with serve_fake_in_thread(config) as base_url:
        result = live_run(base_url, tmp_path / "j.sqlite3", "--tle", "auto")
        ledger = httpx.get(f"{base_url}/_fake/ledger").json()
    assert result.exit_code == 0, result.output
    assert ledger["executed"] == 20
    assert {bet["tle_hash"] for bet in ledger["bets"]} == {"tle-now"}


@pytest.mark.parametrize(("events", "said"), [
    ([EVENTS[0]], "no active time-limited event"),
    ([EVENTS[1], {**EVENTS[1], "hash": "tle-other"}], "2 active time-limited events"),
], ids=["none-active", "two-active"])
def test_tle_auto_without_exactly_one_active_event_is_refused(tmp_path: Path, events: list[dict[str, Any]],
                                                              said: str) -> None:
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY, events=events)) as base_url:
        result = live_run(base_url, tmp_path / "j.sqlite3", "--tle", "auto")
        ledger = httpx.get(f"{base_url}/_fake/ledger").json()
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]  # CliRunner mixes in the log lines a terminal would not show
    assert line.startswith(("Error: ", "betbot: error: "))
    assert said in line
    assert "--tle HASH" in line
    assert ledger["executed"] == 0
    assert not (tmp_path / "j.sqlite3").exists()  # refused before the journal was made


def test_a_live_session_is_verifiable_once_a_rotation_reveals_its_seed(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY, first_nonce=3)) as base_url:
        first = live_run(base_url, journal)
        rotated = betbot("seed", "rotate", "--base-url", base_url, tmp_path=tmp_path)
        ledger = httpx.get(f"{base_url}/_fake/ledger").json()
    assert first.exit_code == 0, first.output
    assert rotated.exit_code == 0, rotated.output
    with Journal.open(journal, durable=False, readonly=True) as read:
        [pair] = read.seed_pairs(1)
        assert pair.server_seed_hash == ledger["seeds"][0]["server_seed_hash"]
        assert (pair.client_seed, pair.first_nonce, pair.first_seq) == (ledger["seeds"][0]["client_seed"], 3, 1)
        assert pair.server_seed is None  # the site's secret, until the rotation
    verified = betbot("verify", "--session", "1", "--journal", str(journal), "--server-seed",
                      _revealed_seed(rotated.output), tmp_path=tmp_path)
    assert verified.exit_code == 0, verified.output
    assert "20 bets re-computed from 1 revealed server seed(s): all 20 match" in verified.output


def test_reply_shapes_are_read_defensively() -> None:
    assert parse_current_seeds({"serverSeedHash": "ab", "clientSeed": "c", "nonce": 7}) is not None
    assert parse_current_seeds({"data": {"current": {"hash": "ab"}}}).client_seed is None  # type: ignore[union-attr]
    assert parse_current_seeds({"nonce": 1}) is None  # no hash: no pair to journal
    assert parse_current_seeds(["not", "a", "dict"]) is None
    info = UserInfo.model_validate({"tle": [{"name": "no hash"}, "junk", {"hash": "x"}],
                                    "wageringBonuses": [{"userWageringBonusHash": "wb", "state": "ACTIVE"}]})
    assert info.events() == [Offer(hash="x", name=None, status=None, details={})]
    assert [bonus.active for bonus in info.bonuses()] == [True]


def test_a_live_session_that_reseeds_journals_every_pair_and_verifies_all(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY)) as base_url:
        first = live_run(base_url, journal, "--reseed-every", "10")
        rotated = betbot("seed", "rotate", "--base-url", base_url, tmp_path=tmp_path)
        ledger = httpx.get(f"{base_url}/_fake/ledger").json()
    assert first.exit_code == 0, first.output
    with Journal.open(journal, durable=False, readonly=True) as read:
        pairs = read.seed_pairs(1)
    assert [pair.server_seed_hash for pair in pairs] == [seed["server_seed_hash"] for seed in ledger["seeds"][:-1]]
    assert [pair.first_seq for pair in pairs] == [1, 11]
    assert pairs[0].server_seed is not None  # revealed by the rotation at bet 11
    verified = betbot("verify", "--session", "1", "--journal", str(journal), "--server-seed",
                      _revealed_seed(rotated.output), tmp_path=tmp_path)
    assert verified.exit_code == 0, verified.output
    assert "20 bets re-computed from 2 revealed server seed(s): all 20 match" in verified.output


def _revealed_seed(output: str) -> str:
    """The server seed a rotation revealed, from the run's output (the line that is not its hash)."""
    [revealed] = [found.group(0) for line in output.splitlines()
                  if "previous server seed " in line and "hash" not in line
                  and (found := re.search(r"[0-9a-f]{64}", line)) is not None]
    return revealed
