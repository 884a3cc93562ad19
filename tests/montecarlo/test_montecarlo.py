"""Monte Carlo: the sketch, the aggregates, determinism across executors, failures, fidelity to the maths."""

from __future__ import annotations

import dataclasses
import itertools
import math
import multiprocessing
import random
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.cli.simulate import _stop_between_chunks
from betbot.config.settings import load_settings
from betbot.core.rolls import RollSource, fast_roll, session_key
from betbot.montecarlo import chunk as chunk_module
from betbot.montecarlo.driver import simulate
from betbot.montecarlo.executors import InProcessExecutor, ProcessExecutor
from betbot.montecarlo.generic import SessionFailure
from betbot.montecarlo.plan import chunk_size, effective_workers, parse_workers, plan_chunks
from betbot.montecarlo.results import REPORT_KEYS, Aggregates, SessionResult, money_text
from betbot.montecarlo.sketch import EXACT_VALUES, RELATIVE_ACCURACY, ValueSketch
from betbot.montecarlo.spec import SimulationSpec
from betbot.strategies import registry
from tests import montecarlo_plugin


def spec_for(flags: dict[str, Any], *, sessions: int, seed: str = "mc-test", rolls: RollSource = RollSource.FAST,
             paths: int = 0) -> SimulationSpec:
    return SimulationSpec.create(load_settings(flags), sessions=sessions, master_seed=seed, rolls=rolls, paths=paths)


def records(spec: SimulationSpec, executor: Any) -> tuple[list[SessionResult], dict[str, Any]]:
    seen: list[SessionResult] = []
    outcome = simulate(spec, executor, on_result=seen.append)
    return seen, outcome.aggregates.report(rolls=spec.rolls.value, seed=spec.master_seed)


# -- the sketch ---------------------------------------------------------------------------------------
def nearest_rank(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@given(st.lists(st.integers(-10**12, 10**12), min_size=1, max_size=300), st.sampled_from([0.01, 0.25, 0.5, 0.99]))
def test_the_sketch_is_exact_while_small(values: list[int], q: float) -> None:
    sketch = ValueSketch()
    sketch.add_all(values)
    assert sketch.exact
    assert sketch.quantile(q) == nearest_rank(values, q)


def test_the_sketch_bounds_memory_and_stays_within_its_accuracy() -> None:
    rng = random.Random(7)
    values = [rng.randrange(-10**10, 10**10) for _ in range(3 * EXACT_VALUES)]
    sketch = ValueSketch()
    sketch.add_all(values)
    assert not sketch.exact
    assert len(list(sketch.items())) < EXACT_VALUES
    for q in (0.01, 0.05, 0.5, 0.95, 0.99):
        true = nearest_rank(values, q)
        estimate = sketch.quantile(q)
        assert estimate is not None
        assert abs(estimate - true) <= 2 * RELATIVE_ACCURACY * abs(true) + 1


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32))
def test_the_sketch_does_not_depend_on_order_or_on_merging(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.randrange(0, 10**9) for _ in range(EXACT_VALUES + 500)]
    one = ValueSketch()
    one.add_all(values)
    shuffled = values[:]
    rng.shuffle(shuffled)
    cut = rng.randrange(len(shuffled))
    left, right = ValueSketch(), ValueSketch()
    left.add_all(shuffled[:cut])
    right.add_all(shuffled[cut:])
    left.merge(right)
    assert list(left.items()) == list(one.items())
    assert left.count == one.count == len(values)


# -- results ------------------------------------------------------------------------------------------
def result(index: int, profit: int, kind: str = "max_bets", **extra: Any) -> SessionResult:
    fields = {"bets": 10, "wagered": 1000, "final_balance": 10_000 + profit, "max_drawdown": 50,
              "longest_loss_streak": 3, "expected_return_x10k": 990 * 10_000, **extra}
    return SessionResult(index=index, profit=profit, stop_kind=kind, **fields)


def test_the_report_has_exactly_its_keys_money_as_text_and_exact_figures() -> None:
    aggregates = Aggregates()
    for index, (profit, kind) in enumerate([(-300, "insufficient_balance"), (100, "take_profit"),
                                            (-200, "stop_loss"), (50, "max_bets")]):
        aggregates.add(result(index, profit, kind))
    report = aggregates.report(rolls="fast", seed="s")
    assert tuple(report) == REPORT_KEYS
    assert report["sessions"] == 4
    assert report["bets"] == 40
    assert report["p_ruin"] == report["p_stop_loss"] == report["p_take_profit"] == 0.25
    assert report["p_profit"] == 0.5
    assert report["rtp"] == (4000 - 350) / 4000
    assert report["expected_rtp"] == pytest.approx(0.99)
    assert report["profit_quantiles"]["50%"] == "-0.00000200"
    assert report["profit_quantiles"]["99%"] == "0.00000100"
    assert report["mean_profit"]["mean"] == "-0.00000088"  # -87.5 satoshis, rounded half-even
    # sample variance of (-300, 100, -200, 50): 111,875 / 3; its root / sqrt(4) = 96.55 satoshis
    assert report["mean_profit"]["standard_error"] == "0.00000097"
    assert report["stop_reasons"] == {"insufficient_balance": 1, "max_bets": 1, "stop_loss": 1, "take_profit": 1}
    assert report["session_length_quantiles"]["1%"] == 10


def test_money_text_has_eight_places_and_never_an_exponent() -> None:
    assert money_text(0) == "0.00000000"
    assert money_text(-1) == "-0.00000001"
    assert money_text(123_456_789_012) == "1234.56789012"


# -- the plan -----------------------------------------------------------------------------------------
def test_workers_are_computed_in_one_place() -> None:
    assert parse_workers("auto") is None
    assert parse_workers("3") == 3
    for bad in ("0", "-1", "two"):
        with pytest.raises(ValueError, match="--workers takes auto or a whole number"):
            parse_workers(bad)
    assert effective_workers(8, 3) == 3
    assert effective_workers(2, 100) == 2
    assert effective_workers(None, 10**6) >= 1


def test_chunks_cover_every_session_once() -> None:
    for sessions, workers in ((1, 1), (999, 2), (10**5, 4)):
        chunks = list(plan_chunks(sessions, chunk_size(sessions, workers)))
        assert chunks[0][0] == 0
        assert chunks[-1][1] == sessions
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))


# -- determinism --------------------------------------------------------------------------------------
FIBONACCI = {"strategy": "fibonacci", "balance": "5", "max_bets": "60", "stop_loss": "2", "take_profit": "1"}


def test_results_are_identical_for_1_2_and_4_workers() -> None:
    spec = spec_for(FIBONACCI, sessions=240)
    one, report_one = records(spec, InProcessExecutor())
    two, report_two = records(spec, ProcessExecutor(2))
    four, report_four = records(spec, ProcessExecutor(4))
    assert [r.index for r in one] == list(range(240))
    assert one == two == four
    assert report_one == report_two == report_four
    assert multiprocessing.active_children() == []


def test_the_generic_path_in_worker_processes_equals_the_kernel() -> None:
    """`simulate --no-kernel` in forked workers and the vectorised kernel in this process: the same sessions,
    record for record and in the report (the martingale of the whole-process benchmark, at a balance where
    some sessions bust and others play to max_bets)."""
    kernel_spec = spec_for({"strategy": "martingale", "max_bets": "400", "balance": "2"}, sessions=300)
    generic_spec = dataclasses.replace(kernel_spec, use_kernel=False)
    assert chunk_module.uses_kernel(kernel_spec)
    assert not chunk_module.uses_kernel(generic_spec)
    generic = records(generic_spec, ProcessExecutor(2))
    assert generic == records(kernel_spec, InProcessExecutor())
    assert {result.stop_kind for result in generic[0]} >= {"max_bets", "insufficient_balance"}
    assert multiprocessing.active_children() == []


def test_provably_fair_results_are_identical_for_1_and_2_workers() -> None:
    spec = spec_for(FIBONACCI, sessions=120, rolls=RollSource.PROVABLY_FAIR)
    assert records(spec, InProcessExecutor()) == records(spec, ProcessExecutor(2))


def test_same_seed_same_results_and_another_seed_differs() -> None:
    first = records(spec_for(FIBONACCI, sessions=50), InProcessExecutor())
    again = records(spec_for(FIBONACCI, sessions=50), InProcessExecutor())
    other = records(spec_for(FIBONACCI, sessions=50, seed="another"), InProcessExecutor())
    assert first == again
    assert first[0] != other[0]


def test_a_session_depends_on_its_index_alone() -> None:
    whole, _ = records(spec_for(FIBONACCI, sessions=30), InProcessExecutor())
    part = chunk_module.run_chunk(spec_for(FIBONACCI, sessions=30), 17, 23).results
    assert part == whole[17:23]


def test_the_two_roll_sources_differ_and_are_named() -> None:
    fast = records(spec_for(FIBONACCI, sessions=20), InProcessExecutor())
    fair = records(spec_for(FIBONACCI, sessions=20, rolls=RollSource.PROVABLY_FAIR), InProcessExecutor())
    assert fast[0] != fair[0]
    assert fast[1]["rolls"] == "fast"
    assert fair[1]["rolls"] == "provably-fair"


def test_sampled_sessions_record_a_bounded_balance_path() -> None:
    spec = spec_for({"strategy": "flat", "max_bets": "5000", "balance": "1000"}, sessions=3, paths=2)
    outcome = simulate(spec, InProcessExecutor())
    assert [path.index for path in outcome.paths] == [0, 1]
    for path in outcome.paths:
        assert len(path.balances) <= 513
        assert path.balances[0] == 1000 * 10**8
        assert path.stride * (len(path.balances) - 1) <= path.bets == 5000


# -- failures -----------------------------------------------------------------------------------------
@pytest.fixture
def explode_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = montecarlo_plugin.install(tmp_path)
    monkeypatch.syspath_prepend(str(directory))
    registry._entry_point_targets.cache_clear()
    yield directory
    registry._entry_point_targets.cache_clear()


def test_a_failing_session_is_named_with_its_error_and_no_worker_is_left(explode_plugin: Path) -> None:
    flags = {"strategy": "explode", "max_bets": "20", "params": {"explode_at": session_key("mc-test", 137)}}
    spec = spec_for(flags, sessions=1000)
    executor = ProcessExecutor(2)
    with pytest.raises(SessionFailure) as caught:
        simulate(spec, executor)
    assert caught.value.index == 137
    assert str(caught.value) == "session 137 failed: ValueError: boom in the chosen session"
    assert multiprocessing.active_children() == []


def test_a_failing_session_in_process_is_named_too(explode_plugin: Path) -> None:
    flags = {"strategy": "explode", "max_bets": "20", "params": {"explode_at": session_key("mc-test", 7)}}
    with pytest.raises(SessionFailure, match="session 7 failed: ValueError"):
        simulate(spec_for(flags, sessions=20), InProcessExecutor())


def test_interrupting_returns_the_sessions_done_in_order() -> None:
    class Interrupting(InProcessExecutor):
        submitted = 0

        def submit(self, spec: SimulationSpec, start: int, stop: int) -> Any:
            self.submitted += 1
            if self.submitted == 4:
                raise KeyboardInterrupt
            return super().submit(spec, start, stop)

    spec = spec_for(FIBONACCI, sessions=100)
    outcome = simulate(spec, Interrupting())
    assert outcome.interrupted
    done = outcome.sessions
    assert 0 < done < 100
    full, _ = records(spec, InProcessExecutor())
    partial = Aggregates()
    for record in full[:done]:
        partial.add(record)
    assert outcome.aggregates.report(rolls="fast", seed="x") == partial.report(rolls="fast", seed="x")


def test_a_signal_while_a_chunk_is_absorbed_stops_the_run_after_that_chunk_whole() -> None:
    # The handler `betbot simulate` installs: a signal sets a flag, never raises into the aggregates. One
    # raised half-way through absorbing a chunk (between one session's figures and the next) left them
    # inconsistent, and the command failed instead of showing what was done.
    spec = spec_for(FIBONACCI, sessions=100)
    seen: list[SessionResult] = []

    def on_result(result: SessionResult) -> None:
        seen.append(result)
        if len(seen) == 15:
            signal.raise_signal(signal.SIGTERM)
        if len(seen) == 16:
            signal.raise_signal(signal.SIGINT)  # a second one changes nothing

    with _stop_between_chunks().installed() as stop:
        outcome = simulate(spec, InProcessExecutor(), on_result=on_result, size=10, stop=stop)
    assert outcome.interrupted
    assert outcome.sessions == len(seen) == 20  # the chunk in progress went in whole, then the run stopped
    full, _ = records(spec, InProcessExecutor())
    assert seen == full[:20]
    partial = Aggregates()
    for record in full[:20]:
        partial.add(record)
    assert outcome.aggregates.report(rolls="fast", seed="x") == partial.report(rolls="fast", seed="x")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back as it was


def test_a_stop_request_before_the_first_chunk_plays_nothing() -> None:
    submitted: list[int] = []

    class Recording(InProcessExecutor):
        def submit(self, spec: SimulationSpec, start: int, stop: int) -> Any:
            submitted.append(start)
            return super().submit(spec, start, stop)

    outcome = simulate(spec_for(FIBONACCI, sessions=100), Recording(), size=10, stop=lambda: True)
    assert outcome.interrupted
    assert outcome.sessions == 0
    assert submitted == []


# -- fidelity -----------------------------------------------------------------------------------------
def test_fast_rolls_are_uniform_over_0_to_9999() -> None:
    counts: Counter[int] = Counter()
    draws = 200_000
    for index in range(200):
        key = session_key("uniformity", index)
        counts.update(fast_roll(key, nonce) for nonce in range(draws // 200))
    assert min(counts) == 0
    assert max(counts) == 9999
    expected = draws / 10_000
    chi_square = sum((counts.get(v, 0) - expected) ** 2 / expected for v in range(10_000))
    dof = 9_999
    assert abs(chi_square - dof) < 4 * math.sqrt(2 * dof)  # |z| < 4 under uniformity
    deciles = Counter(v // 1000 for v in counts.elements())
    chi_deciles = sum((deciles[d] - draws / 10) ** 2 / (draws / 10) for d in range(10))
    assert chi_deciles < 27.9  # the chi-square 99.9 % point for 9 degrees of freedom


def flat_rtp(sessions: int, bets: int) -> tuple[float, int]:
    spec = spec_for({"strategy": "flat", "chance": "49.5", "balance": "100000", "max_bets": str(bets),
                     "params": {"base_bet": "1"}}, sessions=sessions, seed="rtp")
    report = simulate(spec, InProcessExecutor()).aggregates.report(rolls="fast", seed="rtp")
    assert report["expected_rtp"] == pytest.approx(0.99)
    return report["rtp"], report["bets"]


def assert_rtp_within_3_sigma(rtp: float, bets: int) -> None:
    # one bet of 1 returns 2 with p = 0.495, else 0: mean 0.99, variance 4p(1 - p)
    sigma = math.sqrt(4 * 0.495 * 0.505 / bets)
    assert abs(rtp - 0.99) < 3 * sigma, (rtp, sigma)


def test_flat_betting_returns_99_percent_over_a_million_bets() -> None:
    """Through the automatic dispatch (the kernel when it supports flat betting)."""
    rtp, bets = flat_rtp(1_000, 1_000)
    assert bets == 1_000_000
    assert_rtp_within_3_sigma(rtp, bets)


@pytest.mark.slow
def test_flat_betting_returns_99_percent_over_a_million_bets_on_the_generic_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunk_module, "_kernel_for", lambda spec: None)
    rtp, bets = flat_rtp(100, 10_000)
    assert_rtp_within_3_sigma(rtp, bets)


def martingale_bust_probability(balance: int, bets: int, p: float = 0.495) -> float:
    """Exact: P(a martingale of base 1, x2, no cap, busts within `bets` bets from `balance`).

    State (balance, losses in a row m): the stake is 2**m; before each bet a stake above the balance is a
    bust; a win adds the stake and resets m, a loss takes it and m grows (payout 2.0000 at 49.5 %)."""
    states: dict[tuple[int, int], float] = {(balance, 0): 1.0}
    busted = 0.0
    for _ in range(bets):
        after: dict[tuple[int, int], float] = {}
        for (money, m), weight in states.items():
            stake = 2**m
            if stake > money:
                busted += weight
                continue
            win, loss = (money + stake, 0), (money - stake, m + 1)
            after[win] = after.get(win, 0.0) + weight * p
            after[loss] = after.get(loss, 0.0) + weight * (1 - p)
        states = after
    return busted


MARTINGALE = {"strategy": "martingale", "chance": "49.5", "balance": "127", "max_bets": "200",
              "params": {"base_bet": "1", "multiplier": "2", "max_multiplies": 64}}


def bust_rate(sessions: int) -> float:
    spec = spec_for(MARTINGALE, sessions=sessions, seed="bust")
    return simulate(spec, InProcessExecutor()).aggregates.p_ruin


def assert_bust_within_3_sigma(observed: float, sessions: int) -> None:
    exact = martingale_bust_probability(127, 200)
    assert 0.05 < exact < 0.95
    sigma = math.sqrt(exact * (1 - exact) / sessions)
    assert abs(observed - exact) < 3 * sigma, (observed, exact, sigma)


def test_martingale_busts_as_often_as_the_exact_dynamic_programme_says() -> None:
    assert_bust_within_3_sigma(bust_rate(20_000), 20_000)


@pytest.mark.slow
def test_martingale_busts_as_the_dynamic_programme_says_on_the_generic_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunk_module, "_kernel_for", lambda spec: None)
    assert_bust_within_3_sigma(bust_rate(5_000), 5_000)


def test_the_exact_programme_agrees_with_a_hand_count() -> None:
    # From 1 with stake 1: bust at bet 2 iff bet 1 lost (balance 0 < stake 2). Within 2 bets: 0.505.
    assert martingale_bust_probability(1, 1) == 0.0
    assert martingale_bust_probability(1, 2) == pytest.approx(0.505)
    # From 3: L (2 left, stake 2) L (0 left, stake 4) -> bust at bet 3.
    assert martingale_bust_probability(3, 3) == pytest.approx(0.505**2)


def test_chunks_follow_the_time_sessions_take() -> None:
    """Progress moves at least every second: a chunk is sized to take about CHUNK_SECONDS, whatever a session
    costs; the chunks still cover every session once, in order."""
    from betbot.montecarlo.plan import CHUNK_SECONDS, ChunkPlanner  # noqa: PLC0415

    planner = ChunkPlanner(1000, largest=500)
    first = planner.next()
    assert first == (0, 4)  # small until a chunk has been timed
    planner.observe(4, 4 * 0.05)  # 50 ms a session (a long generic-path session)
    start, stop = planner.next() or (0, 0)
    assert (start, stop) == (4, 14)
    assert (stop - start) * 0.05 <= CHUNK_SECONDS
    planner.observe(10, 10 * 0.00001)  # cheap sessions: as large as allowed
    covered = [(4, 14)]
    while (chunk := planner.next()) is not None:
        covered.append(chunk)
        assert chunk[1] - chunk[0] <= 500
    assert covered[0][1] == covered[1][0]
    assert covered[-1][1] == 1000
    kernel = ChunkPlanner(100_000, largest=16_384, kernel=True)
    kernel.observe(1024, 30.0)  # even a slow kernel chunk keeps enough sessions for the lockstep
    assert kernel.size == 256


def test_a_run_interrupted_before_any_session_shows_no_figures() -> None:
    import io  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from betbot.montecarlo.results import Aggregates  # noqa: PLC0415
    from betbot.montecarlo.table import results_table  # noqa: PLC0415

    console = Console(file=io.StringIO(), width=100, record=True)
    console.print(results_table(Aggregates().report(rolls="fast", seed="s"), title="flat: 0 sessions"))
    text = console.export_text()
    assert "0 (none finished: no figures)" in text
    assert "%" not in text  # no P(ruin) 0.00 % for sessions that never ran
