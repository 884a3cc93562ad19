"""What the journal costs a dry run, printed (not asserted): run `python bench/bench_journal.py`.

1. Zero simulated latency, flat strategy: bets/s through the whole engine with the journal off and on
   (durable=False: batched writes), at N = 1 and N = 5; their ratio. Runs alternate off/on and the best
   of each is kept, so a noisy machine penalises both sides alike. The time with the journal includes
   its final flush and close. Also by CPU time, the steadier figure on a shared machine.
2. Journal bytes per bet (the database file after close, WAL checkpointed, divided by the bets).
3. durable=True (live mode: pending bets committed, synced, before their requests leave; outcomes with the
   next commit): bets/s at zero latency (one commit per bet), and at 20 ms latency with N = 5 and 20 bets in
   flight against the same run without a journal (group commit: one sync per burst of bets).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.fairness import SeedPair
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.loop import Engine
from betbot.journal import Journal
from betbot.strategies.registry import load_strategy

BALANCE = Decimal(1_000_000)
CURRENCY = "DOGE"


def run(bets: int, n: int, journal_path: Path | None, *, durable: bool = False,
        latency: float = 0.0) -> tuple[float, float]:
    """Bets per second of one session, by the wall clock and by this process's CPU time.

    With a journal when a path is given (a fresh file each time).
    """
    ctx = StrategyContext(currency=CURRENCY, starting_balance=BALANCE)
    strategy = load_strategy("flat").from_options({}, ctx)
    session = Session(currency=CURRENCY, starting_balance=BALANCE, limits=Limits(max_bets=bets),
                      started_at=time.monotonic())
    seeds = SeedPair.derive("bench")
    backend = SimulatorBackend(SimulatedGame(seeds=seeds, balances={CURRENCY: BALANCE}), LatencyModel(fixed=latency))
    journal = None
    if journal_path is not None:
        journal_path.unlink(missing_ok=True)
        journal = Journal.open(journal_path, durable=durable)
        journal.start_session(strategy="flat", params={}, limits=session.limits, backend=backend.name,
                              currency=CURRENCY, starting_balance=BALANCE,
                              server_seed_hash=seeds.server_seed_hash, client_seed=seeds.client_seed,
                              first_nonce=seeds.first_nonce)
    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n, hooks=journal)
    start, cpu_start = time.perf_counter(), time.process_time()
    anyio.run(engine.run)
    if journal is not None:
        journal.close()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert session.bets == bets, (session.bets, session.stop_reason)
    return bets / elapsed, bets / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=200_000, help="bets per zero-latency run")
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs per concurrency (best kept)")
    parser.add_argument("--durable-bets", type=int, default=2_000, help="bets of the durable=True run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="betbot-bench-") as tmp:
        path = Path(tmp) / "journal.sqlite3"
        print(f"== zero latency, flat strategy, {args.bets:,} bets (best of {args.rounds}, alternating)")
        for n in (1, 5):
            off = on = off_cpu = on_cpu = 0.0
            for _ in range(args.rounds):
                wall, cpu = run(args.bets, n, None)
                off, off_cpu = max(off, wall), max(off_cpu, cpu)
                wall, cpu = run(args.bets, n, path)
                on, on_cpu = max(on, wall), max(on_cpu, cpu)
            print(f"N={n}: journal off {off:>9,.0f} bets/s   on {on:>9,.0f} bets/s   ratio {on / off:.2f}   "
                  f"(by CPU time: {off_cpu:,.0f} vs {on_cpu:,.0f}, ratio {on_cpu / off_cpu:.2f}; "
                  f"{(1 / on_cpu - 1 / off_cpu) * 1e6:.1f} µs per bet)")
        print(f"journal size: {path.stat().st_size / args.bets:.0f} bytes per bet "
              f"({path.stat().st_size / 1e6:.1f} MB for {args.bets:,} bets)")
        durable, _ = run(args.durable_bets, 1, path, durable=True)
        print(f"== durable=True, zero latency (one synced commit per bet): {durable:,.0f} bets/s "
              f"over {args.durable_bets:,} bets")
        for n in (5, 20):
            bets = 50 * n  # about a second at the latency bound
            off, _ = run(bets, n, None, latency=0.02)
            on, _ = run(bets, n, path, durable=True, latency=0.02)
            print(f"== durable=True, 20 ms latency, N={n}: journal off {off:,.0f} bets/s, on {on:,.0f} bets/s, "
                  f"ratio {on / off:.2f} (bound {n / 0.02:,.0f})")


if __name__ == "__main__":
    main()
