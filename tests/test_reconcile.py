"""Reconciliation from the site's bet count and balance: unique answers found, everything else refused."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.backends.base import SiteStats
from betbot.core.fairness import win_profit
from betbot.core.models import BetRequest
from betbot.core.reconcile import MAX_UNKNOWN, Reconciliation, Verdict, reconcile


def stats(bets: int, balance: str, currency: str = "DOGE") -> SiteStats:
    return SiteStats(currency=currency, bets=bets, wins=0, profit=Decimal(0), volume=Decimal(0),
                     balance=Decimal(balance), faucet_balance=Decimal(0))


def bet(amount: str, chance: str = "49.5") -> BetRequest:
    return BetRequest(amount=Decimal(amount), chance=Decimal(chance), currency="DOGE")


BASE = stats(100, "50")
TWO = Decimal(2)


def run(site: SiteStats, unknown: list[tuple[int, BetRequest]], payouts: dict[int, Decimal] | None = None,
        settled_bets: int = 10, settled_profit: str = "1") -> Reconciliation:
    if payouts is None:
        payouts = {seq: TWO for seq, _ in unknown}
    return reconcile(baseline=BASE, site=site, settled_bets=settled_bets, settled_profit=Decimal(settled_profit),
                     unknown=unknown, payouts=payouts)


def test_no_unknowns_books_agree() -> None:
    result = run(stats(110, "51"), [])
    assert result.balanced
    assert result.verdicts == ()


def test_no_unknowns_books_disagree() -> None:
    result = run(stats(111, "51"), [])
    assert not result.balanced
    assert "no unknown bets" in result.detail


@pytest.mark.parametrize(("site", "profit"), [
    (stats(110, "51"), None),  # did not run
    (stats(111, "50.5"), Decimal("-0.5")),  # lost
    (stats(111, "51.5"), Decimal("0.5")),  # won at 2x
])
def test_one_unknown(site: SiteStats, profit: Decimal | None) -> None:
    result = run(site, [(11, bet("0.5"))])
    assert result.balanced, result.detail
    assert result.verdicts == (Verdict(seq=11, profit=profit),)
    assert result.verdicts[0].ran is (profit is not None)
    assert "bet 11" in result.detail


def test_identical_bets_are_interchangeable() -> None:
    # Two identical bets, one ran and won: which one cannot be known and does not matter.
    result = run(stats(111, "51.5"), [(12, bet("0.5")), (11, bet("0.5"))])
    assert result.balanced, result.detail
    assert [v.seq for v in result.verdicts] == [11, 12]
    assert sorted((v.profit for v in result.verdicts), key=str) == sorted([None, Decimal("0.5")], key=str)
    assert result.bets_ran == 1
    assert result.profit == Decimal("0.5")


def test_mixed_bets_unique() -> None:
    # 1 @ 2x won (+1), 0.3 @ 3x lost (-0.3), 0.2 @ 2x not run: k = 2, delta = 0.7
    unknown = [(1, bet("1")), (2, bet("0.3", "33")), (3, bet("0.2"))]
    payouts = {1: TWO, 2: Decimal(3), 3: TWO}
    result = run(stats(112, "51.7"), unknown, payouts)
    assert result.balanced, result.detail
    assert result.verdicts == (Verdict(seq=1, profit=Decimal(1)), Verdict(seq=2, profit=Decimal("-0.3")),
                               Verdict(seq=3, profit=None))


def test_ambiguous() -> None:
    # Same stake, different payouts: either one lost, and the books look the same.
    unknown = [(1, bet("1")), (2, bet("1", "33"))]
    result = run(stats(111, "50"), unknown, {1: TWO, 2: Decimal(3)})
    assert not result.balanced
    assert result.verdicts == ()
    assert "more than one combination" in result.detail


def test_no_solution() -> None:
    result = run(stats(111, "50.123"), [(1, bet("0.5"))])
    assert not result.balanced
    assert "no combination" in result.detail


@pytest.mark.parametrize(("site", "needle"), [
    (stats(109, "51"), "fewer bets"),
    (stats(113, "51"), "more than the 2 unknown bets"),
    (stats(111, "51", currency="BTC"), "baseline is for DOGE"),
])
def test_impossible_counts(site: SiteStats, needle: str) -> None:
    result = run(site, [(1, bet("0.5")), (2, bet("0.5"))])
    assert not result.balanced
    assert needle in result.detail


def test_missing_payout_and_duplicates() -> None:
    result = run(stats(111, "51.5"), [(1, bet("0.5"))], payouts={})
    assert not result.balanced
    assert "no payout multiplier" in result.detail
    result = run(stats(111, "51.5"), [(1, bet("0.5")), (1, bet("0.5"))])
    assert not result.balanced
    assert "twice" in result.detail


def test_too_many_unknowns() -> None:
    unknown = [(seq, bet("0.5")) for seq in range(MAX_UNKNOWN + 1)]
    result = run(stats(110, "51"), unknown)
    assert not result.balanced
    assert str(MAX_UNKNOWN) in result.detail


def test_worst_case_search_is_fast() -> None:
    # 12 distinct bets, none ran: the whole space is searched once.
    unknown = [(seq, bet(f"0.{seq + 10}")) for seq in range(MAX_UNKNOWN)]
    payouts = {seq: Decimal(2) + Decimal(seq) / 7 for seq, _ in unknown}
    result = run(stats(110, "51"), unknown, payouts)
    assert result.balanced
    assert all(v.profit is None for v in result.verdicts)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_never_a_wrong_balanced_answer(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    stakes = data.draw(st.lists(st.sampled_from(["0.1", "0.5", "1", "2.5"]), min_size=n, max_size=n))
    multipliers = data.draw(st.lists(st.sampled_from(["1.98", "2", "3.3", "9.9"]), min_size=n, max_size=n))
    truth = data.draw(st.lists(st.sampled_from(["none", "lost", "won"]), min_size=n, max_size=n))
    unknown = [(seq + 1, bet(stake)) for seq, stake in enumerate(stakes)]
    payouts = {seq + 1: Decimal(m) for seq, m in enumerate(multipliers)}
    profits: list[Decimal | None] = []
    for (_seq, b), m, fate in zip(unknown, multipliers, truth, strict=True):
        profits.append(None if fate == "none" else -b.amount if fate == "lost" else win_profit(b.amount, Decimal(m)))
    ran = sum(p is not None for p in profits)
    delta = sum((p for p in profits if p is not None), Decimal(0))
    site = stats(BASE.bets + 10 + ran, str(BASE.balance + 1 + delta))
    result = run(site, unknown, payouts)
    # The truth always fits the books, so "no combination" is impossible.
    assert "no combination" not in result.detail
    if result.balanced:
        # Equal up to swapping identical bets: per (stake, payout), the same multiset of profits.
        def books(verdict_profits: list[Decimal | None]) -> Counter[tuple[str, str, str]]:
            return Counter((str(b.amount), m, str(p)) for (_s, b), m, p
                           in zip(unknown, multipliers, verdict_profits, strict=True))

        assert books([v.profit for v in result.verdicts]) == books(profits)
