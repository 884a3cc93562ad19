"""One back-off shared by every bet coroutine: a rate limit or a challenge pauses them all.

A `Retry-After` is honoured as given; otherwise the pause grows exponentially with full jitter up to a cap,
one step per pause (the refusals of one burst are one step), and shrinks back once a bet goes through. Time
and randomness are injected so tests need no sleeps.

Each pause is logged once, at info, with its reason and its length: the trip that starts it. Bets already in
flight that hit the same limit extend the pause without a line of their own (at N = 50, one 429 burst would
otherwise be fifty lines).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable

import anyio
import structlog

__all__ = ["SharedBackoff"]

_log = structlog.get_logger("betbot.engine.backoff")


class SharedBackoff:
    def __init__(
        self,
        *,
        base: float = 0.5,
        cap: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._until = 0.0
        self._failures = 0
        self.reason = ""  # why the engine is paused, for the dashboard
        self.trips = 0
        self.episodes = 0  # pauses begun (trips while none was in force): what is logged and counted

    @property
    def active(self) -> bool:
        return self._clock() < self._until

    @property
    def remaining(self) -> float:
        return max(0.0, self._until - self._clock())

    def trip(self, reason: str, retry_after: float | None = None) -> float:
        """Pause every coroutine; returns the pause in seconds.

        The exponent grows once per pause, not once per refused bet: the bets in flight when the site pushes
        back are refused together (at N = 8, eight 429s), and counting each would turn one burst into the
        cap's pause."""
        now = self._clock()
        if now >= self._until:
            self._failures += 1
        self.trips += 1
        if retry_after is not None and retry_after >= 0:
            pause = min(retry_after, self.cap * 10)  # a server's word, bounded against absurd values
        else:
            # The exponent stops growing long before the float would overflow; the cap rules anyway.
            ceiling = min(self.cap, self.base * 2.0 ** min(self._failures - 1, 64))
            pause = self._rng.uniform(0, ceiling)
        if now >= self._until:
            self.episodes += 1
            _log.info("backoff.tripped", reason=reason, wait_seconds=round(pause, 3),
                      retry_after=retry_after is not None)
        self._until = max(self._until, now + pause)
        self.reason = reason
        return pause

    def succeeded(self) -> None:
        self._failures = 0

    async def wait(self) -> None:
        """Return once no back-off is in force (at once, usually)."""
        while (remaining := self._until - self._clock()) > 0:
            await self._sleep(remaining)
