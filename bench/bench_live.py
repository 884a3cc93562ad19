"""Throughput of the live backend, printed (not asserted): run `python bench/bench_live.py`.

The engine with DuckDiceBackend and the flat strategy (0.01 stakes) plays against the fake DuckDice
server under uvicorn on 127.0.0.1, at 50 ms reply latency, for N = 1, 5, 20, 50 bets in flight. For
each N it prints bets/s, the ratio to the latency bound N / 0.05 s, and the client's CPU time per bet.

The fake server runs in a child process (forked, serving a socket bound here), so `time.process_time()`
of this process is the client's CPU alone: engine, session, strategy, httpx, JSON and pydantic.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import time
from decimal import Decimal
from typing import Any

import anyio
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend, Timeouts
from betbot.core.session import Limits, Session
from betbot.core.strategy import SessionView, Strategy, StrategyContext, StrategyParams
from betbot.engine.loop import Engine
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig

KEY = "bench-key"
BALANCE = Decimal(1_000_000)
LATENCY = 0.05


class _FlatParams(StrategyParams):
    base_bet: Decimal = Decimal("0.01")


class _Flat(Strategy):
    """A stand-in when the built-in flat strategy is not available."""

    name = "bench-flat"
    summary = "0.01 every bet"
    Params = _FlatParams
    max_in_flight = None

    def next_bet(self, view: SessionView) -> Any:
        return self.dice_bet(self.params.base_bet)  # type: ignore[attr-defined]


def flat_strategy(context: StrategyContext) -> Strategy:
    try:
        from betbot.strategies.registry import load_strategy  # noqa: PLC0415

        return load_strategy("flat").from_options({"base_bet": "0.01"}, context)
    except Exception:  # noqa: BLE001 - the benchmark must run on a tree without the built-ins too
        return _Flat(_FlatParams(), context)


def _serve(sock: socket.socket, latency: float) -> None:
    """The child: the fake server on the inherited socket until terminated."""
    from betbot.testing.fakeserver import _uvicorn_server  # noqa: PLC0415

    app = FakeDuckDice(FakeServerConfig(api_key=KEY, balances={"DOGE": BALANCE}, latency=latency, seed="bench"))
    server = _uvicorn_server(app, "127.0.0.1", sock.getsockname()[1], handle_signals=True)
    server.run(sockets=[sock])


def start_server(latency: float) -> tuple[multiprocessing.Process, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(sock, latency), daemon=True)
    process.start()
    sock.close()  # the child holds it now
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(base_url: str) -> None:
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, trust_env=False, retries=50,
                              retry_pause=0.05)
    async with backend:
        await backend.stats("DOGE")


async def one_run(base_url: str, n: int, seconds: float) -> tuple[int, float, float]:
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, max_connections=n, trust_env=False,
                              timeouts=Timeouts(read=10))
    async with backend:
        balance = await backend.balance("DOGE")
        context = StrategyContext(currency="DOGE", starting_balance=balance)
        session = Session(currency="DOGE", starting_balance=balance, limits=Limits(max_duration=seconds),
                          started_at=time.monotonic())
        engine = Engine(session=session, strategy=flat_strategy(context), backend=backend, max_concurrent=n)
        cpu = time.process_time()
        await engine.run()
        cpu = time.process_time() - cpu
        reason = session.stop_reason
        if reason is None or reason.kind.value != "max_duration":
            raise SystemExit(f"N={n}: the session stopped early: {reason}")
    return session.bets, engine.elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (default 10)")
    parser.add_argument("--latency", type=float, default=LATENCY, help="server reply latency in seconds")
    parser.add_argument("-n", type=int, nargs="*", default=[1, 5, 20, 50], help="concurrencies to run")
    args = parser.parse_args()

    process, base_url = start_server(args.latency)
    try:
        anyio.run(wait_ready, base_url)
        print(f"== fake server (pid {process.pid}) at {base_url}, latency {args.latency * 1000:.0f} ms; "
              f"client pid {os.getpid()}, {args.seconds:g} s per run")
        print(f"{'N':>3} {'bets':>7} {'bets/s':>9} {'bound N/lat':>12} {'ratio':>6} {'client CPU/bet':>15}")
        for n in args.n:
            bets, elapsed, cpu = anyio.run(one_run, base_url, n, args.seconds)
            rate = bets / elapsed
            bound = n / args.latency
            print(f"{n:>3} {bets:>7} {rate:>9.1f} {bound:>12.0f} {rate / bound:>6.2f} {cpu / bets * 1e3:>12.3f} ms")
    finally:
        process.terminate()
        process.join(timeout=10)


if __name__ == "__main__":
    main()
