"""Bets/s with and without a notification target that never answers, printed (not asserted).

Run `python bench/bench_notify.py`. The same simulated session (flat, N = 5, 1 ms latency, and again at zero
latency) is played without notifications, and with a notifier sending through Apprise to a local `json://`
port that accepts connections and never answers, while the session's watcher looks at the run every 10 ms
and queues a digest every 50 ms (far more often than anyone would set it). Runs alternate (A, B, A, B ...) so
the machine's load falls on both alike; the medians are printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time
from decimal import Decimal

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


async def main(bets: int, rounds: int) -> None:
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1024)
    url = f"json://127.0.0.1:{hung.getsockname()[1]}/hook"
    notifier = Notifier([url], timeout=2.0, flush_timeout=0.0)
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared)")
    async with notifier.running():
        for latency in (0.001, 0.0):
            plain: list[float] = []
            hanging: list[float] = []
            for _ in range(rounds):
                plain.append(await session_rate(bets, latency, None))
                hanging.append(await session_rate(bets, latency, notifier))
            a, b = statistics.median(plain), statistics.median(hanging)
            print(f"latency {latency * 1000:g} ms, N = 5, {bets:,} bets, median of {rounds}: "
                  f"{a:,.0f} bets/s without notifications, {b:,.0f} bets/s with a hung target ({b / a:.2f}x)")
        print(f"notices: {notifier.sent} sent, {notifier.failed} failed, {notifier.dropped} dropped "
              f"(the hung target answered none)")
    hung.close()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    anyio.run(main, args.bets, args.rounds)
