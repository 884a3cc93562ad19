"""The session machine: one rule set, whoever drives it.

The engine is only a driver: a trace of the calls it made into the machine (ask for the next action, feed
an outcome), replayed by a scripted driver into a fresh machine, gives the very same actions and events.
The bare loop drives the same machine, minimum-bet rule included. Pauses, seed rotation, signals and
reconciliation decisions are the machine's, tested here without any I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import pytest

from betbot.core.bare_loop import play_sync
from betbot.core.machine import AWAIT, DONE, ROTATE_SEED, MinBetRule, Place, Reconcile, SessionMachine, Sleep
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, SeedRotation, Settled, StopKind, Unknown
from betbot.core.reconcile import Reconciliation, Verdict
from betbot.core.session import Limits
from betbot.core.strategy import RESEED, WAIT, DiceParams, Pause, StopStrategy
from betbot.engine.loop import Engine
from tests.helpers import (
    CURRENCY,
    CheckpointBackend,
    D,
    FakeClock,
    Flat,
    Martingale,
    Scripted,
    dice,
    make_game,
    make_session,
    settled,
)


class EventLog:
    """Every event the machine emits, as comparable tuples."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        self.events.append(("admitted", seq, bet.amount))

    def released(self, outcome: Outcome, now: float) -> None:
        self.events.append(("released", outcome.seq, type(outcome).__name__))

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None = None) -> None:
        self.events.append(("reconciled", seq, profit))

    def stopped(self, reason: Any, now: float) -> None:
        self.events.append(("stopped", reason.kind))

    def resumed(self, kind: StopKind, now: float) -> None:
        self.events.append(("resumed", kind))

    def seed_rotated(self, rotation: SeedRotation, first_seq: int, now: float) -> None:
        self.events.append(("seed_rotated", first_seq))

    def min_bet_learned(self, currency: str, amount: Decimal) -> None:
        self.events.append(("min_bet_learned", currency, amount))


def describe(action: Any) -> tuple[Any, ...]:
    if isinstance(action, Place):
        return ("place", action.seq, action.bet.amount)
    return (repr(action),)


class _Tracing:
    """The engine's machine, its calls to next_action and outcome recorded (a wrapper: a compiled build's
    machine takes no attributes of its own, so its methods cannot be swapped on the instance)."""

    def __init__(self, machine: SessionMachine, trace: list[tuple[str, Any]]) -> None:
        object.__setattr__(self, "_machine", machine)
        object.__setattr__(self, "_trace", trace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._machine, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._machine, name, value)

    def next_action(self, now: float) -> Any:
        action = self._machine.next_action(now)
        self._trace.append(("next", describe(action)))
        return action

    def outcome(self, seq: int, result: Outcome, now: float) -> None:
        self._trace.append(("outcome", result))
        self._machine.outcome(seq, result, now)


# -- one rule set, proven -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_a_scripted_driver_replaying_the_engines_calls_gets_the_same_actions_and_events(n: int,
                                                                                           seed: int) -> None:
    limits = Limits(max_bets=60, stop_loss=D("0.5"), take_profit=D("0.3"))
    engine_log = EventLog()
    strategy = Martingale(DiceParams(base_bet=D("0.01"), chance=D("49.5")))
    engine = Engine(session=make_session(balance="5", limits=limits), strategy=strategy,
                    backend=CheckpointBackend(make_game(f"trace-{seed}", balance="5"), seed=seed),
                    max_concurrent=n, clock=lambda: 0.0, observers=(engine_log,))
    trace: list[tuple[str, Any]] = []
    engine.machine = _Tracing(engine.machine, trace)  # type: ignore[assignment]
    with anyio.fail_after(20):
        await engine.run()
    assert trace[-1] == ("next", ("DONE",))

    replay_log = EventLog()
    replay = SessionMachine(session=make_session(balance="5", limits=limits),
                            strategy=Martingale(DiceParams(base_bet=D("0.01"), chance=D("49.5"))),
                            concurrency=n, observer=replay_log)
    for call, value in trace:
        if call == "next":
            assert describe(replay.next_action(0.0)) == value
        else:
            replay.outcome(value.seq, value, 0.0)
    assert replay_log.events == engine_log.events
    assert replay.session.snapshot() == engine.session.snapshot()
    assert any(event[0] == "stopped" for event in engine_log.events)


def test_the_bare_loop_applies_the_minimum_bet_rule() -> None:
    # The house refuses stakes under 1; with "raise" the rule learns that from the refusal and bets on at 1.
    session = make_session(balance="100", limits=Limits(max_bets=20))
    raised = play_sync(session, Flat(DiceParams(base_bet=D("0.5"))), make_game(min_bets={CURRENCY: D(1)}),
                       below_min_bet="raise")
    assert raised.bets == 20
    assert raised.snapshot().largest_bet == D(1)
    assert raised.stop_reason is not None
    assert raised.stop_reason.kind is StopKind.MAX_BETS

    stopped = play_sync(make_session(balance="100", limits=Limits(max_bets=20)), Flat(DiceParams(base_bet=D("0.5"))),
                        make_game(min_bets={CURRENCY: D(1)}))
    assert stopped.bets == 0
    assert stopped.stop_reason is not None
    assert stopped.stop_reason.kind is StopKind.MIN_BET


def test_a_known_minimum_stops_before_anything_is_sent() -> None:
    log = EventLog()
    machine = SessionMachine(session=make_session(), strategy=Flat(DiceParams(base_bet=D("0.5"))),
                             min_bets=MinBetRule({"doge": D(1)}), observer=log)
    assert machine.next_action(0.0) is DONE
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.MIN_BET
    assert "0.50000000 is below the site's minimum bet 1 DOGE" in reason.detail.replace("1.00000000", "1")
    assert log.events == [("stopped", StopKind.MIN_BET)]


# -- pauses and seed rotation ---------------------------------------------------------------------------------
def test_a_pause_is_a_sleep_then_the_strategy_is_asked_again() -> None:
    answers: list[Any] = [Pause(2.5), dice("0.01")]
    strategy = Scripted(lambda n, view: answers[n - 1] if n <= len(answers) else StopStrategy("done"))
    machine = SessionMachine(session=make_session(), strategy=strategy)
    assert machine.next_action(10.0) == Sleep(12.5)
    assert machine.next_action(11.0) == Sleep(12.5)  # asked early: still paused, the strategy is not asked
    assert strategy.asked == 1
    action = machine.next_action(12.5)
    assert isinstance(action, Place)
    assert action.seq == 1


def test_pauses_cost_no_time_in_the_bare_loop() -> None:
    strategy = Scripted(lambda n, view: dice("0.01") if n % 2 else Pause(3600.0))
    session = play_sync(make_session(limits=Limits(max_bets=5, max_duration=60.0)), strategy, make_game())
    # An hour's pause per bet in virtual time: the 60 s duration limit ends the session after the first bet.
    assert session.bets == 1
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_DURATION


def test_reseed_drains_then_rotates_then_asks_again() -> None:
    answers: list[Any] = [dice("0.01"), RESEED, dice("0.01")]
    strategy = Scripted(lambda n, view: answers[n - 1] if n <= len(answers) else WAIT)
    log = EventLog()
    machine = SessionMachine(session=make_session(), strategy=strategy, concurrency=4, observer=log)
    first = machine.next_action(0.0)
    assert isinstance(first, Place)
    assert machine.next_action(0.0) is AWAIT  # the reseed waits for bet 1
    machine.outcome(1, settled(1, first.bet, win=True), 0.0)
    assert machine.next_action(0.0) is ROTATE_SEED
    machine.seed_rotated(SeedRotation(previous_server_seed="old", previous_server_seed_hash="h", server_seed_hash="n",
                                      client_seed="c"), 0.0)
    second = machine.next_action(0.0)
    assert isinstance(second, Place)
    assert second.seq == 2
    assert ("seed_rotated", 2) in log.events


def test_reseed_every_n_bets_in_the_bare_loop_verifies_under_each_pair() -> None:
    game = make_game("rotating")
    session = play_sync(make_session(limits=Limits(max_bets=250)), Flat(), game, reseed_every=100)
    assert session.bets == 250
    assert len(game.seed_history) == 3  # rotated after bet 100 and after bet 200


# -- signals --------------------------------------------------------------------------------------------------
def test_a_second_signal_says_the_bets_were_left_unknown() -> None:
    machine = SessionMachine(session=make_session(), strategy=Flat(), concurrency=3)
    for _ in range(3):
        assert isinstance(machine.next_action(0.0), Place)
    machine.signal("SIGTERM", 0.0)
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.SIGNAL
    assert "3 bet(s) in flight drained" in reason.detail
    machine.signal("SIGTERM", 0.0)
    reason = machine.session.stop_reason
    assert reason is not None
    assert "giving up on the 3 bet(s) in flight" in reason.detail
    assert "drained" not in reason.detail
    machine.signal("SIGTERM", 0.0)  # a third changes nothing
    # Bet 2's reply was already on its way: it settles. Only bets 1 and 3 were really cut off.
    machine.outcome(2, settled(2, dice("0.01"), win=True), 0.0)
    machine.outcome(3, Unknown(seq=3, bet=dice("0.01"), message="cancelled"), 0.0)
    machine.outcome(1, Unknown(seq=1, bet=dice("0.01"), message="cancelled"), 0.0)
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.SIGNAL
    assert reason.detail == ("SIGTERM again: stopped at once, 2 of the 3 bet(s) in flight left unknown "
                             "(reconciled at the next start)")
    assert machine.next_action(0.0) is DONE  # never reconciled after a second signal


def test_a_second_signal_after_a_limit_keeps_the_limit_and_says_what_was_left() -> None:
    machine = SessionMachine(session=make_session(limits=Limits(max_bets=2)), strategy=Flat(), concurrency=3)
    assert isinstance(machine.next_action(0.0), Place)
    assert isinstance(machine.next_action(0.0), Place)
    assert machine.next_action(0.0) is AWAIT
    machine.signal("SIGINT", 0.0)
    machine.signal("SIGINT", 0.0)
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.MAX_BETS
    assert "giving up on the 2 bet(s) in flight" in reason.detail
    machine.outcome(1, settled(1, dice("0.01"), win=False), 0.0)
    machine.outcome(2, settled(2, dice("0.01"), win=False), 0.0)
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.MAX_BETS
    assert reason.detail == ("placed 2 of 2 bets; SIGINT again: stopped at once, 0 of the 2 bet(s) in flight "
                             "left unknown (reconciled at the next start)")


# -- reconciliation decisions ---------------------------------------------------------------------------------
def _unknown_after(machine: SessionMachine, outcomes: dict[int, str]) -> None:
    """Admit len(outcomes) bets, then feed each as 'win', 'loss' or 'unknown'."""
    bets = {}
    for _ in outcomes:
        action = machine.next_action(0.0)
        assert isinstance(action, Place)
        bets[action.seq] = action.bet
    for seq, what in outcomes.items():
        bet = bets[seq]
        if what == "unknown":
            machine.outcome(seq, Unknown(seq=seq, bet=bet, message="read timeout"), 0.0)
        else:
            machine.outcome(seq, settled(seq, bet, win=what == "win"), 0.0)


def test_unknown_bets_are_reconciled_then_betting_goes_on() -> None:
    log = EventLog()
    machine = SessionMachine(session=make_session(limits=Limits(max_bets=10)), strategy=Flat(), concurrency=3,
                             reconcile_unknown=True, observer=log)
    _unknown_after(machine, {1: "win", 2: "unknown", 3: "loss"})
    request = machine.next_action(0.0)
    assert isinstance(request, Reconcile)
    assert list(request.unknown) == [2]
    assert request.settled_bets == 2
    assert request.payouts == {(D("49.5"), False): D("2.0000")}  # learned from the settled bets
    machine.reconciled(Reconciliation(verdicts=(Verdict(seq=2, profit=D(0)),), balanced=True, detail="ok",
                                      bets_ran=1, profit=D(0)), 0.0)
    assert machine.session.wins == 2  # a reconciled bet with zero profit counts as a win
    assert machine.session.stop_reason is None
    assert ("resumed", StopKind.UNKNOWN_OUTCOME) in log.events
    assert isinstance(machine.next_action(0.0), Place)


def test_books_that_cannot_be_read_keep_the_bets_unknown_and_end_the_session() -> None:
    machine = SessionMachine(session=make_session(limits=Limits(max_bets=10)), strategy=Flat(), concurrency=2,
                             reconcile_unknown=True)
    _unknown_after(machine, {1: "unknown", 2: "loss"})
    assert isinstance(machine.next_action(0.0), Reconcile)
    machine.reconcile_failed("ReadTimeout: the stats call timed out", 0.0)
    assert machine.next_action(0.0) is DONE  # asked once, never again, never resent
    assert machine.session.unresolved_seqs == [1]
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.UNKNOWN_OUTCOME
    assert "could not reconcile 1 unknown bet(s)" in reason.detail


def test_unbalanced_books_stop_for_good() -> None:
    machine = SessionMachine(session=make_session(), strategy=Flat(), concurrency=2, reconcile_unknown=True)
    _unknown_after(machine, {1: "unknown", 2: "win"})
    assert isinstance(machine.next_action(0.0), Reconcile)
    machine.reconciled(Reconciliation(verdicts=(), balanced=False, detail="1 bet more than ran"), 0.0)
    assert machine.next_action(0.0) is DONE
    assert machine.session.unresolved_seqs == [1]
    reason = machine.session.stop_reason
    assert reason is not None
    assert "the books do not balance: 1 bet more than ran" in reason.detail


def test_a_max_bets_bet_that_never_ran_is_made_up() -> None:
    machine = SessionMachine(session=make_session(limits=Limits(max_bets=2)), strategy=Flat(), concurrency=2,
                             reconcile_unknown=True)
    _unknown_after(machine, {1: "win", 2: "unknown"})
    assert isinstance(machine.next_action(0.0), Reconcile)
    machine.reconciled(Reconciliation(verdicts=(Verdict(seq=2, profit=None),), balanced=True, detail="ok"), 0.0)
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    assert action.seq == 3


def test_a_winning_result_whose_stake_differs_from_the_admitted_one_stops_with_backend_error() -> None:
    machine = SessionMachine(session=make_session(), strategy=Flat())
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    other = dice("0.02")
    machine.outcome(1, Settled(seq=1, bet=other, number=9999, win=True, payout=D(2), profit=D("0.02"),
                               balance=D(0), nonce=1, bet_hash="h"), 0.0)
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.BACKEND_ERROR
    assert machine.next_action(0.0) is DONE


def test_a_strategy_that_answers_nonsense_stops_with_what_it_answered() -> None:
    machine = SessionMachine(session=make_session(), strategy=Scripted(lambda n, view: None))  # type: ignore[arg-type,return-value]
    assert machine.next_action(0.0) is DONE
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.STRATEGY_ERROR
    assert "None" in reason.detail


def test_refusals_release_their_seq_and_the_minimum_is_learned() -> None:
    log = EventLog()
    machine = SessionMachine(session=make_session(), strategy=Flat(), concurrency=2,
                             min_bets=MinBetRule(below_min="raise"), observer=log)
    first = machine.next_action(0.0)
    second = machine.next_action(0.0)
    assert isinstance(first, Place)
    assert isinstance(second, Place)
    machine.outcome(1, Refused(seq=1, bet=first.bet, kind=RefusalKind.MIN_BET, message="The minimum bet is 1 DOGE",
                               min_bet=D(1)), 0.0)
    machine.outcome(2, Refused(seq=2, bet=second.bet, kind=RefusalKind.MIN_BET, message="min", min_bet=D(1)), 0.0)
    assert ("min_bet_learned", CURRENCY, D(1)) in log.events
    third = machine.next_action(0.0)
    assert isinstance(third, Place)
    assert third.bet.amount == D(1)  # raised to the minimum
    assert machine.session.submitted == 1  # the refused bets never counted


def test_clock_is_only_what_the_driver_says() -> None:
    clock = FakeClock(100.0)
    machine = SessionMachine(session=make_session(limits=Limits(max_duration=5.0), started_at=clock()),
                             strategy=Flat())
    assert isinstance(machine.next_action(clock()), Place)
    clock.advance(5.0)
    machine.outcome(1, settled(1, dice("0.01"), win=True), clock())
    assert machine.next_action(clock()) is DONE
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.MAX_DURATION


# -- edges each rule turns on (each test fails if its rule is off by one step) ---------------------------------
def test_a_stake_exactly_at_the_known_minimum_is_placed_when_below_minimum_stops() -> None:
    machine = SessionMachine(session=make_session(), strategy=Flat(DiceParams(base_bet=D(1))),
                             min_bets=MinBetRule({"doge": D(1)}, below_min="stop"))
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    assert action.bet.amount == D(1)
    assert machine.session.stop_reason is None


def test_a_stake_at_the_minimum_refused_as_below_it_is_not_raised_and_sent_again() -> None:
    # The site says its minimum is 1 and refuses a stake of 1: raising to 1 again would loop for ever.
    machine = SessionMachine(session=make_session(), strategy=Flat(DiceParams(base_bet=D(1))),
                             min_bets=MinBetRule(below_min="raise"))
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    machine.outcome(1, Refused(seq=1, bet=action.bet, kind=RefusalKind.MIN_BET, message="The minimum bet is 1",
                               min_bet=D(1)), 0.0)
    assert machine.next_action(0.0) is DONE
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.MIN_BET


def test_a_bet_held_by_the_gate_is_placed_later_without_asking_the_strategy_again() -> None:
    strategy = Flat(DiceParams(base_bet=D(1)))
    machine = SessionMachine(session=make_session(balance="3"), strategy=strategy, concurrency=5)
    placed = [machine.next_action(0.0) for _ in range(3)]
    assert all(isinstance(action, Place) for action in placed)
    assert machine.next_action(0.0) is AWAIT  # a fourth stake of 1 could exceed the balance of 3: held
    assert strategy.asked == 4
    first = placed[0]
    assert isinstance(first, Place)
    machine.outcome(1, settled(1, first.bet, win=True), 0.0)
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    assert action.seq == 4
    assert strategy.asked == 4  # the held bet went out as decided: the strategy was not asked again


def test_after_a_second_signal_unknown_bets_are_never_reconciled_even_when_the_books_can_be_read() -> None:
    machine = SessionMachine(session=make_session(), strategy=Flat(), concurrency=2, reconcile_unknown=True)
    bets = [machine.next_action(0.0) for _ in range(2)]
    machine.signal("SIGINT", 0.0)
    machine.signal("SIGINT", 0.0)
    for action in bets:
        assert isinstance(action, Place)
        machine.outcome(action.seq, Unknown(seq=action.seq, bet=action.bet, message="cancelled"), 0.0)
    assert machine.next_action(0.0) is DONE  # reconciled at the next start, not now
    assert machine.session.unresolved_seqs == [1, 2]


def test_a_reconciled_win_that_reaches_take_profit_stops_before_another_bet() -> None:
    machine = SessionMachine(session=make_session(limits=Limits(take_profit=D("0.5"))),
                             strategy=Flat(DiceParams(base_bet=D(1))), reconcile_unknown=True)
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    machine.outcome(1, Unknown(seq=1, bet=action.bet, message="read timeout"), 0.0)
    assert isinstance(machine.next_action(0.0), Reconcile)
    machine.reconciled(Reconciliation(verdicts=(Verdict(seq=1, profit=D(1)),), balanced=True, detail="ok",
                                      bets_ran=1, profit=D(1)), 0.0)
    assert machine.next_action(0.0) is DONE
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.TAKE_PROFIT


def test_when_the_sites_payout_changes_mid_session_the_machine_keeps_the_first_it_saw() -> None:
    # Reconciliation prices a reconciled win at the payout the session first saw for that shape of bet (the
    # journal's `site_payouts` keeps the latest, for a resumed session's own reconciliation).
    strategy = Scripted(lambda n, view: dice("0.01"))  # a new request object every time
    machine = SessionMachine(session=make_session(), strategy=strategy, reconcile_unknown=True)
    for seq, payout in ((1, D("1.98")), (2, D("1.97"))):
        action = machine.next_action(0.0)
        assert isinstance(action, Place)
        machine.outcome(seq, Settled(seq=seq, bet=action.bet, number=9000, win=False, payout=payout,
                                     profit=-action.bet.amount, balance=D(0), nonce=seq, bet_hash=f"h{seq}"), 0.0)
    action = machine.next_action(0.0)
    assert isinstance(action, Place)
    machine.outcome(3, Unknown(seq=3, bet=action.bet, message="read timeout"), 0.0)
    request = machine.next_action(0.0)
    assert isinstance(request, Reconcile)
    assert request.payouts == {(D("49.5"), False): D("1.98")}


def test_a_signal_while_the_books_are_read_keeps_the_session_stopped_after_they_settle_it() -> None:
    # Found by the stateful test: the first signal left the UNKNOWN_OUTCOME stop in place (the first reason
    # stands), and the reconciliation then lifted it: betting went on after Ctrl-C.
    log = EventLog()
    machine = SessionMachine(session=make_session(), strategy=Flat(), concurrency=2, reconcile_unknown=True,
                             observer=log)
    _unknown_after(machine, {1: "unknown", 2: "win"})
    request = machine.next_action(0.0)
    assert isinstance(request, Reconcile)
    machine.signal("SIGINT", 0.0)  # while the engine awaits the site's books
    machine.reconciled(Reconciliation(verdicts=(Verdict(seq=1, profit=None),), balanced=True, detail="1 did not run",
                                      bets_ran=0, profit=D(0)), 0.0)
    assert machine.next_action(0.0) is DONE
    assert machine.session.unresolved_seqs == []
    reason = machine.session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.SIGNAL
    assert reason.detail == "SIGINT: stopped admitting bets; the bet(s) of unknown outcome reconciled: 1 did not run"
    assert not any(event[0] == "resumed" for event in log.events)


def test_a_signal_then_a_minimum_bet_refusal_never_resumes_betting() -> None:
    machine = SessionMachine(session=make_session(), strategy=Flat(), concurrency=2,
                             min_bets=MinBetRule(below_min="raise"))
    first = machine.next_action(0.0)
    assert isinstance(first, Place)
    machine.signal("SIGTERM", 0.0)
    machine.outcome(1, Refused(seq=1, bet=first.bet, kind=RefusalKind.MIN_BET, message="min", min_bet=D(1)), 0.0)
    assert machine.next_action(0.0) is DONE
