"""The engine's controls for a host (`betbot serve`): pause and resume admission, stop (drain), stop now,
tighten a limit (never loosen one). Each goes through the machine's own inputs; no test waits for real time."""

from __future__ import annotations

import anyio
from anyio import wait_all_tasks_blocked

from betbot.core.models import StopKind
from betbot.core.session import Limits
from betbot.engine.loop import Engine
from tests.engine.test_engine import GUARD, flat, make_engine, stop_kind
from tests.helpers import CheckpointBackend, D, make_game


def gated_engine(*, n: int = 1, limits: Limits | None = None) -> tuple[Engine, anyio.Event, CheckpointBackend]:
    gate = anyio.Event()
    backend = CheckpointBackend(make_game(balance="1000"), gate=gate, max_checkpoints=0)
    engine = make_engine(flat(), backend, n=n, limits=limits or Limits(max_bets=50))
    return engine, gate, backend


async def test_pause_holds_admission_and_resume_releases_it() -> None:
    engine, gate, backend = gated_engine(n=3)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await wait_all_tasks_blocked()
            assert len(backend.calls) == 3  # a full window in flight
            engine.pause()
            assert engine.paused
            gate.set()
            await wait_all_tasks_blocked()
            # The three in flight resolved; nothing new was decided while paused.
            assert engine.session.bets == 3
            assert len(backend.calls) == 3
            assert engine.session.stop_reason is None
            engine.resume()
    assert engine.session.bets == 50
    assert stop_kind(engine) is StopKind.MAX_BETS


async def test_stop_drains_the_bets_in_flight() -> None:
    engine, gate, backend = gated_engine(n=4)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await wait_all_tasks_blocked()
            engine.stop("api")
            engine.stop("api")  # a second stop is still a drain: stop_now is the one that gives up
            gate.set()
    assert engine.session.bets == 4
    assert engine.session.unresolved_seqs == []
    assert stop_kind(engine) is StopKind.SIGNAL
    assert len(backend.calls) == 4


async def test_stop_now_leaves_the_bets_in_flight_unknown() -> None:
    engine, _gate, _backend = gated_engine(n=2)
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await wait_all_tasks_blocked()
            engine.stop_now("api")
    assert engine.session.bets == 0
    assert engine.session.unresolved_seqs == [1, 2]
    reason = engine.session.stop_reason
    assert reason is not None
    assert "stopped at once" in reason.detail


async def test_tighten_takes_a_tighter_limit_and_keeps_a_looser_one_out() -> None:
    engine, gate, _backend = gated_engine(n=1, limits=Limits(max_bets=50, stop_loss=D("5")))
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await wait_all_tasks_blocked()
            notes = engine.tighten(Limits(max_bets=10, stop_loss=D("50")))
            assert engine.session.limits.max_bets == 10
            assert engine.session.limits.stop_loss == D("5")
            assert any("max_bets tightened from 50 to 10" in note for note in notes)
            assert any("would loosen it" in note for note in notes)
            gate.set()
    assert engine.session.submitted == 10


async def test_tightening_to_a_limit_already_reached_stops_the_session() -> None:
    engine, gate, _backend = gated_engine(n=1, limits=Limits(max_bets=50))
    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            await wait_all_tasks_blocked()
            engine.pause()
            gate.set()
            await wait_all_tasks_blocked()
            engine.tighten(Limits(max_bets=1))
    assert stop_kind(engine) is StopKind.MAX_BETS
    assert engine.session.submitted == 1


async def test_controls_after_the_run_do_not_raise() -> None:
    engine, gate, _backend = gated_engine(limits=Limits(max_bets=2))
    gate.set()
    with anyio.fail_after(GUARD):
        await engine.run()
    engine.stop("api")
    engine.stop_now("api")
    engine.resume()
    engine.tighten(Limits(max_bets=1))
    assert engine.session.limits.max_bets == 1
    assert engine.session.bets == 2
