"""Monte Carlo on Dask: a LocalCluster on 127.0.0.1, and a `dask scheduler` + `dask worker` as processes.

Results must equal the local executor's for the same seed, session by session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from betbot.core.rolls import session_key
from betbot.montecarlo.driver import simulate
from betbot.montecarlo.executors import DaskExecutor, InProcessExecutor
from betbot.montecarlo.generic import SessionFailure
from tests.montecarlo.test_montecarlo import FIBONACCI, explode_plugin, records, spec_for  # noqa: F401 - a fixture

pytest.importorskip("distributed")



def test_a_local_dask_cluster_gives_the_local_results_session_by_session() -> None:
    spec = spec_for(FIBONACCI, sessions=120)
    local = records(spec, InProcessExecutor())
    executor = DaskExecutor(scheduler=None, workers=2)
    assert executor.address.startswith("tcp://127.0.0.1:")
    assert records(spec, executor) == local


def test_a_failure_on_dask_names_the_session(explode_plugin: Path) -> None:  # noqa: F811 - the fixture
    flags = {"strategy": "explode", "max_bets": "20", "params": {"explode_at": session_key("mc-test", 37)}}
    executor = DaskExecutor(scheduler=None, workers=1)
    with pytest.raises(SessionFailure, match="session 37 failed: ValueError: boom"):
        simulate(spec_for(flags, sessions=60), executor)


@pytest.fixture
def dask_processes(tmp_path: Path) -> Iterator[str]:
    """A scheduler and one worker started as separate processes on 127.0.0.1 (each in its own group)."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    started = [
        subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                          "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True),
    ]
    try:
        from distributed import Client  # noqa: PLC0415

        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
             "--nthreads", "1", "--nworkers", "2", "--host", "127.0.0.1", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        with Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait(timeout=30)


def test_a_dask_scheduler_and_workers_as_processes_give_the_local_results(dask_processes: str) -> None:
    assert dask_processes.startswith("tcp://127.0.0.1:")
    spec = spec_for(FIBONACCI, sessions=120)
    executor = DaskExecutor(scheduler=dask_processes, workers=1)
    assert executor.workers == 2
    assert records(spec, executor) == records(spec, InProcessExecutor())
