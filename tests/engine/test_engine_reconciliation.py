"""Unknown outcomes: the engine stops admitting, drains, reads the site's books, settles each unknown bet
from them, and goes on (or stops) — and never sends an unknown bet again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
from anyio.lowlevel import checkpoint

from betbot.backends.base import SiteStats
from betbot.backends.simulator import SimulatedGame, SimulatorBackend
from betbot.core.fairness import GameRules, SeedPair
from betbot.core.models import BetRequest, Outcome, StopKind, Unknown
from betbot.core.session import Limits, Session
from betbot.core.strategy import DiceParams, StrategyContext
from betbot.engine.loop import Engine
from betbot.engine.site_books import Reconciler
from tests.helpers import Flat, run_in_virtual_time


class LosesReplies(SimulatorBackend):
    """Bets in `ran` execute but their reply is lost; bets in `lost` never reach the game."""

    def __init__(self, game: SimulatedGame, *, ran: set[int], lost: set[int]) -> None:
        super().__init__(game)
        self.ran, self.lost = ran, lost
        self.calls: list[int] = []

    answers_at_once = False  # every bet is a task, so several are in flight

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        self.calls.append(seq)
        for _ in range(seq % 4):  # replies out of order, without real time
            await checkpoint()
        if seq in self.lost:
            return Unknown(seq=seq, bet=bet, message="connection lost before the request was read")
        outcome = self.game.play(seq, bet)
        if seq in self.ran:
            return Unknown(seq=seq, bet=bet, message="connection dropped after the bet ran")
        return outcome


BALANCE = Decimal(100)


def _game(seed: str) -> SimulatedGame:
    return SimulatedGame(seeds=SeedPair.derive(seed), balances={"DOGE": BALANCE})


def _engine(backend: SimulatorBackend, *, max_bets: int, reconcile: bool = True, **options: Any) -> Engine:
    """Flat bets of DOGE, five in flight, on a clock that stands still; the site's books read when asked."""
    session = Session(currency="DOGE", starting_balance=BALANCE, limits=Limits(max_bets=max_bets), started_at=0.0)
    strategy = Flat(DiceParams(base_bet=Decimal(1)), StrategyContext(currency="DOGE", starting_balance=BALANCE))
    reconciler = Reconciler(backend, "DOGE", GameRules()) if reconcile else None
    return Engine(session=session, strategy=strategy, backend=backend, max_concurrent=5, clock=lambda: 0.0,
                  reconciler=reconciler, **options)


def _run(*, ran: set[int], lost: set[int], max_bets: int = 40, go_on: bool = True,
         reconcile: bool = True) -> tuple[Engine, LosesReplies]:
    backend = LosesReplies(_game("reconcile"), ran=ran, lost=lost)
    engine = _engine(backend, max_bets=max_bets, reconcile=reconcile, continue_after_reconciliation=go_on)
    anyio.run(engine.run)
    return engine, backend


def test_unknown_bets_that_ran_are_counted_and_the_session_goes_on() -> None:
    engine, backend = _run(ran={7, 19}, lost=set())
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert session.bets == 40
    assert session.balance == backend.game.balances["DOGE"]  # to the satoshi
    assert sorted(backend.calls) == list(range(1, 41))  # nothing sent twice
    assert len(engine.reconciliations) == 2
    assert all(result.balanced for result in engine.reconciliations)


def test_unknown_bets_that_never_ran_free_their_slot() -> None:
    engine, backend = _run(ran=set(), lost={3})
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert session.bets == 40  # max_bets counts bets that ran: the lost one was replaced, once
    assert backend.game.bets == 40
    assert len(backend.calls) == 41
    assert session.balance == backend.game.balances["DOGE"]


def test_reconciled_then_stop_when_so_configured() -> None:
    engine, backend = _run(ran={5}, lost=set(), go_on=False)
    reason = engine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.UNKNOWN_OUTCOME
    assert "reconciled" in reason.detail
    assert engine.session.unresolved_seqs == []
    assert engine.session.balance == backend.game.balances["DOGE"]


def test_without_a_reconciler_the_bet_stays_unknown_and_the_session_stops() -> None:
    engine, backend = _run(ran={5}, lost=set(), reconcile=False)
    reason = engine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.UNKNOWN_OUTCOME
    assert engine.session.unresolved_seqs == [5]
    assert 5 in backend.calls
    assert backend.calls.count(5) == 1


def test_books_that_do_not_balance_stop_with_the_reason() -> None:
    class Meddled(LosesReplies):
        async def place(self, seq: int, bet: BetRequest) -> Outcome:
            outcome = await super().place(seq, bet)
            if seq == 6:  # someone else bets on the account meanwhile
                self.game.balances["DOGE"] -= Decimal("0.33")
            return outcome

    backend = Meddled(_game("meddled"), ran={6}, lost=set())
    engine = _engine(backend, max_bets=20)
    session = engine.session
    anyio.run(engine.run)
    reason = session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.UNKNOWN_OUTCOME
    assert "do not balance" in reason.detail
    assert session.unresolved_seqs == [6]
    assert backend.calls.count(6) == 1


class SlowAfterReconciliation(LosesReplies):
    """Bet 2's reply is lost after it ran; the first three bets sent after the reconciliation answer only
    after `delay` (latency this fake controls), longer than the drain deadline; every other bet at once."""

    def __init__(self, game: SimulatedGame, delay: float) -> None:
        super().__init__(game, ran={2}, lost=set())
        self.delay = delay
        self.books_read = 0
        self.slow_left = 3

    async def stats(self, currency: str) -> SiteStats:
        self.books_read += 1  # the baseline, then the reconciliation
        return await super().stats(currency)

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        if self.books_read >= 2 and self.slow_left > 0:
            self.slow_left -= 1
            await anyio.sleep(self.delay)
        return await super().place(seq, bet)


def test_the_drain_deadline_ends_with_the_drain_and_never_cancels_later_bets() -> None:
    game = _game("deadline")
    backend = SlowAfterReconciliation(game, delay=0.05)
    engine = _engine(backend, max_bets=12, drain_timeout=0.01)
    session = engine.session
    # Virtual time: the drain (no time at all) always beats its 0.01 s deadline, and the slow replies always
    # outlast it, on a loaded machine too.
    run_in_virtual_time(engine.run)
    # One reconciliation (bet 2). Had the deadline armed by its drain outlived it, it would have cancelled
    # the slow bets placed after the reconciliation, and they would be unknown too.
    assert backend.slow_left == 0
    assert len(engine.reconciliations) == 1
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert session.bets == 12
    assert session.unresolved_seqs == []
    assert session.balance == game.balances["DOGE"]


def test_an_unknown_outcome_in_the_drain_after_a_limit_is_settled_too() -> None:
    # Bet 40, the last one max_bets allows, ran but its reply was lost: settled from the books, and the
    # session ends on its limit with nothing left unknown.
    engine, backend = _run(ran={40}, lost=set())
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert session.unresolved_seqs == []
    assert session.bets == 40
    assert session.balance == backend.game.balances["DOGE"]
    assert len(engine.reconciliations) == 1


def test_a_last_bet_that_never_ran_is_made_up_for() -> None:
    # Bet 40 never reached the game: max_bets counted it, reconciliation says it did not run, so one more
    # bet is placed and exactly 40 ran.
    engine, backend = _run(ran=set(), lost={40})
    session = engine.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert session.unresolved_seqs == []
    assert session.bets == backend.game.bets == 40
    assert sorted(backend.calls) == list(range(1, 42))  # bet 41 made up for bet 40, which was never resent


def test_a_signal_while_the_books_are_read_ends_the_session_once_they_settle_the_bet() -> None:
    # Ctrl-C while the engine waits for /bot/stats: the verdict is applied, and no bet is sent after it.
    engine: Engine | None = None

    class SignalledDuringStats(LosesReplies):
        async def stats(self, currency: str) -> SiteStats:
            if engine is not None and engine.session.unresolved_seqs:  # reconciling, not taking the baseline
                engine.request_stop("SIGINT")
            return await super().stats(currency)

    game = _game("signal-books")
    backend = SignalledDuringStats(game, ran={6}, lost=set())
    engine = _engine(backend, max_bets=40)
    session = engine.session
    anyio.run(engine.run)
    assert session.unresolved_seqs == []  # bet 6 settled from the books
    assert session.balance == game.balances["DOGE"]
    assert max(backend.calls) < 12  # betting did not go on to max_bets after the signal
    reason = session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.SIGNAL
    assert "reconciled" in reason.detail
