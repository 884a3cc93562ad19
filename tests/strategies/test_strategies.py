"""The built-in strategies: scripted win/loss runs give exact stakes; parameters validate; state resumes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from betbot.core.fairness import win_profit
from betbot.core.models import BetRequest, Settled
from betbot.core.strategy import DiceParams, StopStrategy, Strategy, StrategyContext
from betbot.strategies.registry import BUILTIN_STRATEGIES, load_strategy

CONTEXT = StrategyContext(currency="DOGE", starting_balance=Decimal(100))
EVEN = Decimal(2)
# The built-ins played by name alone; `lua` needs a script (tests/lua/ covers it).
NAMED = [name for name in BUILTIN_STRATEGIES if name != "lua"]
PROGRESSIONS = [name for name in NAMED if name != "flat"]


@dataclass
class FakeView:
    """Just enough of a session for a strategy to read: updated by `record` as results come in."""

    balance: Decimal = Decimal(100)
    starting_balance: Decimal = Decimal(100)
    wagered: Decimal = Decimal(0)
    bets: int = 0
    wins: int = 0
    losses: int = 0
    streak: int = 0
    in_flight: int = 0
    exposure: Decimal = Decimal(0)

    @property
    def profit(self) -> Decimal:
        return self.balance - self.starting_balance

    def record(self, result: Settled) -> None:
        self.bets += 1
        self.wagered += result.bet.amount
        self.balance = result.balance
        if result.win:
            self.wins += 1
            self.streak = self.streak + 1 if self.streak > 0 else 1
        else:
            self.losses += 1
            self.streak = self.streak - 1 if self.streak < 0 else -1


def build(name: str, **options: Any) -> Strategy:
    return load_strategy(name).from_options(options, CONTEXT)


def amounts(text: str) -> list[Decimal]:
    return [Decimal(item) for item in text.split()]


def settle(bet: BetRequest, win: bool, seq: int, balance: Decimal, payout: Decimal = EVEN) -> Settled:
    profit = win_profit(bet.amount, payout) if win else -bet.amount
    return Settled(
        seq=seq, bet=bet, number=9999 if win else 0, win=win, payout=payout, profit=profit,
        balance=balance + profit, nonce=seq, bet_hash=f"hash-{seq}",
    )


def step(strategy: Strategy, view: FakeView, win: bool, payout: Decimal = EVEN) -> tuple[Decimal, StopStrategy | None]:
    """One bet: decide (twice, to show deciding does not advance the progression), settle, report."""
    decision = strategy.next_bet(view)
    assert isinstance(decision, BetRequest)
    assert strategy.next_bet(view) == decision
    result = settle(decision, win, view.bets, view.balance, payout)
    view.record(result)
    return decision.amount, strategy.on_result(result, view)


def play(strategy: Strategy, script: str, payout: Decimal = EVEN, view: FakeView | None = None) -> list[Decimal]:
    """The stakes bet for a script of W (win) and L (loss); spaces are ignored. No stop is expected."""
    view = view or FakeView()
    stakes = []
    for outcome in script.replace(" ", ""):
        assert outcome in "WL"
        stake, verdict = step(strategy, view, outcome == "W", payout)
        assert verdict is None
        stakes.append(stake)
    return stakes


# --- Scripted stake sequences ----------------------------------------------------------------------------


def test_flat_bets_base_bet_whatever_happens() -> None:
    assert play(build("flat"), "WLLWLLLW") == amounts("0.01 " * 8)
    assert play(build("flat", base_bet="0.5"), "LW") == amounts("0.5 0.5")


def test_flat_decides_without_results() -> None:
    flat = build("flat", base_bet="0.25")
    view = FakeView(in_flight=3, exposure=Decimal("0.75"))
    bets = [flat.next_bet(view) for _ in range(3)]
    assert [bet.amount for bet in bets if isinstance(bet, BetRequest)] == amounts("0.25 0.25 0.25")


def test_bets_carry_chance_side_and_currency() -> None:
    for name in NAMED:
        bet = build(name, chance="33.33", high=False).next_bet(FakeView())
        assert isinstance(bet, BetRequest)
        assert (bet.chance, bet.high, bet.currency, bet.faucet) == (Decimal("33.33"), False, "DOGE", False)
        assert bet.game.value == "dice"


def test_martingale_doubles_on_loss_and_resets_on_win() -> None:
    assert play(build("martingale"), "LLLW LW W") == amounts("0.01 0.02 0.04 0.08 0.01 0.02 0.01")


def test_martingale_resets_after_max_multiplies() -> None:
    stakes = play(build("martingale"), "L" * 10 + "W")
    assert stakes == amounts("0.01 0.02 0.04 0.08 0.16 0.32 0.64 1.28 2.56 0.01 0.02")
    assert play(build("martingale", base_bet="1", multiplier="3", max_multiplies=2), "LLLLW") == amounts("1 3 9 1 3")


def test_martingale_without_reset_divides_on_win_down_to_base() -> None:
    strategy = build("martingale", base_bet="1", reset_on_win=False)
    assert play(strategy, "LLLWWWWLW W") == amounts("1 2 4 8 4 2 1 1 2 1")


def test_martingale_stakes_are_quantised_powers_not_compounded_roundings() -> None:
    # 3 * 1.5**k satoshis, rounded down each time: 3, 4.5, 6.75, 10.125 -> 3, 4, 6, 10 (compounding the
    # rounded stakes would give 3, 4, 6, 9).
    strategy = build("martingale", base_bet="0.00000003", multiplier="1.5")
    assert play(strategy, "LLLL") == amounts("0.00000003 0.00000004 0.00000006 0.00000010")


def test_anti_martingale_lets_wins_ride_and_resets_on_loss() -> None:
    strategy = build("anti-martingale", base_bet="1", max_multiplies=2)
    assert play(strategy, "WWWW L W L L") == amounts("1 2 4 1 2 1 2 1")


def test_anti_martingale_defaults() -> None:
    assert play(build("anti-martingale"), "WWWWWW") == amounts("0.01 0.02 0.04 0.08 0.16 0.01")
    assert play(build("anti-martingale", base_bet="1", multiplier="1.5"), "WWL") == amounts("1 1.5 2.25")


def test_dalembert_adds_on_loss_and_subtracts_on_win_never_below_base() -> None:
    strategy = build("dalembert", base_bet="1")
    assert play(strategy, "LLLWLWWWWL") == amounts("1 2 3 4 3 4 3 2 1 1")


def test_dalembert_custom_increment_and_max_steps() -> None:
    strategy = build("dalembert", base_bet="1", increment="0.5", max_steps=2)
    assert play(strategy, "LLLLW W") == amounts("1 1.5 2 1 1.5 1")
    assert play(build("dalembert"), "LLW") == amounts("0.01 0.02 0.03")


def test_fibonacci_one_step_on_after_loss_two_back_after_win() -> None:
    strategy = build("fibonacci", base_bet="1")
    assert play(strategy, "LLLLLWWLWW") == amounts("1 1 2 3 5 8 3 1 2 1")


def test_fibonacci_resets_after_max_steps() -> None:
    assert play(build("fibonacci", base_bet="1", max_steps=3), "LLLLLW") == amounts("1 1 2 3 1 1")
    stakes = play(build("fibonacci"), "L" * 14)
    assert stakes[-2:] == amounts("2.33 0.01")  # step 12 bets 233 units, then the cap resets


def test_labouchere_cancels_ends_on_win_and_appends_on_loss() -> None:
    strategy = build("labouchere", base_bet="1")
    view = FakeView()
    stakes = play(strategy, "LWWW", view=view)
    assert stakes == amounts("5 6 6 3")
    assert view.profit == 10  # clearing the line wins the sum of the starting line
    assert play(strategy, "LLW", view=view) == amounts("5 6 7")  # the cleared line started again


def test_labouchere_single_item_and_custom_sequence() -> None:
    strategy = build("labouchere", base_bet="0.01", sequence=[2, 1, 1])
    assert play(strategy, "WW") == amounts("0.03 0.01")
    assert play(build("labouchere", base_bet="1", sequence=[3]), "LWW") == amounts("3 6 3")


def test_labouchere_stops_after_cycles() -> None:
    strategy = build("labouchere", base_bet="1", sequence=[2], stop_after_cycles=2)
    view = FakeView()
    assert step(strategy, view, True) == (Decimal(2), None)
    assert step(strategy, view, False) == (Decimal(2), None)
    stake, verdict = step(strategy, view, True)
    assert stake == 4
    assert isinstance(verdict, StopStrategy)
    assert "2 times" in verdict.reason


def test_paroli_doubles_up_to_target_wins() -> None:
    assert play(build("paroli", base_bet="1"), "WWWW L W L L") == amounts("1 2 4 1 2 1 2 1")
    assert play(build("paroli", base_bet="1", target_wins=2), "WWW") == amounts("1 2 1")


def test_oscars_grind_even_money() -> None:
    strategy = build("oscars-grind", base_bet="1")
    view = FakeView()
    assert play(strategy, "LLLWLWW", view=view) == amounts("1 1 1 1 2 2 3")
    assert view.profit == 1  # the cycle ended one unit up...
    assert play(strategy, "W", view=view) == amounts("1")  # ...and a new one started from one unit


def test_oscars_grind_never_overshoots_the_cycle_target() -> None:
    # After L W the cycle is even: a raise to 2 units would finish 2 up, so it bets just the 1 it needs.
    assert play(build("oscars-grind", base_bet="1"), "LWWW") == amounts("1 1 1 1")
    assert play(build("oscars-grind", base_bet="1"), "LLWWWL") == amounts("1 1 1 2 1 1")


def test_oscars_grind_counts_the_real_payout() -> None:
    # At 1.98 a 1-unit win after a loss leaves the cycle 0.02 down: finishing it takes 1.02 / 0.98,
    # rounded up to the satoshi so the site's rounded-down profit still reaches the target.
    strategy = build("oscars-grind", base_bet="1")
    view = FakeView()
    assert play(strategy, "LWW", payout=Decimal("1.98"), view=view) == amounts("1 1 1.04081633")
    assert view.profit == 1
    assert play(strategy, "L", payout=Decimal("1.98"), view=view) == amounts("1")


def test_oscars_grind_never_bets_below_one_unit() -> None:
    # A first win at 1.98 leaves 0.02 to go; 0.0204... would do, but base_bet is the floor.
    assert play(build("oscars-grind", base_bet="1"), "WWW", payout=Decimal("1.98")) == amounts("1 1 1")


def test_one_three_two_six() -> None:
    strategy = build("one-three-two-six", base_bet="1")
    assert play(strategy, "WWWWWLWWLL") == amounts("1 3 2 6 1 3 1 3 2 1")
    assert play(build("one-three-two-six"), "WWW") == amounts("0.01 0.03 0.02")


# --- Parameters -------------------------------------------------------------------------------------------


def bad_options() -> list[tuple[str, dict[str, Any], str]]:
    cases: list[tuple[str, dict[str, Any], str]] = []
    for name in NAMED:
        cases += [
            (name, {"base_bet": "-1"}, "base_bet"),
            (name, {"base_bet": "0"}, "base_bet"),
            (name, {"base_bet": "0.000000001"}, "base_bet"),
            (name, {"chance": "100"}, "chance"),
            (name, {"no_such_param": "1"}, "no_such_param"),
        ]
    cases += [
        ("martingale", {"multiplier": "1"}, "multiplier"),
        ("martingale", {"multiplier": "0.5"}, "multiplier"),
        ("martingale", {"multiplier": "two"}, "multiplier"),
        ("martingale", {"max_multiplies": 0}, "max_multiplies"),
        ("martingale", {"max_multiplies": "2.5"}, "max_multiplies"),
        ("martingale", {"reset_on_win": "perhaps"}, "reset_on_win"),
        ("anti-martingale", {"multiplier": "1"}, "multiplier"),
        ("anti-martingale", {"max_multiplies": 0}, "max_multiplies"),
        ("dalembert", {"increment": "0"}, "increment"),
        ("dalembert", {"increment": "-0.01"}, "increment"),
        ("dalembert", {"increment": "0.000000001"}, "increment"),
        ("dalembert", {"max_steps": 0}, "max_steps"),
        ("fibonacci", {"max_steps": 0}, "max_steps"),
        ("labouchere", {"sequence": []}, "sequence"),
        ("labouchere", {"sequence": [1, 0]}, "sequence"),
        ("labouchere", {"sequence": [1, -2]}, "sequence"),
        ("labouchere", {"sequence": "1,2"}, "sequence"),
        ("labouchere", {"stop_after_cycles": 0}, "stop_after_cycles"),
        ("paroli", {"target_wins": 0}, "target_wins"),
        ("oscars-grind", {"multiplier": "2"}, "multiplier"),
        ("one-three-two-six", {"target_wins": 3}, "target_wins"),
    ]
    return cases


@pytest.mark.parametrize(("name", "options", "field"), bad_options())
def test_bad_parameters_are_rejected_naming_the_field(name: str, options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(name, **options)
    assert field in {str(error["loc"][0]) for error in info.value.errors()}
    assert field in str(info.value)


def test_parameters_parse_from_command_line_text() -> None:
    strategy = build("martingale", base_bet="0.5", multiplier="2.5", max_multiplies="3", reset_on_win="false")
    assert play(strategy, "LLW") == amounts("0.5 1.25 3.125")
    assert strategy.params.model_dump() == {
        "base_bet": Decimal("0.5"), "chance": Decimal("49.5"), "high": True,
        "multiplier": Decimal("2.5"), "max_multiplies": 3, "reset_on_win": False,
    }


def test_parameters_are_frozen() -> None:
    strategy = build("martingale")
    with pytest.raises(ValidationError, match="frozen"):
        strategy.params.multiplier = Decimal(3)


@pytest.mark.parametrize("name", NAMED)
def test_every_builtin_runs_with_defaults_alone(name: str) -> None:
    cls = load_strategy(name)
    assert cls.name == name
    assert cls.summary.strip()
    assert "\n" not in cls.summary
    assert issubclass(cls.Params, DiceParams)
    for field_name, field in cls.Params.model_fields.items():
        assert field.description, f"{name}: parameter {field_name} has no description"
        assert not field.is_required(), f"{name}: parameter {field_name} has no default"
    strategy = cls.from_options({}, CONTEXT)
    bet = strategy.next_bet(FakeView())
    assert isinstance(bet, BetRequest)
    # Every system starts at base_bet, except labouchere, which bets both ends of its line (1 + 4).
    assert bet.amount == (Decimal("0.05") if name == "labouchere" else Decimal("0.01"))
    # ...and bets 49.5 %, except the hunter, whose whole point is a low chance.
    assert bet.chance == (Decimal(1) if name == "hunter" else Decimal("49.5"))
    for attribute in cls.state_fields:
        assert hasattr(strategy, attribute)


@pytest.mark.parametrize("name", NAMED)
def test_defaults_are_sized_for_a_balance_of_100(name: str) -> None:
    # Twelve losses in a row happen about once in 4,000 twelve-bet stretches at 49.5 %: they must not
    # cost a tenth of the default balance, nor any single stake more than 3 %.
    losing = play(build(name), "L" * 12)
    assert sum(losing) < 10
    assert max(losing) <= 3
    assert max(play(build(name), "W" * 12)) <= 3


def test_flat_tolerates_any_bets_in_flight_and_progressions_none() -> None:
    assert load_strategy("flat").max_in_flight is None
    for name in PROGRESSIONS:
        assert load_strategy(name).max_in_flight == 1, name


@pytest.mark.parametrize("name", NAMED)
def test_wrong_parameter_model_is_a_type_error(name: str) -> None:
    cls = load_strategy(name)
    wrong = next(load_strategy(other).Params() for other in NAMED if other != name)
    with pytest.raises(TypeError, match=cls.__name__):
        cls(wrong, CONTEXT)


def test_importing_the_package_imports_no_strategy() -> None:
    code = "import sys, betbot.strategies; print(sorted(m for m in sys.modules if m.startswith('betbot.strategies.')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# --- Saving and resuming progress -------------------------------------------------------------------------

RESUME_CASES = [
    ("martingale", {}, "LLL", "LWL"),
    ("martingale", {"reset_on_win": False, "multiplier": "1.5"}, "LLLW", "WLL"),
    ("anti-martingale", {}, "WW", "WLW"),
    ("dalembert", {"increment": "0.005"}, "LLLW", "LWW"),
    ("fibonacci", {}, "LLLL", "WLL"),
    ("labouchere", {}, "LLW", "WLWWW"),
    ("labouchere", {"sequence": [1, 1], "stop_after_cycles": 5}, "WWL", "WWL"),
    ("paroli", {}, "WW", "WW"),
    ("oscars-grind", {}, "LLLWL", "WWW"),
    ("one-three-two-six", {}, "WW", "WW"),
]


@pytest.mark.parametrize(("name", "options", "before", "after"), RESUME_CASES)
def test_restored_state_continues_the_same_stakes(name: str, options: dict[str, Any], before: str,
                                                  after: str) -> None:
    original = build(name, **options)
    play(original, before)
    state = json.loads(json.dumps(original.save_state()))  # it must survive the trip to disk
    assert set(state) == set(original.state_fields)

    resumed = build(name, **options)
    resumed.restore_state(state)
    assert resumed.save_state() == original.save_state()
    expected = play(original, after)
    assert play(resumed, after) == expected
    # The saved state is what carries the progression: a fresh instance would bet differently.
    assert play(build(name, **options), after) != expected


def test_restored_labouchere_cycle_count_still_stops() -> None:
    original = build("labouchere", base_bet="1", sequence=[1], stop_after_cycles=2)
    play(original, "W")
    resumed = build("labouchere", base_bet="1", sequence=[1], stop_after_cycles=2)
    resumed.restore_state(json.loads(json.dumps(original.save_state())))
    stake, verdict = step(resumed, FakeView(), True)
    assert stake == 1
    assert isinstance(verdict, StopStrategy)


def test_oscars_grind_state_round_trips_as_decimal() -> None:
    original = build("oscars-grind", base_bet="0.01")
    play(original, "LW", payout=Decimal("1.98"))
    state = json.loads(json.dumps(original.save_state()))
    # After L W at 1.98 the cycle is 0.0002 down: 0.0102 / 0.98 finishes it.
    assert state == {"stake": "0.01040817", "cycle_profit": "-0.00020000"}
    resumed = build("oscars-grind", base_bet="0.01")
    resumed.restore_state(state)
    assert isinstance(vars(resumed)["cycle_profit"], Decimal)
    assert play(resumed, "WW", payout=Decimal("1.98")) == amounts("0.01040817 0.01")


def test_flat_has_no_state() -> None:
    flat = build("flat")
    play(flat, "LLW")
    assert flat.save_state() == {}
