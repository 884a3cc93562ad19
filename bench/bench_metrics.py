"""Cost of the Prometheus metrics on the betting pipeline, printed (not asserted):
run `python bench/bench_metrics.py`.

Zero simulated latency, flat strategy, so the per-bet work of the hooks is as large a share as it gets:
1. bets/s without metrics, with `Metrics` as an observer only, and with it also served on 127.0.0.1 and
   scraped ten times a second (150 times Prometheus's default) by another process while the engine runs;
2. the same with the journal as well, the journal and the metrics behind a `FanOutHooks`.
Runs alternate (off, hooks, served, off, ...) so a drifting machine affects each alike; the best is kept.
The figures are noisy on a busy machine: compare within a line, and look at the us/bet.
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
import httpx

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.fairness import SeedPair
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.hooks import combine
from betbot.engine.loop import Engine, EngineHooks
from betbot.journal import Journal
from betbot.observe.metrics import Metrics, MetricsServer
from betbot.strategies.registry import load_strategy

CURRENCY = "DOGE"
BALANCE = Decimal(1_000_000)


# A scraper in a process of its own, as Prometheus is: in this one it would compete for the GIL with the
# engine and be counted as the metrics' cost. It prints how many scrapes it made when its stdin closes.
_SCRAPER = """
import sys, threading, time, httpx
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
count = 0
with httpx.Client(timeout=5) as client:
    while not done.is_set():
        client.get(sys.argv[1]).raise_for_status()
        count += 1
        done.wait(0.1)
print(count)
"""


def rate(bets: int, n: int, *, metrics: str, journal_path: Path | None) -> tuple[float, int]:
    """Bets/s of one run (metrics "off", "hooks" or "served"), and how many scrapes it served."""
    ctx = StrategyContext(currency=CURRENCY, starting_balance=BALANCE)
    strategy = load_strategy("flat").from_options({}, ctx)
    session = Session(currency=CURRENCY, starting_balance=BALANCE, limits=Limits(max_bets=bets),
                      started_at=time.monotonic())
    seeds = SeedPair.derive("bench")
    backend = SimulatorBackend(SimulatedGame(seeds=seeds, balances={CURRENCY: BALANCE}), LatencyModel(fixed=0.0))
    journal = None
    if journal_path is not None:
        journal_path.unlink(missing_ok=True)
        journal = Journal.open(journal_path, durable=False)
        journal.start_session(strategy="flat", params={}, limits=session.limits, backend=backend.name,
                              currency=CURRENCY, starting_balance=BALANCE,
                              server_seed_hash=seeds.server_seed_hash, client_seed=seeds.client_seed,
                              first_nonce=seeds.first_nonce)
    observer = None if metrics == "off" else Metrics()
    hooks: EngineHooks | None = combine(journal, observer)
    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n, hooks=hooks)
    server = scraper = None
    scrapes = 0
    if observer is not None:
        observer.watch(engine)
    if observer is not None and metrics == "served":
        server = MetricsServer(observer, "127.0.0.1", 0)
        scraper = subprocess.Popen([sys.executable, "-c", _SCRAPER, f"http://127.0.0.1:{server.port}/metrics"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)  # served before the clock starts
    try:
        anyio.run(engine.run)
    finally:
        if scraper is not None:
            out, _ = scraper.communicate("", timeout=30)
            scrapes = int(out.strip() or 0)
        if server is not None:
            server.close()
        if journal is not None:
            journal.close()
    assert session.bets == bets, (session.bets, session.stop_reason)
    return bets / engine.elapsed, scrapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=200_000, help="bets per run")
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs per case (best kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="betbot-bench-") as tmp:
        path = Path(tmp) / "journal.sqlite3"
        print(f"== zero latency, flat strategy, {args.bets:,} bets (best of {args.rounds}, alternating)")
        for n in (1, 5):
            for journal_path, label in ((None, "no journal"), (path, "journal")):
                rates: dict[str, list[float]] = {"off": [], "hooks": [], "served": []}
                scraped = 0
                for _ in range(args.rounds):
                    for mode, runs in rates.items():
                        bets_per_s, scrapes = rate(args.bets, n, metrics=mode, journal_path=journal_path)
                        runs.append(bets_per_s)
                        scraped += scrapes
                off, hooks, served = (max(runs) for runs in rates.values())
                print(f"N={n} {label:<10}: off {off:>7,.0f}   hooks {hooks:>7,.0f} ({_cost(off, hooks)})   "
                      f"served {served:>7,.0f} ({_cost(off, served)}, {scraped} scrapes) bets/s")


def _cost(off: float, on: float) -> str:
    return f"x{on / off:.3f}, {(1 / on - 1 / off) * 1e6:+.2f} us/bet"


if __name__ == "__main__":
    main()
