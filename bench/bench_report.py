"""What a report of a big session costs, printed (not asserted): run `python bench/bench_report.py`.

Journals one session of `--bets` bets (default 1,000,000: a martingale on 49.5 %, rolls from a seeded
generator, through the journal's own hooks as a dry run writes them), then times, on that file:
1. the one pass over the bets (`build_report`): statistics, curves, distributions;
2. the HTML page (`render_html`) and its size;
3. the PNG (`write_png`, needs matplotlib);
4. the whole `betbot report SESSION --html ... --png ...` command, as a user runs it (a fresh process).
`--journal PATH` keeps the journal (made once, reused next time).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from betbot.core.models import BetRequest, Settled
from betbot.journal import Journal
from betbot.observe.report import build_report, render_html, write_png

T = TypeVar("T")
CURRENCY = "DOGE"
BALANCE = Decimal(1_000_000)
BASE = Decimal("0.00100000")


def make_session(path: Path, bets: int, rate: float = 20_000.0) -> None:
    """A martingale session of `bets` bets at `rate` bets a second; stakes and profits as a dry run would
    journal them."""
    rng = random.Random(20261130)
    with Journal.open(path, durable=False) as journal:
        journal.start_session(strategy="martingale", params={"base_bet": str(BASE)}, limits={},
                              backend="simulator", currency=CURRENCY, starting_balance=BALANCE)
        balance, stake, chance = BALANCE, BASE, Decimal("49.5")
        requests: dict[Decimal, BetRequest] = {}
        for seq in range(1, bets + 1):
            bet = requests.get(stake)
            if bet is None:
                bet = requests[stake] = BetRequest(amount=stake, chance=chance, currency=CURRENCY, high=True)
            roll = rng.randrange(10_000)
            win = roll >= 10_000 - 4950
            profit = (stake * Decimal("0.98")).quantize(Decimal("0.00000001")) if win else -stake
            balance += profit
            now = seq / rate
            journal.admitted(seq, bet, now)
            journal.released(Settled(seq=seq, bet=bet, number=roll, win=win, payout=Decimal("1.98"),
                                     profit=profit, balance=balance, nonce=seq - 1, bet_hash=f"h{seq}"),
                             now + 0.0123)
            stake = BASE if win or stake > 500 else stake * 2


def timed(what: str, func: Callable[..., T], *args: object) -> T:
    """Run it once; print the wall time and this process's CPU time (the steadier figure on a shared machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = func(*args)
    print(f"{what:<34} {time.perf_counter() - start:7.2f} s wall {time.process_time() - cpu:7.2f} s CPU")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=1_000_000)
    parser.add_argument("--journal", type=Path, help="keep the journal here (made if missing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="betbot-bench-") as tmp:
        path = args.journal or Path(tmp) / "journal.sqlite3"
        if not path.exists():
            timed(f"journal {args.bets:,} bets", make_session, path, args.bets)
        with Journal.open(path, durable=False, readonly=True) as journal:
            session_id = journal.sessions()[-1].id
            print(f"session {session_id}: {journal.session(session_id).journaled:,} bets")
            report = timed("build_report (one pass)", build_report, journal, session_id)
        page = timed("render_html", render_html, report)
        print(f"{'  html size':<34} {len(page) / 1024:7.0f} KiB")
        try:
            timed("write_png", write_png, report, Path(tmp) / "r.png")
        except ImportError:
            print("write_png: matplotlib is not installed")
        command = [sys.executable, "-m", "betbot", "report", str(session_id), "--journal", str(path),
                   "--html", str(Path(tmp) / "r.html"), "--png", str(Path(tmp) / "r.png")]
        start, children = time.perf_counter(), os.times()
        subprocess.run(command, check=True, capture_output=True)
        after = os.times()
        cpu = after.children_user + after.children_system - children.children_user - children.children_system
        print(f"{'betbot report --html --png':<34} {time.perf_counter() - start:7.2f} s wall {cpu:7.2f} s CPU"
              "  (the whole command, a fresh process)")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        print(f"{'  its peak memory (RSS)':<34} {peak:7.0f} MiB")


if __name__ == "__main__":
    main()
