"""Progress while a simulation runs: a rich bar on a terminal; otherwise a plain line when the first results
come back and at every tenth of the sessions.

Fed by the driver as each chunk comes back from any worker, so it moves while the run goes on, not only at
the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["PlainProgress", "RichProgress", "progress_for"]

PLAIN_STEPS = 10  # a plain line at every tenth of the sessions


class _BetsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        bets = task.fields.get("bets", 0)
        elapsed = task.elapsed or 0.0
        rate = bets / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} bets/s", style="cyan")


class RichProgress:
    """A live bar: sessions done of total, bets/s, elapsed, ETA."""

    def __init__(self, total: int, console: Console) -> None:
        self._progress = Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("sessions"), _BetsPerSecond(), TimeElapsedColumn(),
                                  TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True)
        self._task = self._progress.add_task("simulate", total=total, bets=0)
        self._bets = 0

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def advance(self, sessions: int, bets: int) -> None:
        self._bets += bets
        self._progress.update(self._task, advance=sessions, bets=self._bets)


class PlainProgress:
    """One line per tenth of the sessions (logs and CI read these)."""

    def __init__(self, total: int, console: Console, clock: Callable[[], float] = time.perf_counter) -> None:
        self._total = total
        self._console = console
        self._clock = clock
        self._began = clock()
        self._done = 0
        self._bets = 0
        self._next_step = 1

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def advance(self, sessions: int, bets: int) -> None:
        self._done += sessions
        self._bets += bets
        first = self._done == sessions  # the first chunk back: say the run is under way
        if not first and self._done * PLAIN_STEPS < self._next_step * self._total:
            return
        self._next_step = self._done * PLAIN_STEPS // self._total + 1
        elapsed = max(self._clock() - self._began, 1e-9)
        self._console.print(f"betbot: simulated {self._done:,}/{self._total:,} sessions, {self._bets:,} bets, "
                            f"{self._bets / elapsed:,.0f} bets/s", highlight=False, soft_wrap=True)


def progress_for(total: int, console: Console) -> RichProgress | PlainProgress:
    return RichProgress(total, console) if console.is_terminal else PlainProgress(total, console)
