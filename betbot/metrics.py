"""Prometheus metrics of a run (`--metrics-addr HOST:PORT`), with prometheus-client.

Counts and latencies come from the engine's hooks, in seq order, on the strategy task; the state (bets in
flight, reorder-buffer depth, back-off, balance, profit) is read from the engine when Prometheus scrapes,
on the HTTP server's thread: single attribute reads of ints and Decimals, so nothing on the hot path
serves the scraper. Each run has its own registry (never the process-global one).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Final
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from betbot.engine import Engine
from betbot.models import BetRequest, Outcome, Refused, Settled

__all__ = ["Metrics", "MetricsError", "MetricsServer"]

# Seconds from a bet's admission to its outcome's release: 1 ms (the simulator) to a minute (timeouts).
LATENCY_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class MetricsError(Exception):
    """The metrics cannot be served (a bad address, a port in use): one line."""


class _EngineState(Collector):
    """The engine's state as gauges, read at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        engine = self._metrics.engine
        if engine is None:
            return
        session = engine.session
        yield _gauge("betbot_bets_in_flight", "Bets sent and not yet resolved.", session.in_flight)
        yield _gauge("betbot_reorder_buffer_depth", "Outcomes waiting for an earlier seq.", engine.buffer.depth)
        yield _gauge("betbot_backoff_active", "1 while every bet waits after a rate limit or challenge.",
                     1 if engine.backoff.active else 0)
        yield _gauge("betbot_backoff_remaining_seconds", "Seconds left of the current back-off.",
                     engine.backoff.remaining if engine.backoff.active else 0.0)
        yield _gauge("betbot_stopped", "1 once the session stopped admitting bets.", 1 if session.stopped else 0)
        currency = [session.currency]
        balance = GaugeMetricFamily("betbot_balance", "The session's balance.", labels=["currency"])
        balance.add_metric(currency, float(session.balance))
        yield balance
        profit = GaugeMetricFamily("betbot_profit", "The session's profit.", labels=["currency"])
        profit.add_metric(currency, float(session.profit))
        yield profit


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """The metrics of one run: an `EngineHooks` observer, plus the engine's state once `watch()`ed."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.engine: Engine | None = None
        bets = Counter("betbot_bets", "Bets by outcome.", ["outcome"], registry=self.registry)
        # Bound once: a labels() lookup per bet would cost more than the increment itself.
        self._win = bets.labels("win")
        self._loss = bets.labels("loss")
        self._refused = bets.labels("refused")
        self._unknown = bets.labels("unknown")
        self._reconciled_ran = bets.labels("reconciled_ran")
        self._reconciled_not_run = bets.labels("reconciled_not_run")
        self._latency = Histogram("betbot_bet_latency_seconds", "From a bet's admission to its outcome.",
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self._admitted_at: dict[int, float] = {}
        self.registry.register(_EngineState(self))

    def watch(self, engine: Engine) -> None:
        self.engine = engine

    # -- EngineHooks -------------------------------------------------------------------------------------
    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        self._admitted_at[seq] = now

    def released(self, outcome: Outcome, now: float) -> None:
        admitted_at = self._admitted_at.pop(outcome.seq, None)
        if admitted_at is not None:
            self._latency.observe(now - admitted_at)
        if isinstance(outcome, Settled):
            (self._win if outcome.win else self._loss).inc()
        elif isinstance(outcome, Refused):
            self._refused.inc()
        else:
            self._unknown.inc()

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float) -> None:
        (self._reconciled_not_run if profit is None else self._reconciled_ran).inc()

    def sync(self) -> None:
        pass  # nothing to make durable


class MetricsServer:
    """`GET /metrics` on HOST:PORT, on a thread of its own, until `close()`."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        try:
            server, self._thread = start_http_server(port, addr=host, registry=metrics.registry)
        except OSError as exc:
            raise MetricsError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
        self._server: WSGIServer = server
        self.host = host
        self.port = int(server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
