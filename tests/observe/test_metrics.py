"""Prometheus metrics: scraped over HTTP on 127.0.0.1, they count what the session counted; the engine's
state is read at scrape time; bad addresses and busy ports are one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from betbot import lifecycle as runner
from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.config.units import is_loopback, parse_host_port
from betbot.core.models import RefusalKind, Refused, Unknown
from betbot.core.session import Limits
from betbot.engine.hooks import FanOutHooks, combine
from betbot.engine.loop import Engine
from betbot.journal import Journal
from betbot.observe.metrics import Metrics, MetricsError, MetricsServer
from tests.helpers import CURRENCY, D, Flat, dice, make_game, make_session, settled


def scrape(server: MetricsServer) -> dict[str, float]:
    """The samples as {'name{labels}': value}."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def run_and_scrape(engine: Engine, metrics: Metrics) -> dict[str, float]:
    """Run the engine with its metrics served on 127.0.0.1; the samples scraped at its end."""
    metrics.watch(engine)
    server = MetricsServer(metrics, "127.0.0.1", 0)
    try:
        await engine.run()
        return scrape(server)
    finally:
        server.close()


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
    samples = await run_and_scrape(engine, metrics)
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


def test_each_outcome_and_latency_lands_in_its_series() -> None:
    metrics = Metrics()
    bet = dice()
    # Latencies on a bucket's bound count in that bucket (le means <=), past the last one only in +Inf.
    for seq, (outcome, latency) in enumerate([
        (lambda seq: settled(seq, bet, win=True), 0.001),
        (lambda seq: settled(seq, bet, win=False), 0.0011),
        (lambda seq: settled(seq, bet, win=False), 0.05),
        (lambda seq: Refused(seq=seq, bet=bet, kind=RefusalKind.RATE_LIMIT, message="429"), 2.0),
        (lambda seq: Unknown(seq=seq, bet=bet, message="read timeout"), 100.0),
    ], start=1):
        metrics.admitted(seq, bet, 0.0)  # from zero, so the latency is exactly the float given
        metrics.released(outcome(seq), latency)
    metrics.reconciled(5, bet, D("-1"), 200.0)
    metrics.reconciled(6, bet, None, 200.0)

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    for outcome, count in [("win", 1), ("loss", 2), ("refused", 1), ("unknown", 1), ("reconciled_ran", 1),
                           ("reconciled_not_run", 1)]:
        assert sample("betbot_bets_total", outcome=outcome) == count
    buckets = {le: sample("betbot_bet_latency_seconds_bucket", le=le)
               for le in ("0.001", "0.005", "0.05", "2.5", "60.0", "+Inf")}
    assert buckets == {"0.001": 1, "0.005": 2, "0.05": 3, "2.5": 4, "60.0": 4, "+Inf": 5}
    assert sample("betbot_bet_latency_seconds_count") == 5
    assert sample("betbot_bet_latency_seconds_sum") == pytest.approx(0.001 + 0.0011 + 0.05 + 2.0 + 100.0)
    # No engine watched yet: no state gauges rather than made-up zeros.
    assert sample("betbot_bets_in_flight") is None


def test_registries_are_per_run() -> None:
    first, second = Metrics(), Metrics()
    first.admitted(1, dice(), 0.0)
    first.released(settled(1, dice(), win=True), 0.01)
    assert first.registry.get_sample_value("betbot_bets_total", {"outcome": "win"}) == 1
    assert second.registry.get_sample_value("betbot_bets_total", {"outcome": "win"}) == 0


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
                                              ("127.0.0.1:70000", "from 1 to 65535"),
                                              ("[]:9108", "no host inside the brackets"),
                                              ("::1", "in brackets"), ("::1:9108", "in brackets")])
def test_bad_addresses(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_host_port(text)


def test_loopback() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")  # noqa: S104 - the point of the test
    assert not is_loopback("metrics.example")


class _RecordingLog:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, object]]] = []

    def info(self, event: str, **fields: object) -> None:
        self.events.append(("info", event, fields))

    def warning(self, event: str, **fields: object) -> None:
        self.events.append(("warning", event, fields))


class _UnboundServer:
    """Stands in for MetricsServer so a non-loopback address is never actually bound."""

    instances: ClassVar[list[_UnboundServer]] = []

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self.host, self.port, self.closed = host, port, False
        self.instances.append(self)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(("addr", "warned"), [("192.0.2.7:9108", True), ("[2001:db8::7]:9108", True),
                                              ("127.0.0.1:9108", False), ("[::1]:9108", False),
                                              ("localhost:9108", False)])
def test_a_non_loopback_address_is_served_with_a_warning(monkeypatch: pytest.MonkeyPatch, addr: str,
                                                         warned: bool) -> None:
    monkeypatch.setattr(runner, "MetricsServer", _UnboundServer)
    _UnboundServer.instances.clear()
    log = _RecordingLog()
    with runner._serving(addr, log) as metrics:
        assert isinstance(metrics, Metrics)
    (server,) = _UnboundServer.instances
    assert server.closed
    warnings = [event for level, event, _ in log.events if level == "warning"]
    assert warnings == (["metrics.public"] if warned else [])


def test_without_an_address_nothing_is_served() -> None:
    with runner._serving(None, _RecordingLog()) as metrics:
        assert metrics is None


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


def _lines_until(proc: subprocess.Popen[str], event: str) -> list[dict[str, object]]:
    """The JSON log lines on the process's stderr up to and including `event` (blocking reads, no sleeps)."""
    assert proc.stderr is not None
    seen: list[dict[str, object]] = []
    for line in proc.stderr:
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1]["event"] == event:
                return seen
    proc.kill()
    pytest.fail(f"never saw {event}: {seen} {proc.communicate()}")


def test_metrics_are_served_during_the_linger_after_the_run() -> None:
    """The final state stays scrapeable for --metrics-linger; a signal ends the wait (exit 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    proc = subprocess.Popen([sys.executable, "-m", "betbot", "run", "--max-bets", "25", "--no-journal",
                             "--strategy", "flat", "--metrics-addr", f"127.0.0.1:{port}", "--metrics-linger", "10m",
                             "--log-format", "json", "--dashboard", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        events = _lines_until(proc, "metrics.lingering")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "betbot session summary" in out  # printed before the linger
    names = [event["event"] for event in events]
    assert names.index("session.end") < names.index("metrics.lingering")
    assert "session.unbounded" not in names  # --max-bets bounds it
    samples = {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
               for line in text.splitlines() if line and not line.startswith("#")}
    assert samples['betbot_bets_total{outcome="win"}'] + samples['betbot_bets_total{outcome="loss"}'] == 25
    assert samples["betbot_stopped"] == 1
    assert samples['betbot_wagered_total{currency="DOGE"}'] == 0.25  # 25 flat bets of 0.01
    assert samples["betbot_backoff_trips_total"] == 0
    version = next(name for name in samples if name.startswith("betbot_build_info{"))
    assert 'strategy="flat"' in version
    assert 'backend="simulator"' in version
    assert "process_cpu_seconds_total" in samples  # the process collector
    assert any(name.startswith("python_info{") for name in samples)  # the platform collector
    assert "python_gc_objects_collected_total{generation=\"0\"}" in samples  # the GC collector


def test_an_unbounded_simulated_run_is_warned_about() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    proc = subprocess.Popen([sys.executable, "-m", "betbot", "run", "--no-journal", "--log-format", "json",
                             "--dashboard", "off", "--sim-latency", "1ms"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        events = _lines_until(proc, "session.running")
        names = [event["event"] for event in events]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    (warning,) = [event for event in events if event["event"] == "session.unbounded"]
    assert warning["level"] == "warning"
    assert "no --max-bets or --max-duration" in str(warning["hint"])
    assert names.index("session.unbounded") < names.index("session.running")


async def test_the_grafana_dashboard_uses_only_metrics_betbot_exposes() -> None:
    dashboard = json.loads((Path(__file__).parents[2] / "config" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    used = {name for expr in exprs for name in re.findall(r"\b((?:betbot|process)_[a-z_]+)\b", expr)}
    metrics = Metrics()
    session = make_session(limits=Limits(max_bets=20))
    engine = Engine(session=session, strategy=Flat(), backend=SimulatorBackend(make_game(), LatencyModel()),
                    hooks=metrics)
    metrics.watch(engine)
    await engine.run()
    exposed = {sample.name for family in metrics.registry.collect() for sample in family.samples}
    assert used <= exposed, used - exposed
    assert {"betbot_build_info", "betbot_wagered_total", "betbot_backoff_trips_total",
            "process_cpu_seconds_total"} <= used
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
