"""Reconciliation: what really happened to bets of unknown outcome, from the site's books alone.

Pure (no I/O, no clock). The caller reads `/bot/stats/{SYMBOL}` at the session's start (`baseline`) and
again after draining (`site`), and knows what it settled in between. Then

    k     = site.bets    - baseline.bets    - settled_bets     bets among the unknown ones that ran
    delta = site.balance - baseline.balance - settled_profit   their total profit

Each unknown bet either did not run, lost (-stake), or won (`win_profit(stake, payout)`). The answer is
the one assignment consistent with k and delta; assignments that differ only by swapping identical bets
(same stake, same payout) are the same books and count once (which of two identical bets ran cannot be
known and does not matter to any total). No assignment (other activity on the account: a deposit, a
faucet claim, a bet from another client) or several distinct ones means the books cannot say: the result
is not balanced, with a sentence saying why, and no verdict is guessed.

The search is exhaustive and therefore capped (`MAX_UNKNOWN`); a session stops at its first unknown
outcome, so more than a handful means something else is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from betbot.core.fairness import win_profit
from betbot.core.models import BetRequest, SiteStats

__all__ = ["MAX_UNKNOWN", "Reconciliation", "Verdict", "reconcile"]

MAX_UNKNOWN = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """One unknown bet resolved: `profit` None means it did not run; otherwise it ran with this profit."""

    seq: int
    profit: Decimal | None

    @property
    def ran(self) -> bool:
        return self.profit is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    """The verdicts (in seq order) when `balanced`; none otherwise. `detail` is a sentence for people."""

    verdicts: tuple[Verdict, ...]
    balanced: bool
    detail: str
    bets_ran: int = 0  # k: how many of the unknown bets the site's count says ran
    profit: Decimal = Decimal(0)  # delta: what the site's balance says they made


@dataclass(frozen=True, slots=True)
class _Group:
    stake: Decimal
    win: Decimal  # the profit if it won
    seqs: tuple[int, ...]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _unbalanced(detail: str, k: int, delta: Decimal) -> Reconciliation:
    return Reconciliation(verdicts=(), balanced=False, detail=detail, bets_ran=k, profit=delta)


def _assignments(groups: list[_Group], k: int, delta: Decimal) -> Iterator[list[tuple[int, int]]]:
    """Every (lost, won) count per group whose bets sum to k and whose profit sums to delta."""
    capacity_after = [0] * (len(groups) + 1)
    for index in range(len(groups) - 1, -1, -1):
        capacity_after[index] = capacity_after[index + 1] + len(groups[index].seqs)
    chosen: list[tuple[int, int]] = []

    def walk(index: int, ran: int, profit: Decimal) -> Iterator[list[tuple[int, int]]]:
        if index == len(groups):
            if ran == k and profit == delta:
                yield list(chosen)
            return
        group = groups[index]
        size = len(group.seqs)
        for lost in range(size + 1):
            for won in range(size - lost + 1):
                total = ran + lost + won
                # Prune: too many ran already, or too few can still run to reach k.
                if total > k or total + capacity_after[index + 1] < k:
                    continue
                chosen.append((lost, won))
                yield from walk(index + 1, total, profit - group.stake * lost + group.win * won)
                chosen.pop()

    yield from walk(0, 0, Decimal(0))


def reconcile(
    *,
    baseline: SiteStats,
    site: SiteStats,
    settled_bets: int,
    settled_profit: Decimal,
    unknown: list[tuple[int, BetRequest]],
    payouts: Mapping[int, Decimal],
) -> Reconciliation:
    """Resolve the unknown bets from the site's bet count and balance (see the module docstring)."""
    k = site.bets - baseline.bets - settled_bets
    delta = site.balance - baseline.balance - settled_profit
    books = f"the site counts {_plural(k, 'bet')} and a profit of {delta} beyond the settled ones"
    if site.currency.upper() != baseline.currency.upper():
        return _unbalanced(f"the baseline is for {baseline.currency} and the site's stats for {site.currency}",
                           k, delta)
    n = len(unknown)
    if len({seq for seq, _ in unknown}) != n:
        return _unbalanced("an unknown bet is listed twice", k, delta)
    if n == 0:
        if k == 0 and delta == 0:
            return Reconciliation(verdicts=(), balanced=True, detail="no unknown bets; the site's books agree",
                                  bets_ran=0, profit=delta)
        return _unbalanced(f"there are no unknown bets, but {books} (other activity on the account?)", k, delta)
    if n > MAX_UNKNOWN:
        return _unbalanced(
            f"{n} unknown bets are more than reconciliation examines ({MAX_UNKNOWN}); check the account by hand",
            k, delta)
    if k < 0:
        return _unbalanced(f"{books}: fewer bets than the session settled (another session's stats?)", k, delta)
    if k > n:
        return _unbalanced(f"{books}, more than the {_plural(n, 'unknown bet')} (other activity on the account?)",
                           k, delta)
    missing = sorted(seq for seq, _ in unknown if seq not in payouts)
    if missing:
        return _unbalanced(f"no payout multiplier given for unknown bet(s) {', '.join(map(str, missing))}", k, delta)

    by_key: dict[tuple[Decimal, Decimal], list[int]] = {}
    for seq, bet in sorted(unknown, key=lambda item: item[0]):
        stake = bet.amount
        key = (stake, win_profit(stake, payouts[seq]))
        by_key.setdefault(key, []).append(seq)
    groups = [_Group(stake=stake, win=win, seqs=tuple(seqs)) for (stake, win), seqs in by_key.items()]

    found: list[list[tuple[int, int]]] = []
    for assignment in _assignments(groups, k, delta):
        found.append(assignment)
        if len(found) > 1:
            break
    if not found:
        return _unbalanced(
            f"no combination of the {_plural(n, 'unknown bet')} (each: did not run, lost, or won) explains "
            f"that {books} (other activity on the account?)", k, delta)
    if len(found) > 1:
        return _unbalanced(
            f"more than one combination of the {_plural(n, 'unknown bet')} explains that {books}; "
            "the books cannot tell which bets ran", k, delta)

    verdicts: list[Verdict] = []
    for group, (lost, won) in zip(groups, found[0], strict=True):
        # Identical bets are interchangeable: the first ones in seq order take the "did not run" verdicts.
        not_run = len(group.seqs) - lost - won
        outcomes: list[Decimal | None] = [None] * not_run + [-group.stake] * lost + [group.win] * won
        verdicts.extend(Verdict(seq=seq, profit=profit) for seq, profit in zip(group.seqs, outcomes, strict=True))
    verdicts.sort(key=lambda verdict: verdict.seq)
    parts = []
    for verdict in verdicts:
        if verdict.profit is None:
            parts.append(f"bet {verdict.seq} did not run")
        elif verdict.profit >= 0:  # a loss always costs the stake, which is above 0
            parts.append(f"bet {verdict.seq} won {verdict.profit}")
        else:
            parts.append(f"bet {verdict.seq} lost {-verdict.profit}")
    detail = f"{books}: " + "; ".join(parts)
    return Reconciliation(verdicts=tuple(verdicts), balanced=True, detail=detail, bets_ran=k, profit=delta)
