"""Minimum bets learned from refusals, cached on disk atomically."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.backends.minbets import MinBetCache, ParsedMinBet, parse_min_bet
from betbot.core.models import BetRequest, RefusalKind, Refused

BET = BetRequest(amount=Decimal("0.1"), chance=Decimal("49.5"), currency="doge")


@pytest.mark.parametrize(("message", "expected"), [
    ("The minimum bet is 1 DOGE", ParsedMinBet(Decimal(1), "DOGE")),
    ("The minimum bet is 0.00000100 BTC.", ParsedMinBet(Decimal("0.000001"), "BTC")),
    ("Minimum bet amount is 0,5 XLM", ParsedMinBet(Decimal("0.5"), "XLM")),
    ("Min. bet: 0.1 trx", ParsedMinBet(Decimal("0.1"), "TRX")),
    ("min bet = 5", ParsedMinBet(Decimal(5), None)),
    ("Bet amount below the minimum bet of 2 USDT", ParsedMinBet(Decimal(2), "USDT")),
    ("Insufficient balance", None),
    ("The minimum bet is zero DOGE", None),
    ("", None),
])
def test_parse_message(message: str, expected: ParsedMinBet | None) -> None:
    assert parse_min_bet(message) == expected


def test_params_win_over_the_message() -> None:
    assert parse_min_bet("The minimum bet is 1 DOGE", {"amount": "2.00000000", "symbol": "doge"}) == \
        ParsedMinBet(Decimal(2), "DOGE")
    # A float amount is not trusted; the message is used instead, with the params' symbol.
    assert parse_min_bet("The minimum bet is 1 DOGE", {"amount": 2.0, "symbol": "LTC"}) == \
        ParsedMinBet(Decimal(1), "LTC")
    assert parse_min_bet("nothing here", {"amount": "bad"}) is None


def test_cache_learns_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "minbets.json"
    clock = lambda: datetime(2024, 1, 2, tzinfo=UTC)  # noqa: E731
    cache = MinBetCache(path, clock=clock)
    assert cache.get("DOGE") is None
    assert cache.learn("doge", Decimal(1)) is True
    assert cache.learn("DOGE", Decimal(1)) is False
    assert cache.learn("BTC", Decimal("0.000001")) is True
    again = MinBetCache(path)
    assert again.get("doge") == Decimal(1)
    assert again.get("BTC") == Decimal("0.000001")
    assert "DOGE" in again
    assert list(again) == ["BTC", "DOGE"]
    assert len(again) == 2
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert data["min_bets"]["DOGE"] == {"amount": "1", "learned_at": "2024-01-02T00:00:00+00:00"}
    assert [p.name for p in path.parent.iterdir()] == ["minbets.json"]  # no temporary file left behind


def test_cache_refuses_bad_amounts(tmp_path: Path) -> None:
    cache = MinBetCache(tmp_path / "m.json")
    with pytest.raises(ValueError, match="positive Decimal"):
        cache.learn("DOGE", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive Decimal"):
        cache.learn("DOGE", Decimal(0))


def test_learn_from_refusal(tmp_path: Path) -> None:
    cache = MinBetCache(tmp_path / "m.json")
    refused = Refused(seq=1, bet=BET, kind=RefusalKind.MIN_BET, message="HTTP 422: The minimum bet is 1 DOGE",
                      min_bet=Decimal(1))
    assert cache.learn_from_refusal(refused) == Decimal(1)
    assert cache.get("DOGE") == Decimal(1)
    from_text = Refused(seq=2, bet=BET, kind=RefusalKind.MIN_BET, message="The minimum bet is 3")
    assert cache.learn_from_refusal(from_text) == Decimal(3)
    assert cache.get("DOGE") == Decimal(3)
    other = Refused(seq=3, bet=BET, kind=RefusalKind.BALANCE, message="The minimum bet is 9 DOGE")
    assert cache.learn_from_refusal(other) is None
    assert cache.get("DOGE") == Decimal(3)
    assert cache.learn_from_message("The minimum bet is 0.5 LTC") == Decimal("0.5")
    assert cache.get("LTC") == Decimal("0.5")
    assert cache.learn_from_message("min bet 5") is None  # no currency anywhere


@pytest.mark.parametrize("content", ["not json", "[]", '{"min_bets": 3}', '{"nothing": {}}'])
def test_corrupt_file_is_ignored(tmp_path: Path, content: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(content)
    cache = MinBetCache(path)
    assert len(cache) == 0
    assert cache.load_error is not None
    cache.learn("DOGE", Decimal(1))
    assert MinBetCache(path).get("DOGE") == Decimal(1)


def test_bad_entries_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"version": 1, "min_bets": {"DOGE": {"amount": "1"}, "BTC": {"amount": 0.1},
                                                           "LTC": "0.01", "XRP": {"amount": "-1"}}}))
    cache = MinBetCache(path)
    assert cache.get("DOGE") == Decimal(1)
    assert cache.get("LTC") == Decimal("0.01")
    assert cache.get("BTC") is None
    assert cache.get("XRP") is None
    assert cache.entry("DOGE") is not None
