"""What the journal costs a dry run, printed (not asserted): run `python bench/bench_journal.py`.

1. Zero simulated latency, flat strategy: bets/s through the whole engine with the journal off and on
   (durable=False: batched writes), at N = 1 and N = 5; their ratio. Runs alternate off/on and the best
   of each is kept, so a noisy machine penalises both sides alike. The time with the journal includes
   its final flush and close. Also by CPU time, the steadier figure on a shared machine.
2. Journal bytes per bet (the database file after close, WAL checkpointed, divided by the bets).
3. durable=True (live mode: pending bets committed, synced, before their requests leave; outcomes with the
   next commit): bets/s at zero latency (one commit per bet), and at 20 ms latency with N = 5 and 20 bets in
   flight against the same run without a journal (group commit: one sync per burst of bets).
4. Group commit on the writer thread, standalone (`--group-only` runs just this): N = 1, 5, 20, 50 bet
   coroutines, each `admitted` -> `await durable(seq)` -> a 50 ms "request" (a sleep) -> `released`, with a
   bare loop (the same without a journal) in the same run: syncs per bet, bets/s, and both over the bound
   N / 0.05 s.
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
from betbot.core.models import BetRequest, Settled
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


def group_commit(n: int, bets: int, journal_path: Path | None, latency: float,
                 ahead: int = 0) -> tuple[float, int]:
    """Bets/s of N requests in flight, each bet admitted -> durable -> request (a sleep) -> released; syncs.

    `ahead`: bets admitted (and being made durable) beyond the N in flight, so that a bet's sync overlaps
    the requests still in flight instead of adding to its own latency.
    """
    journal = None
    if journal_path is not None:
        journal_path.unlink(missing_ok=True)
        journal = Journal.open(journal_path, durable=True)
        journal.start_session(strategy="flat", params={}, limits=Limits(max_bets=bets), backend="duckdice",
                              currency=CURRENCY, starting_balance=BALANCE)
    bet = BetRequest(amount=Decimal("0.01"), chance=Decimal("49.5"), currency=CURRENCY)

    async def one(seq: int, admitted: anyio.CapacityLimiter, sending: anyio.CapacityLimiter) -> None:
        if journal is not None:
            await journal.durable(seq)  # the intent is on disk before the request leaves
        async with sending:
            await anyio.sleep(latency)  # the request
        if journal is not None:
            journal.released(Settled(seq=seq, bet=bet, number=100, win=False, payout=Decimal(2),
                                     profit=-bet.amount, balance=BALANCE, nonce=seq, bet_hash=f"h{seq}"),
                             time.monotonic())
        admitted.release_on_behalf_of(seq)

    async def strategy() -> None:
        admitted, sending = anyio.CapacityLimiter(n + ahead), anyio.CapacityLimiter(n)
        async with anyio.create_task_group() as tg:
            for seq in range(1, bets + 1):
                await admitted.acquire_on_behalf_of(seq)
                if journal is not None:
                    journal.admitted(seq, bet, time.monotonic())
                tg.start_soon(one, seq, admitted, sending)

    start = time.perf_counter()
    anyio.run(strategy)
    elapsed = time.perf_counter() - start
    syncs = 0
    if journal is not None:
        syncs = journal.syncs
        journal.close()
    return bets / elapsed, syncs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=200_000, help="bets per zero-latency run")
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs per concurrency (best kept)")
    parser.add_argument("--durable-bets", type=int, default=2_000, help="bets of the durable=True run")
    parser.add_argument("--group-only", action="store_true", help="only the group-commit figures (part 4)")
    parser.add_argument("--latency", type=float, default=0.05, help="the simulated request's latency (s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="betbot-bench-") as tmp:
        path = Path(tmp) / "journal.sqlite3"
        print(f"== group commit on the writer thread, {args.latency * 1000:.0f} ms requests, standalone "
              "(admitted -> durable -> request -> released)")
        for ahead_of in (0, 1):
            if ahead_of:
                print("   the same with bets admitted ahead (max(1, N/5) beyond the N in flight: each bet's sync "
                      "overlaps the requests in flight)")
            for n in (1, 5, 20, 50):
                ahead = max(1, n // 5) * ahead_of
                bets = max(40, int(n / args.latency * 1.5))  # about 1.5 s at the bound
                bare, _ = group_commit(n, bets, None, args.latency)
                on, syncs = group_commit(n, bets, path, args.latency, ahead)
                bound = n / args.latency
                print(f"N={n:>2}: {bets:>5} bets, {syncs:>5} syncs = {syncs / bets:.3f} syncs/bet; "
                      f"journal {on:7.1f} bets/s, bare loop {bare:7.1f} bets/s, ratio {on / bare:.3f}; "
                      f"over N/{args.latency:g} s: journal {on / bound:.3f}, bare {bare / bound:.3f}")
        if args.group_only:
            return
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
