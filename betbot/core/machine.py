"""The session machine: every decision about a bet, in one sans-IO object (h11's `Connection` is the model).

Theory of operation. A driver (the async engine for live and dry runs, a plain loop for Monte Carlo and
benchmarks) asks the machine what to do next and feeds it what happened; the machine never touches the
network, the disk, a clock or an RNG, and never logs. Because every driver goes through it, a dry run, a
Monte Carlo run and a live run cannot disagree about a limit, a stop or the minimum bet.

    driver                                     machine
    ──────                                     ───────
    action = machine.next_action(now)   ───►   fills a free slot: asks the strategy, applies the minimum-bet
                                               rule, passes the bet through the session's risk gate
      Place(seq, bet)   send it; when its outcome comes: machine.outcome(seq, outcome, now)
      AWAIT             wait for an outcome (or a signal), then ask again
      Sleep(until)      the strategy paused: wait until then (an outcome may come first), ask again
      ROTATE_SEED       nothing in flight: rotate the seed pair, then machine.seed_rotated(rotation, now)
      Reconcile(...)    nothing in flight, bets of unknown outcome: read the site's books, then
                        machine.reconciled(result, now) or machine.reconcile_failed(why, now)
      DONE              the session is over
    machine.signal(name, now): the first stops admitting and drains; the second stops at once, and the bets
    still in flight come back as Unknown and stay so until the next start reconciles them.
    machine.play_at_once(play, ...): a driver whose game answers every bet at once (the bare loop) has the
    machine play the plain bets itself, the same steps without an action per bet.
    machine.pause() / resume_admission(): the operator holds admission (the next action is AWAIT once the
    bets in flight have resolved); machine.tighten(limits, now): the limits, tightened only.

Outcomes arrive in any order; the reorder buffer hands them on in seq order, and for each one, in this
order: the session applies it (statistics, exposure), the strategy hears it, the minimum-bet rule learns
from a refusal, the observer is told, and the limits are checked.

Events go to one observer (the journal, metrics, the display: the driver fans them out) as typed calls, so
nothing polls the machine's internals: `admitted`, `released`, `reconciled`, `stopped`, `resumed`,
`seed_rotated`, `min_bet_learned`. An observer implements the ones it needs (see `MachineObserver`).

Invariants: every admitted seq is released exactly once, in order; a bet of unknown outcome is never
placed again (its stake stays exposure until the site's books settle it); a stop is lifted only when its
cause is dealt with (unknown bets reconciled, a minimum bet learned and stakes raised to it, a max_bets bet
that never ran), never while an unknown bet remains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final, Literal, NamedTuple, Protocol

from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, SeedRotation, Settled, StopKind, StopReason
from betbot.core.reconcile import Reconciliation
from betbot.core.reorder import ReorderBuffer
from betbot.core.session import Held, Limits, Session
from betbot.core.strategy import Pause, Reseed, StopStrategy, Strategy, Wait

__all__ = [
    "AWAIT",
    "DONE",
    "ROTATE_SEED",
    "Action",
    "BelowMinBet",
    "MachineObserver",
    "MinBetRule",
    "Place",
    "Reconcile",
    "SessionMachine",
    "Sleep",
    "effective_concurrency",
]

BelowMinBet = Literal["raise", "stop"]


# -- actions: what the driver is asked to do ---------------------------------------------------------------
class Place(NamedTuple):
    """Send this admitted bet. (A named tuple: one is built per bet, at half a frozen dataclass's cost.)"""

    seq: int
    bet: BetRequest


@dataclass(frozen=True, slots=True)
class Sleep:
    """The strategy paused: ask again at `until` (on the driver's clock), or when an outcome arrives."""

    until: float


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Nothing is in flight and these bets' outcomes are unknown: read the site's books.

    `payouts` holds the multiplier the site actually paid per (chance, faucet), learned from settled bets.
    """

    unknown: Mapping[int, BetRequest]
    settled_bets: int
    settled_profit: Decimal
    payouts: Mapping[tuple[Decimal, bool], Decimal]


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


AWAIT: Final = _Marker("AWAIT")
ROTATE_SEED: Final = _Marker("ROTATE_SEED")
DONE: Final = _Marker("DONE")

Action = Place | Sleep | Reconcile | _Marker


class MachineObserver(Protocol):
    """What consumes the machine's events. Every method is optional: the machine calls those present."""

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None: ...

    def released(self, outcome: Outcome, now: float) -> None: ...

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None) -> None: ...

    def stopped(self, reason: StopReason, now: float) -> None: ...

    def resumed(self, kind: StopKind, now: float) -> None: ...

    def seed_rotated(self, rotation: SeedRotation, first_seq: int, now: float) -> None: ...

    def min_bet_learned(self, currency: str, amount: Decimal) -> None: ...


_EVENTS: Final = ("admitted", "released", "reconciled", "stopped", "resumed", "seed_rotated", "min_bet_learned")


def effective_concurrency(requested: int, strategy: type[Strategy] | Strategy) -> int:
    """min(--max-concurrent, what the strategy tolerates)."""
    tolerated = strategy.max_in_flight
    return requested if tolerated is None else max(1, min(requested, tolerated))


class MinBetRule:
    """The site's minimum bets as this session knows them, and what to do with a stake below one.

    Minimums are learned from the site's refusals (never by probing) and may be known beforehand (a cache the
    driver keeps). Below a known minimum the stake is raised to it or the session stops: the user's choice,
    `stop` by default, because raising a stake bets more than the strategy asked for.
    """

    __slots__ = ("below_min", "known")

    def __init__(self, known: Mapping[str, Decimal] | None = None, below_min: BelowMinBet = "stop") -> None:
        self.known = {currency.upper(): amount for currency, amount in (known or {}).items()}
        self.below_min = below_min

    def check(self, bet: BetRequest) -> BetRequest | StopReason:
        """The bet to place (as decided, or raised to the known minimum), or why the session stops. (The
        machine asks only once some minimum is known: until then every bet passes.)"""
        minimum = self.known.get(bet.currency.upper())
        if minimum is None or bet.amount >= minimum:
            return bet
        if self.below_min == "raise":
            return replace(bet, amount=minimum)
        return StopReason(kind=StopKind.MIN_BET, detail=(
            f"the strategy's stake {bet.amount:f} is below the site's minimum bet {minimum:f} {bet.currency} "
            "(set below_min_bet = raise to raise such stakes to the minimum)"))

    def learn(self, refused: Refused) -> Decimal | None:
        """The minimum a MIN_BET refusal states (the backend parses it into `min_bet`), remembered."""
        if refused.kind is not RefusalKind.MIN_BET or refused.min_bet is None or refused.min_bet <= 0:
            return None
        self.known[refused.bet.currency.upper()] = refused.min_bet
        return refused.min_bet


class SessionMachine:
    """One session's decisions. Drive it from one task only (it holds all mutable session state)."""

    def __init__(
        self,
        *,
        session: Session,
        strategy: Strategy,
        concurrency: int = 1,
        min_bets: MinBetRule | None = None,
        reconcile_unknown: bool = False,
        continue_after_reconciliation: bool = True,
        reseed_every: int | None = None,
        observer: Any = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if reseed_every is not None and reseed_every < 1:
            raise ValueError("reseed_every must be at least 1")
        self.session = session
        self.strategy = strategy
        self.concurrency = effective_concurrency(concurrency, strategy)
        # Bets admitted in flight at most right now: the concurrency, or less while a pacer (`-n auto`) holds
        # it lower. The reorder window stays sized to the concurrency, the most that can ever be in flight.
        self.in_flight_limit = self.concurrency
        self.min_bets = min_bets if min_bets is not None else MinBetRule()
        self.reconcile_unknown = reconcile_unknown  # the driver can read the site's books
        self.continue_after_reconciliation = continue_after_reconciliation
        self.reseed_every = reseed_every
        self.buffer: ReorderBuffer[Outcome] = ReorderBuffer(first=session.next_seq, window=self.concurrency)
        self.signals = 0
        self._signal_name = ""  # the first signal's
        self.reconciliations: list[Reconciliation] = []
        self.payouts: dict[tuple[Decimal, bool], Decimal] = {}  # what the site paid, per (chance, faucet)
        self._paid_bet: BetRequest | None = None  # the request of the last settled bet, its payout noted
        self._unknown: dict[int, BetRequest] = {}
        self._pending: BetRequest | None = None  # decided by the strategy, held by the gate
        self._resume_at: float | None = None  # a strategy's pause
        self._reseed = False
        self._since_rotation = 0
        self._reconcile_blocked = False  # the books could not settle the unknown bets: stop for good
        self.paused = False  # admission paused by the operator: bets in flight resolve, no new one is decided
        self._last_reason: StopReason | None = session.stop_reason
        self._given_up: _GivenUp | None = None  # after a second signal, until the bets in flight are back
        self._observe(observer)

    def _observe(self, observer: Any) -> None:
        # Bound once: the hot path pays one `is not None` test per event an observer does not take.
        def bound(name: str) -> Callable[..., None] | None:
            return getattr(observer, name, None) if observer is not None else None

        self._on_admitted = bound("admitted")
        self._on_released = bound("released")
        self._on_reconciled = bound("reconciled")
        self._on_stopped = bound("stopped")
        self._on_resumed = bound("resumed")
        self._on_seed_rotated = bound("seed_rotated")
        self._on_min_bet = bound("min_bet_learned")

    # -- what the driver reads -------------------------------------------------------------------------------
    @property
    def draining(self) -> bool:
        """Stopped with bets still in flight: the driver bounds the wait for them."""
        return self.session.stopped and self.session.in_flight > 0

    @property
    def unknown(self) -> dict[int, BetRequest]:
        """Bets of unknown outcome not yet reconciled, by seq."""
        return dict(self._unknown)

    # -- the driver asks ----------------------------------------------------------------------------------
    def next_action(self, now: float) -> Action:
        session = self.session
        if session.in_flight < self.in_flight_limit and not self._reseed and not self.paused \
                and session.open_for_bets(now):
            if self._resume_at is not None:
                if now < self._resume_at:
                    return Sleep(self._resume_at)
                self._resume_at = None
            bet = self._pending
            if bet is None:
                decided = self._decide(now)
                if isinstance(decided, Sleep):
                    return decided
                bet = decided
            if bet is not None:
                verdict = session.admit_open(bet)  # open_for_bets said yes just above
                if verdict.__class__ is int:
                    self._pending = None
                    seq: int = verdict
                    if self.reseed_every is not None:
                        self._since_rotation += 1
                        self._reseed = self._since_rotation >= self.reseed_every
                    if self._on_admitted is not None:
                        self._on_admitted(seq, bet, now)
                    return Place(seq, bet)
                self._pending = bet if isinstance(verdict, Held) else None
        self._note_stop(now)
        if session.in_flight:
            return AWAIT
        if session.stopped:
            self._pending = None
            if self._unknown and self.reconcile_unknown and self.signals < 2 and not self._reconcile_blocked:
                return Reconcile(unknown=dict(self._unknown), settled_bets=session.bets,
                                 settled_profit=session.profit, payouts=dict(self.payouts))
            return DONE
        if self._reseed:
            return ROTATE_SEED
        return AWAIT  # unreachable with a well-behaved session: open, nothing in flight, no bet decided

    def _decide(self, now: float) -> BetRequest | Sleep | None:
        """The strategy's next bet (after the minimum-bet rule), its pause, or None: it waits, reseeds or stops."""
        session = self.session
        try:
            decision = self.strategy.next_bet(session)
        except Exception as exc:  # noqa: BLE001 - a strategy's bug ends the session, with its message
            session.stop(StopKind.STRATEGY_ERROR, _error_text(exc))
            return None
        if decision.__class__ is BetRequest:
            if not self.min_bets.known:  # no minimum known yet: the rule has nothing to say (the common case)
                return decision
            checked = self.min_bets.check(decision)
            if checked.__class__ is StopReason:
                session.stop(checked.kind, checked.detail)
                return None
            return checked  # type: ignore[return-value]
        if isinstance(decision, StopStrategy):
            session.stop(StopKind.STRATEGY, decision.reason)
        elif isinstance(decision, Pause):
            self._resume_at = now + max(0.0, decision.seconds)
            return Sleep(self._resume_at)
        elif isinstance(decision, Reseed):
            self._reseed = True
        elif not isinstance(decision, Wait):  # a plug-in's or a script's bug: say what it answered
            session.stop(StopKind.STRATEGY_ERROR, f"the strategy answered {decision!r}, not a bet")
        elif session.in_flight == 0:
            session.stop(StopKind.STRATEGY_ERROR, "the strategy waited for a result with no bet in flight")
        return None

    def play_at_once(self, play: Callable[[int, BetRequest], Outcome], played: int, pace: float,
                     skipped: float) -> None:
        """For a driver whose game answers every bet as it is placed (the bare loop): play bets one after
        another for as long as each step is the plain one, then return, and the driver goes on with
        `next_action`. The clock is the bare loop's: `played * pace + skipped`, `played` counting the bets
        settled so far.

        A plain step is exactly `next_action`'s Place followed by `outcome`'s release of that bet: the same
        calls to the session, the strategy and the observer, in the same order, with the same rules; only the
        dispatch through actions, which a driver with bets in flight needs, is left out. The steps stop being
        plain at the first answer that is not a bet the gate admits, the first outcome that is not settled,
        or the session's stop; what that step decided stands (a pause, a reseed, a stop), and `next_action`
        takes it from there. Whatever can make a step other than plain from the start (a bet in flight or
        held, a pause, a reseed due, an admission observer, admission paused by the operator) makes this
        return at once; a signal has stopped the session, so nothing is played then.
        """
        session = self.session
        if (session.in_flight or self._pending is not None or self._resume_at is not None or self._reseed
                or self.paused or self.reseed_every is not None
                or self._on_admitted is not None):
            return
        try:
            self._play_plain(play, played, pace, skipped)
        finally:
            # Each bet was released as soon as it was placed: the buffer awaits the next seq, as if each had
            # gone through it.
            self.buffer.released_before(session.next_seq)

    def _play_plain(self, play: Callable[[int, BetRequest], Outcome], played: int, pace: float,
                    skipped: float) -> None:
        session = self.session
        decide = self._decide
        open_for_bets = session.open_for_bets
        admit = session.admit_open
        apply = self._apply
        while True:
            now = played * pace + skipped
            if not open_for_bets(now):
                return
            decision = decide(now)  # the strategy's bet, after the minimum-bet rule
            if decision.__class__ is not BetRequest:  # a pause, a reseed, a stop: next_action goes on from it
                return
            verdict = admit(decision)
            if verdict.__class__ is not int:  # with nothing in flight the gate never holds a bet: it stopped
                return
            seq: int = verdict
            outcome = play(seq, decision)
            apply(outcome, now)
            if outcome.__class__ is not Settled:
                return
            played += 1

    # -- the driver feeds --------------------------------------------------------------------------------
    def outcome(self, seq: int, outcome: Outcome, now: float) -> None:
        """One bet's outcome, in any order; everything it releases is applied in seq order."""
        if self.buffer.take_next(seq):  # in order, nothing waiting behind it (always so with one in flight)
            self._apply(outcome, now)
            return
        for released in self.buffer.push(seq, outcome):
            self._apply(released, now)

    def _apply(self, outcome: Outcome, now: float) -> None:
        session = self.session
        session.apply(outcome)
        kind = outcome.__class__
        if kind is Settled:
            result: Settled = outcome  # type: ignore[assignment]
            bet = result.bet
            if bet is not self._paid_bet:  # a new request: learn its payout if its shape's is not known yet
                self._paid_bet = bet
                key = (bet.chance, bet.faucet)
                if key not in self.payouts:
                    self.payouts[key] = result.payout
            try:
                verdict = self.strategy.on_result(result, session)
            except Exception as exc:  # noqa: BLE001 - as in _decide
                session.stop(StopKind.STRATEGY_ERROR, _error_text(exc))
            else:
                if verdict is not None:
                    session.stop(StopKind.STRATEGY, verdict.reason)
        elif kind is Refused:
            self._learn_min_bet(outcome, now)  # type: ignore[arg-type]
        else:
            self._unknown[outcome.seq] = outcome.bet
            if self._given_up is not None:
                self._given_up.unknown += 1
        if self._on_released is not None:
            self._on_released(outcome, now)
        reason = session.check_limits(now)
        if self._given_up is not None and session.in_flight == 0:
            self._say_what_was_given_up()
            reason = session.stop_reason
        if reason is not self._last_reason:
            self._note_stop(now)

    def _learn_min_bet(self, refused: Refused, now: float) -> None:
        learned = self.min_bets.learn(refused)
        if learned is None:
            return
        if self._on_min_bet is not None:
            self._on_min_bet(refused.bet.currency, learned)
        # A bet at or above what the site said is its minimum, refused as below it: raising again would loop.
        if self.min_bets.below_min == "raise" and refused.bet.amount < learned:
            self._lift(StopKind.MIN_BET, now)

    def signal(self, name: str, now: float) -> int:
        """SIGINT/SIGTERM: the first drains, the second gives up on the bets in flight. Returns the count."""
        self.signals += 1
        session = self.session
        in_flight = session.in_flight
        if self.signals == 1:
            self._signal_name = name
            session.stop(StopKind.SIGNAL, f"{name}: stopped admitting bets; {in_flight} bet(s) in flight drained")
        elif in_flight and self._given_up is None:
            # Said now and restated once every one is back: a bet whose reply was already on its way settles,
            # and only the bets really cut off count as left unknown.
            self._given_up = _GivenUp(name=name, in_flight=in_flight, before=session.stop_reason)
            self._restate_stop(f"{name} again: stopped at once, giving up on the {in_flight} bet(s) in flight "
                               "(any left unknown is reconciled at the next start)")
        self._note_stop(now)
        return self.signals

    def _say_what_was_given_up(self) -> None:
        given_up = self._given_up
        assert given_up is not None  # noqa: S101 - called only then
        self._given_up = None
        self._restate_stop(f"{given_up.name} again: stopped at once, {given_up.unknown} of the "
                           f"{given_up.in_flight} bet(s) in flight left unknown (reconciled at the next start)",
                           given_up.before)

    def _restate_stop(self, left: str, before: StopReason | None = None) -> None:
        """The second signal's note, after the stop reason that stands (or in place of the first signal's)."""
        session = self.session
        reason = before if before is not None else session.stop_reason
        if reason is None or reason.kind is StopKind.SIGNAL:
            session.stop(StopKind.SIGNAL, left, replace=True)
        else:
            session.stop(reason.kind, f"{reason.detail}; {left}", replace=True)

    def pause(self) -> None:
        """Admit no new bet until `resume_admission` (the strategy is not asked); bets in flight resolve."""
        self.paused = True

    def resume_admission(self) -> None:
        self.paused = False

    def tighten(self, requested: Limits, now: float) -> list[str]:
        """Tighten the session's limits (never loosen one: `Limits.tightened`); a limit that now holds stops
        the session at once. The notes say what was done with each limit requested."""
        notes = self.session.tighten(requested)
        self.session.check_limits(now)
        self._note_stop(now)
        return notes

    def seed_rotated(self, rotation: SeedRotation, now: float) -> None:
        """The driver rotated the seed pair; bets from the next seq on roll under the new one."""
        self._reseed = False
        self._since_rotation = 0
        if self._on_seed_rotated is not None:
            self._on_seed_rotated(rotation, self.session.next_seq, now)

    def reconcile_failed(self, why: str, now: float) -> None:
        """The site's books could not be read: the unknown bets stay unknown, and the session ends so."""
        self._reconcile_blocked = True
        self.session.stop(StopKind.UNKNOWN_OUTCOME,
                          f"could not reconcile {len(self._unknown)} unknown bet(s): {why}", replace=True)
        self._note_stop(now)

    def reconciled(self, result: Reconciliation, now: float) -> None:
        """The site's verdict on the unknown bets; betting goes on only where the stop was theirs."""
        session = self.session
        self.reconciliations.append(result)
        reason = session.stop_reason
        if not result.balanced:
            self._reconcile_blocked = True
            session.stop(StopKind.UNKNOWN_OUTCOME, f"the books do not balance: {result.detail}", replace=True)
            self._note_stop(now)
            return
        for verdict in result.verdicts:
            bet = self._unknown.pop(verdict.seq)
            session.resolve_unknown(verdict.seq, bet, verdict.profit)
            if self._on_reconciled is not None:
                self._on_reconciled(verdict.seq, bet, verdict.profit, now, verdict.note)
        if self._unknown:  # the verdicts left some unsettled: never guess
            self._reconcile_blocked = True
            return
        if reason is None:
            return
        if self.signals:
            # A signal came while the session was stopped for these bets (the books were being read): they
            # are settled, and the session stays stopped, for the signal.
            if reason.kind is StopKind.UNKNOWN_OUTCOME:
                session.stop(StopKind.SIGNAL, f"{self._signal_name}: stopped admitting bets; the bet(s) of unknown "
                             f"outcome reconciled: {result.detail}", replace=True)
                self._note_stop(now)
            return
        if reason.kind is StopKind.MAX_BETS:
            # A bet counted towards max_bets did not run: the count is short, the next bets make it up.
            if self._lift(StopKind.MAX_BETS, now):
                session.open_for_bets(now)
                self._note_stop(now)
            return
        if reason.kind is not StopKind.UNKNOWN_OUTCOME:
            return  # a limit or a signal stopped the session; settled, it stays stopped
        if not self.continue_after_reconciliation:
            session.stop(StopKind.UNKNOWN_OUTCOME, f"reconciled, and set to stop after that: {result.detail}",
                         replace=True)
            self._note_stop(now)
            return
        if self._lift(StopKind.UNKNOWN_OUTCOME, now):
            session.check_limits(now)  # a reconciled win or loss may itself reach a limit
            self._note_stop(now)

    # -- stops ---------------------------------------------------------------------------------------------
    def _lift(self, kind: StopKind, now: float) -> bool:
        if self.signals or not self.session.resume(kind):  # a signal's stop stands, whatever came before it
            return False
        self._last_reason = None
        if self._on_resumed is not None:
            self._on_resumed(kind, now)
        return True

    def _note_stop(self, now: float) -> None:
        reason = self.session.stop_reason
        if reason is not self._last_reason:
            self._last_reason = reason
            if reason is not None and self._on_stopped is not None:
                self._on_stopped(reason, now)


@dataclass(slots=True)
class _GivenUp:
    """The bets in flight at a second signal: how many, and how many of them came back unknown so far."""

    name: str
    in_flight: int
    before: StopReason | None  # the stop reason the second signal's note follows
    unknown: int = 0


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
