"""The async engine: N bet coroutines out, one ordered stream of outcomes in.

Theory of operation. `Engine.run` is the strategy task: the one owner of the session and the strategy.
It fills free slots (asking the strategy, passing each bet through the session's risk gate), hands each
admitted bet to a bet coroutine, and applies outcomes in seq order as the reorder buffer releases them:
session.apply → strategy.on_result → session.check_limits, in that order, for every outcome.

Bet coroutines own nothing but their one request. Each ends by sending `(seq, outcome)` over a memory
object stream. Rate limits and challenges (refusals that mean "not placed, try again") trip a back-off
shared by every coroutine, and the same bet is sent again after it; nothing else is ever resent.

Fast path: when the backend can answer at once (`place_now`, a zero-latency simulator), no task is
spawned: the outcome goes straight into the reorder buffer, and the loop yields to the event loop every
`yield_every` bets so signals and the dashboard still run.

Stopping: when a limit fires, or on the first SIGINT/SIGTERM, no new bet is admitted and the bets in
flight are drained, bounded by `drain_timeout`. At that deadline, or on a second signal, the bets still
in flight are cancelled and recorded as Unknown (they may have run), for reconciliation at next start.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import anyio
import anyio.abc
import structlog
from anyio.lowlevel import checkpoint

from betbot.backends.base import Backend
from betbot.core.minbet_rule import MinBetPolicy
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, StopKind, Unknown
from betbot.core.reconcile import Reconciliation
from betbot.core.reorder import ReorderBuffer
from betbot.core.session import Session
from betbot.core.steps import apply_outcome, decide
from betbot.core.strategy import Strategy
from betbot.engine.backoff import SharedBackoff
from betbot.engine.ratelimit import TokenBucket
from betbot.engine.site_books import Reconciler

__all__ = ["RETRYABLE_REFUSALS", "Engine", "EngineHooks", "effective_concurrency"]

_log = structlog.get_logger("betbot.engine.loop")

RETRYABLE_REFUSALS = frozenset({RefusalKind.RATE_LIMIT, RefusalKind.CHALLENGE, RefusalKind.CONNECT})


class EngineHooks(Protocol):
    """Observers of the ordered history (the journal, metrics). Called from the strategy task."""

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None: ...

    def released(self, outcome: Outcome, now: float) -> None: ...

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float) -> None:
        """An unknown bet's verdict from the site's books: did not run (None), or ran with this profit."""
        ...

    def sync(self) -> None:
        """Make what was observed so far durable. Called before any admitted bet's request can leave: after
        each burst of admissions (one disk sync for the burst: group commit), and before a bet the backend
        places at once. A failure stops the engine before the bets are sent."""
        ...


def effective_concurrency(requested: int, strategy: type[Strategy] | Strategy) -> int:
    """min(--max-concurrent, what the strategy tolerates)."""
    tolerated = strategy.max_in_flight
    return requested if tolerated is None else max(1, min(requested, tolerated))


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
        min_bets: MinBetPolicy | None = None,
        rate_limit: TokenBucket | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.session = session
        self.strategy = strategy
        self.backend = backend
        self.concurrency = effective_concurrency(max_concurrent, strategy)
        self.drain_timeout = drain_timeout
        self.clock = clock
        self.hooks = hooks
        self.backoff = backoff or SharedBackoff(clock=clock)
        self.handle_signals = handle_signals
        self.yield_every = yield_every
        self.on_ready = on_ready  # called once signals are handled, before the first bet
        self.reconciler = reconciler
        self.continue_after_reconciliation = continue_after_reconciliation
        self.reconciliations: list[Reconciliation] = []
        self._unknown: dict[int, BetRequest] = {}  # bets of unknown outcome, until reconciled
        self.min_bets = min_bets
        self.rate_limit = rate_limit
        self.buffer: ReorderBuffer[Outcome] = ReorderBuffer(first=session.next_seq, window=self.concurrency)
        self.signals = _Signals()
        self.retries = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._bet_scopes: dict[int, anyio.CancelScope] = {}
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, Outcome] | None](math.inf)
        self._drain_deadline: anyio.CancelScope | None = None  # armed while a stop drains

    # -- the strategy task -------------------------------------------------------------------------
    async def run(self) -> None:
        """Play until the session stops and every bet in flight has resolved."""
        self.started_at = self.clock()
        if self.reconciler is not None and self.reconciler.baseline is None:
            await self.reconciler.take_baseline()
        try:
            async with anyio.create_task_group() as tg:
                if self.handle_signals:
                    await tg.start(self._watch_signals, tg)
                if self.on_ready is not None:
                    self.on_ready()
                await self._loop(tg)
                tg.cancel_scope.cancel()  # the signal watcher and the drain timer
        finally:
            self.finished_at = self.clock()
            self._send.close()
            self._receive.close()

    async def _loop(self, tg: anyio.abc.TaskGroup) -> None:
        session = self.session
        strategy = self.strategy
        place_now = self.backend.place_now
        clock = self.clock
        hooks = self.hooks
        concurrency = self.concurrency
        pending: BetRequest | None = None  # decided by the strategy, held by the gate
        since_yield = 0
        while True:
            while session.in_flight < concurrency and session.open_for_bets(clock()):
                if pending is None:
                    decision = decide(strategy, session)
                    if decision is not None and self.min_bets is not None:
                        decision = self.min_bets.check(decision, session)
                    if decision is None:
                        break
                    pending = decision
                now = clock()
                verdict = session.admit(pending, now)
                if not isinstance(verdict, int):
                    if session.stopped:
                        pending = None
                    break  # HELD: try again once something resolves
                bet, pending = pending, None
                if hooks is not None:
                    hooks.admitted(verdict, bet, now)
                outcome = None
                if self.rate_limit is None:
                    if hooks is not None:
                        hooks.sync()
                    outcome = place_now(verdict, bet)
                if isinstance(outcome, Refused) and outcome.kind in RETRYABLE_REFUSALS:
                    self._retry_later(outcome)
                    outcome = None
                if outcome is None:
                    # The scope exists before the task starts: a second signal in between still cancels it.
                    self._bet_scopes[verdict] = anyio.CancelScope()
                    tg.start_soon(self._bet, verdict, bet)
                    continue
                self._release(verdict, outcome)
                since_yield += 1
                if since_yield >= self.yield_every:
                    since_yield = 0
                    await checkpoint()
            if hooks is not None:
                hooks.sync()  # the bets just started run from the next await on: their intent goes first
            if session.stopped and session.in_flight > 0:
                # Every stop drains within the deadline, not only a signal's: a reply that never comes must
                # not hold the session open after a limit fired.
                self._arm_drain_deadline(tg)
            if session.in_flight == 0 and (session.stopped or pending is None):
                if session.stopped:
                    self._disarm_drain_deadline()
                    if await self._reconcile_and_resume():
                        continue
                    return
                continue
            item = await self._receive.receive()
            while True:
                if item is not None:
                    self._release(*item)
                try:
                    item = self._receive.receive_nowait()
                except anyio.WouldBlock:
                    break

    def _release(self, seq: int, outcome: Outcome) -> None:
        session = self.session
        strategy = self.strategy
        hooks = self.hooks
        now = self.clock()
        for released in self.buffer.push(seq, outcome):
            if isinstance(released, Unknown):
                self._unknown[released.seq] = released.bet
            apply_outcome(session, strategy, released)
            if self.min_bets is not None and isinstance(released, Refused):
                self.min_bets.refused(released, session)
            if hooks is not None:
                hooks.released(released, now)
            session.check_limits(now)

    async def _reconcile_and_resume(self) -> bool:
        """With everything drained: if bets are of unknown outcome, ask the site's books, settle each, and say
        whether betting goes on (only when the unknown outcome is what stopped it). Whatever stopped the
        session (a limit, a signal, the unknown outcome itself), its unknown bets are settled before it ends,
        except after a second signal: that asks to stop at once, and they stay unknown for the next start."""
        session = self.session
        reason = session.stop_reason
        if self.reconciler is None or not self._unknown or reason is None or self.signals.received >= 2:
            return False
        try:
            result = await self.reconciler.reconcile(settled_bets=session.bets, settled_profit=session.profit,
                                                     unknown=dict(self._unknown))
        except Exception as exc:  # noqa: BLE001 - the books could not be read: stop, keep the bets unknown
            session.stop(StopKind.UNKNOWN_OUTCOME, f"could not reconcile {len(self._unknown)} unknown bet(s): "
                         f"{type(exc).__name__}: {exc}", replace=True)
            return False
        self.reconciliations.append(result)
        if not result.balanced:
            _log.error("engine.reconcile_failed", unknown=sorted(self._unknown), detail=result.detail)
            session.stop(StopKind.UNKNOWN_OUTCOME, f"the books do not balance: {result.detail}", replace=True)
            return False
        now = self.clock()
        for verdict in result.verdicts:
            bet = self._unknown.pop(verdict.seq)
            session.resolve_unknown(verdict.seq, bet, verdict.profit)
            if self.hooks is not None:
                self.hooks.reconciled(verdict.seq, bet, verdict.profit, now)
        if reason.kind is StopKind.MAX_BETS and session.resume(StopKind.MAX_BETS):
            # A bet counted towards max_bets did not run: the count is short, the next bets make it up.
            going_on = session.open_for_bets(now)
            _log.warning("engine.reconciled", detail=result.detail, continuing=going_on)
            return going_on
        _log.warning("engine.reconciled", detail=result.detail,
                     continuing=reason.kind is StopKind.UNKNOWN_OUTCOME and self.continue_after_reconciliation)
        if reason.kind is not StopKind.UNKNOWN_OUTCOME:
            return False  # a limit or a signal stopped the session; settled, it stays stopped
        if not self.continue_after_reconciliation:
            session.stop(StopKind.UNKNOWN_OUTCOME, f"reconciled, and set to stop after that: {result.detail}",
                         replace=True)
            return False
        if not session.resume_after_reconciliation():
            return False
        session.check_limits(now)  # a reconciled win or loss may itself reach a limit
        return not session.stopped

    # -- bet coroutines ----------------------------------------------------------------------------
    async def _bet(self, seq: int, bet: BetRequest) -> None:
        scope = self._bet_scopes[seq]
        outcome: Outcome | None = None
        with scope:
            while True:
                await self.backoff.wait()
                if self.rate_limit is not None:
                    await self.rate_limit.acquire()
                try:
                    outcome = await self.backend.place(seq, bet)
                except Exception as exc:  # noqa: BLE001 - a backend bug must not lose track of the bet
                    outcome = Unknown(seq=seq, bet=bet, message=f"backend failed: {type(exc).__name__}")
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
        if self.signals.received == 1:
            self.session.stop(StopKind.SIGNAL, f"{why}: drained {in_flight} bet(s) in flight")
            _log.warning("engine.draining", why=why, in_flight=in_flight, deadline_seconds=self.drain_timeout,
                         hint="send the signal again to stop at once")
            if tg is not None:
                self._arm_drain_deadline(tg)
        else:
            _log.warning("engine.cancelling", why=why, in_flight=in_flight,
                         hint="bets in flight are recorded as unknown, to be reconciled")
            self.cancel_in_flight()
        self._send.send_nowait(None)  # wake the strategy task if it waits for an outcome

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
