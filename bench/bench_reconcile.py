"""How long reconciliation takes for 256 unknown bets, printed (not asserted): `python bench/bench_reconcile.py`.

Three shapes of unknown bets, each with a random subset "run" with random outcomes at the site's payout:
1. 256 identical flat bets (one group: the trivial case that used to be stuck);
2. 256 bets of a handful (3) of distinct (stake, chance) kinds, as a strategy with bets in flight leaves them;
3. 24 bets of all-distinct stakes (the worst case the search is sized for).
Each with the payouts known (learned from settled bets) and unknown (the site's possible roundings tried).
Best and worst of `--rounds` random books per shape; a balanced answer is checked to be exact. "ambiguous":
several assignments with different totals explain the books (refused, as it must be); "over budget": the
search gave up (MAX_STATES).
"""

from __future__ import annotations

import argparse
import random
import time
from decimal import ROUND_DOWN, Decimal

from betbot.core.fairness import GameRules, win_profit
from betbot.core.models import BetRequest, SiteStats
from betbot.core.reconcile import reconcile

CURRENCY = "DOGE"


def books(bets: int, balance: Decimal) -> SiteStats:
    return SiteStats(currency=CURRENCY, bets=bets, wins=0, profit=Decimal(0), volume=Decimal(0), balance=balance,
                     faucet_balance=Decimal(0))


def shape(name: str, rng: random.Random) -> list[BetRequest]:
    if name == "flat":
        return [BetRequest(amount=Decimal("0.5"), chance=Decimal("49.5"), currency=CURRENCY)] * 256
    if name == "handful":
        kinds = [(Decimal(rng.randint(1, 10**9)).scaleb(-8), Decimal(chance)) for chance in ("49.5", "77.77", "10")]
        return [BetRequest(amount=a, chance=c, currency=CURRENCY) for a, c in (rng.choice(kinds) for _ in range(256))]
    return [BetRequest(amount=Decimal(rng.randint(1, 10**10)).scaleb(-8), chance=Decimal(rng.choice(["49.5", "77.77"])),
                       currency=CURRENCY) for _ in range(24)]


def one(name: str, known: bool, rng: random.Random) -> tuple[float, str]:
    bets = shape(name, rng)
    pay = {b.chance: ((99 / b.chance).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)) for b in bets}
    ran, delta = 0, Decimal(0)
    for b in bets:
        fate = rng.choice(("none", "lost", "won"))
        if fate != "none":
            ran += 1
            delta += -b.amount if fate == "lost" else win_profit(b.amount, pay[b.chance])
    start = time.perf_counter()
    result = reconcile(baseline=books(0, Decimal(1000)), site=books(ran, Decimal(1000) + delta), settled_bets=0,
                       settled_profit=Decimal(0), unknown=list(enumerate(bets, start=1)),
                       paid={(c, False): p for c, p in pay.items()} if known else None, rules=GameRules())
    elapsed = time.perf_counter() - start
    if result.balanced:
        assert sum(v.profit for v in result.verdicts if v.profit is not None) == delta
        assert sum(v.ran for v in result.verdicts) == ran
        return elapsed, "explained"
    if "more than one combination" in result.detail:
        return elapsed, "ambiguous"
    assert "more assignments than reconciliation examines" in result.detail, result.detail
    return elapsed, "over budget"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="random books per shape (best and worst shown)")
    args = parser.parse_args()
    rng = random.Random(2026)
    labels = {"flat": "256 identical flat bets", "handful": "256 bets of 3 kinds", "distinct": "24 distinct stakes"}
    for name, label in labels.items():
        for known in (True, False):
            times, verdicts = [], []
            for _ in range(args.rounds):
                elapsed, verdict = one(name, known, rng)
                times.append(elapsed)
                verdicts.append(verdict)
            counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("explained", "ambiguous", "over budget")
                               if v in verdicts)
            print(f"{label:<24} payouts {'known   ' if known else 'inferred'}: best {min(times) * 1000:8.1f} ms, "
                  f"worst {max(times) * 1000:8.1f} ms   ({counts})")


if __name__ == "__main__":
    main()
