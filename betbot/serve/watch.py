"""What a hosted session's page shows, sampled off the betting path and fanned out to SSE subscribers.

Theory of operation. A `SessionWatch` is one of the engine's observers (`released`, `stopped`, `resumed`,
`seed_rotated`): `released` runs once per bet on the betting path, so it only appends the outcome to a bounded
deque (no test, no copy: which of them are settled bets is sorted out at the tick). Its own task (`run`) looks
at the engine through `view_of` every `interval` seconds, adds a point to the balance chart (halved when full,
so a long session keeps a bounded chart of its whole history), works out the rate and the limits' progress,
and publishes one `tick`: the whole state, serialised once into a server-sent-events frame that every
subscriber shares. However fast the session bets, its subscribers cost one snapshot and one serialisation per
tick, never anything per bet.

A subscriber (`Subscriber`) holds one frame, the newest: a reader slower than the ticks skips to the latest
state (each tick carries the whole state, so nothing on the page is lost) and never slows the session, the
other subscribers or the event loop. The `end` frame is the last: the stream ends after it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import anyio

from betbot.core.models import Outcome, SeedRotation, Settled, StopKind, StopReason
from betbot.core.money import money_text
from betbot.observe.view import RunView, view_of

if TYPE_CHECKING:
    from betbot.core.session import Limits
    from betbot.engine.loop import Engine

__all__ = ["CHART_POINTS", "LAST_BETS", "SessionWatch", "Subscriber", "limit_bars", "sse_frame"]

LAST_BETS: Final = 30
CHART_POINTS: Final = 600  # then every other point is dropped: the whole session at half the resolution
_RATE_WINDOW: Final = 10.0  # seconds of points the bets/s and the ETAs are worked out over
# Outcomes kept for the last bets: a few more than shown, as a refused or unknown one (each stops the session)
# is kept too and left out at the tick.
_RECENT_KEPT: Final = LAST_BETS + 8


def sse_frame(kind: str, state: dict[str, Any]) -> bytes:
    """One server-sent event: its type and the session's state as JSON."""
    return f"event: {kind}\ndata: {json.dumps(state, default=str)}\n\n".encode()


class Subscriber:
    """One reader of a session's events. It holds only the newest frame: a slow reader skips to the latest."""

    __slots__ = ("_closed", "_frame", "_ready")

    def __init__(self) -> None:
        self._frame: bytes | None = None
        self._ready = anyio.Event()
        self._closed = False

    def offer(self, frame: bytes) -> bool:
        """Hold `frame` for the reader; True if it replaced one the reader had not taken yet."""
        replaced = self._frame is not None
        self._frame = frame
        self._ready.set()
        return replaced

    def close(self) -> None:
        """The stream ends once the reader has taken the frame it holds (the `end`)."""
        self._closed = True
        self._ready.set()

    async def frames(self) -> AsyncIterator[bytes]:
        """The frames as they come, each the newest when taken; ends after the last one once closed."""
        while True:
            await self._ready.wait()
            self._ready = anyio.Event()  # set again by the next offer, or by close()
            frame, self._frame = self._frame, None
            if frame is not None:
                yield frame
            if self._closed and self._frame is None:
                return


class SessionWatch:
    def __init__(self, *, interval: float = 0.5, wall: Callable[[], float] = time.time) -> None:
        self.interval = interval
        self._wall = wall
        self.engine: Engine | None = None
        self._recent: deque[Outcome] = deque(maxlen=_RECENT_KEPT)
        self._notes: deque[dict[str, Any]] = deque(maxlen=50)
        self.points: list[tuple[int, str]] = []  # (bets settled, balance) for the chart
        self._stride = 1  # bets between chart points after halvings, so old and new points stay evenly spaced
        self._rates: deque[tuple[float, int, Decimal]] = deque()  # (engine clock, bets, profit)
        self._subscribers: set[Subscriber] = set()
        self.ticks = 0  # frames published (ticks and the end)
        self.skipped = 0  # frames a slow subscriber never took: a newer one replaced them

    # -- the engine's observer: appends only ---------------------------------------------------------------
    def released(self, outcome: Outcome, now: float) -> None:
        self._recent.append(outcome)  # once per bet: nothing more (settled or not is sorted out at the tick)

    def stopped(self, reason: StopReason, now: float) -> None:
        self._note("stopped", f"{reason.kind.value}: {reason.detail}")

    def resumed(self, kind: StopKind, now: float) -> None:
        self._note("resumed", f"betting again after {kind.value}")

    def seed_rotated(self, rotation: SeedRotation, first_seq: int, now: float) -> None:
        self._note("seed_rotated", f"new server seed hash {rotation.server_seed_hash} from bet {first_seq}")

    def note(self, kind: str, text: str) -> None:
        """A line for the page from the host (paused, a limit tightened)."""
        self._note(kind, text)

    def _note(self, kind: str, text: str) -> None:
        self._notes.append({"time": self._wall(), "kind": kind, "text": text})

    # -- sampling ------------------------------------------------------------------------------------------
    def attach(self, engine: Engine) -> None:
        if self.engine is not None and engine is not self.engine:
            # A campaign's next session: its chart and rate start afresh (its bets count from 1 again).
            self.points = []
            self._stride = 1
            self._rates.clear()
            self._recent.clear()
        self.engine = engine

    def look(self) -> RunView | None:
        return None if self.engine is None else view_of(self.engine)

    def sample(self) -> RunView | None:
        """One look: a chart point and a rate sample. The sampler task calls it; tests call it directly."""
        engine = self.engine
        if engine is None:
            return None
        view = view_of(engine)
        snap = view.snapshot
        if not self.points or snap.bets - self.points[-1][0] >= self._stride:
            self.points.append((snap.bets, money_text(snap.balance)))
            if len(self.points) > CHART_POINTS:
                self.points = self.points[::2]
                self._stride *= 2
        now = engine.clock()
        self._rates.append((now, snap.bets, snap.profit))
        while len(self._rates) > 2 and now - self._rates[0][0] > _RATE_WINDOW:
            self._rates.popleft()
        return view

    def rates(self) -> tuple[float, float]:
        """(bets per second, profit per second) over the last few seconds of samples."""
        if len(self._rates) < 2:
            return 0.0, 0.0
        (t0, b0, p0), (t1, b1, p1) = self._rates[0], self._rates[-1]
        span = t1 - t0
        if span <= 0:
            return 0.0, 0.0
        return (b1 - b0) / span, float(p1 - p0) / span

    def recent(self) -> list[dict[str, Any]]:
        """The last settled bets, newest first."""
        found = []
        for outcome in reversed(self._recent):
            if outcome.__class__ is Settled:
                found.append(_bet_json(outcome))
                if len(found) == LAST_BETS:
                    break
        return found

    def notes(self) -> list[dict[str, Any]]:
        return list(self._notes)

    async def run(self, describe: Callable[[], dict[str, Any]]) -> None:
        """Sample every `interval` until cancelled; publish a tick when someone is subscribed (building one
        costs more than the sample: with ten sessions and nobody watching, that is all the loop is spared)."""
        while True:
            self.sample()
            if self._subscribers:
                self.publish("tick", describe())
            await anyio.sleep(self.interval)

    # -- subscribers ---------------------------------------------------------------------------------------
    def publish(self, kind: str, state: dict[str, Any]) -> None:
        """Serialise `state` once; every subscriber gets the same frame."""
        self.ticks += 1
        if not self._subscribers:
            return
        frame = sse_frame(kind, state)
        for subscriber in self._subscribers:
            self.skipped += subscriber.offer(frame)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            subscriber.close()

    def close_subscribers(self) -> None:
        """The session ended: every stream ends after the frame it holds (the `end` just published)."""
        for subscriber in self._subscribers:
            subscriber.close()
        self._subscribers.clear()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def _bet_json(bet: Settled) -> dict[str, Any]:
    return {"seq": bet.seq, "amount": money_text(bet.bet.amount), "chance": f"{bet.bet.chance:f}",
            "high": bet.bet.high, "roll": bet.number, "win": bet.win, "profit": money_text(bet.profit),
            "balance": money_text(bet.balance), "nonce": bet.nonce}


_AMOUNT_LIMITS: Final = ("stop_loss", "take_profit", "trailing_stop", "min_balance", "max_bet")


def limit_bars(limits: Limits, view: RunView, *, bets_per_s: float, profit_per_s: float,
               elapsed_total: float) -> list[dict[str, Any]]:
    """Each limit set: how far the session has gone towards it (0..1) and, where a trend says so, when it
    would bind at the current pace (seconds; None when it is not approaching)."""
    snap = view.snapshot
    bars: list[dict[str, Any]] = []

    def bar(name: str, value: str, used: float, eta: float | None) -> None:
        used = max(0.0, min(1.0, used))
        reached = used >= 1.0 or view.stopped
        bars.append({"name": name, "value": value, "used": used,
                     "eta_seconds": None if eta is None or eta < 0 or reached else round(eta, 1)})

    if limits.max_bets is not None:
        left = limits.max_bets - snap.submitted
        bar("max_bets", str(limits.max_bets), snap.submitted / limits.max_bets,
            left / bets_per_s if bets_per_s > 0 else None)
    if limits.max_duration is not None:
        bar("max_duration", f"{limits.max_duration:g}s", elapsed_total / limits.max_duration,
            limits.max_duration - elapsed_total)
    profit = float(snap.profit)
    if limits.stop_loss is not None:
        loss_left = float(limits.stop_loss) + profit
        bar("stop_loss", money_text(limits.stop_loss), -profit / float(limits.stop_loss) if profit < 0 else 0.0,
            loss_left / -profit_per_s if profit_per_s < 0 else None)
    if limits.take_profit is not None:
        gain_left = float(limits.take_profit) - profit
        bar("take_profit", money_text(limits.take_profit), profit / float(limits.take_profit) if profit > 0 else 0.0,
            gain_left / profit_per_s if profit_per_s > 0 else None)
    if limits.min_balance is not None:
        room = float(snap.starting_balance - limits.min_balance)
        above = float(snap.balance - limits.min_balance)
        bar("min_balance", money_text(limits.min_balance), 1 - above / room if room > 0 else 1.0,
            above / -profit_per_s if profit_per_s < 0 else None)
    if limits.trailing_stop is not None:
        fall = float(snap.peak_profit - snap.profit)
        bar("trailing_stop", money_text(limits.trailing_stop), fall / float(limits.trailing_stop), None)
    if limits.max_losses is not None and snap.streak < 0:
        bar("max_losses", str(limits.max_losses), -snap.streak / limits.max_losses, None)
    elif limits.max_losses is not None:
        bar("max_losses", str(limits.max_losses), 0.0, None)
    if limits.max_wins is not None:
        bar("max_wins", str(limits.max_wins), max(0, snap.streak) / limits.max_wins, None)
    return bars
