"""Prometheus metrics: scraped over HTTP on 127.0.0.1, they count what the session counted; the engine's
state is read at scrape time; bad addresses and busy ports are one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.engine import Engine
from betbot.hooks import FanOutHooks, combine
from betbot.journal import Journal
from betbot.metrics import Metrics, MetricsError, MetricsServer
from betbot.session import Limits
from betbot.units import is_loopback, parse_host_port
from tests.helpers import CURRENCY, Flat, make_game, make_session


def scrape(server: MetricsServer) -> dict[str, float]:
    """The samples as {'name{labels}': value}."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_scraped_counts_match_the_session(tmp_path: Path) -> None:
    metrics = Metrics()
    journal = Journal.open(tmp_path / "j.sqlite3", durable=False)
    journal.start_session(strategy="flat", params={}, limits=Limits(max_bets=300), backend="simulator",
                          currency=CURRENCY, starting_balance=make_session().starting_balance)
    session = make_session(limits=Limits(max_bets=300))
    hooks = combine(journal, metrics)
    assert isinstance(hooks, FanOutHooks)
    engine = Engine(session=session, strategy=Flat(), backend=SimulatorBackend(make_game(), LatencyModel(0.001)),
                    max_concurrent=5, hooks=hooks)
    metrics.watch(engine)
    server = MetricsServer(metrics, "127.0.0.1", 0)
    try:
        await engine.run()
        samples = scrape(server)
    finally:
        server.close()
    assert samples['betbot_bets_total{outcome="win"}'] == session.wins
    assert samples['betbot_bets_total{outcome="loss"}'] == session.losses
    assert samples['betbot_bets_total{outcome="refused"}'] == 0
    assert samples["betbot_bet_latency_seconds_count"] == 300
    assert samples["betbot_bet_latency_seconds_sum"] >= 300 * 0.001  # each waited its 1 ms
    assert samples["betbot_bets_in_flight"] == 0
    assert samples["betbot_reorder_buffer_depth"] == 0
    assert samples["betbot_backoff_active"] == 0
    assert samples["betbot_stopped"] == 1
    assert samples[f'betbot_balance{{currency="{CURRENCY}"}}'] == float(session.balance)
    assert samples[f'betbot_profit{{currency="{CURRENCY}"}}'] == float(session.profit)
    # The journal, first behind the fan-out, saw every bet too.
    with journal:
        assert sum(1 for _ in journal.bets(1)) == 300


def test_combine_keeps_a_single_observer_as_it_is() -> None:
    metrics = Metrics()
    assert combine(None, metrics, None) is metrics
    assert combine(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9108", ("127.0.0.1", 9108)), ("[::1]:9108", ("::1", 9108)), ("0.0.0.0:80", ("0.0.0.0", 80)),  # noqa: S104
     ("localhost:9108", ("localhost", 9108))],
)
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize(("text", "needle"), [("9108", "is not HOST:PORT"), (":9108", "is not HOST:PORT"),
                                              ("127.0.0.1:http", "must be a number"),
                                              ("127.0.0.1:70000", "from 1 to 65535")])
def test_bad_addresses(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_host_port(text)


def test_loopback() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")  # noqa: S104 - the point of the test
    assert not is_loopback("metrics.example")


def test_a_busy_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError, match=rf"cannot serve metrics on 127.0.0.1:{port}: "):
            MetricsServer(Metrics(), "127.0.0.1", port)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "betbot", "run", "--max-bets", "5", "--no-journal", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_cli_metrics_addr() -> None:
    bad = _run("--metrics-addr", "nowhere")
    assert bad.returncode == 2
    assert bad.stderr.startswith("betbot: error: invalid metrics_addr (flag --metrics-addr): ")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = _run("--metrics-addr", f"127.0.0.1:{taken.getsockname()[1]}")
    assert busy.returncode == 1
    assert len(busy.stderr.strip().splitlines()) == 1
    assert "cannot serve metrics on 127.0.0.1:" in busy.stderr
    with socket.socket() as probe:  # a free port for the run (closed again before it binds)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ok = _run("--metrics-addr", f"127.0.0.1:{port}", "--log-format", "json")
    assert ok.returncode == 0, ok.stderr
    assert f'"url": "http://127.0.0.1:{port}/metrics"' in ok.stderr
