"""The heartbeat and `betbot health`: stale beats, stuck bets and unreadable files are unhealthy; backing
off and draining are idle by choice; the first beat is there at start; a finished run leaves a `stopped` beat."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from functools import partial
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import checkpoint
from rich.console import Console

from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.core.session import Limits, Session
from betbot.engine.loop import Engine
from betbot.observe.heartbeat import Beat, Heartbeat, beat_of, check, read_beat, write_beat
from betbot.observe.view import RunView, view_of
from betbot.observe.watch import Watchers
from tests.helpers import FakeClock, Flat, make_game, make_session

NOW = 1_800_000_000.0


def idle_view(session: Session) -> RunView:
    return RunView(snapshot=session.snapshot(), elapsed=0.0, concurrency=1, buffered=0, backing_off=False,
                   backoff_remaining=0.0, backoff_reason="", backoff_trips=0, retries=0)


def beat(**changes: object) -> Beat:
    fields: dict[str, object] = {"pid": 1, "time": NOW - 1, "state": "betting", "bets": 10, "in_flight": 5,
                                 "last_progress": NOW - 2}
    fields.update(changes)
    return Beat(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "healthy", "needle"),
    [
        (beat(), True, "betting: 10 bets, 5 in flight"),
        (beat(time=NOW - 90), False, "the last heartbeat is 90s old (limit 60s): betbot is stuck or gone"),
        (beat(last_progress=NOW - 120), False, "5 bet(s) in flight and none resolved for 120s"),
        # Idle by choice: a back-off, a drain, or nothing in flight, however long since the last result.
        (beat(state="backing-off", last_progress=NOW - 600), True, "backing-off"),
        (beat(state="draining", last_progress=NOW - 600, stop_reason="signal: SIGTERM"), True,
         "draining: 10 bets, 5 in flight (signal: SIGTERM)"),
        (beat(state="idle", in_flight=0, last_progress=NOW - 600), True, "idle"),
    ],
)
def test_check(tmp_path: Path, written: Beat, healthy: bool, needle: str) -> None:
    path = tmp_path / "beat.json"
    write_beat(path, written)
    assert read_beat(path) == written
    ok, why = check(path, max_age=60, now=NOW)
    assert ok is healthy
    assert needle in why


def test_a_missing_or_broken_file_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "beat.json"
    ok, why = check(path, max_age=60, now=NOW)
    assert not ok
    assert "no heartbeat at" in why
    path.write_text("{not json")
    ok, why = check(path, max_age=60, now=NOW)
    assert not ok
    assert "cannot be read" in why
    path.write_text(json.dumps({"pid": 1}))
    assert check(path, max_age=60, now=NOW)[0] is False


async def test_the_beat_follows_the_engine_and_ends_stopped(tmp_path: Path) -> None:
    path = tmp_path / "run" / "beat.json"
    session = make_session(limits=Limits(max_bets=50))
    # Replies 1 ms late (this fake's latency): bets are in flight while the heartbeat watches.
    backend = SimulatorBackend(make_game(), LatencyModel(fixed=0.001))
    engine = Engine(session=session, strategy=Flat(), backend=backend, max_concurrent=5)
    assert beat_of(view_of(engine), now=NOW, last_progress=NOW).state == "idle"
    ticks = iter(range(1_000_000))
    watchers = Watchers(engine, console=Console(file=io.StringIO()), log=None, limits=session.limits,
                        show_dashboard=False, heartbeat_file=path)
    assert watchers.heartbeat is not None
    watchers.heartbeat = Heartbeat(path, watchers.look, wall=lambda: NOW + next(ticks))
    async with watchers.running():
        first = read_beat(path)  # on disk before the first bet
        assert (first.state, first.bets, first.in_flight, first.time) == ("starting", 0, 0, NOW)
        await engine.run()
        assert beat_of(view_of(engine), now=NOW, last_progress=NOW).state == "draining"  # stopped by max_bets
    final = read_beat(path)
    assert final.state == "stopped"
    assert final.bets == 50
    assert final.in_flight == 0
    assert final.stop_reason == "max_bets: placed 50 of 50 bets"
    assert final.last_progress > NOW  # bets resolved after the first beat
    assert session.balance != Decimal(100)  # it really played
    assert sorted(p.name for p in path.parent.iterdir()) == ["beat.json"]  # no temporary file left


async def test_beats_at_start_within_a_second_then_every_five_seconds(tmp_path: Path) -> None:
    """On a fake clock: the first beat is on disk when `start` returns, the next comes 1 s later (so a check
    seconds into a run sees it betting), then one every 5 s."""
    path = tmp_path / "beat.json"
    wall = FakeClock(NOW)
    session = make_session()
    heartbeat = Heartbeat(path, lambda: idle_view(session), wall=wall)
    pauses: list[float] = []
    times: list[float] = []
    go, parked = anyio.Event(), anyio.Event()

    async def sleep(seconds: float) -> None:
        times.append(read_beat(path).time)
        pauses.append(seconds)
        if len(pauses) == 1:
            await go.wait()
        elif len(pauses) == 4:
            await parked.wait()  # never set: it waits here until cancelled
        else:
            await checkpoint()
        wall.advance(seconds)

    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(heartbeat.run, sleep=sleep))
        await anyio.wait_all_tasks_blocked()  # in its first pause
        assert read_beat(path).time == NOW  # present at once: no time has passed
        assert read_beat(path).state == "starting"
        go.set()
        await anyio.wait_all_tasks_blocked()  # in its fourth pause (parked is never set)
        tg.cancel_scope.cancel()
    assert pauses == [1.0, 5.0, 5.0, 5.0]
    assert times == [NOW, NOW + 1, NOW + 6, NOW + 11]
    assert heartbeat.written == 4


async def test_the_last_beat_is_written_however_the_run_ends(tmp_path: Path) -> None:
    """The final beat is written by the watchers on the way out (here: an error), after the tasks ended."""
    path = tmp_path / "beat.json"
    session = make_session(limits=Limits(max_bets=3))
    engine = Engine(session=session, strategy=Flat(), backend=SimulatorBackend(make_game(), LatencyModel()))
    watchers = Watchers(engine, console=Console(file=io.StringIO()), log=None, limits=session.limits,
                        show_dashboard=False, heartbeat_file=path)

    async def run_then_fail() -> None:
        async with watchers.running():
            await engine.run()
            raise RuntimeError("boom")

    with pytest.raises(ExceptionGroup) as caught:
        await run_then_fail()
    assert caught.group_contains(RuntimeError, match="boom")
    assert read_beat(path).state == "stopped"
    assert read_beat(path).bets == 3


def _health(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "betbot", "health", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_health_command(tmp_path: Path) -> None:
    path = tmp_path / "beat.json"
    missing = _health("--heartbeat-file", str(path))
    assert missing.returncode == 1
    assert missing.stdout.startswith("betbot: UNHEALTHY: no heartbeat at")
    run = subprocess.run([sys.executable, "-m", "betbot", "run", "--max-bets", "20", "--no-journal",
                          "--heartbeat-file", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    healthy = _health("--heartbeat-file", str(path))
    assert healthy.returncode == 0
    assert healthy.stdout.strip() == "betbot: healthy: stopped: 20 bets, 0 in flight (max_bets: placed 20 of 20 bets)"
    bad = _health("--heartbeat-file", str(path), "--max-age", "1s")
    assert bad.returncode == 2
    assert "--max-age must be at least" in bad.stderr
    assert _health().returncode == 2
