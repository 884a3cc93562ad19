"""Prometheus metrics of a run (`--metrics-addr HOST:PORT`), with prometheus-client.

Counts and latencies come from the engine's hooks, in seq order, on the strategy task, into plain ints
and floats; the state (bets in flight, reorder-buffer depth, back-off, balance, profit) is read from the
engine (through `view_of`, the one place the watchers read it). Both become samples only when Prometheus
scrapes, on the HTTP server's thread: single reads of ints, floats and Decimals, so nothing on the hot path
serves the scraper. Each run has its own registry (never the process-global one), with the process, platform
and garbage-collector collectors in it, and `betbot_build_info` naming the version, strategy and backend.

After the run the server keeps serving the final state for `--metrics-linger` (the lifecycle's part): a
scrape every 15 s would otherwise catch the end of a short run only by luck.
"""

from __future__ import annotations

import signal
from bisect import bisect_left
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from wsgiref.simple_server import WSGIServer

import anyio
from prometheus_client import GC_COLLECTOR, CollectorRegistry, PlatformCollector, ProcessCollector, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from betbot.core.models import BetRequest, Outcome, Refused, Settled
from betbot.observe.view import RunView, view_of

if TYPE_CHECKING:
    from betbot.engine.loop import Engine

__all__ = ["LATENCY_BUCKETS", "Metrics", "MetricsError", "MetricsServer", "linger"]

# Seconds from a bet's admission to its outcome's release: 1 ms (the simulator) to a minute (timeouts).
LATENCY_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LE: Final = (*(repr(bound) for bound in LATENCY_BUCKETS), "+Inf")


class MetricsError(Exception):
    """The metrics cannot be served (a bad address, a port in use): one line."""


class _Samples(Collector):
    """The counts, the latency histogram and the engine's state, turned into samples at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        bets = CounterMetricFamily("betbot_bets", "Bets by outcome.", labels=["outcome"])
        for outcome, count in (("win", metrics.wins), ("loss", metrics.losses), ("refused", metrics.refused),
                               ("unknown", metrics.unknown), ("reconciled_ran", metrics.reconciled_ran),
                               ("reconciled_not_run", metrics.reconciled_not_run)):
            bets.add_metric([outcome], count)
        yield bets
        if metrics.concurrency_changes:
            changes = CounterMetricFamily("betbot_concurrency_changes", "-n auto: changes of the bets in flight "
                                          "allowed, by reason.", labels=["reason"])
            for reason, count in sorted(metrics.concurrency_changes.items()):
                changes.add_metric([reason], count)
            yield changes
        # The sum is read before the buckets: a bet released in between shows in the count one scrape before
        # its latency shows in the sum, never the other way round; the buckets are copied in one step, so the
        # count (the +Inf bucket) always agrees with them.
        latency_sum = metrics._latency_sum
        cumulative, buckets = 0, []
        for le, count in zip(_LE, list(metrics._buckets), strict=True):
            cumulative += count
            buckets.append((le, float(cumulative)))
        yield HistogramMetricFamily("betbot_bet_latency_seconds", "From a bet's admission to its outcome.",
                                    buckets=buckets, sum_value=latency_sum)
        if metrics.build is not None:
            yield InfoMetricFamily("betbot_build", "The betbot version, strategy and backend of this run.",
                                   value=metrics.build)
        look = metrics.look
        if look is None:
            return
        view = look()
        snap = view.snapshot
        yield _gauge("betbot_bets_in_flight", "Bets sent and not yet resolved.", snap.in_flight)
        yield _gauge("betbot_reorder_buffer_depth", "Outcomes waiting for an earlier seq.", view.buffered)
        yield _gauge("betbot_backoff_active", "1 while every bet waits after a rate limit or challenge.",
                     1 if view.backing_off else 0)
        yield _gauge("betbot_backoff_remaining_seconds", "Seconds left of the current back-off.",
                     view.backoff_remaining)
        yield CounterMetricFamily("betbot_backoff_trips", "Back-offs begun (each pause once, however many bets "
                                  "hit it).", value=view.backoff_trips)
        yield CounterMetricFamily("betbot_retries", "Bets sent again after a rate limit or a challenge.",
                                  value=view.retries)
        if view.in_flight_limit is not None:
            yield _gauge("betbot_concurrency_limit", "-n auto: the bets in flight allowed now.", view.in_flight_limit)
        if view.learned_rate is not None:
            yield _gauge("betbot_learned_rate", "-n auto: the site's rate learned from its 429s, bets/s (held by a "
                         "token bucket).", view.learned_rate)
        yield _gauge("betbot_concurrency_cap", "The most bets in flight (-n, or -n auto's cap).", view.concurrency)
        yield _gauge("betbot_stopped", "1 once the session stopped admitting bets.", 1 if view.stopped else 0)
        currency = [snap.currency]
        balance = GaugeMetricFamily("betbot_balance", "The session's balance.", labels=["currency"])
        balance.add_metric(currency, float(snap.balance))
        yield balance
        profit = GaugeMetricFamily("betbot_profit", "The session's profit.", labels=["currency"])
        profit.add_metric(currency, float(snap.profit))
        yield profit
        wagered = CounterMetricFamily("betbot_wagered", "The sum of the stakes of the session's settled bets.",
                                      labels=["currency"])
        wagered.add_metric(currency, float(snap.wagered))
        yield wagered


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """The metrics of one run: an `EngineHooks` observer, plus the engine's state once `watch()`ed.

    The hooks write plain ints and floats rather than prometheus-client's Counter and Histogram: those take
    a lock per increment (four per bet), which cost 1.7 us a bet against 0.5 us for this, in a dry-run
    pipeline that spends about 14 us on a whole bet. One task writes, the scrape thread only reads, so the
    GIL is all the safety the reads need.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.look: Callable[[], RunView] | None = None
        self.build: dict[str, str] | None = None
        self.wins = 0
        self.losses = 0
        self.refused = 0
        self.unknown = 0
        self.reconciled_ran = 0
        self.reconciled_not_run = 0
        self._buckets = [0] * len(_LE)  # per bucket, not cumulative: one increment per bet
        self._latency_sum = 0.0
        self._admitted_at: dict[int, float] = {}
        self.concurrency_changes: dict[str, int] = {}  # -n auto: changes by reason
        self.registry.register(_Samples(self))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.registry.register(GC_COLLECTOR)

    def watch(self, engine: Engine, look: Callable[[], RunView] | None = None) -> None:
        """Read the engine's state at scrape time (through `look`, by default `view_of(engine)`)."""
        import betbot  # noqa: PLC0415 - the version is read once, here, not at import

        self.look = look or (lambda: view_of(engine))
        self.build = {"version": betbot.__version__, "strategy": engine.strategy.name, "backend": engine.backend.name}

    # -- EngineHooks -------------------------------------------------------------------------------------
    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        self._admitted_at[seq] = now

    def released(self, outcome: Outcome, now: float) -> None:
        admitted_at = self._admitted_at.pop(outcome.seq, None)
        if admitted_at is not None:
            latency = now - admitted_at
            self._latency_sum += latency
            # bisect_left: a latency equal to a bound belongs to that bound's bucket (le is "<=").
            self._buckets[bisect_left(LATENCY_BUCKETS, latency)] += 1
        if isinstance(outcome, Settled):
            if outcome.win:
                self.wins += 1
            else:
                self.losses += 1
        elif isinstance(outcome, Refused):
            self.refused += 1
        else:
            self.unknown += 1

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None = None) -> None:
        if profit is None:
            self.reconciled_not_run += 1
        else:
            self.reconciled_ran += 1

    def sync(self) -> None:
        pass  # nothing to make durable

    def concurrency_changed(self, reason: str) -> None:
        """`-n auto` moved the limit on bets in flight (the pacer's listener)."""
        self.concurrency_changes[reason] = self.concurrency_changes.get(reason, 0) + 1


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


async def linger(seconds: float, log: Any) -> None:
    """Keep the process (and so the metrics server) up `seconds` after the run, or until a signal."""
    if seconds <= 0:
        return
    log.info("metrics.lingering", seconds=seconds, hint="serving the final state; SIGINT/SIGTERM ends it")
    with anyio.move_on_after(seconds), anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            break
