"""The risk preview of `betbot run`: its horizon, its time budget, its figures against `simulate`'s, its words."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import structlog
from rich.console import Console

from betbot.config.settings import LogFormat, Settings
from betbot.core.rolls import RollSource
from betbot.montecarlo.driver import simulate
from betbot.montecarlo.executors import InProcessExecutor
from betbot.montecarlo.preview import (
    SESSIONS,
    UNBOUNDED_COVER,
    Horizon,
    preview_lines,
    print_preview,
    run_horizon,
    run_preview,
)
from betbot.montecarlo.spec import SimulationSpec
from betbot.observe.logs import configure_logging
from tests import preview_support


def frozen() -> float:
    """A clock that never moves: the budget never runs out, so the preview plays everything it wants."""
    return 0.0


def _simulate(settings: Settings, seed: str, sessions: int) -> Any:
    spec = SimulationSpec.create(settings, sessions=sessions, master_seed=seed, rolls=RollSource.FAST)
    return simulate(spec, InProcessExecutor()).aggregates


def _within(a: float, b: float, se_a: float, se_b: float) -> bool:
    return abs(a - b) <= 3 * math.sqrt(se_a**2 + se_b**2)


def test_the_preview_covers_the_runs_own_max_bets_and_agrees_with_simulate() -> None:
    # The case: over 3,000 bets simulate gives a stop-loss in about 38 % of sessions.
    settings = Settings(strategy="martingale", max_bets=3000, stop_loss="10%", seed="preview-test")
    preview = run_preview(settings, settings.balance, clock=frozen)
    assert (preview["horizon"], preview["horizon_source"], preview["max_bets"]) == (3000, "max_bets", 3000)
    assert preview["covers_horizon"]
    assert not preview["capped"]
    assert preview["sessions"] == SESSIONS
    assert preview["notes"] == []
    # Independent sessions (another seed): the same figures within 3 standard errors.
    other = _simulate(settings.model_copy(update={"seed": None}), "another-seed", SESSIONS)
    n = other.sessions
    for key, count in (("p_stop_loss", other.stopped_at_loss), ("p_ruin", other.ruined),
                       ("p_profit", other.profitable)):
        p = count / n
        assert _within(preview[key], p, preview[f"{key}_se"], math.sqrt(p * (1 - p) / n)), key
    assert 0.30 < preview["p_stop_loss"] < 0.46
    mean, error = other.mean_profit()
    assert _within(float(preview["mean_profit"]), float(mean) / 1e8, float(preview["mean_profit_se"]),
                   float(error) / 1e8)
    # The same seed: exactly simulate's figures, session for session.
    same = _simulate(settings, "preview-test", SESSIONS)
    assert preview["p_stop_loss"] == same.p_stop_loss
    assert preview["p_ruin"] == same.p_ruin


def test_the_generic_path_covers_the_horizon_too_and_agrees_with_simulate() -> None:
    settings = Settings(strategy="fibonacci", max_bets=60, stop_loss="0.3", balance="5", seed="fib")
    preview = run_preview(settings, settings.balance, clock=frozen)
    assert preview["max_bets"] == 60
    assert preview["covers_horizon"]
    assert 0.25 < preview["p_stop_loss"] < 0.5
    other = _simulate(settings, "another", 500)
    p = other.p_stop_loss
    assert _within(preview["p_stop_loss"], p, preview["p_stop_loss_se"], math.sqrt(p * (1 - p) / 500))


@pytest.mark.parametrize(("update", "expected"), [
    ({"max_duration": 60.0, "sim_latency": 0.05, "parallel": True, "max_concurrent": 5},
     Horizon(6000, "max_duration", 100.0)),
    ({"max_duration": 60.0, "sim_latency": 0.05, "parallel": True, "max_concurrent": 5, "max_rate": 10.0},
     Horizon(600, "max_duration", 10.0)),
    ({"max_duration": 60.0, "sim_latency": 0.05, "max_bets": 100}, Horizon(100, "max_bets")),
    ({"max_duration": 60.0, "sim_latency": 0.05, "max_bets": 5000}, Horizon(1200, "max_duration", 20.0)),
    ({"max_bets": 70}, Horizon(70, "max_bets")),
    ({}, Horizon(None, "none")),
])
def test_the_horizon_is_max_bets_or_the_bets_expected_before_max_duration(update: dict[str, Any],
                                                                          expected: Horizon) -> None:
    assert run_horizon(Settings(strategy="flat", **update)) == expected


def test_a_strategy_that_reads_every_result_runs_one_bet_at_a_time_in_the_horizon() -> None:
    settings = Settings(strategy="martingale", max_duration=60.0, sim_latency=0.05, parallel=True, max_concurrent=5)
    assert run_horizon(settings, tolerated=1) == Horizon(1200, "max_duration", 20.0)


def test_a_strategy_costing_a_second_a_call_stays_within_the_budget(tmp_path: Path) -> None:
    strategy_file = tmp_path / "slow.py"
    strategy_file.write_text("from tests.preview_support import SlowFlat\n")
    settings = Settings(strategy=f"{strategy_file}:SlowFlat", max_bets=1_000_000, seed="slow")
    clock = preview_support.CLOCK
    began = clock.now
    preview = run_preview(settings, settings.balance, budget=1.0, clock=clock)
    assert clock.now - began <= 3.0  # the warm-up bet, then the budget overrun by at most the one bet it timed
    assert preview["sessions"] >= 1
    assert not preview["covers_horizon"]
    text = " ".join(preview["notes"])
    assert "1,000,000 bets are more than the preview can play" in text
    assert f"these figures cover the first {preview['max_bets']:,} bet" in text
    assert "fitted in the time budget: the figures are rough" in text


def test_a_run_with_no_limit_at_all_is_told_it_loses_the_balance_to_the_edge() -> None:
    settings = Settings(strategy="flat", seed="u")
    preview = run_preview(settings, settings.balance, budget=0.05)
    assert preview["horizon"] is None
    assert preview["horizon_source"] == "none"
    assert preview["max_bets"] <= UNBOUNDED_COVER
    assert preview["notes"][0].startswith("no limit at all: the expected outcome of an unlimited run is losing the "
                                          "whole balance to the house edge")


def test_a_run_with_only_a_loss_limit_is_told_the_preview_covers_only_the_first_bets() -> None:
    settings = Settings(strategy="martingale", stop_loss="50%", seed="u")
    preview = run_preview(settings, settings.balance, budget=0.05)
    assert preview["notes"][0].startswith("no bet or time limit: the run goes on until a limit stops it")
    assert f"cover the first {preview['max_bets']:,} bets only" in preview["notes"][0]


def _preview(**changes: Any) -> dict[str, Any]:
    preview: dict[str, Any] = {
        "sessions": 2000, "max_bets": 3000, "horizon": 3000, "horizon_source": "max_bets", "covers_horizon": True,
        "capped": False, "rolls": "fast", "seed": "s", "p_ruin": 0.0, "p_ruin_se": 0.0, "p_stop_loss": 0.3775,
        "p_stop_loss_se": 0.0108, "p_take_profit": 0.0, "p_take_profit_se": 0.0, "p_profit": 0.6,
        "p_profit_se": 0.011, "mean_profit": "-1.20000000", "mean_profit_se": "0.10000000",
        "median_profit": "2.00000000", "profit_5pct": "-10.00000000", "expected_loss": "0.30000000",
        "seconds": 0.2, "notes": [],
    }
    preview.update(changes)
    return preview


def test_the_lines_put_each_figure_with_its_standard_error_and_the_quantile_in_words() -> None:
    lines = preview_lines(_preview(), "DOGE")
    assert lines[0] == "betbot: risk preview: 2,000 simulated sessions of the run's 3,000 bets (fast rolls, 0.20 s)"
    assert "stop-loss: 37.8 % ± 1.1 %" in lines[1]
    assert "bust: none of 2,000 (under 0.1 % at 95 %)" in lines[1]
    assert "1 session in 20 ends at or below -10.00000000 DOGE" in lines[2]
    assert "mean -1.20000000 ± 0.10000000" in lines[2]
    assert "5 % profit" not in " ".join(lines)


def test_the_lines_say_when_the_horizon_is_not_covered() -> None:
    lines = preview_lines(_preview(covers_horizon=False, capped=True, max_bets=120, notes=["too slow"]), "DOGE")
    assert "of the first 120 bets" in lines[0]
    assert lines[-1] == "  note: too slow"


def test_with_json_logs_the_preview_is_one_json_line() -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "info", stream=stream)
    try:
        err = Console(file=io.StringIO(), force_terminal=False)
        print_preview(err, _preview(), "DOGE")
        assert err.file.getvalue() == ""  # type: ignore[attr-defined]
        (line,) = stream.getvalue().splitlines()
        record = json.loads(line)
        assert record["event"] == "risk.preview"
        assert record["p_stop_loss"] == 0.3775
        assert record["currency"] == "DOGE"
    finally:
        structlog.reset_defaults()


def test_on_a_console_the_preview_is_lines_for_a_person() -> None:
    configure_logging(LogFormat.CONSOLE, "info", stream=io.StringIO())
    try:
        err = Console(file=io.StringIO(), width=200)
        print_preview(err, _preview(), "DOGE")
        assert err.file.getvalue().startswith("betbot: risk preview: 2,000 simulated")  # type: ignore[attr-defined]
    finally:
        structlog.reset_defaults()

