"""A heartbeat file for health checks (Docker's HEALTHCHECK runs `betbot health`, which reads it).

Why a file: the check runs in another process, and the beat is written by a task on the engine's own event
loop, so a stale beat means the loop itself is stuck, not only that the process exists. The beat also says
whether bets still resolve: bets in flight and none resolved for longer than the check allows means the
run is stuck even though the loop turns. Backing off after a rate limit, draining, or a strategy waiting are
idle by choice, and healthy.

When: a `starting` beat before the first bet (the process is up), the next one a second later (so a check a
few seconds into a run sees it betting), then every 5 s, and a last `stopped` beat that the code running the
engine writes once the engine has returned (`Heartbeat.stop`), after the beating task has ended, so nothing
can overwrite it and it does not depend on how a cancelled task unwinds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from betbot.atomicfile import atomic_write

if TYPE_CHECKING:  # `betbot health` only reads beats: it must start fast, without the session core
    from betbot.observe.view import RunView

__all__ = ["DEFAULT_INTERVAL", "FIRST_FOLLOW_UP", "Beat", "Heartbeat", "beat_of", "check", "read_beat", "write_beat"]

DEFAULT_INTERVAL: Final = 5.0
# A second beat this soon after the first: the first is written before any bet, so a health check in the
# first seconds would otherwise read "starting: 0 bets" while hundreds were placed.
FIRST_FOLLOW_UP: Final = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Beat:
    pid: int
    time: float  # Unix seconds when written
    state: str  # starting | betting | backing-off | draining | idle | stopped
    bets: int
    in_flight: int
    last_progress: float  # Unix seconds when a bet last resolved (or the run started)
    stop_reason: str | None = None  # so an operator sees why a daemon is draining or stopped


def beat_of(view: RunView, *, now: float, last_progress: float, state: str | None = None) -> Beat:
    """The beat for this view of the run; `state` overrides the one read from it (starting, stopped)."""
    snap = view.snapshot
    if state is None:
        if view.stopped:
            state = "draining"
        elif view.backing_off:
            state = "backing-off"
        elif snap.in_flight:
            state = "betting"
        else:
            state = "idle"
    reason = snap.stop_reason
    return Beat(pid=os.getpid(), time=now, state=state, bets=snap.bets, in_flight=snap.in_flight,
                last_progress=last_progress, stop_reason=None if reason is None else str(reason))


def write_beat(path: Path, beat: Beat) -> None:
    """Replace the file whole (a reader never sees half a beat)."""
    with atomic_write(path, make_parents=False) as file:
        json.dump(asdict(beat), file)


def read_beat(path: Path) -> Beat:
    """The beat in `path`; OSError if it cannot be read, ValueError if it is not a beat."""
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    try:
        return Beat(pid=int(data["pid"]), time=float(data["time"]), state=str(data["state"]),
                    bets=int(data["bets"]), in_flight=int(data["in_flight"]),
                    last_progress=float(data["last_progress"]),
                    stop_reason=None if data.get("stop_reason") is None else str(data["stop_reason"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a heartbeat: {exc}") from None


class Heartbeat:
    """The beats of one run, written to `path`: at start, once the run is under way, every `interval`
    seconds, and a last `stopped` one.

    The final beat is the caller's to write (`stop()`), after the engine has returned and the beating task
    has ended: it does not depend on how that task is cancelled, and nothing can overwrite it afterwards.
    """

    def __init__(self, path: Path, look: Callable[[], RunView], *, wall: Callable[[], float] = time.time) -> None:
        self.path = path
        self._look = look
        self._wall = wall
        self._progress: _Progress | None = None
        self._warned = False
        self.written = 0

    def write(self, state: str | None = None) -> Beat:
        view = self._look()
        now = self._wall()
        resolved = view.snapshot.bets
        if self._progress is None:
            self._progress = _Progress(resolved, now)
        beat = beat_of(view, now=now, last_progress=self._progress.seen(resolved, now), state=state)
        write_beat(self.path, beat)
        self.written += 1
        return beat

    def start(self) -> Beat:
        """The first beat, before any bet: the process is up."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.write("starting")

    def stop(self) -> None:
        self.write_or_warn("stopped")

    async def run(self, *, interval: float = DEFAULT_INTERVAL, follow_up: float = FIRST_FOLLOW_UP,
                  sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        """Beat until cancelled, beginning with the first beat unless `start()` wrote it already."""
        if sleep is None:
            import anyio  # noqa: PLC0415 - `betbot health` imports this module and must start fast

            sleep = anyio.sleep
        if not self.written:
            self.start()
        await sleep(min(follow_up, interval))
        while True:
            self.write_or_warn()
            await sleep(interval)

    def write_or_warn(self, state: str | None = None) -> None:
        """A beat that cannot be written (a full disk) is warned about, once, and does not stop the betting:
        the beat goes stale and `betbot health` says so, which is the point of it."""
        try:
            self.write(state)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                import structlog  # noqa: PLC0415 - only on this path: `betbot health` imports this module

                structlog.get_logger("betbot").warning("heartbeat.unwritable", path=str(self.path),
                                                       error=exc.strerror or str(exc))


@dataclass(slots=True)
class _Progress:
    """When the count of resolved bets last moved."""

    resolved: int
    at: float

    def seen(self, resolved: int, now: float) -> float:
        if resolved != self.resolved:
            self.resolved, self.at = resolved, now
        return self.at


def check(path: Path, *, max_age: float, now: float) -> tuple[bool, str]:
    """Healthy or not, and why, in one line."""
    try:
        beat = read_beat(path)
    except FileNotFoundError:
        return False, f"no heartbeat at {path}: betbot is not running with --heartbeat-file {path}"
    except (OSError, ValueError) as exc:
        return False, f"the heartbeat {path} cannot be read: {exc}"
    age = now - beat.time
    if age > max_age:
        return False, f"the last heartbeat is {age:.0f}s old (limit {max_age:.0f}s): betbot is stuck or gone"
    stalled = now - beat.last_progress
    if beat.state == "betting" and stalled > max_age:
        return False, (f"{beat.in_flight} bet(s) in flight and none resolved for {stalled:.0f}s "
                       f"(limit {max_age:.0f}s)")
    why = "" if beat.stop_reason is None else f" ({beat.stop_reason})"
    return True, f"{beat.state}: {beat.bets} bets, {beat.in_flight} in flight{why}"
