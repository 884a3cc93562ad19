"""The async engine: the I/O around the session machine. N bet coroutines out, one ordered stream in.

Theory of operation. `Engine.run` is the strategy task. It asks the session machine (`betbot.core.machine`)
what to do next and does it: sends an admitted bet (a bet coroutine per bet), waits for outcomes, sleeps
through a strategy's pause, rotates the seed pair, reads the site's books to reconcile bets of unknown
outcome. Every decision about a bet is the machine's; the engine owns only the task group, the stream,
back-off and rate limit, signals and the drain deadline.

Bet coroutines own nothing but their one request. Each ends by sending `(seq, outcome)` over a memory
object stream. Rate limits and challenges (refusals that mean "not placed, try again") trip a back-off
shared by every coroutine, and the same bet is sent again after it; nothing else is ever resent.

Fast path: when the backend has the capability to answer at once (`ImmediateBackend`, a zero-latency
simulator), no task is spawned: the outcome goes straight to the machine, and the loop yields to the event
loop every `yield_every` bets (or after YIELD_SECONDS, when bets are slow) so signals and the dashboard still
run. Every other backend's bets (a live one's) go through bet coroutines: each awaits `durable(seq)`, so bets
in flight share the journal's disk syncs (group commit) and the event loop never waits for the disk.

Pacing (`-n auto`): each bet coroutine tells the pacer (`betbot.engine.pacing`) how long its reply took, or
that the site pushed back; the pacer's limit becomes the machine's `in_flight_limit` (never above the
concurrency, which sizes the reorder window), and a raise wakes the strategy task to admit more. The rate
the pacer learned from the site's push-backs is held by a token bucket of the engine's own, after
`--max-rate`'s (the hard ceiling, never changed).

Stopping: when a limit fires, or on the first SIGINT/SIGTERM, the machine admits no new bet and the bets in
flight are drained, bounded by `drain_timeout`. At that deadline, or on a second signal, the bets still in
flight are cancelled and recorded as Unknown (they may have run), for reconciliation.

Controls (for a host that runs the engine without signals of its own, `betbot serve`): `stop` is the first
signal, `stop_now` the second, `pause`/`resume` hold and release admission, `tighten` tightens a limit; each
goes through the machine's own inputs and wakes the strategy task.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import anyio
import anyio.abc
import structlog
from anyio.lowlevel import checkpoint

from betbot.backends.base import Backend, immediate_placer
from betbot.core.machine import (
    DONE,
    ROTATE_SEED,
    MinBetRule,
    Place,
    Reconcile,
    SessionMachine,
    Sleep,
    effective_concurrency,
)
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, Unknown
from betbot.core.reconcile import Reconciliation
from betbot.core.reorder import ReorderBuffer
from betbot.core.session import Limits, Session
from betbot.core.strategy import Strategy
from betbot.engine.backoff import SharedBackoff
from betbot.engine.pacing import Pacer
from betbot.engine.ratelimit import TokenBucket
from betbot.engine.site_books import Reconciler

__all__ = ["RETRYABLE_REFUSALS", "Engine", "EngineHooks", "effective_concurrency"]

_log = structlog.get_logger("betbot.engine")

RETRYABLE_REFUSALS = frozenset({RefusalKind.RATE_LIMIT, RefusalKind.CHALLENGE, RefusalKind.CONNECT})
YIELD_SECONDS = 0.05  # the fast path's longest stretch without a look at signals, when bets are slow


class EngineHooks(Protocol):
    """Observers of the machine's events (the journal, metrics). Called from the strategy task.

    These three and `sync` are the ones every observer here takes; the machine's other events (`stopped`,
    `resumed`, `seed_rotated`, `min_bet_learned`, see `betbot.core.machine.MachineObserver`) reach an observer
    that defines them.
    """

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None: ...

    def released(self, outcome: Outcome, now: float) -> None: ...

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None = None) -> None:
        """An unknown bet's verdict from the site's books: did not run (None), or ran with this profit;
        `note` says why this bet carries it when the books could not single it out."""
        ...

    def sync(self) -> None:
        """Make what was observed so far durable: called before a bet an `ImmediateBackend` places at once
        (inside the call). A bet sent by a coroutine awaits `durable(seq)` instead, when the observer has it:
        it returns once that bet's intent is on disk (one sync for every bet admitted meanwhile: group commit).
        Either failing stops the engine before the bet is sent."""
        ...


@dataclass(slots=True)
class _Signals:
    received: int = 0
    last: str = ""


class Engine:
    def __init__(
        self,
        *,
        session: Session,
        strategy: Strategy,
        backend: Backend,
        max_concurrent: int = 1,
        drain_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        hooks: EngineHooks | None = None,
        backoff: SharedBackoff | None = None,
        handle_signals: bool = False,
        yield_every: int = 256,
        on_ready: Callable[[], None] | None = None,
        reconciler: Reconciler | None = None,
        continue_after_reconciliation: bool = True,
        min_bets: MinBetRule | None = None,
        rate_limit: TokenBucket | None = None,
        reseed_every: int | None = None,
        observers: tuple[Any, ...] = (),
        pacer: Pacer | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.backend = backend
        self.drain_timeout = drain_timeout
        self.clock = clock
        self.hooks = hooks
        self.backoff = backoff or SharedBackoff(clock=clock)
        self.handle_signals = handle_signals
        self.yield_every = yield_every
        self.on_ready = on_ready  # called once signals are handled, before the first bet
        self.reconciler = reconciler
        self.rate_limit = rate_limit
        # `-n auto`: the rate the pacer learned from the site's push-backs, in a bucket of the engine's own. A
        # bucket given (--max-rate's) is never changed: it is the hard ceiling, and may be an account's, shared.
        self.learned_rate_limit: TokenBucket | None = None
        self.machine = SessionMachine(
            session=session, strategy=strategy, concurrency=max_concurrent, min_bets=min_bets,
            reconcile_unknown=reconciler is not None, continue_after_reconciliation=continue_after_reconciliation,
            reseed_every=reseed_every, observer=_fan_out(hooks, *observers),
        )
        self.pacer = pacer  # `-n auto`: moves the machine's in-flight limit from what the replies say
        if pacer is not None:
            pacer.cap_at(self.machine.concurrency)  # never above what the strategy tolerates
            self.machine.in_flight_limit = pacer.limit
            if pacer.learned_rate is not None:  # remembered from an earlier session: held from the first bet
                self._hold_rate(pacer.learned_rate)
        self._durable = getattr(hooks, "durable", None)  # the journal's: await it before a request leaves
        self.signals = _Signals()
        self.retries = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._bet_scopes: dict[int, anyio.CancelScope] = {}
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, Outcome] | None](math.inf)
        self._drain_deadline: anyio.CancelScope | None = None  # armed while a stop drains
        self._tg: anyio.abc.TaskGroup | None = None  # the run's, while it runs: a control's drain timer goes in it

    # The machine's state, under the names observers and tests read.
    @property
    def session(self) -> Session:
        return self.machine.session

    @property
    def strategy(self) -> Strategy:
        return self.machine.strategy

    @property
    def concurrency(self) -> int:
        return self.machine.concurrency

    @property
    def buffer(self) -> ReorderBuffer[Outcome]:
        return self.machine.buffer

    @property
    def reconciliations(self) -> list[Reconciliation]:
        return self.machine.reconciliations

    # -- the strategy task -------------------------------------------------------------------------
    async def run(self) -> None:
        """Play until the machine says the session is done."""
        self.started_at = self.clock()
        if self.reconciler is not None and self.reconciler.baseline is None:
            await self.reconciler.take_baseline()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if self.handle_signals:
                    await tg.start(self._watch_signals, tg)
                if self.on_ready is not None:
                    self.on_ready()
                await self._loop(tg)
                tg.cancel_scope.cancel()  # the signal watcher and the drain timer
        finally:
            self._tg = None
            self.finished_at = self.clock()
            self._send.close()
            self._receive.close()

    async def _loop(self, tg: anyio.abc.TaskGroup) -> None:
        machine = self.machine
        next_action = machine.next_action
        outcome_of = machine.outcome
        place_now = immediate_placer(self.backend) if self.rate_limit is None else None
        clock = self.clock
        hooks = self.hooks
        sync = getattr(hooks, "sync", None)
        since_yield = 0
        yield_by = clock() + YIELD_SECONDS
        while True:
            action = next_action(clock())
            if action.__class__ is Place:
                seq, bet = action.seq, action.bet
                outcome = None
                if place_now is not None:
                    if sync is not None:
                        sync()  # the backend places it before this call returns: its intent goes first
                    outcome = place_now(seq, bet)
                    if outcome.__class__ is Refused and outcome.kind in RETRYABLE_REFUSALS:
                        self._retry_later(outcome)
                        outcome = None
                if outcome is None:
                    # The scope exists before the task starts: a second signal in between still cancels it.
                    self._bet_scopes[seq] = anyio.CancelScope()
                    tg.start_soon(self._bet, seq, bet)
                    continue
                now = clock()
                outcome_of(seq, outcome, now)
                since_yield += 1
                # Every `yield_every` bets, or sooner when the bets are slow (a script that computes for a
                # while in each dobet): a signal waits at most about YIELD_SECONDS for the loop, never 256 bets.
                if since_yield >= self.yield_every or now >= yield_by:
                    since_yield = 0
                    await checkpoint()
                    yield_by = clock() + YIELD_SECONDS
                continue
            if machine.draining:
                # Every stop drains within the deadline, not only a signal's: a reply that never comes must
                # not hold the session open after a limit fired.
                self._arm_drain_deadline(tg)
            if action is DONE:
                self._disarm_drain_deadline()
                return
            if action is ROTATE_SEED:
                machine.seed_rotated(await self.backend.rotate_seed(), clock())
                continue
            if action.__class__ is Reconcile:
                self._disarm_drain_deadline()
                await self._reconcile(action)
                continue
            if action.__class__ is Sleep:
                with anyio.move_on_after(max(0.0, action.until - clock())):
                    await self._receive_outcomes()
                continue
            await self._receive_outcomes()

    async def _receive_outcomes(self) -> None:
        """Wait for one outcome (or a wake-up), then take every other one already there."""
        item = await self._receive.receive()
        outcome_of = self.machine.outcome
        clock = self.clock
        while True:
            if item is not None:
                outcome_of(item[0], item[1], clock())
            try:
                item = self._receive.receive_nowait()
            except anyio.WouldBlock:
                return

    async def _reconcile(self, request: Reconcile) -> None:
        """Read the site's books once everything has drained, and hand the machine their verdict."""
        machine = self.machine
        assert self.reconciler is not None  # noqa: S101 - the machine asks only when it can
        try:
            result = await self.reconciler.reconcile(settled_bets=request.settled_bets,
                                                     settled_profit=request.settled_profit,
                                                     unknown=request.unknown, paid=request.payouts)
        except Exception as exc:  # noqa: BLE001 - the books could not be read: stop, keep the bets unknown
            _log.error("engine.reconcile_failed", unknown=sorted(request.unknown), error=type(exc).__name__)
            machine.reconcile_failed(f"{type(exc).__name__}: {exc}", self.clock())
            return
        if not result.balanced:
            _log.error("engine.reconcile_failed", unknown=sorted(request.unknown), detail=result.detail)
        machine.reconciled(result, self.clock())
        if result.balanced:
            _log.warning("engine.reconciled", detail=result.detail, continuing=not self.session.stopped)

    # -- bet coroutines ----------------------------------------------------------------------------
    async def _bet(self, seq: int, bet: BetRequest) -> None:
        scope = self._bet_scopes[seq]
        outcome: Outcome | None = None
        with scope:
            if self._durable is not None:
                # The intent is on disk before the request leaves (group commit: bets admitted together share
                # one sync). A failed commit raises here, and the bet is never sent.
                await self._durable(seq)
            while True:
                await self.backoff.wait()
                if self.rate_limit is not None:
                    await self.rate_limit.acquire()
                if self.learned_rate_limit is not None:
                    await self.learned_rate_limit.acquire()
                # A back-off tripped while this bet waited for its token (another bet's 429): it holds too.
                await self.backoff.wait()
                sent_at = self.clock()
                try:
                    outcome = await self.backend.place(seq, bet)
                except Exception as exc:  # noqa: BLE001 - a backend bug must not lose track of the bet
                    outcome = Unknown(seq=seq, bet=bet, message=f"backend failed: {type(exc).__name__}")
                if self.pacer is not None:
                    self._pace(outcome, self.clock() - sent_at)
                if isinstance(outcome, Refused) and outcome.kind in RETRYABLE_REFUSALS:
                    self._retry_later(outcome)
                    outcome = None
                    continue
                self.backoff.succeeded()
                break
        del self._bet_scopes[seq]
        if outcome is None:  # cancelled by the drain deadline or a second signal
            outcome = Unknown(seq=seq, bet=bet, message="cancelled while in flight; it may have run")
        self._send.send_nowait((seq, outcome))

    def _pace(self, outcome: Outcome, seconds: float) -> None:
        """Tell the pacer what a reply said; a new limit reaches the machine, and a higher one wakes the loop."""
        pacer = self.pacer
        assert pacer is not None  # noqa: S101 - called only with a pacer
        if isinstance(outcome, Refused):
            kind = outcome.kind
            if kind is RefusalKind.RATE_LIMIT or kind is RefusalKind.CHALLENGE:
                pacer.pushed_back("429" if kind is RefusalKind.RATE_LIMIT else "challenge", seconds)
            elif kind is not RefusalKind.CONNECT:
                pacer.replied(seconds)
        elif outcome.__class__ is not Unknown:
            # An unknown outcome says nothing of how long replies take (a read timeout would only feed itself).
            pacer.replied(seconds)
        if pacer.learned_rate is not None:
            self._hold_rate(pacer.learned_rate)
        limit = pacer.limit
        if limit != self.machine.in_flight_limit:
            raised = limit > self.machine.in_flight_limit
            self.machine.in_flight_limit = limit
            if raised:
                self._wake()

    def _hold_rate(self, rate: float) -> None:
        """The engine's own token bucket holds the rate the pacer learned (--max-rate's holds its own)."""
        bucket = self.learned_rate_limit
        if bucket is None:
            self.learned_rate_limit = TokenBucket(rate, clock=self.clock)
        elif bucket.rate != rate:
            bucket.set_rate(rate)

    def _retry_later(self, refusal: Refused) -> None:
        """A refusal that placed nothing (rate limit, challenge): every coroutine backs off, then it is resent."""
        self.retries += 1
        self.backoff.trip(f"{refusal.kind.value}: {refusal.message}", refusal.retry_after)

    def cancel_in_flight(self) -> None:
        """Give up on every bet in flight: each is recorded as Unknown."""
        for scope in list(self._bet_scopes.values()):
            scope.cancel()

    # -- stopping ----------------------------------------------------------------------------------
    def request_stop(self, why: str, tg: anyio.abc.TaskGroup | None = None) -> None:
        """The first call drains (bounded by drain_timeout, when a task group is given); a second cancels."""
        self.signals.received += 1
        self.signals.last = why
        in_flight = self.session.in_flight
        self.machine.signal(why, self.clock())
        if self.signals.received == 1:
            _log.warning("engine.draining", why=why, in_flight=in_flight, deadline_seconds=self.drain_timeout,
                         hint="send the signal again to stop at once")
            if tg is not None:
                self._arm_drain_deadline(tg)
        else:
            _log.warning("engine.cancelling", why=why, in_flight=in_flight,
                         hint="bets in flight are recorded as unknown, to be reconciled")
            self.cancel_in_flight()
        self._wake()

    # -- controls (a host's: `betbot serve`); call them from the engine's own event loop ------------------
    def stop(self, why: str) -> None:
        """Stop admitting and drain the bets in flight (bounded by drain_timeout): a first signal's effect."""
        if self.signals.received == 0:
            self.request_stop(why, self._tg)

    def stop_now(self, why: str) -> None:
        """Stop at once: the bets in flight are given up and recorded as Unknown (a second signal's effect)."""
        while self.signals.received < 2:
            self.request_stop(why, self._tg)

    def pause(self) -> None:
        """Admit no new bet until `resume`; the bets in flight resolve as usual."""
        self.machine.pause()

    def resume(self) -> None:
        self.machine.resume_admission()
        self._wake()

    @property
    def paused(self) -> bool:
        return self.machine.paused

    def tighten(self, requested: Limits) -> list[str]:
        """Tighten the limits (never loosen one); a limit that now holds stops the session. Returns the notes."""
        notes = self.machine.tighten(requested, self.clock())
        self._wake()
        return notes

    def _wake(self) -> None:
        """Wake the strategy task if it waits for an outcome, so it asks the machine again."""
        if self._tg is not None:
            self._send.send_nowait(None)

    def _arm_drain_deadline(self, tg: anyio.abc.TaskGroup) -> None:
        if self._drain_deadline is None:
            self._drain_deadline = anyio.CancelScope()
            tg.start_soon(self._cancel_after_deadline, self._drain_deadline)

    def _disarm_drain_deadline(self) -> None:
        """Drained in time. The timer must not outlive the drain: betting may resume after reconciliation."""
        if self._drain_deadline is not None:
            self._drain_deadline.cancel()
            self._drain_deadline = None

    async def _cancel_after_deadline(self, scope: anyio.CancelScope) -> None:
        with scope:
            await anyio.sleep(self.drain_timeout)
            _log.warning("engine.drain_deadline", in_flight=self.session.in_flight,
                         deadline_seconds=self.drain_timeout)
            self.cancel_in_flight()

    async def _watch_signals(
        self, tg: anyio.abc.TaskGroup, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            task_status.started()
            async for signum in received:
                self.request_stop(signal.Signals(signum).name, tg)

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else self.clock()
        return max(0.0, end - self.started_at)


def _fan_out(*observers: Any) -> Any:
    """One observer for the machine: none, the one itself (no indirection on the hot path), or a fan-out."""
    from betbot.engine.hooks import combine  # noqa: PLC0415 - hooks imports this module's protocol

    return combine(*observers)
