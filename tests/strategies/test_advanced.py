"""The advanced strategy: every knob on a scripted win/loss run; the classic presets equal the old classes
bet for bet; validation names the parameter; the state resumes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.config.build import build_strategy
from betbot.config.settings import Settings, SettingsError
from betbot.core.models import BetRequest
from betbot.core.strategy import StopStrategy, Strategy
from betbot.strategies.advanced import AdvancedStrategy
from betbot.strategies.advanced_params import AdvancedParams
from betbot.strategies.registry import load_strategy
from tests import classic_references as classic
from tests.strategies.test_strategies import CONTEXT, FakeView, amounts, play, step


def advanced(**options: Any) -> Strategy:
    return AdvancedStrategy.from_options({"base_bet": "1", **options}, CONTEXT)


def run(strategy: Strategy, script: str, payout: Decimal = Decimal(2)) -> tuple[list[Decimal], list[BetRequest],
                                                                                StopStrategy | None]:
    """Stakes and bets for a W/L script, up to and including the bet whose result stops the session."""
    view = FakeView()
    stakes: list[Decimal] = []
    bets: list[BetRequest] = []
    for outcome in script.replace(" ", ""):
        bet = strategy.next_bet(view)
        assert isinstance(bet, BetRequest)
        bets.append(bet)
        stake, verdict = step(strategy, view, outcome == "W", payout)
        stakes.append(stake)
        if verdict is not None:
            return stakes, bets, verdict
    return stakes, bets, None


# --- The defaults and each knob ---------------------------------------------------------------------------


def test_defaults_are_a_capped_martingale() -> None:
    assert play(advanced(), "LLLW LW") == amounts("1 2 4 8 1 2")
    assert play(advanced(), "L" * 10) == amounts("1 2 4 8 16 32 64 128 256 1")


@pytest.mark.parametrize(("on_win", "by", "expected"), [
    ("reset", "2", "1 2 4 1 2"),
    ("keep", "2", "1 2 4 4 8"),
    ("multiply", "3", "1 2 4 12 24"),
    ("divide", "2", "1 2 4 2 4"),
    ("add", "0.5", "1 2 4 4.5 9"),
    ("subtract", "1.5", "1 2 4 2.5 5"),
])
def test_each_action_on_a_win(on_win: str, by: str, expected: str) -> None:
    assert play(advanced(on_win=on_win, on_win_by=by, max_multiplies=None), "LLWL") == amounts(expected)[:4]
    assert play(advanced(on_win=on_win, on_win_by=by, max_multiplies=None), "LLWLW") == amounts(expected)


@pytest.mark.parametrize(("on_loss", "by", "expected"), [
    ("reset", "2", "1 2 1 1"),
    ("keep", "2", "1 2 2 2"),
    ("multiply", "1.5", "1 2 3 4.5"),
    ("add", "0.25", "1 2 2.25 2.5"),
])
def test_each_action_on_a_loss(on_loss: str, by: str, expected: str) -> None:
    # A win first (multiply by 2) so that a reset and a keep are visible.
    strategy = advanced(on_win="multiply", on_win_by="2", on_loss=on_loss, on_loss_by=by, max_multiplies=None)
    assert play(strategy, "WLLL") == amounts(expected)


def test_divide_and_subtract_never_go_below_base_bet() -> None:
    assert play(advanced(on_win="divide", on_win_by="4", max_multiplies=None), "LWWL") == amounts("1 2 1 1")
    assert play(advanced(on_win="subtract", on_win_by="5", on_loss="add", on_loss_by="1"), "LLWW") == \
        amounts("1 2 3 1")
    # A multiply by less than 1 is floored at base_bet too.
    assert play(advanced(on_loss="multiply", on_loss_by="0.5"), "LL") == amounts("1 1")


def test_act_only_every_nth_loss_and_win() -> None:
    assert play(advanced(every_nth_loss=2, max_multiplies=None), "LLLLLW L") == amounts("1 1 2 2 4 4 1")
    strategy = advanced(on_win="multiply", on_loss="reset", every_nth_win=3, max_multiplies=None)
    assert play(strategy, "WWWWWW W L W") == amounts("1 1 1 2 2 2 4 4 1")


def test_max_multiplies_then_reset() -> None:
    assert play(advanced(max_multiplies=2), "LLLLL") == amounts("1 2 4 1 2")
    # adds count as raises too
    assert play(advanced(on_loss="add", on_loss_by="1", max_multiplies=1), "LLLL") == amounts("1 2 1 2")


def test_none_switches_a_knob_off_from_the_command_line() -> None:
    assert play(advanced(max_multiplies="none"), "L" * 10)[-1] == 512
    assert play(advanced(max_multiplies="null", stop_after_wins="off"), "LW") == amounts("1 2")


def test_max_multiplies_then_stop() -> None:
    stakes, _, verdict = run(advanced(max_multiplies=2, at_max="stop"), "LLLLL")
    assert stakes == amounts("1 2 4")
    assert verdict is not None
    assert "max_multiplies" in verdict.reason


def test_change_chance_after_a_losing_streak_and_back_after_a_win() -> None:
    _, bets, _ = run(advanced(on_loss="keep", chance_after_losses=2, loss_streak_chance="80"), "LLLWL")
    assert [bet.chance for bet in bets] == [Decimal("49.5"), Decimal("49.5"), Decimal(80), Decimal(80),
                                            Decimal("49.5")]


def test_change_chance_after_a_winning_streak() -> None:
    _, bets, _ = run(advanced(on_loss="keep", chance_after_wins=1, win_streak_chance="10.5"), "WWLW")
    assert [bet.chance for bet in bets] == [Decimal("49.5"), Decimal("10.5"), Decimal("10.5"), Decimal("49.5")]


def test_switch_high_low_every_n_bets_zig_zag() -> None:
    _, bets, _ = run(advanced(switch_after_bets=1), "WLWL")
    assert [bet.high for bet in bets] == [True, False, True, False]
    _, bets, _ = run(advanced(switch_after_bets=2, high=False), "WLWLW")
    assert [bet.high for bet in bets] == [False, False, True, True, False]


def test_switch_after_n_wins_or_n_losses_in_a_row() -> None:
    _, bets, _ = run(advanced(switch_after_wins=2), "WWWWL")
    assert [bet.high for bet in bets] == [True, True, False, False, True]
    _, bets, _ = run(advanced(switch_after_losses=3, max_multiplies=None), "LLLLW")
    assert [bet.high for bet in bets] == [True, True, True, False, False]


def test_reset_after_n_wins_or_losses_in_a_row() -> None:
    strategy = advanced(on_win="multiply", on_loss="keep", reset_after_wins=3, max_multiplies=None)
    assert play(strategy, "WWWW L") == amounts("1 2 4 1 2")
    strategy = advanced(reset_after_losses=3, max_multiplies=None)
    assert play(strategy, "LLLLW") == amounts("1 2 4 1 2")


def test_reset_after_a_profit_or_a_loss_since_the_last_reset() -> None:
    # -1 after the loss, +2 and +2 after the wins: the second win brings the cycle to 3 >= 2 and resets
    strategy = advanced(on_win="keep", on_loss="add", on_loss_by="1", reset_after_profit="2", max_multiplies=None)
    assert play(strategy, "LWWW") == amounts("1 2 2 1")
    strategy = advanced(on_loss="multiply", reset_after_loss="3", max_multiplies=None)
    assert play(strategy, "LLLL") == amounts("1 2 1 2")  # 1 + 2 lost reaches 3: back to base


@pytest.mark.parametrize(("options", "script", "bets", "reason"), [
    ({"stop_after_wins": 3}, "WLWLLW LL", 6, "3 wins"),
    ({"stop_after_losses": 2}, "WLWL WW", 4, "2 losses"),
    ({"stop_after_win_streak": 2}, "WLWW LL", 4, "2 wins in a row"),
    ({"stop_after_loss_streak": 3, "max_multiplies": None}, "LLWLLL W", 6, "3 losses in a row"),
    ({"stop_after_streak_won": "3", "on_win": "multiply", "on_loss": "reset"}, "WLWW W", 4, "won 3"),
    ({"stop_after_streak_lost": "7"}, "LLWLLL W", 6, "lost 7"),
])
def test_stops(options: dict[str, Any], script: str, bets: int, reason: str) -> None:
    stakes, _, verdict = run(advanced(**options), script)
    assert len(stakes) == bets
    assert verdict is not None
    assert reason in verdict.reason
    name = next(iter(options))
    assert name in verdict.reason


def test_knobs_combine_in_the_documented_order() -> None:
    # The reset (step 4) overrides the action (step 3) of the same result; the chance (step 5) follows the
    # streak; the side (step 6) switches after the reset.
    strategy = advanced(on_win="multiply", on_loss="keep", reset_after_wins=2, chance_after_wins=2,
                        win_streak_chance="25", switch_after_wins=2, max_multiplies=None)
    stakes, bets, _ = run(strategy, "WWW")
    assert stakes == amounts("1 2 1")
    assert [(bet.chance, bet.high) for bet in bets] == [(Decimal("49.5"), True), (Decimal("49.5"), True),
                                                        (Decimal(25), False)]


def test_deciding_changes_nothing_and_stakes_are_unrounded_until_placed() -> None:
    strategy = AdvancedStrategy.from_options({"base_bet": "0.00000003", "on_loss_by": "1.5"}, CONTEXT)
    assert play(strategy, "LLLL") == amounts("0.00000003 0.00000004 0.00000006 0.00000010")


def test_state_round_trips_through_json() -> None:
    options = {"base_bet": "0.00000003", "on_loss_by": "1.5", "switch_after_losses": 2,
               "chance_after_losses": 3, "loss_streak_chance": "66"}
    original = AdvancedStrategy.from_options(options, CONTEXT)
    play(original, "LLLL")
    state = json.loads(json.dumps(original.save_state()))
    assert set(state) == set(AdvancedStrategy.state_fields)
    assert state["stake"] == "0.000000151875"  # fixed-point text, never 1.51875E-7
    resumed = AdvancedStrategy.from_options(options, CONTEXT)
    resumed.restore_state(state)
    assert resumed.save_state() == original.save_state()
    _, expected, _ = run(original, "LLWL")
    _, again, _ = run(resumed, "LLWL")
    assert again == expected


def test_parameter_model_is_frozen_and_documented() -> None:
    params = AdvancedParams()
    with pytest.raises(ValueError, match="frozen"):
        params.on_loss = "keep"  # type: ignore[misc]
    for name, field in AdvancedParams.model_fields.items():
        assert field.description, name


# --- The presets are the classic progressions, bet for bet -------------------------------------------------

RESULTS = st.lists(st.booleans(), min_size=1, max_size=120)
BASES = st.sampled_from(["0.00000001", "0.00000003", "0.01", "0.1234", "1", "7.5"]).map(Decimal)
MULTIPLIERS = st.sampled_from(["1.01", "1.1", "1.37", "1.5", "2", "2.5", "3", "10"]).map(Decimal)


def stakes_of(name: str, results: list[bool], **options: Any) -> list[Decimal]:
    strategy = load_strategy(name).from_options(options, CONTEXT)
    return play(strategy, "".join("W" if win else "L" for win in results))


@settings(max_examples=150, deadline=None)
@given(RESULTS, BASES, MULTIPLIERS, st.integers(1, 12), st.booleans())
def test_martingale_preset_equals_the_classic(results: list[bool], base: Decimal, multiplier: Decimal,
                                              max_multiplies: int, reset_on_win: bool) -> None:
    expected = classic.martingale(base, multiplier, max_multiplies, reset_on_win, results)
    assert stakes_of("martingale", results, base_bet=base, multiplier=multiplier, max_multiplies=max_multiplies,
                     reset_on_win=reset_on_win) == expected


@settings(max_examples=150, deadline=None)
@given(RESULTS, BASES, MULTIPLIERS, st.integers(1, 12))
def test_anti_martingale_preset_equals_the_classic(results: list[bool], base: Decimal, multiplier: Decimal,
                                                   max_multiplies: int) -> None:
    expected = classic.anti_martingale(base, multiplier, max_multiplies, results)
    assert stakes_of("anti-martingale", results, base_bet=base, multiplier=multiplier,
                     max_multiplies=max_multiplies) == expected


@settings(max_examples=150, deadline=None)
@given(RESULTS, BASES, st.none() | st.sampled_from(["0.00000001", "0.005", "0.5", "3"]).map(Decimal),
       st.none() | st.integers(1, 12))
def test_dalembert_preset_equals_the_classic(results: list[bool], base: Decimal, increment: Decimal | None,
                                             max_steps: int | None) -> None:
    expected = classic.dalembert(base, increment, max_steps, results)
    options: dict[str, Any] = {"base_bet": base}
    if increment is not None:
        options["increment"] = increment
    if max_steps is not None:
        options["max_steps"] = max_steps
    assert stakes_of("dalembert", results, **options) == expected


@settings(max_examples=150, deadline=None)
@given(RESULTS, BASES, st.integers(1, 10))
def test_paroli_preset_equals_the_classic(results: list[bool], base: Decimal, target_wins: int) -> None:
    expected = classic.paroli(base, target_wins, results)
    assert stakes_of("paroli", results, base_bet=base, target_wins=target_wins) == expected


@pytest.mark.parametrize("name", ["martingale", "anti-martingale", "dalembert", "paroli"])
def test_presets_are_the_advanced_strategy(name: str) -> None:
    cls = load_strategy(name)
    assert issubclass(cls, AdvancedStrategy)
    assert cls.on_result is AdvancedStrategy.on_result  # one implementation of the arithmetic
    strategy = cls.from_options({}, CONTEXT)
    assert isinstance(strategy, AdvancedStrategy)
    assert isinstance(strategy.rules, AdvancedParams)
    assert strategy.rules == cls.Params().to_advanced()  # type: ignore[attr-defined]


def test_a_preset_played_as_advanced_params_bets_the_same() -> None:
    martingale = load_strategy("martingale").from_options({"multiplier": "3", "max_multiplies": 3}, CONTEXT)
    assert isinstance(martingale, AdvancedStrategy)
    same = AdvancedStrategy(martingale.rules, CONTEXT)
    script = "LLLLLWLLWWLLLLLLLW"
    assert play(same, script) == play(martingale, script)


# --- Validation: one line naming the parameter -------------------------------------------------------------


@pytest.mark.parametrize(("params", "named"), [
    ({"on_win": "double"}, "on_win"),
    ({"on_loss_by": "0"}, "on_loss_by"),
    ({"on_loss_by": "-2"}, "on_loss_by"),
    ({"on_loss": "add", "on_loss_by": "0.000000001"}, "on_loss_by"),
    ({"every_nth_loss": 0}, "every_nth_loss"),
    ({"every_nth_win": "often"}, "every_nth_win"),
    ({"max_multiplies": -1}, "max_multiplies"),
    ({"at_max": "pause"}, "at_max"),
    ({"chance_after_losses": 3}, "loss_streak_chance"),
    ({"loss_streak_chance": "80"}, "chance_after_losses"),
    ({"chance_after_wins": 2, "win_streak_chance": "99.5"}, "win_streak_chance"),
    ({"win_streak_chance": "12.345", "chance_after_wins": 1}, "win_streak_chance"),
    ({"switch_after_bets": 0}, "switch_after_bets"),
    ({"reset_after_profit": "0"}, "reset_after_profit"),
    ({"reset_after_loss": "0.123456789"}, "reset_after_loss"),
    ({"stop_after_streak_lost": "-1"}, "stop_after_streak_lost"),
    ({"stop_after_win_streak": 0}, "stop_after_win_streak"),
    ({"on_win_by": "NaN"}, "on_win_by"),
])
def test_bad_parameters_are_one_line_naming_the_parameter(params: dict[str, Any], named: str) -> None:
    settings = Settings(strategy="advanced", params=params)
    with pytest.raises(SettingsError) as info:
        build_strategy(settings, CONTEXT)
    message = str(info.value)
    assert named in message
    assert "\n" not in message
    assert "advanced" in message
