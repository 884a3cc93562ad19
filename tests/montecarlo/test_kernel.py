"""The vectorised kernel equals the generic path (`play_session`) session by session, on the same fast rolls."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betbot.config.build import build_strategy, game_rules
from betbot.config.settings import Settings
from betbot.core.fairness import SeedPair, payout_multiplier, win_profit, winning_numbers, winning_window
from betbot.core.game import SimulatedGame
from betbot.core.models import BetRequest, Settled
from betbot.core.money import to_satoshis
from betbot.core.rolls import RollSource, fast_roll, fast_roll_block, fast_rolls, session_key
from betbot.core.strategy import Decision, SessionView
from betbot.montecarlo import kernel, kernel_states
from betbot.montecarlo.generic import play_session
from betbot.montecarlo.kernel import SAFE, KernelPlan, kernel_for, plan_for
from betbot.montecarlo.results import SessionResult
from betbot.montecarlo.spec import SimulationSpec
from betbot.strategies.flat import Flat

SESSIONS = 12


# -- the rolls ---------------------------------------------------------------------------------------------
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=50),
       st.integers(min_value=0, max_value=10**12))
def test_fast_rolls_equal_the_scalar_function(keys: list[int], nonce: int) -> None:
    vector = fast_rolls(np.array(keys, dtype=np.uint64), nonce)
    assert vector.tolist() == [fast_roll(key, nonce) for key in keys]


def test_fast_rolls_of_real_session_keys() -> None:
    keys = [session_key("rolls", i) for i in range(1000)]
    for nonce in (0, 1, 7, 99_999):
        assert fast_rolls(np.array(keys, dtype=np.uint64), nonce).tolist() == [fast_roll(k, nonce) for k in keys]


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=0, max_value=10**12),
       st.integers(min_value=1, max_value=300))
def test_a_block_of_fast_rolls_equals_the_scalar_function(key: int, first: int, count: int) -> None:
    assert fast_roll_block(key, first, count) == [fast_roll(key, n) for n in range(first, first + count)]


def test_the_simulated_house_rolls_each_bet_by_its_place_in_the_game_across_blocks_and_out_of_order() -> None:
    bet = BetRequest(amount=Decimal("0.00000001"), chance=Decimal("49.5"), high=True, currency="btc")
    game = SimulatedGame(seeds=SeedPair.derive("blocks"), balances={"btc": Decimal(1)}, first_seq=11, fast_key=99)
    # In order through several blocks (64, 128, ...), then back and forth as bets in flight complete.
    seqs = [*range(11, 11 + 500), 9_000, 600, 601, 12]
    rolled = {seq: outcome.number for seq in seqs if isinstance(outcome := game.play(seq, bet), Settled)}
    assert rolled == {seq: fast_roll(99, seq - 11) for seq in seqs}


# -- kernel = generic path ---------------------------------------------------------------------------------
def spec_of(sessions: int = SESSIONS, seed: str = "kernel", **values: Any) -> SimulationSpec:
    return SimulationSpec.create(Settings(**values), sessions=sessions, master_seed=seed)


def kernel_results(spec: SimulationSpec, *, allow_escapes: bool = False) -> tuple[list[SessionResult], list[int]]:
    """The kernel's results, and the sessions it handed to the generic path."""
    settings_ = spec.settings
    limits = spec.limits()
    plan = plan_for(build_strategy(settings_, spec.context(0)), limits, starting_balance=spec.balance,
                    rules=game_rules(settings_), pace=float(settings_.sim_latency))
    assert plan is not None
    escaped: list[int] = []

    def fallback(index: int) -> SessionResult:
        escaped.append(index)
        assert allow_escapes, f"session {index} escaped to the generic path"
        return play_session(spec, index, limits)[0]

    indices = list(range(spec.sessions))
    keys = [session_key(spec.master_seed, i) for i in indices]
    return plan.play(indices, keys, fallback), escaped


def generic_results(spec: SimulationSpec) -> list[SessionResult]:
    limits = spec.limits()
    return [play_session(spec, i, limits)[0] for i in range(spec.sessions)]


def assert_equal(spec: SimulationSpec, *, allow_escapes: bool = False) -> list[SessionResult]:
    kernel, _ = kernel_results(spec, allow_escapes=allow_escapes)
    generic = generic_results(spec)
    for k, g in zip(kernel, generic, strict=True):
        assert k == g
    return generic


amounts = st.integers(min_value=1, max_value=4000).map(lambda n: str(Decimal(n) / 100))
small_bases = st.sampled_from(["0.01", "0.02", "0.05", "0.1", "0.00000003", "0.37", "1"])
chances = st.sampled_from(["49.5", "10", "33.33", "66", "80", "1.5", "98"])


@st.composite
def limit_values(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {"max_bets": draw(st.integers(min_value=1, max_value=160)),
                              "balance": draw(st.sampled_from(["1", "5", "20", "100"]))}
    for name in ("stop_loss", "take_profit", "trailing_stop", "min_balance", "max_bet"):
        if draw(st.booleans()):
            values[name] = draw(amounts)
    if draw(st.booleans()):
        values["stop_loss"] = draw(st.sampled_from(["10%", "50%"]))
    for name in ("max_losses", "max_wins"):
        if draw(st.booleans()):
            values[name] = draw(st.integers(min_value=1, max_value=8))
    values["chance"] = draw(chances)
    values["high"] = draw(st.booleans())
    return values


presets = st.sampled_from([
    ("flat", {}),
    ("martingale", {"multiplier": st.sampled_from(["2", "1.5", "2.37", "3"]),
                    "max_multiplies": st.integers(min_value=1, max_value=12),
                    "reset_on_win": st.booleans()}),
    ("anti-martingale", {"multiplier": st.sampled_from(["2", "1.7", "3.1"]),
                         "max_multiplies": st.integers(min_value=1, max_value=6)}),
    ("dalembert", {"increment": st.sampled_from([None, "0.01", "0.03", "0.00000007"]),
                   "max_steps": st.sampled_from([None, 1, 3, 10])}),
    ("paroli", {"target_wins": st.integers(min_value=1, max_value=5)}),
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presets.flatmap(lambda preset: st.tuples(st.just(preset[0]), st.fixed_dictionaries(preset[1]))),
       small_bases, limit_values(), st.text(alphabet="abcdef0123", min_size=1, max_size=6))
def test_presets_equal_the_generic_path(preset: tuple[str, dict[str, Any]], base: str, limits: dict[str, Any],
                                        seed: str) -> None:
    name, params = preset
    params = {k: v for k, v in params.items() if v is not None}
    assert_equal(spec_of(seed=seed, strategy=name, params={"base_bet": base, **params}, **limits))


advanced_knobs = st.fixed_dictionaries({}, optional={
    "on_win": st.sampled_from(["reset", "multiply", "divide", "add", "subtract", "keep"]),
    "on_win_by": st.sampled_from(["2", "1.5", "0.01", "3"]),
    "on_loss": st.sampled_from(["reset", "multiply", "divide", "add", "subtract", "keep"]),
    "on_loss_by": st.sampled_from(["2", "1.25", "0.02", "3"]),
    "every_nth_win": st.integers(min_value=1, max_value=3),
    "every_nth_loss": st.integers(min_value=1, max_value=3),
    "max_multiplies": st.sampled_from([None, 0, 2, 6]),
    "at_max": st.sampled_from(["reset", "stop"]),
    "switch_after_bets": st.integers(min_value=1, max_value=4),
    "switch_after_wins": st.integers(min_value=1, max_value=3),
    "switch_after_losses": st.integers(min_value=1, max_value=3),
    "reset_after_wins": st.integers(min_value=1, max_value=4),
    "reset_after_losses": st.integers(min_value=1, max_value=5),
    "reset_after_profit": st.sampled_from(["0.05", "0.5"]),
    "reset_after_loss": st.sampled_from(["0.1", "1"]),
    "stop_after_wins": st.integers(min_value=1, max_value=40),
    "stop_after_losses": st.integers(min_value=1, max_value=40),
    "stop_after_win_streak": st.integers(min_value=1, max_value=5),
    "stop_after_loss_streak": st.integers(min_value=1, max_value=8),
    "stop_after_streak_won": st.sampled_from(["0.05", "0.3"]),
    "stop_after_streak_lost": st.sampled_from(["0.1", "0.6"]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(advanced_knobs, st.booleans(), st.booleans(), limit_values(), st.text(alphabet="xyz789", min_size=1, max_size=5))
def test_the_advanced_strategy_equals_the_generic_path(knobs: dict[str, Any], loss_chance: bool, win_chance: bool,
                                                       limits: dict[str, Any], seed: str) -> None:
    params: dict[str, Any] = {"base_bet": "0.01", **knobs}
    if loss_chance:
        params |= {"chance_after_losses": 2, "loss_streak_chance": "70"}
    if win_chance:
        params |= {"chance_after_wins": 2, "win_streak_chance": "20"}
    # Escapes are allowed here: a knob that reads the profit may have too many states (they stay exact).
    assert_equal(spec_of(seed=seed, strategy="advanced", params=params, **limits), allow_escapes=True)


def test_every_stop_kind_the_kernel_produces_matches() -> None:
    """A fixed set of configurations that between them end sessions in each limit's way."""
    kinds: set[str] = set()
    configurations: list[dict[str, Any]] = [
        {"strategy": "martingale", "balance": "2", "max_bets": 300},  # insufficient balance
        {"strategy": "martingale", "stop_loss": "1", "max_bets": 300},
        {"strategy": "martingale", "take_profit": "0.05", "max_bets": 300},
        {"strategy": "martingale", "max_bet": "0.3", "max_bets": 300},
        {"strategy": "martingale", "min_balance": "99", "max_bets": 300},
        {"strategy": "flat", "max_losses": 4, "max_bets": 300},
        {"strategy": "flat", "max_wins": 4, "max_bets": 300},
        {"strategy": "flat", "trailing_stop": "0.03", "max_bets": 300},
        {"strategy": "flat", "chance": "98.5", "max_bets": 10},  # invalid: above max_chance
        {"strategy": "advanced", "params": {"at_max": "stop", "max_multiplies": 2}, "max_bets": 300},
        {"strategy": "flat", "max_duration": "1s", "sim_latency": "30ms"},
    ]
    for values in configurations:
        kinds |= {result.stop_kind for result in assert_equal(spec_of(**values))}
    assert kinds >= {"insufficient_balance", "stop_loss", "take_profit", "max_bet", "min_balance", "max_losses",
                     "max_wins", "trailing_stop", "invalid_bet", "strategy", "max_bets", "max_duration"}


def test_range_dice_windows_equal_the_generic_path() -> None:
    for inside in (True, False):
        assert_equal(spec_of(strategy="martingale", game="range", range_in=inside, range_at=1234, chance="30",
                             max_bets=150))
        # windows of two widths in one session: the rows do not all bet the same way
        assert_equal(spec_of(strategy="advanced", game="range", range_in=inside, range_at=9000, chance="30",
                             params={"chance_after_losses": 2, "loss_streak_chance": "75"}, max_bets=150))


def test_escaped_sessions_are_played_by_the_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # With room for only 3 states, a martingale soon reaches one the table will not make: those sessions
    # escape, and the results are still the generic path's.
    monkeypatch.setattr(kernel_states, "MAX_STATES", 3)
    spec = spec_of(strategy="martingale", max_bets=60)
    kernel, escaped = kernel_results(spec, allow_escapes=True)
    assert escaped
    assert kernel == generic_results(spec)


def test_the_kernel_runner_for_the_simulate_chunks() -> None:
    spec = spec_of(strategy="dalembert", max_bets=80)
    runner = kernel_for(spec)
    assert runner is not None
    assert runner(spec, range(3, 9)) == [play_session(spec, i, spec.limits())[0] for i in range(3, 9)]


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"strategy": "fibonacci"}, "not a tabled progression"),
        ({"strategy": "flat", "game": "range", "range_at": "random"}, "a random window"),
        ({"strategy": "flat", "balance": str(Decimal(SAFE + 1) / 10**8)}, "beyond exact int64 money"),
    ],
)
def test_where_the_kernel_does_not_apply(values: dict[str, Any], why: str) -> None:
    assert kernel_for(spec_of(**values)) is None, why


def test_the_provably_fair_source_is_not_the_kernels() -> None:
    spec = replace(spec_of(strategy="flat"), rolls=RollSource.PROVABLY_FAIR)
    assert kernel_for(spec) is None


def test_a_plan_replays_its_sessions_in_any_order() -> None:
    spec = spec_of(strategy="paroli", max_bets=100, sessions=40)
    kernel, _ = kernel_results(spec)
    strategy = build_strategy(spec.settings, spec.context(0))
    plan = plan_for(strategy, spec.limits(), starting_balance=spec.balance, rules=game_rules(spec.settings))
    assert isinstance(plan, KernelPlan)
    order = list(range(39, -1, -3))
    again = plan.play(order, [session_key(spec.master_seed, i) for i in order], lambda i: pytest.fail(str(i)))
    assert again == [kernel[i] for i in order]


@pytest.mark.parametrize(
    "values",
    [
        # A stake equal to the balance is placed; one satoshi more is refused (losses of 1, 2, 4 leave 8 or
        # 7.99999999 for a stake of 8).
        {"strategy": "martingale", "params": {"base_bet": "1"}, "balance": "15", "chance": "10"},
        {"strategy": "martingale", "params": {"base_bet": "1"}, "balance": "14.99999999", "chance": "10"},
        # The gate lets a stake reach the stop-loss exactly (-3 - 4 = -7), not one satoshi past it.
        {"strategy": "martingale", "params": {"base_bet": "1"}, "stop_loss": "7", "chance": "10"},
        {"strategy": "martingale", "params": {"base_bet": "1"}, "stop_loss": "6.99999999", "chance": "10"},
        # A balance that reaches min_balance exactly stops by min_balance, before max_bets.
        {"strategy": "flat", "params": {"base_bet": "1"}, "balance": "10", "min_balance": "8", "max_bets": 2,
         "chance": "10"},
        {"strategy": "martingale", "params": {"base_bet": "1"}, "balance": "10", "min_balance": "7", "chance": "10"},
        # take_profit and trailing_stop reached exactly (a win at 50 % pays exactly the stake less the edge).
        {"strategy": "flat", "params": {"base_bet": "1"}, "take_profit": "0.98", "chance": "50"},
        {"strategy": "flat", "params": {"base_bet": "1"}, "trailing_stop": "1", "chance": "50"},
        {"strategy": "flat", "params": {"base_bet": "1"}, "trailing_stop": "1.00000001", "chance": "50"},
    ],
)
def test_limits_at_their_exact_boundaries(values: dict[str, Any]) -> None:
    results = assert_equal(spec_of(sessions=40, **{"max_bets": 40, **values}))
    assert len({r.stop_kind for r in results} | {r.bets for r in results}) > 2  # the sessions differ


def test_waiting_sessions_join_as_others_end(monkeypatch: pytest.MonkeyPatch) -> None:
    # Four at a time, in runs of seven: sessions join the lockstep at every stage of the others' play.
    monkeypatch.setattr(kernel, "BLOCK", 4)
    monkeypatch.setattr(kernel, "RUN", 7)
    results = assert_equal(spec_of(strategy="martingale", balance="3", max_bets=120, sessions=30))
    assert len({r.bets for r in results}) > 5  # lengths differ: sessions ended and others joined throughout


def test_a_strategy_that_reads_the_session_is_played_by_the_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Flat.next_bet

    def reading(self: Flat, view: SessionView) -> Decision:
        if view.balance < 0:  # reads the session: its decision is not a function of its own state
            raise AssertionError
        return original(self, view)

    monkeypatch.setattr(Flat, "next_bet", reading)
    spec = spec_of(strategy="flat", max_bets=30)
    kernel, escaped = kernel_results(spec, allow_escapes=True)
    assert escaped == list(range(SESSIONS))
    assert kernel == generic_results(spec)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presets.flatmap(lambda preset: st.tuples(st.just(preset[0]), st.fixed_dictionaries(preset[1]))),
       small_bases, limit_values(), st.text(alphabet="abcdef0123", min_size=1, max_size=6))
def test_presets_equal_the_generic_path_at_length(preset: tuple[str, dict[str, Any]], base: str,
                                                  limits: dict[str, Any], seed: str) -> None:
    name, params = preset
    params = {k: v for k, v in params.items() if v is not None}
    assert_equal(spec_of(sessions=60, seed=seed, strategy=name, params={"base_bet": base, **params},
                         **{**limits, "max_bets": limits["max_bets"] * 5}))


def test_the_simulated_house_pays_every_request_right_past_its_memo() -> None:
    """The house keeps each request's terms by identity in a bounded memo: past its size (and after it
    starts again) every bet is still paid by the rule, whatever request came before it."""
    rules_payout = payout_multiplier(Decimal("49.5"), Decimal(1))
    bets = [BetRequest(amount=Decimal(n) / 10**8, chance=Decimal("49.5"), high=n % 2 == 0, currency="btc")
            for n in range(1, 200)]
    game = SimulatedGame(seeds=SeedPair.derive("memo"), balances={"btc": Decimal(1)}, fast_key=7)
    expected_x10k = 0
    for seq, bet in enumerate([*bets, *reversed(bets)], start=1):
        outcome = game.play(seq, bet)
        assert isinstance(outcome, Settled)
        low, high, inside = winning_window(bet)
        assert outcome.win is ((low <= outcome.number <= high) is inside)
        won = win_profit(bet.amount, rules_payout)
        assert outcome.profit == (won if outcome.win else -bet.amount)
        expected_x10k += winning_numbers(bet.chance) * to_satoshis(bet.amount + won)
    assert game.expected_x10k == expected_x10k
