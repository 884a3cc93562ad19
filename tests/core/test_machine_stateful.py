"""The session machine under any sequence of its inputs: a stateful property test.

Hypothesis drives the machine as a driver may: it asks for the next action, feeds outcomes of the bets in
flight in any order (won, lost, unknown, refused), sends signals, answers reconciliation requests (balanced
books with any verdicts, unbalanced books, books that cannot be read), rotates the seed pair when asked and
lets time pass. After every step the invariants of the machine's docstring must hold:

* every admitted seq is released exactly once, in seq order;
* never more than N bets in flight;
* the exposure stays within every limit (balance, stop-loss, min-balance; no stake above max_bet);
* a bet of unknown outcome is never placed again, and stays unresolved until the books settle it;
* a stop is lifted only when its cause is dealt with (never after a signal, never with a bet unresolved);
  after a signal no bet is admitted, after a second one nothing is reconciled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from betbot.core.machine import AWAIT, DONE, ROTATE_SEED, MinBetRule, Place, Reconcile, SessionMachine, Sleep
from betbot.core.models import (
    BetRequest,
    Outcome,
    RefusalKind,
    Refused,
    SeedRotation,
    StopKind,
    StopReason,
    Unknown,
)
from betbot.core.reconcile import Reconciliation, Verdict
from betbot.core.session import Limits
from betbot.core.strategy import Pause, SessionView
from tests.helpers import Scripted, dice, make_session, settled

STAKES = ("0.01", "0.3", "1", "4")
LIFTABLE = {StopKind.UNKNOWN_OUTCOME, StopKind.MIN_BET, StopKind.MAX_BETS}


def optional(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from((None, *values))


class Events:
    """The machine's observer: what it said, and checks that must hold at the moment it says it."""

    def __init__(self) -> None:
        self.machine: SessionMachine | None = None
        self.admitted_seqs: list[int] = []
        self.released_seqs: list[int] = []
        self.unknown: set[int] = set()
        self.reconciled_seqs: list[int] = []
        self.resumed_kinds: list[StopKind] = []

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        self.admitted_seqs.append(seq)

    def released(self, outcome: Outcome, now: float) -> None:
        self.released_seqs.append(outcome.seq)
        if isinstance(outcome, Unknown):
            self.unknown.add(outcome.seq)

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float, note: str | None) -> None:
        assert seq in self.unknown  # only a bet released as unknown is reconciled
        assert seq not in self.reconciled_seqs  # and only once
        self.reconciled_seqs.append(seq)

    def stopped(self, reason: StopReason, now: float) -> None:
        pass

    def resumed(self, kind: StopKind, now: float) -> None:
        machine = self.machine
        assert machine is not None
        assert kind in LIFTABLE, kind
        assert machine.signals == 0  # a signal's stop is never lifted
        assert machine.session.unresolved_seqs == []  # never while a bet of unknown outcome remains
        self.resumed_kinds.append(kind)


class SessionMachineRules(RuleBasedStateMachine):
    machine: SessionMachine

    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.now = 0.0
        self.in_flight: dict[int, BetRequest] = {}  # sent, no outcome fed yet (the driver's view)
        self.request: Reconcile | None = None
        self.rotate = False
        self.signals = 0
        self.placed: set[int] = set()
        self.limits = Limits()

    @initialize(
        concurrency=st.integers(1, 6),
        balance=st.sampled_from(("5", "20")),
        stop_loss=optional("2", "10"),
        take_profit=optional("1", "5"),
        min_balance=optional("1"),
        max_bet=optional("1"),
        max_bets=optional(5, 40),
        reseed_every=optional(3),
        below_min=st.sampled_from(("raise", "stop")),
        decisions=st.lists(st.sampled_from((*STAKES, "pause")), min_size=1, max_size=8),
    )
    def start(self, concurrency: int, balance: str, stop_loss: str | None, take_profit: str | None,
              min_balance: str | None, max_bet: str | None, max_bets: int | None, reseed_every: int | None,
              below_min: Any, decisions: list[str]) -> None:
        def money(text: str | None) -> Decimal | None:
            return None if text is None else Decimal(text)

        self.limits = Limits(stop_loss=money(stop_loss), take_profit=money(take_profit),
                             min_balance=money(min_balance), max_bet=money(max_bet), max_bets=max_bets)

        def decide(n: int, view: SessionView) -> Any:
            decision = decisions[(n - 1) % len(decisions)]
            return Pause(1.0) if decision == "pause" else dice(decision)

        self.machine = SessionMachine(session=make_session(balance=balance, limits=self.limits),
                                      strategy=Scripted(decide), concurrency=concurrency,
                                      min_bets=MinBetRule(below_min=below_min), reconcile_unknown=True,
                                      reseed_every=reseed_every, observer=self.events)
        self.events.machine = self.machine

    # -- the driver's moves ------------------------------------------------------------------------------------
    @rule()
    def ask(self) -> None:
        action = self.machine.next_action(self.now)
        if isinstance(action, Place):
            assert self.signals == 0  # after a signal, nothing new is admitted
            assert action.seq not in self.placed  # a seq, unknown or not, is never placed again
            if self.limits.max_bet is not None:
                assert action.bet.amount <= self.limits.max_bet
            self.placed.add(action.seq)
            self.in_flight[action.seq] = action.bet
            self.request = None
        elif isinstance(action, Reconcile):
            assert not self.in_flight
            assert self.signals < 2  # after a second signal, the next start reconciles
            assert set(action.unknown) == set(self.machine.session.unresolved_seqs) != set()
            self.request = action
        elif action is ROTATE_SEED:
            assert not self.in_flight
            self.rotate = True
        elif action is DONE:
            assert not self.in_flight
            assert self.machine.session.stopped
        elif isinstance(action, Sleep):
            assert action.until > self.now
        else:
            assert action is AWAIT
            assert self.in_flight  # waiting for an outcome that can come

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data(), result=st.sampled_from(("win", "loss", "unknown", "refused-min", "refused-balance")))
    def outcome(self, data: st.DataObject, result: str) -> None:
        seq = data.draw(st.sampled_from(sorted(self.in_flight)))  # in any order
        bet = self.in_flight.pop(seq)
        outcome: Outcome
        if result in ("win", "loss"):
            outcome = settled(seq, bet, win=result == "win")
        elif result == "unknown":
            outcome = Unknown(seq=seq, bet=bet, message="read timeout")
        elif result == "refused-min":
            outcome = Refused(seq=seq, bet=bet, kind=RefusalKind.MIN_BET, message="minimum", min_bet=Decimal("0.3"))
        else:
            outcome = Refused(seq=seq, bet=bet, kind=RefusalKind.BALANCE, message="Insufficient balance")
        self.machine.outcome(seq, outcome, self.now)

    @rule()
    def signal(self) -> None:
        self.signals += 1
        self.machine.signal("SIGINT", self.now)

    @precondition(lambda self: self.request is not None)
    @rule(data=st.data(), books=st.sampled_from(("balanced", "balanced", "unbalanced", "unreadable")))
    def reconcile(self, data: st.DataObject, books: str) -> None:
        request = self.request
        assert request is not None
        self.request = None
        if books == "unreadable":
            self.machine.reconcile_failed("ReadTimeout", self.now)
            return
        if books == "unbalanced":
            self.machine.reconciled(Reconciliation(verdicts=(), balanced=False, detail="one bet too many"), self.now)
            return
        verdicts = []
        for seq, bet in sorted(request.unknown.items()):
            fate = data.draw(st.sampled_from(("did not run", "won", "lost")))
            profit = None if fate == "did not run" else settled(seq, bet, win=fate == "won").profit
            verdicts.append(Verdict(seq=seq, profit=profit))
        self.machine.reconciled(Reconciliation(verdicts=tuple(verdicts), balanced=True, detail="ok"), self.now)

    @precondition(lambda self: self.rotate)
    @rule()
    def rotate_seed(self) -> None:
        self.rotate = False
        self.machine.seed_rotated(SeedRotation(previous_server_seed=None, previous_server_seed_hash=None,
                                               server_seed_hash="next", client_seed="client"), self.now)

    @rule(seconds=st.sampled_from((0.5, 1.0, 2.0)))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    # -- the invariants -----------------------------------------------------------------------------------------
    @invariant()
    def every_admitted_seq_is_released_once_in_order(self) -> None:
        admitted, released = self.events.admitted_seqs, self.events.released_seqs
        assert admitted == list(range(1, len(admitted) + 1))
        assert released == admitted[:len(released)]
        assert len(admitted) - len(released) == self.machine.session.in_flight

    @invariant()
    def never_more_than_n_in_flight(self) -> None:
        assert self.machine.session.in_flight <= self.machine.concurrency
        assert len(self.in_flight) <= self.machine.concurrency

    @invariant()
    def the_exposure_stays_within_every_limit(self) -> None:
        session = self.machine.session
        balance = session.starting_balance + session.profit
        assert 0 <= session.exposure <= balance
        if self.limits.stop_loss is not None:
            assert session.profit - session.exposure >= -self.limits.stop_loss
        if self.limits.min_balance is not None and session.submitted:
            assert balance - session.exposure >= self.limits.min_balance

    @invariant()
    def an_unknown_bet_stays_unresolved_until_the_books_settle_it(self) -> None:
        events = self.events
        assert set(self.machine.session.unresolved_seqs) == events.unknown - set(events.reconciled_seqs)

    @invariant()
    def a_signal_stop_stands(self) -> None:
        if self.signals:
            assert self.machine.session.stopped


TestSessionMachine = SessionMachineRules.TestCase
TestSessionMachine.settings = settings(max_examples=150, stateful_step_count=60, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
