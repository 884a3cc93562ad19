"""Reconciliation from the site's bet count and balance: unique answers found, everything else refused."""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.backends.base import SiteStats
from betbot.core.fairness import GameRules, win_profit
from betbot.core.models import BetRequest
from betbot.core.reconcile import MAX_EXPLANATIONS, Reconciliation, Verdict, payout_candidates, reconcile


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


def test_no_unknowns_no_extra_bets_but_the_balance_moved() -> None:
    # The site counts exactly the settled bets, yet the balance is half a coin off: not the session's doing.
    result = run(stats(110, "51.5"), [])
    assert not result.balanced
    assert result.verdicts == ()
    assert "no unknown bets, but the site counts 0 bets and a profit of 0.50000000" in result.detail


def test_more_explanations_than_examined_are_refused_even_with_the_same_totals() -> None:
    # Five lost for -130: the 100 and four of 1..19 summing to 30 (97 ways; a win at 990x is far too big to
    # be among them), every figure the session keeps the same each way. Past MAX_EXPLANATIONS the books are
    # called ambiguous, not read off the first.
    unknown = [(seq, bet(str(seq), "0.1")) for seq in range(1, 20)] + [(20, bet("100", "0.1"))]
    payouts = {seq: Decimal(990) for seq, _ in unknown}
    result = run(stats(BASE.bets + 10 + 5, str(BASE.balance + 1 - 130)), unknown, payouts)
    assert not result.balanced
    assert result.verdicts == ()
    assert f"(more than {MAX_EXPLANATIONS}); the books cannot tell which bets ran" in result.detail


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
    if result.balanced and result.explanations > 1:
        # Several assignments with the same totals (bets of one stake and chance but pinned to different
        # payouts): the verdicts' totals are exact, which bet carries which is the documented choice.
        assert sum(v.profit for v in result.verdicts if v.profit is not None) == delta
        assert sum(v.ran for v in result.verdicts) == ran
    elif result.balanced:
        # Equal up to swapping identical bets: per (stake, payout), the same multiset of profits.
        def books(verdict_profits: list[Decimal | None]) -> Counter[tuple[str, str, Decimal | None]]:
            return Counter((str(b.amount), m, p) for (_s, b), m, p
                           in zip(unknown, multipliers, verdict_profits, strict=True))

        assert books([v.profit for v in result.verdicts]) == books(profits)


# -- any number of unknown bets ---------------------------------------------------------------------------
ROUNDINGS = (ROUND_HALF_UP, ROUND_DOWN)


def site_payout(chance: Decimal, rounding: str, edge: Decimal = Decimal(1)) -> Decimal:
    """What a site that rounds this way pays (77.77 %: 1.2730 half-up, 1.2729 down)."""
    return ((100 - edge) / chance).quantize(Decimal("0.0001"), rounding=rounding)


def books_for(unknown: list[tuple[int, BetRequest]], fates: list[str],
              pay: dict[Decimal, Decimal]) -> tuple[SiteStats, list[Decimal | None]]:
    """The site's books after these unknown bets met these fates (none / lost / won at the site's payout)."""
    profits: list[Decimal | None] = []
    for (_seq, b), fate in zip(unknown, fates, strict=True):
        profits.append(None if fate == "none" else -b.amount if fate == "lost"
                       else win_profit(b.amount, pay[b.chance]))
    ran = sum(p is not None for p in profits)
    delta = sum((p for p in profits if p is not None), Decimal(0))
    return stats(BASE.bets + 10 + ran, str(BASE.balance + 1 + delta)), profits


def check_exact(result: Reconciliation, unknown: list[tuple[int, BetRequest]], site: SiteStats) -> None:
    """A balanced answer: one verdict per unknown bet, each a possible fate, totals exact to the satoshi."""
    assert [v.seq for v in result.verdicts] == sorted(seq for seq, _ in unknown)
    stakes = dict(unknown)
    for verdict in result.verdicts:
        assert verdict.profit is None or verdict.profit == -stakes[verdict.seq].amount or verdict.profit >= 0
    assert sum(v.ran for v in result.verdicts) == site.bets - BASE.bets - 10
    assert sum(v.profit for v in result.verdicts if v.profit is not None) == site.balance - BASE.balance - 1


def fates_by_kind(unknown: list[tuple[int, BetRequest]],
                  profits: list[Decimal | None]) -> Counter[tuple[str, str, Decimal | None]]:
    """What the books can know: per kind of bet (stake, chance), how many did not run, lost, won what."""
    return Counter((str(b.amount), str(b.chance), p) for (_s, b), p in zip(unknown, profits, strict=True))


PAIRS = st.tuples(st.integers(1, 10**9).map(lambda sats: Decimal(sats).scaleb(-8)),
                  st.sampled_from(["49.5", "77.77", "10", "90", "33.33", "98"]).map(Decimal))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_up_to_256_bets_of_a_handful_of_kinds_are_explained_exactly(data: st.DataObject) -> None:
    # A strategy with bets in flight: a few (stake, chance) kinds, in whatever order it placed them.
    kinds = data.draw(st.lists(PAIRS, min_size=1, max_size=3, unique_by=lambda pair: pair[0]))
    n = data.draw(st.integers(1, 256))
    picks = data.draw(st.lists(st.integers(0, len(kinds) - 1), min_size=n, max_size=n))
    unknown = [(seq, BetRequest(amount=kinds[k][0], chance=kinds[k][1], currency="DOGE"))
               for seq, k in enumerate(picks, start=1)]
    fates = data.draw(st.lists(st.sampled_from(["none", "lost", "won"]), min_size=n, max_size=n))
    pay = {chance: site_payout(chance, data.draw(st.sampled_from(ROUNDINGS))) for _, chance in kinds}
    site, profits = books_for(unknown, fates, pay)
    known = data.draw(st.booleans())
    result = reconcile(baseline=BASE, site=site, settled_bets=10, settled_profit=Decimal(1), unknown=unknown,
                       paid={(c, False): p for c, p in pay.items()} if known else None, rules=GameRules())
    assert "no combination" not in result.detail  # the truth explains the books
    if not result.balanced:
        assert "more than one combination" in result.detail, result.detail  # ambiguous, and it says so
        assert result.verdicts == ()
        return
    check_exact(result, unknown, site)
    if known and result.explanations == 1:
        assert fates_by_kind(unknown, [v.profit for v in result.verdicts]) == fates_by_kind(unknown, profits)


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_up_to_24_bets_of_distinct_stakes_are_explained_exactly(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 24))
    stakes = data.draw(st.lists(st.integers(1, 10**10), min_size=n, max_size=n, unique=True))
    chances = data.draw(st.lists(st.sampled_from(["49.5", "77.77", "10"]).map(Decimal), min_size=n, max_size=n))
    unknown = [(seq, BetRequest(amount=Decimal(sats).scaleb(-8), chance=chance, currency="DOGE"))
               for seq, (sats, chance) in enumerate(zip(stakes, chances, strict=True), start=1)]
    fates = data.draw(st.lists(st.sampled_from(["none", "lost", "won"]), min_size=n, max_size=n))
    pay = {chance: site_payout(chance, ROUND_DOWN) for chance in set(chances)}
    site, profits = books_for(unknown, fates, pay)
    result = reconcile(baseline=BASE, site=site, settled_bets=10, settled_profit=Decimal(1), unknown=unknown,
                       paid={(c, False): p for c, p in pay.items()})
    assert "no combination" not in result.detail
    if not result.balanced:
        assert "more than one combination" in result.detail, result.detail
        return
    check_exact(result, unknown, site)
    if result.explanations == 1:  # distinct stakes: the books name each bet's fate
        assert [v.profit for v in result.verdicts] == profits


def brute_force(unknown: list[tuple[int, BetRequest]], payouts: dict[int, Decimal], ran: int,
                delta: Decimal) -> set[tuple[tuple[str, str, str, Decimal | None], ...]]:
    """Every assignment that explains the books, up to swapping identical bets (the oracle, 3^n)."""
    found = set()
    for fates in itertools.product(("none", "lost", "won"), repeat=len(unknown)):
        profits = [None if f == "none" else -b.amount if f == "lost" else win_profit(b.amount, payouts[seq])
                   for (seq, b), f in zip(unknown, fates, strict=True)]
        if sum(p is not None for p in profits) == ran and sum(p for p in profits if p is not None) == delta:
            found.add(tuple(sorted(((str(b.amount), str(b.chance), str(payouts[seq]), p)
                                    for (seq, b), p in zip(unknown, profits, strict=True)), key=str)))
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_sound_and_complete_against_every_assignment(data: st.DataObject) -> None:
    # Small enough to try every assignment: balanced exactly when one explanation (up to identical bets)
    # fits the books, or several with the same totals; "no combination" exactly when none does.
    n = data.draw(st.integers(1, 7))
    stakes = data.draw(st.lists(st.sampled_from(["0.1", "0.5", "1", "1.5", "2.5"]), min_size=n, max_size=n))
    chances = data.draw(st.lists(st.sampled_from(["49.5", "33", "77.77"]), min_size=n, max_size=n))
    unknown = [(seq, bet(stake, chance)) for seq, (stake, chance) in enumerate(zip(stakes, chances, strict=True), 1)]
    payouts = {seq: site_payout(b.chance, ROUND_DOWN) for seq, b in unknown}
    ran = data.draw(st.integers(-1, n + 1))
    delta = data.draw(st.one_of(
        st.sampled_from([Decimal("-0.1"), Decimal("0.5"), Decimal("0.00000001")]),
        st.just(sum((-b.amount for _, b in unknown[: max(ran, 0)]), Decimal(0))),  # the first `ran` lost
        st.integers(-10**9, 10**9).map(lambda sats: Decimal(sats).scaleb(-8)),
    ))
    site = stats(BASE.bets + 10 + ran, str(BASE.balance + 1 + delta))
    result = run(site, unknown, payouts)
    explanations = brute_force(unknown, payouts, ran, delta) if 0 <= ran <= n else set()
    if not explanations:
        assert not result.balanced
        assert result.verdicts == ()
        assert "no combination" in result.detail or "more than the" in result.detail or "fewer bets" in result.detail
        return
    if len(explanations) == 1:
        assert result.balanced, result.detail
        assert result.explanations == 1
        (only,) = explanations
        got = tuple(sorted(((str(b.amount), str(b.chance), str(payouts[seq]), v.profit)
                            for (seq, b), v in zip(unknown, result.verdicts, strict=True)), key=str))
        assert got == only
        return
    assert result.explanations == (len(explanations) if result.balanced else 0)
    if not result.balanced:
        assert "more than one combination" in result.detail


def test_identical_flat_bets_at_256_every_count_and_profit() -> None:
    # The trivial case that used to be stuck: 256 identical bets, every (lost, won) split.
    unknown = [(seq, bet("0.5")) for seq in range(1, 257)]
    for lost_, won_ in [(0, 0), (256, 0), (0, 256), (100, 56), (1, 255), (128, 0), (3, 7)]:
        site = stats(BASE.bets + 10 + lost_ + won_, str(BASE.balance + 1 + Decimal("0.5") * (won_ - lost_)))
        result = run(site, unknown)
        assert result.balanced, result.detail
        check_exact(result, unknown, site)
        fates = [v.profit for v in result.verdicts]
        # Interchangeable bets: the earliest seqs did not run, then the losses, then the wins.
        assert fates == [None] * (256 - lost_ - won_) + [Decimal("-0.5")] * lost_ + [Decimal("0.5")] * won_
        assert result.explanations == 1
        if sum(1 for count in (256 - lost_ - won_, lost_, won_) if count) > 1:
            assert "interchangeable" in result.detail
            # Journaled as such: each verdict says it is one of identical bets, and which were taken.
            assert {v.note for v in result.verdicts} == {
                f"reconciled as one of 256 identical bets ({256 - lost_ - won_} did not run, {lost_} lost, "
                f"{won_} won): which ran cannot be known; the earliest seqs are taken as not run, then lost"}
        else:
            assert {v.note for v in result.verdicts} == {""}


@pytest.mark.parametrize("n", [1, 20, 256])
def test_books_no_assignment_explains_never_balance(n: int) -> None:
    # Flat bets of 1 at 2x: each that ran moved the balance by a whole unit, of the same parity as the count.
    unknown = [(seq, bet("1")) for seq in range(1, n + 1)]
    for lost_, won_ in [(0, 0), (n // 2, n - n // 2), (0, n)]:
        ran, delta = lost_ + won_, Decimal(won_ - lost_)
        assert run(stats(BASE.bets + 10 + ran, str(BASE.balance + 1 + delta)), unknown).balanced
        # One bet more counted than ran (the same profit): no assignment, whatever the count checks allow.
        one_more = run(stats(BASE.bets + 11 + ran, str(BASE.balance + 1 + delta)), unknown)
        assert not one_more.balanced
        assert one_more.verdicts == ()
        assert "more than the" in one_more.detail if ran == n else "no combination" in one_more.detail
        # The balance shifted by other activity (a satoshi, a deposit): never balanced.
        for shift in (Decimal("0.00000001"), Decimal("0.5"), Decimal(1000)):
            shifted = run(stats(BASE.bets + 10 + ran, str(BASE.balance + 1 + delta + shift)), unknown)
            assert not shifted.balanced, (ran, shift)
            assert "no combination" in shifted.detail
            assert "more than the closest assignment" in shifted.detail


def test_the_message_says_what_differs_by_how_much() -> None:
    unknown = [(seq, bet("1")) for seq in range(1, 5)]
    result = run(stats(BASE.bets + 10 + 2, str(BASE.balance + 1 + Decimal("-2.00000003"))), unknown)
    assert not result.balanced
    assert "the books show 0 bets and -0.00000003 more than the closest assignment" in result.detail
    assert "2 bets ran with a profit of -2.00000000" in result.detail
    too_many = run(stats(BASE.bets + 10 + 7, str(BASE.balance + 1 + Decimal(-3))), unknown)
    assert "the books show 3 bets and 1.00000000 more than the closest assignment" in too_many.detail


def test_distinct_assignments_with_the_same_totals_are_chosen_and_said_so() -> None:
    # Stakes 1..5, three lost for -10: {1, 4, 5} or {2, 3, 5}; the same count, wagered, chances, largest
    # bet and loss. Every figure the session keeps is exact either way: the first in seq order is taken.
    unknown = [(seq, bet(str(seq))) for seq in range(1, 6)]
    result = run(stats(BASE.bets + 13, str(BASE.balance + 1 - 10)), unknown)
    assert result.balanced, result.detail
    assert result.explanations == 2
    assert [v.profit for v in result.verdicts] == [None, Decimal(-2), Decimal(-3), None, Decimal(-5)]
    assert "2 distinct assignments explain the books with the same totals" in result.detail
    assert "the first in seq order was chosen" in result.detail
    assert {v.note for v in result.verdicts} == {
        "one of 2 assignments with the same totals that explain the books (the first in seq order)"}


def test_distinct_assignments_with_different_totals_are_not_guessed() -> None:
    # 0.5 + 0.5 lost or 1 lost: different counts, so not that; but won 1 (at 2x) + lost 1, or won 0.5 +
    # lost 0.5 both make 0 with two bets ran: wagered differs. Nothing is guessed.
    unknown = [(1, bet("1")), (2, bet("1")), (3, bet("0.5")), (4, bet("0.5"))]
    result = run(stats(BASE.bets + 12, str(BASE.balance + 1)), unknown)
    assert not result.balanced
    assert result.verdicts == ()
    assert "more than one combination" in result.detail
    assert "the books cannot tell which bets ran" in result.detail


def test_the_payout_the_site_paid_is_used_not_our_rounding() -> None:
    # 77.77 % at 1 % edge: our rounding says 1.2730, the site paid 1.2729 (issue 9).
    chance = Decimal("77.77")
    unknown = [(seq, bet("1.5", "77.77")) for seq in range(1, 4)]
    site_pays = Decimal("1.2729")
    won_ = win_profit(Decimal("1.5"), site_pays)
    site = stats(BASE.bets + 13, str(BASE.balance + 1 + 3 * won_))
    ours = {seq: Decimal("1.2730") for seq, _ in unknown}
    assert not run(site, unknown, ours).balanced  # the old way: stuck
    learned = reconcile(baseline=BASE, site=site, settled_bets=10, settled_profit=Decimal(1), unknown=unknown,
                        paid={(chance, False): site_pays}, rules=GameRules())
    assert learned.balanced, learned.detail
    assert [v.profit for v in learned.verdicts] == [won_] * 3
    assert learned.payouts == ()  # known, not inferred
    # Nothing settled at that chance yet: the site's possible roundings are tried, one for the chance.
    inferred = reconcile(baseline=BASE, site=site, settled_bets=10, settled_profit=Decimal(1), unknown=unknown,
                         rules=GameRules())
    assert inferred.balanced, inferred.detail
    assert inferred.payouts == (((chance, False), site_pays),)
    assert "payouts inferred from the site's possible roundings: 1.2729 at 77.77 %" in inferred.detail


def test_one_payout_per_chance_for_all_its_bets() -> None:
    # Two stakes at 77.77 %: one won at 1.2730's profit, the other at 1.2729's. No single rounding pays
    # both, so no assignment explains it (mixing candidates within a chance would).
    a, b = Decimal("1.5"), Decimal("2.5")
    unknown = [(1, bet("1.5", "77.77")), (2, bet("2.5", "77.77"))]
    delta = win_profit(a, Decimal("1.2730")) + win_profit(b, Decimal("1.2729"))
    assert win_profit(a, Decimal("1.2730")) != win_profit(a, Decimal("1.2729"))
    result = reconcile(baseline=BASE, site=stats(BASE.bets + 12, str(BASE.balance + 1 + delta)), settled_bets=10,
                       settled_profit=Decimal(1), unknown=unknown, rules=GameRules())
    assert not result.balanced
    assert "no combination" in result.detail


def test_a_reconciled_bet_with_zero_profit_counts_as_a_win() -> None:
    # One satoshi at 98 % (pays 1.0102): a win's profit rounds down to zero.
    unknown = [(1, bet("0.00000001", "98"))]
    payout = payout_candidates(Decimal(98), Decimal(1))[0]
    assert win_profit(Decimal("0.00000001"), payout) == 0
    result = run(stats(BASE.bets + 11, str(BASE.balance + 1)), unknown, {1: payout})
    assert result.balanced, result.detail
    (verdict,) = result.verdicts
    assert verdict.ran
    assert verdict.won
    assert verdict.profit == 0
    assert "bet 1 won 0.00000000" in result.detail
    assert not Verdict(seq=2, profit=Decimal("-0.00000001")).won
    assert not Verdict(seq=3, profit=None).won


def test_payout_candidates() -> None:
    assert payout_candidates(Decimal("77.77"), Decimal(1)) == (Decimal("1.2730"), Decimal("1.2729"))
    assert payout_candidates(Decimal("49.5"), Decimal(1)) == (Decimal("2.0000"),)


def brute_force_candidates(unknown: list[tuple[int, BetRequest]], ran: int,
                           delta: Decimal) -> set[tuple[tuple[str, str, Decimal | None], ...]]:
    """Every assignment that explains the books with one candidate payout per chance (the oracle)."""
    chances = sorted({b.chance for _, b in unknown})
    options = [payout_candidates(chance, Decimal(1)) for chance in chances]
    found = set()
    for chosen in itertools.product(*options):
        pay = dict(zip(chances, chosen, strict=True))
        for fates in itertools.product(("none", "lost", "won"), repeat=len(unknown)):
            profits = [None if f == "none" else -b.amount if f == "lost" else win_profit(b.amount, pay[b.chance])
                       for (_seq, b), f in zip(unknown, fates, strict=True)]
            if sum(p is not None for p in profits) == ran and sum(p for p in profits if p is not None) == delta:
                found.add(tuple(sorted(((str(b.amount), str(b.chance), p)
                                        for (_seq, b), p in zip(unknown, profits, strict=True)), key=str)))
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_inferred_payouts_sound_and_complete_against_every_assignment(data: st.DataObject) -> None:
    # No payout known: one of each chance's candidates (77.77 %: 1.2730 or 1.2729; 33.33 %: 2.9703 or
    # 2.9702) for all its bets. Checked against every assignment under every consistent choice.
    n = data.draw(st.integers(1, 6))
    stakes = data.draw(st.lists(st.sampled_from(["0.1", "1.5", "2.5", "7"]), min_size=n, max_size=n))
    chances = data.draw(st.lists(st.sampled_from(["77.77", "33.33", "49.5"]), min_size=n, max_size=n))
    unknown = [(seq, bet(stake, chance)) for seq, (stake, chance) in enumerate(zip(stakes, chances, strict=True), 1)]
    fates = data.draw(st.lists(st.sampled_from(["none", "lost", "won"]), min_size=n, max_size=n))
    pay = {b.chance: payout_candidates(b.chance, Decimal(1))[data.draw(st.integers(0, 1)) % len(
        payout_candidates(b.chance, Decimal(1)))] for _, b in unknown}
    site, _ = books_for(unknown, fates, pay)
    ran, delta = site.bets - BASE.bets - 10, site.balance - BASE.balance - 1
    result = reconcile(baseline=BASE, site=site, settled_bets=10, settled_profit=Decimal(1), unknown=unknown,
                       rules=GameRules())
    explanations = brute_force_candidates(unknown, ran, delta)
    assert explanations  # the truth is one
    if len(explanations) == 1:
        assert result.balanced, result.detail
        (only,) = explanations
        got = tuple(sorted(((str(b.amount), str(b.chance), v.profit)
                            for (_seq, b), v in zip(unknown, result.verdicts, strict=True)), key=str))
        assert got == only
    elif result.balanced:
        assert result.explanations == len(explanations)
        check_exact(result, unknown, site)
    else:
        assert "more than one combination" in result.detail
