"""How late the event loop wakes a task: the figure that says whether one session (or the console) stalls the
others. A task asks to sleep `interval` seconds, again and again; how much later than asked it wakes is the
lag. The last `window` samples are kept; `/metrics` shows their p99 and maximum."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import anyio

__all__ = ["LoopLag"]


class LoopLag:
    def __init__(self, *, interval: float = 0.01, window: int = 1000,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.interval = interval
        self._clock = clock
        self.samples: deque[float] = deque(maxlen=window)

    async def run(self) -> None:
        while True:
            asked = self._clock()
            await anyio.sleep(self.interval)
            self.samples.append(max(0.0, self._clock() - asked - self.interval))

    def quantile(self, q: float) -> float:
        """The q-quantile of the kept samples, in seconds (0 with none)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
