"""Everything that watches one run, started and stopped together around the engine.

Theory of operation. `Watchers.running()` is an async context manager around `engine.run()`:
  * the heartbeat's first beat is on disk before it yields (so before the first bet; a file that cannot be
    written is a one-line `SettingsError`), then the heartbeat task beats on; on the way out, after the
    tasks are gone, the last `stopped` beat is written here, whatever ended the run (the last word cannot
    depend on how a cancelled task unwinds, and no later write can overwrite it);
  * on a terminal the dashboard is on screen (transient: the live panel is erased on the way out) and
    `finish()` prints the final frame in its place, from the snapshot the summary is built from; otherwise
    a progress line is logged every 10 s.
Every watcher reads the run through one function (`look`, by default `view_of(engine)`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from rich.console import Console

from betbot.config.settings import SettingsError
from betbot.core.session import Limits
from betbot.observe.display import Dashboard, progress_lines
from betbot.observe.heartbeat import Heartbeat
from betbot.observe.view import RunView, concurrency_text, view_of

if TYPE_CHECKING:
    from betbot.engine.loop import Engine

__all__ = ["Watchers"]


class Watchers:
    def __init__(self, engine: Engine, *, console: Console, log: Any, limits: Limits, show_dashboard: bool,
                 heartbeat_file: Path | None, session_offset: float = 0.0,
                 look: Callable[[], RunView] | None = None) -> None:
        self.look = look or (lambda: view_of(engine))
        self._clock = engine.clock
        self._log = log
        strategy, backend = engine.strategy.name, engine.backend.name
        title = f"betbot · {strategy} on the {backend} · concurrency {concurrency_text(engine)}"
        self.dashboard = Dashboard(console, self.look, limits=limits, title=title, clock=engine.clock,
                                   session_offset=session_offset) if show_dashboard else None
        self.heartbeat = None if heartbeat_file is None else Heartbeat(heartbeat_file, self.look)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Watchers]:
        async with AsyncExitStack() as stack:
            if self.heartbeat is not None:
                self._first_beat(self.heartbeat)
                stack.callback(self.heartbeat.stop)  # runs after the task group below has ended
            if self.dashboard is not None:
                stack.enter_context(self.dashboard.live())
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)  # runs first on the way out: the tasks end, then the rest
            if self.heartbeat is not None:
                tg.start_soon(self.heartbeat.run)
            if self.dashboard is not None:
                tg.start_soon(self.dashboard.run)
            else:
                tg.start_soon(progress_lines, self.look, self._clock, self._log)
            yield self

    @staticmethod
    def _first_beat(heartbeat: Heartbeat) -> None:
        """Before any bet: a heartbeat file that cannot be written is a bad setting, said in one line."""
        try:
            heartbeat.start()
        except OSError as exc:
            raise SettingsError(f"cannot write the heartbeat file {heartbeat.path}: {exc.strerror or exc}; "
                                "give --heartbeat-file a path in a writable directory") from None

    def finish(self, view: RunView, summary: dict[str, Any]) -> None:
        """The dashboard's final frame (nothing without a dashboard), from the summary's snapshot."""
        if self.dashboard is not None:
            self.dashboard.console.print(self.dashboard.finish(view, summary))
