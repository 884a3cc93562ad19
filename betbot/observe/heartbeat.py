"""A heartbeat file for health checks (Docker's HEALTHCHECK runs `betbot health`, which reads it).

Why a file: the check runs in another process, and the beat is written by a task on the engine's own event
loop, so a stale beat means the loop itself is stuck, not only that the process exists. The beat also says
whether bets still resolve: bets in flight and none resolved for longer than the check allows means the
run is stuck even though the loop turns. Backing off after a rate limit, draining, or a strategy waiting are
idle by choice, and healthy.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import anyio

from betbot.atomicfile import atomic_write
from betbot.engine.loop import Engine

__all__ = ["Beat", "beat_of", "check", "heartbeat", "read_beat", "write_beat"]

DEFAULT_INTERVAL: Final = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Beat:
    pid: int
    time: float  # Unix seconds when written
    state: str  # betting | backing-off | draining | idle | stopped
    bets: int
    in_flight: int
    last_progress: float  # Unix seconds when a bet last resolved (or the run started)
    stop_reason: str | None = None  # so an operator sees why a daemon is draining or stopped


def beat_of(engine: Engine, *, now: float, last_progress: float, stopped: bool = False) -> Beat:
    session = engine.session
    if stopped:
        state = "stopped"
    elif session.stopped:
        state = "draining"
    elif engine.backoff.active:
        state = "backing-off"
    elif session.in_flight:
        state = "betting"
    else:
        state = "idle"
    reason = session.stop_reason
    return Beat(pid=os.getpid(), time=now, state=state, bets=session.next_seq - 1, in_flight=session.in_flight,
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


async def heartbeat(path: Path, engine: Engine, *, interval: float = DEFAULT_INTERVAL,
                    wall: Callable[[], float] = time.time) -> None:
    """Write a beat every `interval` seconds until cancelled; then a last one that says `stopped`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    progress = _Progress(engine.session.bets, wall())
    try:
        while True:
            now = wall()
            write_beat(path, beat_of(engine, now=now, last_progress=progress.seen(engine.session.bets, now)))
            await anyio.sleep(interval)
    finally:
        now = wall()
        write_beat(path, beat_of(engine, now=now, last_progress=progress.seen(engine.session.bets, now),
                                 stopped=True))


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
