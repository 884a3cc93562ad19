"""Throughput of the live backend, printed (not asserted): run `python bench/bench_live.py`.

The engine with DuckDiceBackend and the flat strategy (0.01 stakes) plays against the fake DuckDice
server under uvicorn on 127.0.0.1, at 50 ms reply latency, for N = 1, 5, 20, 50 bets in flight, with the
durable journal on (every bet's intent synced to disk before its request leaves). For each N it prints
bets/s; the ratio to a bare httpx loop at the same N in the same run (N coroutines posting bets, nothing
else: what the transport itself allows); the ratio to the latency bound N / 0.05 s; disk syncs per bet;
and the client's CPU time per bet.

The fake server runs in a child process (forked, serving a socket bound here), so `time.process_time()`
of this process is the client's CPU alone: engine, session, strategy, httpx, JSON and pydantic.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend, Timeouts
from betbot.backends.transport import SHARD_SIZE
from betbot.core.session import Limits, Session
from betbot.core.strategy import SessionView, Strategy, StrategyContext, StrategyParams
from betbot.engine.loop import Engine
from betbot.journal import Journal
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


def start_server(*args: Any, serve: Callable[..., None] = _serve) -> tuple[multiprocessing.Process, str]:
    """A child process running `serve(socket, *args)` on a socket bound here (127.0.0.1, a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    process = multiprocessing.get_context("fork").Process(target=serve, args=(sock, *args), daemon=True)
    process.start()
    sock.close()  # the child holds it now
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(base_url: str) -> None:
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, trust_env=False, retries=50,
                              retry_pause=0.05)
    async with backend:
        await backend.stats("DOGE")


async def bare_httpx(base_url: str, n: int, seconds: float) -> float:
    """Bets/s of N coroutines posting the same bet through one httpx client: the transport's own bound."""
    body = {"symbol": "DOGE", "amount": "0.01000000", "chance": "49.50", "isHigh": True}
    # One client per SHARD_SIZE connections, as the backend shards its pool: a single httpx pool of 50
    # spends milliseconds of CPU per request on its own bookkeeping (encode/httpcore#1035), which would make
    # a bound no client should be held to.
    shards = -(-n // SHARD_SIZE)
    size = -(-n // shards)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    done = 0
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, limits=limits,
                                                                      trust_env=False, timeout=10))
                   for _ in range(shards)]
        deadline = time.monotonic() + seconds
        start = time.monotonic()

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal done
            while time.monotonic() < deadline:
                reply = await client.post("/dice/play", params={"api_key": KEY}, json=body)
                reply.raise_for_status()
                done += 1

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(worker, clients[i % shards])
        elapsed = time.monotonic() - start
    return done / elapsed


async def one_run(base_url: str, n: int, seconds: float, journal_path: Path) -> tuple[int, float, float, int]:
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, max_connections=n, trust_env=False,
                              timeouts=Timeouts(read=10))
    journal = Journal.open(journal_path, durable=True)
    async with backend:
        balance = await backend.balance("DOGE")
        context = StrategyContext(currency="DOGE", starting_balance=balance)
        session = Session(currency="DOGE", starting_balance=balance, limits=Limits(max_duration=seconds),
                          started_at=time.monotonic())
        strategy = flat_strategy(context)
        journal.start_session(strategy=strategy.name, params={}, limits=session.limits, backend=backend.name,
                              currency="DOGE", starting_balance=balance)
        engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n, hooks=journal)
        syncs = journal.syncs
        cpu = time.process_time()
        await engine.run()
        cpu = time.process_time() - cpu
        syncs = journal.syncs - syncs
        journal.close()
        reason = session.stop_reason
        if reason is None or reason.kind.value != "max_duration":
            raise SystemExit(f"N={n}: the session stopped early: {reason}")
    return session.bets, engine.elapsed, cpu, syncs


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
        print(f"{'N':>3} {'bets':>7} {'bets/s':>9} {'bare httpx':>10} {'ratio':>6} {'bound':>6} {'ratio':>6} "
              f"{'syncs/bet':>9} {'client CPU/bet':>15}")
        with tempfile.TemporaryDirectory(prefix="betbot-bench-") as tmp:
            for n in args.n:
                bare = anyio.run(bare_httpx, base_url, n, args.seconds)
                bets, elapsed, cpu, syncs = anyio.run(one_run, base_url, n, args.seconds,
                                                      Path(tmp) / f"journal-{n}.sqlite3")
                rate = bets / elapsed
                bound = n / args.latency
                print(f"{n:>3} {bets:>7} {rate:>9.1f} {bare:>10.1f} {rate / bare:>6.3f} {bound:>6.0f} "
                      f"{rate / bound:>6.3f} {syncs / bets:>9.3f} {cpu / bets * 1e3:>12.3f} ms")
    finally:
        process.terminate()
        process.join(timeout=10)


if __name__ == "__main__":
    main()
