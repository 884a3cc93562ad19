"""Bad input to `betbot run` (issue 9, item 5), each in a subprocess: exit code 2, one line on stderr naming
the field and the fix, no traceback, and nothing written: no journal file, not even its directory."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from betbot.strategies.registry import available_strategies, load_strategy
from tests.cli_support import betbot as run_betbot


def betbot(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_betbot(*args, env={"XDG_DATA_HOME": str(tmp_path / "data"), **(env or {})}, timeout=60)


def assert_bad_input(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("betbot: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert result.stdout == ""
    return lines[0]


CASES = [
    pytest.param(["--chance", "98.5", "--strategy", "martingale"], ("chance", "98.5", "from 0.01 to 98"),
                 id="chance-above-the-site-max"),
    pytest.param(["--chance", "0.001", "--strategy", "martingale"], ("chance", "from 0.01 to 98"),
                 id="chance-below-the-site-min"),
    pytest.param(["--chance", "60", "--max-chance", "50", "--strategy", "martingale"], ("chance", "to 50"),
                 id="chance-above-a-lowered-max"),
    pytest.param(["--param", "chance=99", "--strategy", "martingale"], ("params.chance", "--param", "to 98"),
                 id="chance-as-a-parameter"),
    pytest.param(["-p", "base_bet=1e400"], ("base_bet", "too large"), id="amount-overflows-decimal"),
    pytest.param(["-p", "base_bet=1e400", "--strategy", "dalembert"], ("base_bet", "too large"),
                 id="amount-overflows-decimal-dalembert"),
    pytest.param(["--take-profit", "1e400%"], ("take_profit", "too large"), id="percentage-overflows"),
    pytest.param(["--balance", "1e400"], ("balance", "too large"), id="balance-overflows"),
    pytest.param(["--stop-loss", "100.01%"], ("stop_loss", "at most 100%"), id="stop-loss-above-100-percent"),
    pytest.param(["--min-balance", "100"], ("min_balance", "not below the starting balance 100.00000000"),
                 id="min-balance-at-the-balance"),
    pytest.param(["--min-balance", "80", "--balance", "50"], ("min_balance", "--balance"),
                 id="min-balance-above-the-balance"),
    pytest.param(["--resume", "3"], ("--resume 3", "no journal at"), id="resume-without-a-journal"),
    pytest.param(["--sim-latency", "50"], ("sim_latency", "'50' has no unit: write 50ms or 50s"),
                 id="latency-without-a-unit"),
]


@pytest.mark.parametrize(("args", "needles"), CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, args: list[str],
                                                         needles: tuple[str, ...]) -> None:
    result = betbot(tmp_path, "run", "--max-bets", "5", *args)
    assert_bad_input(result, *needles)
    assert not (tmp_path / "data").exists()  # not even the directory of the default journal


@pytest.mark.parametrize(("args", "needles"), CASES[:1] + CASES[4:5] + CASES[8:])
def test_an_explicit_journal_is_not_created_either(tmp_path: Path, args: list[str],
                                                   needles: tuple[str, ...]) -> None:
    journal = tmp_path / "journals" / "j.sqlite3"
    result = betbot(tmp_path, "run", "--max-bets", "5", "--journal", str(journal), *args)
    assert_bad_input(result, *needles)
    assert not journal.parent.exists()


def test_bad_input_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    result = betbot(tmp_path, "run", "--max-bets", "5", "--strategy", "martingale", env={"BETBOT_CHANCE": "99"})
    assert_bad_input(result, "chance", "BETBOT_CHANCE")
    assert not (tmp_path / "data").exists()


def test_limits_that_fit_run(tmp_path: Path) -> None:
    # The edges that are allowed: the checks above reject only what is really wrong.
    result = betbot(tmp_path, "run", "--max-bets", "5", "--strategy", "martingale", "--chance", "98",
                    "--stop-loss", "100%", "--min-balance", "99.99999999", "--no-journal", "--seed", "edges")
    assert result.returncode == 0, result.stderr


def test_min_balance_is_not_checked_against_the_simulated_balance_of_a_live_run() -> None:
    from betbot.config.settings import load_settings  # noqa: PLC0415

    # A live run learns its balance from the site (the lifecycle checks it then); a resumed one from the journal.
    assert load_settings({"min_balance": "500", "live": True}).min_balance == Decimal(500)
    assert load_settings({"min_balance": "500"}, new_session=False).min_balance == Decimal(500)


def validated(params: type[BaseModel], field: str, value: str) -> object:
    """The value `field` takes when given `value` alone, or the ValidationError refusing it."""
    try:
        return getattr(params.model_validate({field: value}), field)
    except ValidationError as exc:
        return exc


@pytest.mark.parametrize("name", available_strategies())
def test_no_strategy_parameter_crashes_on_a_huge_number(name: str) -> None:
    params = load_strategy(name).Params
    for field in params.model_fields:
        for value in ("1e400", "-1e400", "1e28", "1e-400"):
            # A ValidationError naming the field is the one-line "invalid parameter"; anything else raised
            # here is a crash (exit 1), and a huge number accepted is a crash later, mid-session.
            outcome = validated(params, field, value)
            if isinstance(outcome, ValidationError):
                named = {error["loc"][:1] for error in outcome.errors() if error["type"] != "missing"}
                assert named == {(field,)}, outcome  # (a required field left out here is no crash)
                continue
            assert value == "1e-400", f"{name} {field}={value} was accepted as {outcome!r}"
            assert isinstance(outcome, Decimal), f"{name} {field}={value} was accepted as {outcome!r}"
            assert outcome.is_finite()
            assert abs(outcome) < 1  # a tiny rate or share, exactly as given
