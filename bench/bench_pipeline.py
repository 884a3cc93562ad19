"""Throughput of the betting pipeline, printed (not asserted): run `python bench/bench_pipeline.py`.

1. Zero simulated latency: bets/s through the whole async pipeline (engine, gate, reorder buffer,
   strategy) at N = 1 and N = 5, against the same strategy in a bare synchronous loop over the same
   sans-IO core; their ratio.
2. 50 ms simulated latency: bets/s for N = 1, 5, 20, 50 against the bound N / 0.05 s.
3. Peak RSS of whole `betbot run` processes of 100,000 and 1,000,000 bets (flat in the bet count?).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.bare_loop import play_sync
from betbot.core.fairness import SeedPair
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.loop import Engine
from betbot.strategies.registry import load_strategy

BALANCE = Decimal(1_000_000)


def _parts(strategy_name: str, bets: int, latency: float) -> tuple[Session, object, SimulatorBackend]:
    ctx = StrategyContext(currency="DOGE", starting_balance=BALANCE)
    strategy = load_strategy(strategy_name).from_options({}, ctx)
    session = Session(currency="DOGE", starting_balance=BALANCE, limits=Limits(max_bets=bets),
                      started_at=time.monotonic())
    game = SimulatedGame(seeds=SeedPair.derive("bench"), balances={"DOGE": BALANCE})
    return session, strategy, SimulatorBackend(game, LatencyModel(fixed=latency))


def pipeline_rate(strategy_name: str, bets: int, n: int, latency: float = 0.0) -> float:
    session, strategy, backend = _parts(strategy_name, bets, latency)
    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n)  # type: ignore[arg-type]
    anyio.run(engine.run)
    assert session.bets == bets, (session.bets, session.stop_reason)
    return bets / engine.elapsed


def sync_rate(strategy_name: str, bets: int) -> float:
    session, strategy, backend = _parts(strategy_name, bets, 0.0)
    start = time.perf_counter()
    play_sync(session, strategy, backend.game)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    assert session.bets == bets
    return bets / elapsed


def peak_rss_mb(bets: int) -> float:
    """Peak RSS of a whole `betbot run` process (a fresh child each time, so peaks don't mix), journal
    included (into a temporary file: the default, without touching the user's own journal)."""
    with tempfile.TemporaryDirectory(prefix="betbot-bench-") as tmp:
        journal = str(Path(tmp) / "journal.sqlite3")
        code = (
            "import resource, subprocess, sys;"
            f"subprocess.run([sys.executable, '-m', 'betbot', 'run', '--max-bets', '{bets}', '--balance', '1000000',"
            f"'--dashboard', 'off', '--log-level', 'warning', '--journal', {journal!r}], check=True,"
            " stdout=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=200_000, help="bets per zero-latency run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each 50 ms run")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()

    print(f"== zero latency, flat strategy, {args.bets:,} bets (best of 3)")
    sync = max(sync_rate("flat", args.bets) for _ in range(3))
    print(f"bare synchronous loop over the sans-IO core: {sync:>10,.0f} bets/s")
    for n in (1, 5):
        rate = max(pipeline_rate("flat", args.bets, n) for _ in range(3))
        print(f"async pipeline N={n:<2}: {rate:>10,.0f} bets/s   ratio to the bare loop {rate / sync:.2f}")
    rate = max(pipeline_rate("martingale", args.bets, 5) for _ in range(3))
    print(f"async pipeline, martingale (effective N=1): {rate:>10,.0f} bets/s")

    print("== 50 ms simulated latency, flat strategy")
    for n in (1, 5, 20, 50):
        bound = n / 0.05
        bets = max(n, int(bound * args.seconds))
        rate = pipeline_rate("flat", bets, n, latency=0.05)
        print(f"N={n:<2}: {rate:>8,.1f} bets/s   bound {bound:>6,.0f}   ratio {rate / bound:.3f}")

    if not args.skip_rss:
        print("== peak RSS of a whole `betbot run` (simulated, zero latency)")
        for bets in (100_000, 1_000_000):
            print(f"{bets:>9,} bets: peak RSS {peak_rss_mb(bets):6.1f} MB")


if __name__ == "__main__":
    main()
