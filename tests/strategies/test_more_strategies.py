"""The strategies added with the advanced mode: preset list, Kelly-capped, percent of balance, the low-chance
hunter, reverse Labouchère and Fibonacci's steps and level reset, on scripted win/loss runs."""

from __future__ import annotations

import json
from decimal import ROUND_UP, Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from betbot.config.build import build_strategy
from betbot.config.settings import Settings, SettingsError
from betbot.core.strategy import StopStrategy, Strategy
from betbot.strategies.registry import load_strategy
from betbot.strategies.sizing import kelly_fraction
from tests.strategies.test_strategies import CONTEXT, FakeView, amounts, play, step


def build(name: str, **options: Any) -> Strategy:
    return load_strategy(name).from_options(options, CONTEXT)


def until_stop(strategy: Strategy, script: str) -> tuple[list[Decimal], StopStrategy | None]:
    view = FakeView()
    stakes = []
    for outcome in script:
        stake, verdict = step(strategy, view, outcome == "W")
        stakes.append(stake)
        if verdict is not None:
            return stakes, verdict
    return stakes, None


# --- Preset list ---------------------------------------------------------------------------------------------


def test_preset_list_steps_on_loss_and_loops() -> None:
    assert play(build("preset-list", base_bet="1"), "LLLLLL W L") == amounts("1 2 3 5 8 1 2 1")


def test_preset_list_stops_or_holds_at_the_end() -> None:
    stakes, verdict = until_stop(build("preset-list", base_bet="1", sequence=[1, 2, 3], at_end="stop"), "LLLL")
    assert stakes == amounts("1 2 3")
    assert verdict is not None
    assert "at_end" in verdict.reason
    assert play(build("preset-list", base_bet="1", sequence=[1, 2], at_end="hold"), "LLLW") == amounts("1 2 2 2")


def test_preset_list_steps_on_win_previous_and_keep() -> None:
    strategy = build("preset-list", base_bet="0.5", sequence=["1", "2.5", "4"], on_win="next", on_loss="first")
    assert play(strategy, "WWLW") == amounts("0.5 1.25 2 0.5")
    strategy = build("preset-list", base_bet="1", on_win="previous", on_loss="next")
    assert play(strategy, "LLLWWW L") == amounts("1 2 3 5 3 2 1")
    assert play(build("preset-list", base_bet="1", on_win="keep"), "LWWL") == amounts("1 2 2 2")


def test_preset_list_state_resumes() -> None:
    original = build("preset-list", base_bet="1")
    play(original, "LLL")
    resumed = build("preset-list", base_bet="1")
    resumed.restore_state(json.loads(json.dumps(original.save_state())))
    assert play(resumed, "LW") == play(original, "LW") == amounts("5 8")


# --- Percent of balance and Kelly ----------------------------------------------------------------------------


def test_percent_of_balance_follows_the_balance_and_floors_at_base_bet() -> None:
    strategy = build("percent-of-balance", percent="1")
    assert play(strategy, "LWL") == amounts("1 0.99 0.9999")
    assert play(build("percent-of-balance", percent="0.001", base_bet="0.5"), "L") == amounts("0.5")


def test_kelly_bets_base_bet_at_the_true_odds() -> None:
    assert kelly_fraction(Decimal("0.495"), Decimal(2)) < 0  # the house edge: Kelly says do not bet
    assert play(build("kelly"), "LLWW") == amounts("0.01 0.01 0.01 0.01")


def test_kelly_with_a_believed_edge_is_a_capped_fraction_of_the_balance() -> None:
    # payout 2 at 49.5 % (1 % edge); believing 60 %: f* = 0.6 - 0.4 = 0.2, half-Kelly 0.1, capped at 1 %.
    assert kelly_fraction(Decimal("0.6"), Decimal(2)) == Decimal("0.2")
    assert play(build("kelly", win_probability="60"), "LW") == amounts("1 0.99")
    assert play(build("kelly", win_probability="60", cap_percent="50"), "LW") == amounts("10 9")
    assert play(build("kelly", win_probability="60", cap_percent="50", kelly_fraction="1"), "L") == amounts("20")


# --- The hunter ----------------------------------------------------------------------------------------------


def test_hunter_recovers_the_hunt_plus_a_base_win() -> None:
    strategy = build("hunter")  # 1 % pays 99: a win nets 98 times the stake
    stakes = play(strategy, "LLLW L")
    lost = Decimal(0)
    for stake in stakes[:4]:
        expected = max(Decimal("0.01"), ((lost + Decimal("0.98")) / 98).quantize(Decimal("1E-8"), rounding=ROUND_UP))
        assert stake == expected
        lost += stake
    assert stakes[4] == Decimal("0.01")  # the win ended the hunt
    assert stakes[3] * 98 >= sum(stakes[:3]) + Decimal("0.98")  # the win recovered the hunt and made the target


def test_hunter_bets_its_low_chance_and_caps_the_stake() -> None:
    bet = build("hunter").next_bet(FakeView())
    assert bet.chance == Decimal(1)  # type: ignore[union-attr]
    stakes = play(build("hunter", base_bet="1", max_stake="1.05"), "L" * 8)
    assert max(stakes) <= Decimal("1.05")
    assert stakes.count(Decimal(1)) == 2  # the cap started a new hunt
    stakes, verdict = until_stop(build("hunter", base_bet="1", max_stake="1.05", at_max="stop"), "L" * 8)
    assert verdict is not None
    assert "max_stake" in verdict.reason


def test_hunter_parameters_are_checked() -> None:
    with pytest.raises(ValidationError, match="max_stake"):
        build("hunter", base_bet="2", max_stake="1")
    with pytest.raises(ValidationError, match="profit_target"):
        build("hunter", profit_target="0.000000001")


# --- Reverse Labouchère and Fibonacci's options -------------------------------------------------------------


def test_reverse_labouchere_appends_on_a_win_and_crosses_off_on_a_loss() -> None:
    strategy = build("labouchere", base_bet="1", reverse=True)
    view = FakeView()
    assert play(strategy, "WLLL", view=view) == amounts("5 6 6 3")
    assert view.profit == -10  # a cleared line in reverse loses its sum...
    assert play(strategy, "W", view=view) == amounts("5")  # ...and starts again


def test_fibonacci_steps_and_level_reset() -> None:
    assert play(build("fibonacci", base_bet="1", loss_steps=2), "LLL") == amounts("1 2 5")
    assert play(build("fibonacci", base_bet="1", win_steps=1), "LLLWW") == amounts("1 1 2 3 2")
    assert play(build("fibonacci", base_bet="1", reset_on_win=True), "LLLLW") == amounts("1 1 2 3 5")
    assert play(build("fibonacci", base_bet="1", reset_on_win=True), "LLLLWL") == amounts("1 1 2 3 5 1")
    stakes, verdict = until_stop(build("fibonacci", base_bet="1", max_steps=2, at_max="stop"), "LLLL")
    assert stakes == amounts("1 1 2")
    assert verdict is not None
    assert "max_steps" in verdict.reason


def test_hunter_state_resumes_as_decimal() -> None:
    original = build("hunter")
    play(original, "LLL")
    state = json.loads(json.dumps(original.save_state()))
    assert state == {"hunt_loss": "0.03030718"}  # 0.01 + 0.01010205 + 0.01020513
    resumed = build("hunter")
    resumed.restore_state(state)
    assert play(resumed, "LW") == play(original, "LW")


@pytest.mark.parametrize(("name", "params", "named"), [
    ("preset-list", {"sequence": []}, "sequence"),
    ("preset-list", {"sequence": [1, 0]}, "sequence"),
    ("preset-list", {"on_win": "back"}, "on_win"),
    ("preset-list", {"at_end": "wrap"}, "at_end"),
    ("kelly", {"win_probability": "100"}, "win_probability"),
    ("kelly", {"kelly_fraction": "0"}, "kelly_fraction"),
    ("kelly", {"cap_percent": "150"}, "cap_percent"),
    ("percent-of-balance", {"percent": "0"}, "percent"),
    ("percent-of-balance", {"percent": "101"}, "percent"),
    ("hunter", {"chance": "0"}, "chance"),
    ("hunter", {"at_max": "pause"}, "at_max"),
    ("labouchere", {"reverse": "sometimes"}, "reverse"),
    ("fibonacci", {"loss_steps": 0}, "loss_steps"),
    ("fibonacci", {"win_steps": -1}, "win_steps"),
    ("fibonacci", {"at_max": "pause"}, "at_max"),
])
def test_bad_parameters_are_one_line_naming_the_parameter(name: str, params: dict[str, Any], named: str) -> None:
    with pytest.raises(SettingsError) as info:
        build_strategy(Settings(strategy=name, params=params), CONTEXT)
    message = str(info.value)
    assert f"invalid parameter {named}" in message
    assert name in message
    assert "\n" not in message
