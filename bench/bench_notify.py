"""Bets/s with and without a notification target that never answers, printed (not asserted).

Run `python bench/bench_notify.py`. The same simulated session (flat, N = 5, 1 ms latency, and again at zero
latency) is played three ways: without notifications; with a notifier sending through Apprise to a local
`json://` target that answers at once; and to a local port that accepts connections and never answers. With
a notifier the session's watcher looks at the run every 10 ms and queues a digest every 50 ms (far more often
than anyone would set it), so the second column is the watcher's own cost and the third adds the hung
target's. Runs alternate (A, B, C, A, B, C ...) so the machine's load falls on all alike; the medians and the
ranges are printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.config.units import AmountOrPercent
from betbot.core.fairness import SeedPair
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.loop import Engine
from betbot.notify import Notifier, SessionNotices
from betbot.strategies.registry import load_strategy

BALANCE = Decimal(1_000_000)


async def session_rate(bets: int, latency: float, notifier: Notifier | None) -> float:
    ctx = StrategyContext(currency="DOGE", starting_balance=BALANCE)
    strategy = load_strategy("flat").from_options({}, ctx)
    session = Session(currency="DOGE", starting_balance=BALANCE, limits=Limits(max_bets=bets),
                      started_at=time.monotonic())
    game = SimulatedGame(seeds=SeedPair.derive("bench"), balances={"DOGE": BALANCE})
    engine = Engine(session=session, strategy=strategy, backend=SimulatorBackend(game, LatencyModel(fixed=latency)),
                    max_concurrent=5)
    notices = SessionNotices(notifier, every=0.05, tick=0.01, drawdown=AmountOrPercent(Decimal("0.00000001")))
    async with notices.watching(engine, session.limits, session_id=1):
        await engine.run()
    assert session.bets == bets
    return bets / engine.elapsed


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def main(bets: int, rounds: int) -> None:
    answering = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=answering.serve_forever, daemon=True).start()
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1024)
    ok = Notifier([f"json://127.0.0.1:{answering.server_address[1]}/hook"], timeout=2.0, flush_timeout=0.0)
    stuck = Notifier([f"json://127.0.0.1:{hung.getsockname()[1]}/hook"], timeout=2.0, flush_timeout=0.0)
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared)")
    async with ok.running(), stuck.running():
        for latency in (0.001, 0.0):
            rates: dict[str, list[float]] = {"none": [], "answering": [], "hung": []}
            for _ in range(rounds):
                rates["none"].append(await session_rate(bets, latency, None))
                rates["answering"].append(await session_rate(bets, latency, ok))
                rates["hung"].append(await session_rate(bets, latency, stuck))
            base = statistics.median(rates["none"])
            cells = [f"{name} {statistics.median(r):,.0f} ({min(r):,.0f}-{max(r):,.0f}, "
                     f"{statistics.median(r) / base:.2f}x)" for name, r in rates.items()]
            print(f"latency {latency * 1000:g} ms, N = 5, {bets:,} bets, bets/s median (range) of {rounds}: "
                  + "; ".join(cells))
        for name, notifier in (("answering", ok), ("hung", stuck)):
            print(f"{name} target: {notifier.sent} sent, {notifier.failed} failed, {notifier.dropped} dropped")
    hung.close()
    answering.shutdown()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    anyio.run(main, args.bets, args.rounds)
