"""What opening a big journal costs, printed (not asserted): `python bench/bench_journal_open.py [--bets N]`.

Builds a journal of N bets (a journaled dry run of 20,000 bets, copied until there are N), then times, each
several times (the best is printed, with the load average, since the machine is shared):
1. `PRAGMA quick_check` alone: the page check a journal gets before anything is written into it;
2. `Journal.open(durable=True)` (live: always checked) and `Journal.open(durable=False)` (a dry run: checked
   up to QUICK_CHECK_MAX_BYTES) followed by `close()`;
3. a reader's open (`readonly=True`).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from betbot.core.models import BetRequest, Settled
from betbot.journal import Journal
from betbot.journal.store import QUICK_CHECK_MAX_BYTES

SEED_BETS = 20_000


def build(path: Path, bets: int) -> None:
    with Journal.open(path, durable=False) as journal:
        journal.start_session(strategy="flat", params={}, limits={}, backend="simulator", currency="DOGE",
                              starting_balance=Decimal(1000))
        bet = BetRequest(amount=Decimal("0.01"), chance=Decimal("49.5"), high=True, currency="DOGE")
        balance = Decimal(1000)
        for seq in range(1, SEED_BETS + 1):
            journal.admitted(seq, bet, seq / 1000)
            win = seq % 2 == 0
            profit = Decimal("0.01") if win else Decimal("-0.01")
            balance += profit
            journal.released(Settled(seq=seq, bet=bet, number=seq % 10_000, win=win, payout=Decimal(2),
                                     profit=profit, balance=balance, nonce=seq, bet_hash=f"h{seq}"), seq / 1000)
    con = sqlite3.connect(path)
    columns = [row[1] for row in con.execute("PRAGMA table_info(bets)")]
    select = ", ".join("seq + ?" if name == "seq" else name for name in columns)
    for copy in range(1, bets // SEED_BETS):
        con.execute(f"INSERT INTO bets SELECT {select} FROM bets WHERE seq <= ?",  # noqa: S608 - constants
                    (copy * SEED_BETS, SEED_BETS))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def best(what: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        what()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "journal.sqlite3"
        build(path, args.bets)
        size = path.stat().st_size

        def quick_check() -> None:
            con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            assert con.execute("PRAGMA quick_check(1)").fetchone()[0] == "ok"
            con.close()

        print(f"journal: {args.bets:,} bets, {size / 1e6:.0f} MB; dry runs check it up to "
              f"{QUICK_CHECK_MAX_BYTES / 2**20:.0f} MiB ({'checked' if size <= QUICK_CHECK_MAX_BYTES else 'not'})")
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print(f"PRAGMA quick_check:             {best(quick_check, args.runs):7.3f} s")
        print(f"open + close, live (durable):   "
              f"{best(lambda: Journal.open(path, durable=True).close(), args.runs):7.3f} s")
        print(f"open + close, dry run:          "
              f"{best(lambda: Journal.open(path, durable=False).close(), args.runs):7.3f} s")
        print(f"open + close, reader:           "
              f"{best(lambda: Journal.open(path, durable=False, readonly=True).close(), args.runs):7.3f} s")
        print(f"load average after:  {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
