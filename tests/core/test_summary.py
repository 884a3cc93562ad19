"""The summary: money as fixed-point text with 8 places everywhere (JSON, table, logs), never an exponent; on a
terminal the session.end log line does not repeat the table, and the limits read as text, not a repr."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from betbot import lifecycle
from betbot.config.settings import LogFormat
from betbot.core.money import ZERO, money_text
from betbot.core.session import Limits
from betbot.observe.logs import configure_logging
from betbot.observe.summary import (
    SUMMARY_KEYS,
    build_summary,
    print_summary,
    summary_rows,
    write_summary_json,
)
from tests.helpers import make_session

MONEY_KEYS = ("profit", "wagered", "balance", "starting_balance", "largest_bet", "largest_win", "largest_loss",
              "max_drawdown")


@pytest.mark.parametrize(("value", "plain", "signed"), [
    (ZERO, "0.00000000", "+0.00000000"),
    (Decimal("-0E-8"), "0.00000000", "+0.00000000"),
    (Decimal("-3E-8"), "-0.00000003", "-0.00000003"),
    (Decimal("1E+2"), "100.00000000", "+100.00000000"),
    (Decimal("12345678901234567890.12345678"), "12345678901234567890.12345678", "+12345678901234567890.12345678"),
])
def test_money_text(value: Decimal, plain: str, signed: str) -> None:
    assert money_text(value) == plain
    assert money_text(value, sign=True) == signed


@given(st.integers(min_value=-(10**27), max_value=10**27))
def test_money_text_round_trips_any_satoshi_amount(satoshis: int) -> None:
    value = Decimal(satoshis).scaleb(-8)
    text = money_text(value)
    assert "E" not in text.upper()
    assert len(text.partition(".")[2]) == 8
    assert Decimal(text) == value


def test_no_exponent_in_the_json_or_the_table(tmp_path: Path) -> None:
    snap = replace(make_session().snapshot(), profit=Decimal("-3E-8"), wagered=ZERO, largest_win=ZERO,
                   max_drawdown=Decimal("3E-8"), balance=Decimal("99.99999997"))
    summary = build_summary(snap, elapsed=2.0, concurrency=1, strategy="flat", backend="simulator", seed_pairs=[])
    assert set(summary) == set(SUMMARY_KEYS)
    assert summary["profit"] == "-0.00000003"
    assert summary["wagered"] == "0.00000000"
    assert summary["max_drawdown"] == "0.00000003"
    for key in MONEY_KEYS:
        assert "E" not in summary[key]
        assert len(summary[key].partition(".")[2]) == 8
    path = tmp_path / "summary.json"
    write_summary_json(path, summary)
    assert json.loads(path.read_text())["profit"] == "-0.00000003"
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_summary(console, summary)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "-0.00000003 DOGE" in text
    assert "E-8" not in text


@pytest.mark.parametrize(("auto", "words"), [(False, "concurrency 12"), (True, "concurrency auto (cap 12)")])
def test_the_concurrency_row_says_auto_and_its_cap(auto: bool, words: str) -> None:
    summary = build_summary(make_session().snapshot(), elapsed=1.0, concurrency=12, strategy="flat",
                            backend="simulator", seed_pairs=[], auto_concurrency=auto)
    assert summary["concurrency"] == 12  # the JSON's type kept: under auto, the cap
    assert summary.get("concurrency_auto", False) is auto
    assert ("strategy", f"flat on simulator, {words}") in summary_rows(summary)


def test_session_end_on_a_terminal_does_not_repeat_the_table() -> None:
    summary = build_summary(make_session().snapshot(), elapsed=1.0, concurrency=1, strategy="flat",
                            backend="simulator", seed_pairs=[], session_id=7)
    limits = Limits(max_bets=500, max_duration=90.0, stop_loss=Decimal("10.00000000"))
    try:
        configure_logging(LogFormat.CONSOLE, stream=io.StringIO())
        assert lifecycle._end_fields(summary) == {"stop_reason": None, "bets": 0, "session_id": 7}
        assert lifecycle._limits_for_log(limits) == "max_bets=500 max_duration=90s stop_loss=10.00000000"
        configure_logging(LogFormat.JSON, stream=io.StringIO())
        assert lifecycle._end_fields(summary) == {k: v for k, v in summary.items() if k != "seed_pairs"}
        assert lifecycle._limits_for_log(limits) == {"max_bets": "500", "max_duration": "90s",
                                                     "stop_loss": "10.00000000"}
    finally:
        structlog.reset_defaults()
