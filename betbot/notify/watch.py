"""SessionNotices: what one session tells the notifier, read from the run's snapshots, never from its path.

Theory of operation. The lifecycle enters `watching(engine, limits)` around `engine.run()` and calls
`ended(summary)` once the summary is built; that is all the wiring. While the engine runs, a task of this
watcher's own looks at the run every `tick` seconds through `view_of(engine)` (a frozen snapshot: the same
reading the dashboard does) and queues a notice when
  * the balance has fallen `drawdown` or more below its peak (once; again only after it has recovered to less
    than half of that);
  * a back-off has held every bet for longer than `backoff_after`, or is known to (a long Retry-After): once
    per back-off;
  * `every` seconds have passed since the session started (or the last digest): a digest.
`ended` queues "stopped" (or "take-profit reached") with the summary's figures, and "unresolved" when bets of
unknown outcome remain. `Notifier.notify` never blocks, so none of this can slow a bet; the watcher's task is
cancelled with the block. One SessionNotices may watch several sessions in turn (a campaign): each
`watching` starts afresh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from betbot.config.units import AmountOrPercent
from betbot.core.session import Limits
from betbot.notify.events import backoff_notice, digest_notice, drawdown_notice, session_notices
from betbot.notify.notifier import NoticeSink
from betbot.observe.view import RunView, view_of

if TYPE_CHECKING:
    from betbot.engine.loop import Engine

__all__ = ["SessionNotices"]


class SessionNotices:
    def __init__(
        self,
        notifier: NoticeSink | None,
        *,
        label: str | None = None,
        drawdown: AmountOrPercent | None = None,
        every: float | None = None,
        backoff_after: float = 300.0,
        tick: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.notifier = notifier
        self.label = label
        self.drawdown = drawdown
        self.every = every
        self.backoff_after = backoff_after
        self.tick = tick
        self._sleep = sleep
        self._session_label = "the session"

    @property
    def active(self) -> bool:
        return self.notifier is not None and self.notifier.enabled

    @asynccontextmanager
    async def watching(self, engine: Engine, limits: Limits, *, session_id: int | None = None,
                       look: Callable[[], RunView] | None = None) -> AsyncIterator[None]:
        """Watch the run for the duration of the block (nothing at all without a notifier)."""
        del limits  # the thresholds are the notifier's own; the seam passes the limits for watchers that want them
        self._session_label = self.label or (f"session {session_id}" if session_id is not None else "the session")
        if not self.active:
            yield
            return
        state = _Watch(self, look or (lambda: view_of(engine)), engine.clock)
        async with anyio.create_task_group() as tg:
            tg.start_soon(state.run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    def ended(self, summary: Mapping[str, Any]) -> None:
        """The session's last word: stopped or take-profit reached, and unresolved bets if any remain."""
        if not self.active:
            return
        assert self.notifier is not None  # noqa: S101 - active says so
        label = self.label or (f"session {summary['session_id']}" if summary.get("session_id") is not None
                               else self._session_label)
        for notice in session_notices(summary, label):
            self.notifier.notify(notice)


class _Watch:
    """The state of one watched session: what was already said."""

    def __init__(self, owner: SessionNotices, look: Callable[[], RunView], clock: Callable[[], float]) -> None:
        self.owner = owner
        self.look = look
        self.clock = clock
        self.drawdown_said = False
        self.backoff_since: float | None = None
        self.backoff_said = False
        self.next_digest: float | None = None

    async def run(self) -> None:
        owner = self.owner
        start = self.clock()
        if owner.every:
            self.next_digest = start + owner.every
        while True:
            await owner._sleep(owner.tick)
            self.check(self.look(), self.clock())

    def check(self, view: RunView, now: float) -> None:
        owner = self.owner
        notifier = owner.notifier
        assert notifier is not None  # noqa: S101 - only watched with a notifier
        snap, label = view.snapshot, owner._session_label
        if owner.drawdown is not None:
            threshold = owner.drawdown.resolve(snap.starting_balance)
            drawdown = snap.peak_profit - snap.profit
            if not self.drawdown_said and drawdown >= threshold:
                self.drawdown_said = True
                notifier.notify(drawdown_notice(label, drawdown=drawdown, threshold=threshold, balance=snap.balance,
                                                peak=snap.starting_balance + snap.peak_profit,
                                                currency=snap.currency, bets=snap.bets))
            elif self.drawdown_said and drawdown * 2 < threshold:
                self.drawdown_said = False  # recovered: the next crossing is news again
        if view.backing_off:
            if self.backoff_since is None:
                self.backoff_since = now
            length = now - self.backoff_since + view.backoff_remaining
            if not self.backoff_said and length >= owner.backoff_after:
                self.backoff_said = True
                notifier.notify(backoff_notice(label, seconds=length, reason=view.backoff_reason,
                                               threshold=owner.backoff_after))
        else:
            self.backoff_since = None
            self.backoff_said = False
        if self.next_digest is not None and now >= self.next_digest and owner.every:
            self.next_digest = now + owner.every
            notifier.notify(digest_notice(label, bets=snap.bets, wins=snap.wins, profit=snap.profit,
                                          balance=snap.balance, currency=snap.currency, elapsed=view.elapsed,
                                          max_drawdown=snap.max_drawdown, in_flight=snap.in_flight))


