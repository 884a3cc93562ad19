"""The session keeps its books in integer satoshis; these tests hold them to the same books kept in Decimal.

`DecimalBooks` below is the rule set written with Decimal arithmetic, as the design states it (the gate:
profit - exposure - stake >= -stop_loss, exposure within the balance, balance - exposure - stake >= min_balance,
stake <= max_bet; the limits after each result; the statistics). Random bet sequences (admissions, wins,
losses, refusals, unknown outcomes and their reconciliation, in any order) drive both; after every step the
verdicts, the stop reasons and every amount the session shows must agree, digits and exponent alike. Limits
get up to 10 decimal places, so a limit between two satoshis is compared exactly too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.core.models import BetRequest, RefusalKind, Refused, StopKind, StopReason, Unknown
from betbot.core.session import HELD, Limits, Session
from tests.helpers import CURRENCY, dice, settled

ZERO = Decimal("0E-8")


@dataclass
class DecimalBooks:
    """The session's books and gate in Decimal, the reference the satoshi books must equal."""

    start: Decimal
    limits: Limits
    in_flight: dict[int, Decimal] = field(default_factory=dict)
    unresolved: dict[int, Decimal] = field(default_factory=dict)
    profit: Decimal = ZERO
    wagered: Decimal = ZERO
    largest_bet: Decimal = ZERO
    largest_win: Decimal = ZERO
    largest_loss: Decimal = ZERO
    peak: Decimal = ZERO
    drawdown: Decimal = ZERO
    streak: int = 0
    stopped: StopKind | None = None
    next_seq: int = 1

    @property
    def exposure(self) -> Decimal:
        return sum(self.in_flight.values(), ZERO) + sum(self.unresolved.values(), ZERO)

    @property
    def balance(self) -> Decimal:
        return self.start + self.profit

    def admit(self, amount: Decimal) -> int | object:
        if self.stopped is not None:
            return self.stopped
        limits = self.limits
        if limits.max_bet is not None and amount > limits.max_bet:
            return self._stop(StopKind.MAX_BET)
        exposure = self.exposure + amount
        if limits.stop_loss is not None and self.profit - exposure < -limits.stop_loss:
            return self._held_or_stop(StopKind.STOP_LOSS)
        if exposure > self.balance:
            return self._held_or_stop(StopKind.INSUFFICIENT_BALANCE)
        if limits.min_balance is not None and self.balance - exposure < limits.min_balance:
            return self._held_or_stop(StopKind.MIN_BALANCE)
        seq = self.next_seq
        self.next_seq += 1
        self.in_flight[seq] = amount
        return seq

    def _held_or_stop(self, kind: StopKind) -> object:
        return HELD if self.in_flight else self._stop(kind)

    def _stop(self, kind: StopKind) -> StopKind:
        if self.stopped is None:
            self.stopped = kind
        return self.stopped

    def count(self, stake: Decimal, *, win: bool, profit: Decimal) -> None:
        self.wagered += stake
        self.profit += profit
        self.largest_bet = max(self.largest_bet, stake)
        if win:
            self.streak = self.streak + 1 if self.streak > 0 else 1
            self.largest_win = max(self.largest_win, profit)
            self.peak = max(self.peak, self.profit)
        else:
            self.streak = self.streak - 1 if self.streak < 0 else -1
            self.largest_loss = max(self.largest_loss, stake)
            self.drawdown = max(self.drawdown, self.peak - self.profit)

    def check_limits(self) -> StopKind | None:
        if self.stopped is not None:
            return self.stopped
        limits = self.limits
        if limits.take_profit is not None and self.profit >= limits.take_profit:
            return self._stop(StopKind.TAKE_PROFIT)
        if limits.stop_loss is not None and self.profit <= -limits.stop_loss:
            return self._stop(StopKind.STOP_LOSS)
        if limits.trailing_stop is not None and self.peak - self.profit >= limits.trailing_stop:
            return self._stop(StopKind.TRAILING_STOP)
        if limits.min_balance is not None and self.balance <= limits.min_balance:
            return self._stop(StopKind.MIN_BALANCE)
        return None


def amounts(places: int, top: int) -> st.SearchStrategy[Decimal]:
    """Amounts of up to `places` decimal places below `top`, as Decimals of exactly that many places."""
    unit = Decimal(1).scaleb(-places)
    return st.integers(0, top * 10**places).map(lambda n: n * unit)


def limits() -> st.SearchStrategy[Limits]:
    limit = st.none() | amounts(10, 3)
    return st.builds(Limits, stop_loss=limit, take_profit=limit, max_bet=limit, min_balance=limit,
                     trailing_stop=limit)


# What happens next: admit request i of the pool; settle the k-th bet in flight as a win or a loss; refuse it;
# lose track of it; reconcile the k-th unknown bet as not run or with a profit.
steps = st.lists(st.one_of(
    st.tuples(st.just("admit"), st.integers(0, 7)),
    st.tuples(st.sampled_from(["win", "loss", "zero-win", "refuse", "unknown"]), st.integers(0, 7)),
    st.tuples(st.just("reconcile"), st.integers(0, 7), st.none() | st.integers(-1, 1)),
), max_size=60)


def _assert_same_books(session: Session, books: DecimalBooks) -> None:
    snapshot = session.snapshot()
    expected = {
        "balance": books.balance, "profit": books.profit, "wagered": books.wagered, "exposure": books.exposure,
        "largest_bet": books.largest_bet, "largest_win": books.largest_win, "largest_loss": books.largest_loss,
        "peak_profit": books.peak, "max_drawdown": books.drawdown,
    }
    for name, value in expected.items():
        shown = getattr(snapshot, name)
        # The same Decimal: value, digits and exponent (the amounts are quantised to 8 places).
        assert shown.as_tuple() == value.as_tuple(), (name, shown, value)
    for name in ("balance", "profit", "wagered", "exposure"):
        assert getattr(session, name).as_tuple() == expected[name].as_tuple(), name
    assert snapshot.streak == books.streak
    assert session.in_flight == len(books.in_flight)


@settings(max_examples=300, deadline=None)
@given(start=amounts(8, 5), limits=limits(), stakes=st.lists(amounts(8, 2), min_size=8, max_size=8), steps=steps)
def test_satoshi_books_equal_decimal_books(start: Decimal, limits: Limits, stakes: list[Decimal],
                                           steps: list[tuple[Any, ...]]) -> None:
    session = Session(currency=CURRENCY, starting_balance=start, limits=limits, started_at=0.0)
    books = DecimalBooks(start=start, limits=limits)
    # A pool of request objects (a strategy reuses them), the odd one new at each admission.
    pool = [dice(stake) for stake in stakes]
    sent: dict[int, BetRequest] = {}
    for step in steps:
        action, k = step[0], step[1]
        if action == "admit":
            bet = pool[k] if k < 6 else dice(pool[k].amount)
            verdict = session.admit(bet, 0.0)
            want = books.admit(bet.amount)
            if isinstance(want, int):
                assert verdict == want
                sent[want] = bet
            elif want is HELD:
                assert verdict is HELD
            else:
                assert isinstance(verdict, StopReason)
                assert verdict.kind is want
        elif action == "reconcile":
            if not books.unresolved:
                continue
            seq = sorted(books.unresolved)[k % len(books.unresolved)]
            stake = books.unresolved.pop(seq)
            sign = step[2]
            profit = None if sign is None else (stake * sign if sign <= 0 else stake * Decimal("0.98"))
            session.resolve_unknown(seq, sent[seq], None if profit is None else profit.quantize(Decimal("1E-8")))
            if profit is not None:
                books.count(stake, win=profit >= 0, profit=profit.quantize(Decimal("1E-8")))
            assert session.check_limits(0.0) is None or books.check_limits() is not None
        else:
            if not books.in_flight:
                continue
            seq = sorted(books.in_flight)[k % len(books.in_flight)]
            stake = books.in_flight.pop(seq)
            bet = sent[seq]
            if action in ("win", "loss", "zero-win"):
                profit = ZERO if action == "zero-win" else None
                outcome = settled(seq, bet, win=action != "loss", profit=profit)
                session.apply(outcome)
                books.count(stake, win=outcome.win, profit=outcome.profit)
            elif action == "refuse":
                session.apply(Refused(seq=seq, bet=bet, kind=RefusalKind.RATE_LIMIT, message="slow down"))
                books._stop(StopKind.REFUSED)
            else:
                session.apply(Unknown(seq=seq, bet=bet, message="no reply"))
                books.unresolved[seq] = stake
                books._stop(StopKind.UNKNOWN_OUTCOME)
            reason = session.check_limits(0.0)
            want_stop = books.check_limits()
            assert (reason is None) == (want_stop is None)
            if reason is not None:
                assert reason.kind is want_stop
        _assert_same_books(session, books)


@given(limit=amounts(10, 2), offset=st.integers(-3, 3))
def test_a_limit_between_two_satoshis_compares_as_the_decimal_does(limit: Decimal, offset: int) -> None:
    """take_profit with 10 places: reached exactly when the Decimal profit reaches it, a satoshi either side."""
    stake = (limit.quantize(Decimal("1E-8")) + offset * Decimal("1E-8")).max(Decimal("1E-8"))
    session = Session(currency=CURRENCY, starting_balance=Decimal(10), limits=Limits(take_profit=limit),
                      started_at=0.0)
    bet = dice(stake)
    seq = session.admit(bet, 0.0)
    assert isinstance(seq, int)
    session.apply(settled(seq, bet, win=True, profit=stake))
    reason = session.check_limits(0.0)
    assert (reason is not None and reason.kind is StopKind.TAKE_PROFIT) == (stake >= limit)


def test_a_profit_of_more_than_8_places_stops_the_session_as_a_backend_error() -> None:
    session = Session(currency=CURRENCY, starting_balance=Decimal(10), limits=Limits(), started_at=0.0)
    bet = dice("1")
    seq = session.admit(bet, 0.0)
    assert isinstance(seq, int)
    session.apply(settled(seq, bet, win=True, profit=Decimal("0.123456789")))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR
    assert session.profit == 0
    assert session.exposure == 0


def test_a_starting_balance_of_more_than_8_places_is_refused() -> None:
    with pytest.raises(ValueError, match="8 decimal places"):
        Session(currency=CURRENCY, starting_balance=Decimal("1.000000001"), limits=Limits(), started_at=0.0)


def _near(limit: Decimal, offset: int) -> Decimal:
    """A whole number of satoshis within a few of `limit` (at least one satoshi)."""
    return (limit.quantize(Decimal("1E-8")) + offset * Decimal("1E-8")).max(Decimal("1E-8"))


@given(limit=amounts(10, 2), offset=st.integers(-3, 3))
def test_the_gate_compares_a_stake_with_limits_between_two_satoshis_as_the_decimal_does(
        limit: Decimal, offset: int) -> None:
    """Nothing in flight, profit 0: the stake is admitted exactly when the Decimal rule admits it, for the
    stop-loss (stake <= stop_loss), max_bet (stake <= max_bet) and min_balance (10 - stake >= min_balance)."""
    stake = _near(limit, offset)
    ten = Decimal(10)
    cases = [
        (Limits(stop_loss=limit), stake <= limit, StopKind.STOP_LOSS),
        (Limits(max_bet=limit), stake <= limit, StopKind.MAX_BET),
        (Limits(min_balance=ten - limit), ten - stake >= ten - limit, StopKind.MIN_BALANCE),
    ]
    for limits, admitted, kind in cases:
        session = Session(currency=CURRENCY, starting_balance=ten, limits=limits, started_at=0.0)
        verdict = session.admit(dice(stake), 0.0)
        if admitted:
            assert verdict == 1, (limits, stake)
        else:
            assert isinstance(verdict, StopReason), (limits, stake)
            assert verdict.kind is kind


@given(limit=amounts(10, 2), offset=st.integers(-3, 3))
def test_limits_after_a_loss_compare_with_limits_between_two_satoshis_as_the_decimal_does(
        limit: Decimal, offset: int) -> None:
    """After a loss of `stake` from a balance of 10: stop_loss holds iff stake >= stop_loss, min_balance iff
    10 - stake <= min_balance; after a win of `stake` then that loss, trailing_stop iff stake >= trailing_stop
    (where the gate lets the stake through at all)."""
    stake = _near(limit, offset)
    ten = Decimal(10)
    cases = [
        (Limits(stop_loss=limit), stake >= limit, StopKind.STOP_LOSS, False),
        (Limits(min_balance=ten - limit), ten - stake <= ten - limit, StopKind.MIN_BALANCE, False),
        (Limits(trailing_stop=limit), stake >= limit, StopKind.TRAILING_STOP, True),
    ]
    for limits, holds, kind, win_first in cases:
        session = Session(currency=CURRENCY, starting_balance=ten, limits=limits, started_at=0.0)
        bet = dice(stake)
        for win in (True, False) if win_first else (False,):
            seq = session.admit(bet, 0.0)
            if not isinstance(seq, int):  # the gate keeps the session off the limit: the test above holds that
                break
            session.apply(settled(seq, bet, win=win, profit=stake if win else None))
            if session.check_limits(0.0) is not None and win:  # a trailing stop of 0 holds at the peak
                break
        else:
            reason = session.stop_reason
            assert (reason is not None and reason.kind is kind) == holds, (limits, stake)
