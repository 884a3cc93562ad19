"""A token bucket for `--max-rate BETS_PER_S`: the engine's own ceiling, below the site's unpublished one.

Time and sleep are injected so tests need no real time. Tokens accrue at `rate` per second up to `burst`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["TokenBucket"]


class TokenBucket:
    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def set_rate(self, rate: float) -> None:
        """Change the rate from now on (the tokens accrued so far at the old one)."""
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self._refill()
        self.rate = rate

    async def acquire(self) -> None:
        """Take one token, waiting for it if need be. Waiters are served as tokens accrue."""
        self._refill()
        # Taking the token before sleeping reserves it: concurrent callers queue up behind one another
        # rather than all waking at once for the same token.
        self._tokens -= 1
        if self._tokens < 0:
            await self._sleep(-self._tokens / self.rate)
