"""The async engine under random latencies: ordered history, exact bet counts, a stop-loss that is never
crossed, replay at any concurrency, retries, unknown outcomes, and stopping (drain, cancel, deadline).

Latency is a random number of checkpoints (see tests.helpers.CheckpointBackend): completions are
reordered deterministically per RNG seed, and no test waits for real time to pass.
"""

from __future__ import annotations

import random
import signal
from decimal import Decimal
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, Settled, StopKind, Unknown
from betbot.core.session import HELD, Limits
from betbot.core.strategy import WAIT, DiceParams, Pause, StopStrategy
from betbot.engine.backoff import SharedBackoff
from betbot.engine.loop import Engine, effective_concurrency
from betbot.engine.ratelimit import TokenBucket
from tests.helpers import (
    CURRENCY,
    HANG,
    AuditedSession,
    CheckpointBackend,
    D,
    FakeClock,
    FakeSleep,
    Flat,
    Martingale,
    Recorder,
    RecordingStrategy,
    Scripted,
    StrictMartingale,
    dice,
    make_game,
    rate_limited,
    run_in_virtual_time,
    wait_while_in_flight,
)

CONCURRENCIES = [1, 2, 5, 16, 64]
GUARD = 20  # seconds: a hang fails the test instead of freezing the suite (nothing here takes real time)


def make_engine(strategy: RecordingStrategy, backend: Any, *, n: int, limits: Limits, balance: str = "1000",
                clock: FakeClock | None = None, hooks: Recorder | None = None, drain_timeout: float = 30.0,
                backoff: SharedBackoff | None = None, **kwargs: Any) -> Engine:
    clock = clock or FakeClock()
    session = AuditedSession(currency=CURRENCY, starting_balance=D(balance), limits=limits, started_at=clock())
    if backoff is None:
        backoff = SharedBackoff(clock=clock, sleep=FakeSleep(clock), rng=random.Random(0))
    return Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n, clock=clock,
                  hooks=hooks if hooks is not None else Recorder(), drain_timeout=drain_timeout,
                  backoff=backoff, **kwargs)


async def run(engine: Engine) -> None:
    with anyio.fail_after(GUARD):
        await engine.run()


def flat(amount: str = "0.01", chance: str = "49.5") -> Flat:
    return Flat(DiceParams(base_bet=D(amount), chance=D(chance)))


def stop_kind(engine: Engine) -> StopKind:
    reason = engine.session.stop_reason
    assert reason is not None
    return reason.kind


# -- ordered history and exact counts ------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n", CONCURRENCIES)
async def test_results_in_seq_order_and_exactly_max_bets(n: int, seed: int) -> None:
    k = 150
    strategy = flat()
    backend = CheckpointBackend(make_game(), seed=seed)
    hooks = Recorder()
    engine = make_engine(strategy, backend, n=n, limits=Limits(max_bets=k), hooks=hooks)
    assert engine.concurrency == n
    await run(engine)
    assert strategy.seen == list(range(1, k + 1))  # the strategy saw every result, in seq order
    assert [o.seq for o in hooks.outcomes] == list(range(1, k + 1))
    assert len(backend.calls) == k  # exactly K bets placed, never one more
    assert sorted(backend.calls) == list(range(1, k + 1))
    assert backend.game.bets == k
    assert strategy.asked == k  # never asked for a bet that could not be placed
    session = engine.session
    assert stop_kind(engine) is StopKind.MAX_BETS
    assert session.bets == session.submitted == k
    assert session.in_flight == 0
    assert session.exposure == 0
    assert [seq for seq, _ in hooks.admissions] == list(range(1, k + 1))
    assert backend.max_in_flight == n  # really N at once, never more
    if n >= 5:
        assert backend.completed != sorted(backend.completed)  # replies really came back out of order


@pytest.mark.parametrize("n", CONCURRENCIES)
async def test_max_bets_smaller_than_concurrency(n: int) -> None:
    strategy = flat()
    backend = CheckpointBackend(make_game(), seed=3)
    engine = make_engine(strategy, backend, n=n, limits=Limits(max_bets=3))
    await run(engine)
    assert len(backend.calls) == 3
    assert strategy.seen == [1, 2, 3]
    assert backend.max_in_flight == min(n, 3)


# -- the stop-loss under concurrency ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n", CONCURRENCIES)
async def test_stop_loss_is_never_crossed_even_in_the_worst_case(n: int, seed: int) -> None:
    stop_loss = D("0.5")
    strategy = Martingale(DiceParams(base_bet=D("0.01"), chance=D("49.5")))
    assert strategy.max_in_flight is None
    backend = CheckpointBackend(make_game(f"martingale-{seed}", "100"), seed=seed)
    calls_at: list[tuple[Decimal, Decimal]] = []
    backend.on_call = lambda seq, bet: calls_at.append((engine.session.profit, engine.session.exposure))
    engine = make_engine(strategy, backend, n=n, balance="100", limits=Limits(stop_loss=stop_loss, max_bets=400))
    assert engine.concurrency == n
    await run(engine)
    session = engine.session
    assert isinstance(session, AuditedSession)
    admitted = session.admitted
    assert admitted, "no bet was admitted"
    for a in admitted:  # the worst case at every admission: all in flight lose, and this one too
        assert a.profit - a.exposure_before - a.stake >= -stop_loss, a
        assert a.exposure_before + a.stake <= a.balance, a
    for profit, exposure in calls_at:  # and as the backend saw the books, bet by bet
        assert profit - exposure >= -stop_loss
    assert session.profit >= -stop_loss
    assert stop_kind(engine) in {StopKind.STOP_LOSS, StopKind.MAX_BETS}
    assert max(a.stake for a in admitted) > D("0.01")  # the progression really ran
    assert backend.max_in_flight <= n
    if n == 64:
        assert any(a.verdict is HELD for a in session.admissions)  # the gate really had to hold bets back
    assert strategy.seen == list(range(1, len(strategy.seen) + 1))


# -- the deadline ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", CONCURRENCIES)
async def test_max_duration_stops_admitting_on_time(n: int) -> None:
    clock = FakeClock(100.0)
    backend = CheckpointBackend(make_game(), seed=n, clock=clock, step=1.0)  # each bet takes 1 s of fake time
    hooks = Recorder()
    engine = make_engine(flat(), backend, n=n, clock=clock, hooks=hooks, limits=Limits(max_duration=20))
    await run(engine)
    times = [t for _, t in hooks.admissions]
    assert times
    assert all(t < 120.0 for t in times)
    assert clock() >= 120.0  # ... and it did run up to it
    assert stop_kind(engine) is StopKind.MAX_DURATION
    session = engine.session
    assert session.in_flight == 0
    assert session.bets == len(times) == len(backend.calls)
    if n == 1:
        assert times == [100.0 + i for i in range(20)]


# -- replay at any concurrency -------------------------------------------------------------------------------
async def flat_history(n: int, latency_seed: int, *, k: int = 200, chance: str = "49.5") -> list[tuple]:
    strategy = flat("0.01", chance)
    hooks = Recorder()
    engine = make_engine(strategy, CheckpointBackend(make_game("replay"), seed=latency_seed), n=n, hooks=hooks,
                         limits=Limits(max_bets=k))
    await run(engine)
    assert strategy.seen == list(range(1, k + 1))
    return hooks.history


@pytest.mark.parametrize("latency_seed", [0, 1, 2])
@pytest.mark.parametrize("n", CONCURRENCIES)
async def test_flat_history_is_the_same_at_any_concurrency(n: int, latency_seed: int) -> None:
    sequential = await flat_history(1, 99)
    concurrent = await flat_history(n, latency_seed)
    assert concurrent == sequential
    assert len(sequential) == 200
    wins = sum(win for _, _, win, _ in sequential)
    assert 0 < wins < 200


async def test_a_different_seed_gives_a_different_history() -> None:
    # the comparison above would be vacuous if every run produced the same rolls
    strategy = flat()
    hooks = Recorder()
    engine = make_engine(strategy, CheckpointBackend(make_game("another-seed"), seed=0), n=1, hooks=hooks,
                         limits=Limits(max_bets=200))
    await run(engine)
    assert hooks.history != await flat_history(1, 0)


async def martingale_history(strategy_cls: type[Martingale], n: int, latency_seed: int,
                             k: int = 120) -> tuple[Engine, CheckpointBackend, list[tuple]]:
    strategy = strategy_cls(DiceParams(base_bet=D("0.01"), chance=D("49.5")))
    hooks = Recorder()
    backend = CheckpointBackend(make_game("strict"), seed=latency_seed)
    engine = make_engine(strategy, backend, n=n, hooks=hooks, limits=Limits(max_bets=k))
    await run(engine)
    full = [(o.seq, o.number, o.win, o.profit, o.bet.amount) for o in hooks.outcomes if isinstance(o, Settled)]
    return engine, backend, full


@pytest.mark.parametrize("n", [2, 16, 64])
async def test_a_strategy_that_must_see_every_result_runs_at_concurrency_1(n: int) -> None:
    engine, backend, strict = await martingale_history(StrictMartingale, n, latency_seed=n)
    assert engine.concurrency == 1
    assert backend.max_in_flight == 1  # never two bets out at once
    _, _, sequential = await martingale_history(StrictMartingale, 1, latency_seed=0)
    assert strict == sequential  # stakes included: the progression is the sequential one
    # The same progression with lag allowed really differs at N > 1: the check above is not vacuous.
    _, lagged_backend, lagged = await martingale_history(Martingale, n, latency_seed=n)
    assert lagged_backend.max_in_flight > 1
    assert lagged != sequential


@pytest.mark.parametrize(("requested", "tolerated", "expected"),
                         [(1, None, 1), (64, None, 64), (64, 1, 1), (8, 3, 3), (2, 3, 2), (5, 0, 1)])
def test_effective_concurrency(requested: int, tolerated: int | None, expected: int) -> None:
    class S(Flat):
        max_in_flight = tolerated

    assert effective_concurrency(requested, S) == expected


def test_max_concurrent_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        make_engine(flat(), CheckpointBackend(make_game()), n=0, limits=Limits())


# -- the fast path -------------------------------------------------------------------------------------------
class InstantOnly(SimulatorBackend):
    """A zero-latency simulator that fails the test if the engine ever takes the task path."""

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        raise AssertionError("the fast path should not spawn a task")


@pytest.mark.parametrize("n", [1, 16])
async def test_fast_path_gives_the_same_history_as_the_task_path(n: int) -> None:
    k = 300
    strategy = flat()
    hooks = Recorder()
    backend = InstantOnly(make_game("replay"), LatencyModel())
    engine = make_engine(strategy, backend, n=n, hooks=hooks, limits=Limits(max_bets=k), yield_every=7)
    await run(engine)
    assert strategy.seen == list(range(1, k + 1))
    assert backend.game.bets == k
    assert hooks.history == await flat_history(n, 5, k=k)


async def test_fast_path_martingale_matches_task_path() -> None:
    _, _, task_path = await martingale_history(StrictMartingale, 1, latency_seed=1)
    strategy = StrictMartingale(DiceParams(base_bet=D("0.01"), chance=D("49.5")))
    hooks = Recorder()
    engine = make_engine(strategy, InstantOnly(make_game("strict"), LatencyModel()), n=1, hooks=hooks,
                         limits=Limits(max_bets=120))
    await run(engine)
    fast = [(o.seq, o.number, o.win, o.profit, o.bet.amount) for o in hooks.outcomes if isinstance(o, Settled)]
    assert fast == task_path


# -- the strategy's own stops and errors ---------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 4])
async def test_a_strategy_raising_in_next_bet_is_a_strategy_error(n: int) -> None:
    def decide(call: int, _view: Any) -> Any:
        if call == 3:
            raise ValueError("boom")
        return dice("0.01")

    strategy = Scripted(decide)
    backend = CheckpointBackend(make_game(), seed=1)
    engine = make_engine(strategy, backend, n=n, limits=Limits(max_bets=50))
    await run(engine)
    reason = engine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.STRATEGY_ERROR
    assert "ValueError" in reason.detail
    assert "boom" in reason.detail
    assert sorted(backend.calls) == [1, 2]  # the bets before the error were placed, and drained
    assert strategy.seen == [1, 2]
    assert engine.session.in_flight == 0


async def test_a_strategy_raising_in_on_result_is_a_strategy_error() -> None:
    def on_result(result: Settled, _view: Any) -> None:
        if result.seq == 2:
            raise KeyError("lost track")

    strategy = Scripted(lambda _n, _v: dice("0.01"), on_result)
    engine = make_engine(strategy, CheckpointBackend(make_game(), seed=2), n=1, limits=Limits(max_bets=50))
    await run(engine)
    reason = engine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.STRATEGY_ERROR
    assert "KeyError" in reason.detail
    assert engine.session.bets == 2


@pytest.mark.parametrize("where", ["next_bet", "on_result"])
async def test_stop_strategy_stops_with_its_reason(where: str) -> None:
    def decide(call: int, _view: Any) -> Any:
        return StopStrategy("target reached") if where == "next_bet" and call == 4 else dice("0.01")

    def on_result(result: Settled, _view: Any) -> StopStrategy | None:
        return StopStrategy("target reached") if where == "on_result" and result.seq == 4 else None

    strategy = Scripted(decide, on_result)
    backend = CheckpointBackend(make_game(), seed=0)
    engine = make_engine(strategy, backend, n=1, limits=Limits(max_bets=50))
    await run(engine)
    reason = engine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.STRATEGY
    assert reason.detail == "target reached"
    assert len(backend.calls) == (3 if where == "next_bet" else 4)


async def test_wait_with_nothing_in_flight_is_a_strategy_error() -> None:
    strategy = Scripted(lambda _n, _v: WAIT)
    backend = CheckpointBackend(make_game())
    engine = make_engine(strategy, backend, n=4, limits=Limits(max_bets=5))
    await run(engine)
    assert stop_kind(engine) is StopKind.STRATEGY_ERROR
    assert backend.calls == []


async def test_wait_with_bets_in_flight_waits_for_the_next_result() -> None:
    strategy = Scripted(wait_while_in_flight("0.01"))
    backend = CheckpointBackend(make_game(), seed=4)
    engine = make_engine(strategy, backend, n=8, limits=Limits(max_bets=20))
    assert engine.concurrency == 8
    await run(engine)
    assert stop_kind(engine) is StopKind.MAX_BETS
    assert backend.max_in_flight == 1
    assert strategy.seen == list(range(1, 21))


# -- retries, refusals and unknown outcomes ------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 4, 16])
async def test_retryable_refusals_wait_for_the_shared_backoff_and_place_once(n: int) -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    backoff = SharedBackoff(clock=clock, sleep=sleep, rng=random.Random(1))
    script = {
        3: [rate_limited(2.5), (RefusalKind.CHALLENGE, None)],
        7: [rate_limited(1.0)],
        8: [(RefusalKind.CONNECT, None)],
    }
    backend = CheckpointBackend(make_game(), seed=n, script=script, clock=clock)
    active_at_call: list[bool] = []
    backend.on_call = lambda seq, bet: active_at_call.append(engine.backoff.active)
    strategy = flat()
    engine = make_engine(strategy, backend, n=n, clock=clock, backoff=backoff, limits=Limits(max_bets=10))
    await run(engine)
    assert not any(active_at_call)  # no request ever left during a back-off
    assert backend.calls.count(3) == 3
    assert backend.calls.count(7) == 2
    assert backend.calls.count(8) == 2
    assert len(backend.calls) == 10 + 4
    assert all(backend.played[seq] == 1 for seq in range(1, 11))  # each bet ran exactly once
    assert backend.game.bets == 10
    assert engine.retries == 4
    assert backoff.trips == 4
    # Retry-After honoured: the same bet went out again only once the server's pause had passed
    calls3 = [t for what, seq, t in backend.events if what == "call" and seq == 3]
    refused3 = [t for what, seq, t in backend.events if what == "reply" and seq == 3]
    assert calls3[1] >= refused3[0] + 2.5
    calls7 = [t for what, seq, t in backend.events if what == "call" and seq == 7]
    refused7 = [t for what, seq, t in backend.events if what == "reply" and seq == 7]
    assert calls7[1] >= refused7[0] + 1.0
    assert sleep.calls  # the wait went through the injected (fake) sleep
    assert strategy.seen == list(range(1, 11))
    assert stop_kind(engine) is StopKind.MAX_BETS
    assert engine.session.submitted == 10


async def test_a_retryable_refusal_from_the_fast_path_trips_the_backoff() -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    backoff = SharedBackoff(clock=clock, sleep=sleep, rng=random.Random(0))
    placed_at: list[float] = []

    class RateLimitedOnce(SimulatorBackend):
        refused = False

        def place_now(self, seq: int, bet: BetRequest) -> Outcome:
            if seq == 2 and not self.refused:
                self.refused = True
                return Refused(seq=seq, bet=bet, kind=RefusalKind.RATE_LIMIT, message="429", retry_after=3.0)
            return super().place_now(seq, bet)

        async def place(self, seq: int, bet: BetRequest) -> Outcome:
            placed_at.append(clock())
            return self.game.play(seq, bet)

    backend = RateLimitedOnce(make_game(), LatencyModel())
    strategy = flat()
    engine = make_engine(strategy, backend, n=1, clock=clock, backoff=backoff, limits=Limits(max_bets=3))
    await run(engine)
    assert strategy.seen == [1, 2, 3]
    assert backoff.trips == 1
    assert engine.retries == 1
    assert placed_at
    assert placed_at[0] >= 3.0


def test_a_bet_waiting_for_its_token_is_not_sent_during_another_bets_retry_after_pause() -> None:
    # A rate bucket spaces the bets 50 ms apart; the first one's 429 (Retry-After 1 s) comes back while the next
    # ones wait for their tokens, past the back-off they already passed: none of them leaves during the pause.
    sent: list[float] = []
    refused_at: list[float] = []

    class RateLimitedFirst(SimulatorBackend):
        async def place(self, seq: int, bet: BetRequest) -> Outcome:
            sent.append(anyio.current_time())
            await anyio.sleep(0.07)
            if not refused_at:
                refused_at.append(anyio.current_time())
                return Refused(seq=seq, bet=bet, kind=RefusalKind.RATE_LIMIT, message="429", retry_after=1.0)
            return self.game.play(seq, bet)

    async def main() -> None:
        clock = anyio.current_time
        session = AuditedSession(currency=CURRENCY, starting_balance=D(1000), limits=Limits(max_bets=8),
                                 started_at=clock())
        engine = Engine(session=session, strategy=flat(), backend=RateLimitedFirst(make_game(), LatencyModel()),
                        max_concurrent=4, clock=clock, hooks=Recorder(), rate_limit=TokenBucket(20.0, clock=clock),
                        backoff=SharedBackoff(clock=clock, rng=random.Random(0)))
        await run(engine)
        assert engine.session.bets == 8

    run_in_virtual_time(main)
    assert refused_at
    assert [at for at in sent if refused_at[0] < at < refused_at[0] + 1.0] == []
    assert sum(at >= refused_at[0] + 1.0 for at in sent) >= 7  # the refused bet again, and the rest after it


async def test_non_retryable_refusal_stops_and_is_not_resent() -> None:
    game = make_game(min_bets={CURRENCY: D(1)})
    backend = CheckpointBackend(game, seed=0)
    engine = make_engine(flat("0.5"), backend, n=4, limits=Limits(max_bets=10))
    await run(engine)
    assert stop_kind(engine) is StopKind.MIN_BET
    assert len(backend.calls) == len(set(backend.calls))  # nothing sent twice
    assert engine.session.bets == 0
    assert engine.session.exposure == 0
    assert engine.session.submitted == 0


@pytest.mark.parametrize("n", [1, 4])
async def test_a_backend_exception_is_an_unknown_outcome(n: int) -> None:
    backend = CheckpointBackend(make_game(), seed=2, script={2: [RuntimeError("connection reset")]})
    strategy = flat()
    hooks = Recorder()
    engine = make_engine(strategy, backend, n=n, hooks=hooks, limits=Limits(max_bets=20))
    await run(engine)
    session = engine.session
    reason = session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.UNKNOWN_OUTCOME
    assert "RuntimeError" in reason.detail
    assert backend.calls.count(2) == 1  # never resent
    assert session.unresolved_seqs == [2]
    assert session.exposure == D("0.01")  # the unknown stake stays at risk
    unknown = [o for o in hooks.outcomes if isinstance(o, Unknown)]
    assert [o.seq for o in unknown] == [2]
    admitted = sorted(backend.calls)
    assert strategy.seen == [s for s in admitted if s != 2]  # every other bet in flight drained and applied
    assert session.in_flight == 0


# -- stopping ------------------------------------------------------------------------------------------------
async def start_gated(n: int, **kwargs: Any) -> tuple[Engine, CheckpointBackend, anyio.Event]:
    gate = anyio.Event()
    backend = CheckpointBackend(make_game(), seed=5, gate=gate)
    engine = make_engine(flat(), backend, n=n, limits=Limits(max_bets=100), **kwargs)
    return engine, backend, gate


async def test_first_stop_request_drains_the_bets_in_flight() -> None:
    engine, backend, gate = await start_gated(4)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await anyio.wait_all_tasks_blocked()
            assert sorted(backend.calls) == [1, 2, 3, 4]  # four bets out, all waiting for the site
            engine.request_stop("SIGINT")
            await anyio.wait_all_tasks_blocked()
            assert len(backend.calls) == 4  # no new bet after the request
            assert engine.session.in_flight == 4
            assert engine.finished_at is None  # still draining
            gate.set()
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.SIGNAL
    assert "SIGINT" in session.stop_reason.detail
    assert session.bets == 4
    assert session.unresolved_seqs == []
    assert session.exposure == 0
    assert engine.strategy.seen == [1, 2, 3, 4]  # type: ignore[attr-defined]
    assert engine.finished_at is not None


async def test_second_stop_request_cancels_the_bets_in_flight_into_unknown() -> None:
    engine, backend, _gate = await start_gated(4)
    hooks = engine.hooks
    assert isinstance(hooks, Recorder)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await anyio.wait_all_tasks_blocked()
            engine.request_stop("SIGINT")
            await anyio.wait_all_tasks_blocked()
            engine.request_stop("SIGINT")  # the gate is never opened: only cancelling ends the run
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.SIGNAL
    assert session.unresolved_seqs == [1, 2, 3, 4]
    assert all(isinstance(o, Unknown) for o in hooks.outcomes)
    assert [o.seq for o in hooks.outcomes] == [1, 2, 3, 4]
    assert session.exposure == D("0.04")
    assert session.bets == 0
    assert session.in_flight == 0
    assert session.done
    assert len(backend.calls) == 4
    assert backend.game.bets == 0
    assert engine.signals.received == 2


async def test_after_a_second_stop_request_only_the_bets_really_cut_off_count_as_left_unknown() -> None:
    engine: Engine | None = None

    class RepliesThenSignalsTwice(CheckpointBackend):
        """Bet 4's reply is in hand when both signals come; bets 1 to 3 never answer."""

        async def place(self, seq: int, bet: BetRequest) -> Outcome:
            outcome = await super().place(seq, bet)
            if seq == 4:
                assert engine is not None
                engine.request_stop("SIGINT")
                engine.request_stop("SIGINT")
            return outcome

    backend = RepliesThenSignalsTwice(make_game(), seed=5, script={s: [HANG] for s in (1, 2, 3)})
    engine = make_engine(flat(), backend, n=4, limits=Limits(max_bets=100))
    await run(engine)
    session = engine.session
    assert session.unresolved_seqs == [1, 2, 3]
    assert session.bets == 1  # bet 4 settled: its reply was back
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.SIGNAL
    assert session.stop_reason.detail == ("SIGINT again: stopped at once, 3 of the 4 bet(s) in flight left "
                                          "unknown (reconciled at the next start)")


async def test_drain_deadline_cancels_into_unknown() -> None:
    backend = CheckpointBackend(make_game(), seed=5, script={s: [HANG] for s in range(1, 4)})
    strategy = flat()
    engine = make_engine(strategy, backend, n=3, limits=Limits(max_bets=100), drain_timeout=0.01)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await anyio.wait_all_tasks_blocked()
            assert sorted(backend.calls) == [1, 2, 3]
            engine.request_stop("SIGTERM", tg)  # arms the drain deadline in this task group
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.SIGNAL
    assert session.unresolved_seqs == [1, 2, 3]
    assert session.in_flight == 0
    assert len(backend.calls) == 3


async def test_drain_after_a_limit_stop_is_bounded_by_drain_timeout() -> None:
    backend = CheckpointBackend(make_game(), seed=0, script={2: [HANG]})
    engine = make_engine(flat(), backend, n=2, limits=Limits(max_bets=2), drain_timeout=0.01)
    with anyio.fail_after(GUARD):  # bet 2 never resolves: only the drain deadline can end this run
        await engine.run()
    assert stop_kind(engine) is StopKind.MAX_BETS
    assert engine.session.unresolved_seqs == [2]


# -- a pause, a signal, and the back-off after a success -----------------------------------------------------
async def test_a_signal_while_the_engine_sleeps_through_a_strategys_pause_ends_the_run_at_once() -> None:
    # An hour's pause: only the signal waking the engine can end the run while the test looks.
    strategy = Scripted(lambda n, view: Pause(3600.0) if n == 1 else dice("0.01"))
    backend = CheckpointBackend(make_game(), seed=1)
    engine = make_engine(strategy, backend, n=2, limits=Limits(max_bets=10), handle_signals=True)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await anyio.wait_all_tasks_blocked()
            assert strategy.asked == 1  # paused, nothing placed
            signal.raise_signal(signal.SIGINT)
            while not engine.signals.received:  # the event loop reads the signal on one of its next turns
                await anyio.lowlevel.checkpoint()
            await anyio.wait_all_tasks_blocked()
            finished = engine.finished_at is not None
            tg.cancel_scope.cancel()  # a mutant that sleeps on must fail here, not hang the suite
    assert finished
    assert backend.calls == []
    assert stop_kind(engine) is StopKind.SIGNAL
    assert engine.signals.received == 1


class _Ceiling(random.Random):
    """Full jitter at its top: each back-off pause is its ceiling, base * 2 ** (failures in a row - 1)."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def test_a_bet_that_goes_through_resets_the_backoff_for_the_next_refusal() -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    backoff = SharedBackoff(base=1.0, cap=60.0, clock=clock, sleep=sleep, rng=_Ceiling())
    # Bet 1 is refused twice in a row (pauses 1 s, then 2 s) and goes through; bet 3 is refused once.
    backend = CheckpointBackend(make_game(), seed=2, script={1: [rate_limited(), rate_limited()],
                                                             3: [rate_limited()]})
    engine = make_engine(flat(), backend, n=1, clock=clock, backoff=backoff, limits=Limits(max_bets=3))
    await run(engine)
    assert backend.calls == [1, 1, 1, 2, 3, 3]
    assert sleep.calls == [1.0, 2.0, 1.0]  # after bet 1 went through, the next pause starts again at the base
    assert backoff.trips == 3
    assert stop_kind(engine) is StopKind.MAX_BETS
