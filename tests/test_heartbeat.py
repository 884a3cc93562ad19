"""The heartbeat and `betbot health`: stale beats, stuck bets and unreadable files are unhealthy; backing
off and draining are idle by choice; a finished run leaves a `stopped` beat."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from functools import partial
from pathlib import Path

import anyio
import pytest

from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.core.session import Limits
from betbot.engine.loop import Engine
from betbot.observe.heartbeat import Beat, beat_of, check, heartbeat, read_beat, write_beat
from tests.helpers import Flat, make_game, make_session

NOW = 1_800_000_000.0


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
    assert beat_of(engine, now=NOW, last_progress=NOW).state == "idle"
    ticks = iter(range(1_000_000))
    async with anyio.create_task_group() as tg:
        tg.start_soon(partial(heartbeat, path, engine, interval=0.0, wall=lambda: NOW + next(ticks)))
        await engine.run()
        assert beat_of(engine, now=NOW, last_progress=NOW).state == "draining"  # stopped by max_bets
        tg.cancel_scope.cancel()
    final = read_beat(path)
    assert final.state == "stopped"
    assert final.bets == 50
    assert final.in_flight == 0
    assert final.stop_reason == "max_bets: placed 50 of 50 bets"
    assert final.last_progress > NOW  # bets resolved after the first beat
    assert session.balance != Decimal(100)  # it really played
    assert sorted(p.name for p in path.parent.iterdir()) == ["beat.json"]  # no temporary file left


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
