"""Ctrl-C and SIGTERM as a request to stop, for the commands that play many sessions in this process."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["StopFlag"]


class StopFlag:
    """Ctrl-C (or SIGTERM) once: a flag the command looks at where stopping leaves its results whole; twice:
    KeyboardInterrupt, at once, unless `second_stops_at_once` is False (a command that always stops soon)."""

    def __init__(self, *, second_stops_at_once: bool = True) -> None:
        self.raised = False
        self.second_stops_at_once = second_stops_at_once

    def __call__(self) -> bool:
        return self.raised

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.raised and self.second_stops_at_once:
            raise KeyboardInterrupt
        self.raised = True

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        previous = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
