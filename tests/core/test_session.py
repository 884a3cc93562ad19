"""The sans-IO session: the risk gate and exposure, limits, statistics and the books' integrity checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.core.fairness import GameRules, range_chance
from betbot.core.models import BetRequest, RefusalKind, Refused, StopKind, StopReason, Unknown
from betbot.core.session import HELD, Limits, Session
from tests.helpers import CURRENCY, D, dice, make_session, settled


def admit_ok(session: Session, bet: BetRequest, now: float = 0.0) -> int:
    verdict = session.admit(bet, now)
    assert isinstance(verdict, int), verdict
    return verdict


def assert_stopped(verdict: object, kind: StopKind) -> StopReason:
    assert isinstance(verdict, StopReason), verdict
    assert verdict.kind is kind, verdict
    assert verdict.detail
    return verdict


# -- the gate: stop-loss and exposure -------------------------------------------------------------------
def test_stop_loss_gate_holds_with_bets_in_flight_and_stops_without() -> None:
    session = make_session(limits=Limits(stop_loss=D(1)))
    bet = dice("0.6")
    s1 = admit_ok(session, bet)
    assert session.exposure == D("0.6")
    assert session.admit(bet, 0) is HELD  # 0.6 + 0.6 in the worst case crosses -1
    assert not session.stopped
    assert session.submitted == 1
    assert session.in_flight == 1
    session.apply(settled(s1, bet, win=False))
    assert session.profit == D("-0.6")
    assert session.exposure == 0
    verdict = session.admit(bet, 0)  # nothing in flight can free room: a stop with a reason
    reason = assert_stopped(verdict, StopKind.STOP_LOSS)
    assert "0.6" in reason.detail
    assert "1" in reason.detail
    assert session.stop_reason == reason
    assert session.submitted == 1


def test_stop_loss_gate_admits_exactly_to_the_limit() -> None:
    session = make_session(limits=Limits(stop_loss=D(1)))
    admit_ok(session, dice("0.6"))
    admit_ok(session, dice("0.4"))  # profit 0 - 0.6 - 0.4 == -1: allowed
    assert session.exposure == D(1)
    assert session.admit(dice("0.00000001"), 0) is HELD


def test_stop_loss_gate_counts_settled_profit() -> None:
    session = make_session(limits=Limits(stop_loss=D(1)))
    bet = dice("1")
    s1 = admit_ok(session, bet)
    session.apply(settled(s1, bet, win=True))  # +1 at 49.5 % (payout 2)
    assert session.profit == D(1)
    admit_ok(session, dice("1"))
    admit_ok(session, dice("1"))  # 1 - 2 == -1
    assert session.admit(dice("0.01"), 0) is HELD


def test_exposure_never_exceeds_the_balance() -> None:
    session = make_session(balance="1")
    s1 = admit_ok(session, dice("0.6"))
    assert session.admit(dice("0.5"), 0) is HELD
    s2 = admit_ok(session, dice("0.4"))
    assert session.exposure == session.balance == D(1)
    assert session.admit(dice("0.00000001"), 0) is HELD
    session.apply(settled(s1, dice("0.6"), win=False))
    session.apply(settled(s2, dice("0.4"), win=False))
    assert session.balance == 0
    assert session.exposure == 0
    assert_stopped(session.admit(dice("0.00000001"), 0), StopKind.INSUFFICIENT_BALANCE)


def test_max_bet() -> None:
    session = make_session(limits=Limits(max_bet=D(2)))
    admit_ok(session, dice("2"))
    reason = assert_stopped(session.admit(dice("2.00000001"), 0), StopKind.MAX_BET)
    assert "2.00000001" in reason.detail


def test_min_balance_gate() -> None:
    session = make_session(balance="10", limits=Limits(min_balance=D(9)))
    admit_ok(session, dice("1"))  # 10 - 1 == 9
    assert session.admit(dice("0.01"), 0) is HELD
    session2 = make_session(balance="10", limits=Limits(min_balance=D(9)))
    assert_stopped(session2.admit(dice("1.00000001"), 0), StopKind.MIN_BALANCE)


def test_max_bets_counts_admitted_bets_exactly() -> None:
    session = make_session(limits=Limits(max_bets=3))
    bet = dice("0.01")
    seqs = [admit_ok(session, bet) for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert session.submitted == 3
    assert not session.open_for_bets(0)
    assert_stopped(session.admit(bet, 0), StopKind.MAX_BETS)
    assert session.submitted == 3
    assert session.next_seq == 4


def test_first_seq() -> None:
    session = Session(currency=CURRENCY, starting_balance=D(10), limits=Limits(), started_at=0, first_seq=41)
    assert session.next_seq == 41
    assert admit_ok(session, dice("0.01")) == 41
    assert admit_ok(session, dice("0.01")) == 42


def test_deadline_via_now() -> None:
    session = make_session(started_at=100.0, limits=Limits(max_duration=10))
    assert session.open_for_bets(109.99)
    admit_ok(session, dice("0.01"), 109.99)
    assert_stopped(session.admit(dice("0.01"), 110.0), StopKind.MAX_DURATION)
    assert not session.open_for_bets(105.0)  # a stop stands


def test_open_for_bets_deadline() -> None:
    session = make_session(started_at=5.0, limits=Limits(max_duration=1.5))
    assert session.open_for_bets(6.49)
    assert not session.open_for_bets(6.5)
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_DURATION


@pytest.mark.parametrize(
    "bet",
    [
        dice("1", "0"),
        dice("1", "98.01"),
        dice("1", "99"),
        dice("1", "0.001"),
        dice("1", "49.555"),
        dice("1", "-5"),
        dice("-1"),
        dice("0.000000001"),
        dice("1", currency="BTC"),
        BetRequest(amount=D(1), chance=D(1), currency=CURRENCY, range=(5, 3)),
        BetRequest(amount=D(1), chance=D(1), currency=CURRENCY, range=(-1, 3)),
        BetRequest(amount=D(1), chance=D(1), currency=CURRENCY, range=(0, 10000)),
    ],
    ids=["chance-0", "chance-98.01", "chance-99", "chance-3-places", "chance-49.555", "chance-negative",
         "stake-negative", "stake-9-places", "wrong-currency", "range-reversed",
         "range-below-0", "range-above-9999"],
)
def test_invalid_bets_stop(bet: BetRequest) -> None:
    session = make_session()
    assert_stopped(session.admit(bet, 0), StopKind.INVALID_BET)
    assert session.submitted == 0
    assert session.exposure == 0


def test_a_stake_of_zero_is_a_watch_bet_with_nothing_exposed() -> None:
    session = make_session()
    assert session.admit(dice("0"), 0) == 1
    assert session.submitted == 1
    assert session.exposure == 0


@pytest.mark.parametrize(
    "bet",
    [
        dice("1", "0.01"),
        dice("1", "98"),
        dice("0.00000001", "49.5", high=False),
        BetRequest(amount=D(1), chance=range_chance(0, 2222, True), currency=CURRENCY, range=(0, 2222)),
        BetRequest(amount=D(1), chance=range_chance(9999, 9999, True), currency=CURRENCY, range=(9999, 9999)),
    ],
)
def test_valid_edge_bets_are_admitted(bet: BetRequest) -> None:
    assert admit_ok(make_session(), bet) == 1


def test_chance_limits_come_from_the_rules() -> None:
    rules = GameRules(min_chance=D(1), max_chance=D(99))
    session = make_session(rules=rules)
    admit_ok(session, dice("1", "99"))
    assert_stopped(session.admit(dice("1", "0.99"), 0), StopKind.INVALID_BET)


# Found by this suite (range bets skipped the chance checks); fixed in 344545b.
@pytest.mark.parametrize(
    "bet",
    [
        # the whole 0..9999 inside: a 100 % chance, above max_chance 98
        BetRequest(amount=D(1), chance=range_chance(0, 9999, True), currency=CURRENCY, range=(0, 9999)),
        # the whole range outside: 0 %, below min_chance
        BetRequest(amount=D(1), chance=range_chance(0, 9999, False), currency=CURRENCY, range=(0, 9999),
                   range_in=False),
        # a 99 % range that claims 0.01 % (the simulator would pay 9900x on it)
        BetRequest(amount=D(1), chance=D("0.01"), currency=CURRENCY, range=(0, 9899)),
        # a window one past the last roll, with the chance its width implies (so only the bound can refuse it)
        BetRequest(amount=D(1), chance=range_chance(5000, 10000, True), currency=CURRENCY, range=(5000, 10000)),
    ],
    ids=["range-100pct", "range-0pct", "range-chance-mismatch", "range-ends-at-10000"],
)
def test_invalid_range_bets_stop(bet: BetRequest) -> None:
    session = make_session()
    assert_stopped(session.admit(bet, 0), StopKind.INVALID_BET)


def test_first_stop_reason_stands() -> None:
    session = make_session()
    first = session.stop(StopKind.SIGNAL, "SIGINT")
    second = session.stop(StopKind.STOP_LOSS, "later")
    assert second is first
    assert session.stop_reason is first
    assert str(first) == "signal: SIGINT"


# -- the gate as a property -------------------------------------------------------------------------------------
amounts = st.integers(min_value=1, max_value=400).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=300, deadline=None)
@given(
    stop_loss=amounts,
    balance=st.integers(min_value=1, max_value=2000).map(lambda cents: Decimal(cents) / 100),
    data=st.data(),
)
def test_gate_never_lets_the_worst_case_cross_the_stop_loss(stop_loss: Decimal, balance: Decimal,
                                                           data: st.DataObject) -> None:
    session = make_session(balance=balance, limits=Limits(stop_loss=stop_loss))
    in_flight: dict[int, BetRequest] = {}
    for _ in range(data.draw(st.integers(min_value=1, max_value=60), label="steps")):
        settle = bool(in_flight) and data.draw(st.booleans(), label="settle?")
        if settle:
            seq = min(in_flight)  # outcomes are applied in seq order
            bet = in_flight.pop(seq)
            outcome = data.draw(st.sampled_from(["win", "loss"]), label="outcome")
            session.apply(settled(seq, bet, win=outcome == "win"))
            assert session.exposure == sum((b.amount for b in in_flight.values()), Decimal(0))
        else:
            chance = data.draw(st.sampled_from(["0.01", "10", "49.5", "98"]), label="chance")
            bet = dice(data.draw(amounts, label="stake"), chance)
            profit, exposure, bal, n = session.profit, session.exposure, session.balance, session.in_flight
            worst_ok = profit - exposure - bet.amount >= -stop_loss
            fits = exposure + bet.amount <= bal
            verdict = session.admit(bet, 0)
            if isinstance(verdict, int):
                assert worst_ok
                assert fits
                in_flight[verdict] = bet
                assert session.exposure == exposure + bet.amount
            elif verdict is HELD:
                assert n > 0
                assert not (worst_ok and fits)
                assert session.exposure == exposure
            else:
                assert isinstance(verdict, StopReason)
                assert n == 0
                assert not (worst_ok and fits)
                assert verdict.kind in {StopKind.STOP_LOSS, StopKind.INSUFFICIENT_BALANCE}
                break
        # invariants at every step
        assert session.profit - session.exposure >= -stop_loss
        assert session.exposure <= session.balance
        assert session.profit >= -stop_loss
        assert session.in_flight == len(in_flight)


# -- limits on the ordered history -----------------------------------------------------------------------------------
def play(session: Session, wins: str, amount: str = "1", chance: str = "49.5") -> None:
    """Admit and settle one bet per character of `wins` ('W' or 'L'), checking limits after each."""
    for char in wins:
        bet = dice(amount, chance)
        seq = admit_ok(session, bet)
        session.apply(settled(seq, bet, win=char == "W"))
        session.check_limits(0)


def test_take_profit() -> None:
    session = make_session(limits=Limits(take_profit=D(2)))
    play(session, "W")
    assert session.check_limits(0) is None
    play(session, "W")  # profit 2 == take_profit
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.TAKE_PROFIT
    assert session.done


def test_stop_loss_reached() -> None:
    session = make_session(limits=Limits(stop_loss=D(2)))
    play(session, "L")
    assert not session.stopped
    play(session, "L")  # -2 == -stop_loss: reached
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STOP_LOSS
    assert "2" in session.stop_reason.detail


def test_max_losses_streak() -> None:
    session = make_session(limits=Limits(max_losses=3))
    play(session, "LLWLL")
    assert not session.stopped
    play(session, "L")
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_LOSSES
    assert session.streak == -3


def test_max_wins_streak() -> None:
    session = make_session(limits=Limits(max_wins=2))
    play(session, "WLW")
    assert not session.stopped
    play(session, "W")
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_WINS


def test_trailing_stop() -> None:
    session = make_session(limits=Limits(trailing_stop=D("2.5")))
    play(session, "WWW")  # peak 3
    play(session, "LL")  # 1: 2 below the peak
    assert not session.stopped
    play(session, "L", amount="0.5")  # 0.5: 2.5 below the peak
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.TRAILING_STOP


def test_min_balance_reached_on_the_history() -> None:
    session = make_session(balance="10", limits=Limits(min_balance=D(8)))
    play(session, "L")
    assert not session.stopped
    play(session, "L")
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MIN_BALANCE


def test_check_limits_checks_max_bets_and_deadline_too() -> None:
    session = make_session(limits=Limits(max_bets=1))
    play(session, "W")
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    timed = make_session(limits=Limits(max_duration=5))
    assert timed.check_limits(4.9) is None
    reason = timed.check_limits(5.0)
    assert reason is not None
    assert reason.kind is StopKind.MAX_DURATION


def test_no_limits_never_stop() -> None:
    session = make_session(balance="1000")
    play(session, "LLLLLLLLLLWWWWWWWWWW")
    assert not session.stopped


# -- statistics ----------------------------------------------------------------------------------------------
def test_statistics() -> None:
    session = make_session(balance="100")
    # (stake, win) at 49.5 % (payout 2: a win's profit is the stake)
    script = [("1", True), ("2", False), ("3", False), ("0.5", True), ("4", True), ("1", True), ("5", False)]
    for amount, win in script:
        bet = dice(amount)
        session.apply(settled(admit_ok(session, bet), bet, win=win))
    # profits: +1 -2 -3 +0.5 +4 +1 -5 -> running 1, -1, -4, -3.5, 0.5, 1.5, -3.5
    snap = session.snapshot()
    assert snap.bets == session.bets == 7
    assert snap.wins == 4
    assert snap.losses == 3
    assert snap.profit == D("-3.5")
    assert snap.balance == D("96.5")
    assert snap.starting_balance == D(100)
    assert snap.wagered == D("16.5")
    assert snap.streak == -1
    assert snap.longest_win_streak == 3
    assert snap.longest_loss_streak == 2
    assert snap.largest_bet == D(5)
    assert snap.largest_win == D(4)
    assert snap.largest_loss == D(5)
    assert snap.peak_profit == D("1.5")
    assert snap.max_drawdown == D(5)  # from the peak 1.5 down to -3.5
    assert snap.luck == pytest.approx(4 / (7 * 0.495) * 100)
    assert snap.submitted == 7
    assert snap.in_flight == 0
    assert snap.exposure == 0
    assert snap.unresolved == 0
    assert snap.stop_reason is None
    assert snap.currency == CURRENCY


def test_drawdown_counts_from_a_zero_peak() -> None:
    session = make_session()
    play(session, "LL")
    assert session.snapshot().max_drawdown == D(2)
    assert session.snapshot().peak_profit == 0


def test_luck_before_any_bet_is_none() -> None:
    assert make_session().snapshot().luck is None


def test_streak_sign() -> None:
    session = make_session()
    assert session.streak == 0
    play(session, "WW")
    assert session.streak == 2
    play(session, "L")
    assert session.streak == -1
    play(session, "W")
    assert session.streak == 1


# -- the books' integrity --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "profit_for",
    [
        lambda bet: -bet.amount / 2,  # a loss that does not cost the stake
        lambda bet: D(0) - bet.amount - D("0.00000001"),  # a loss costing more than the stake
    ],
    ids=["loss-half", "loss-more"],
)
def test_a_loss_that_does_not_add_up_is_a_backend_error(profit_for) -> None:
    session = make_session()
    bet = dice("1")
    seq = admit_ok(session, bet)
    session.apply(settled(seq, bet, win=False, profit=profit_for(bet)))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR
    assert session.exposure == 0


def test_a_win_with_negative_profit_is_a_backend_error() -> None:
    session = make_session()
    bet = dice("1")
    session.apply(settled(admit_ok(session, bet), bet, win=True, profit=D("-0.5")))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR


def test_a_loss_reported_as_a_win_is_a_backend_error() -> None:
    session = make_session()
    bet = dice("1")
    session.apply(settled(admit_ok(session, bet), bet, win=False, profit=D(1)))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR


def test_a_different_stake_is_a_backend_error() -> None:
    session = make_session()
    seq = admit_ok(session, dice("1"))
    session.apply(settled(seq, dice("2"), win=False))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR


def test_a_win_of_zero_profit_is_fine() -> None:
    session = make_session()
    bet = dice("0.00000001", "98")
    session.apply(settled(admit_ok(session, bet), bet, win=True))
    assert session.profit == 0
    assert session.wins == 1
    assert not session.stopped


def test_outcome_for_an_unknown_seq_is_a_backend_error() -> None:
    session = make_session()
    bet = dice("1")
    seq = admit_ok(session, bet)
    session.apply(settled(seq + 1, bet, win=True))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR
    assert session.bets == 0
    assert session.profit == 0
    assert session.in_flight == 1
    assert session.exposure == 1


def test_an_outcome_applied_twice_is_a_backend_error() -> None:
    session = make_session()
    bet = dice("1")
    seq = admit_ok(session, bet)
    session.apply(settled(seq, bet, win=True))
    session.apply(settled(seq, bet, win=True))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.BACKEND_ERROR
    assert session.bets == 1
    assert session.profit == 1


# -- unknown outcomes and reconciliation ---------------------------------------------------------------------
def test_unknown_keeps_the_stake_as_exposure_and_stops() -> None:
    session = make_session(limits=Limits(max_bets=10))
    bet = dice("2")
    s1 = admit_ok(session, bet)
    s2 = admit_ok(session, dice("1"))
    session.apply(Unknown(seq=s1, bet=bet, message="read timeout"))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.UNKNOWN_OUTCOME
    assert "read timeout" in session.stop_reason.detail
    assert session.exposure == D(3)
    assert session.in_flight == 1
    assert session.unresolved_seqs == [s1]
    assert not session.done  # bet 2 is still out
    session.apply(settled(s2, dice("1"), win=True))
    assert session.done
    assert session.exposure == D(2)  # the unknown stake still counts
    assert session.bets == 1
    assert session.submitted == 2
    assert session.snapshot().unresolved == 1


def test_resolve_unknown_not_run_and_resume() -> None:
    session = make_session(limits=Limits(max_bets=2))
    bet = dice("2")
    seq = admit_ok(session, bet)
    session.apply(Unknown(seq=seq, bet=bet, message="lost"))
    assert not session.resume_after_reconciliation()  # still unresolved
    session.resolve_unknown(seq, bet, None)
    assert session.exposure == 0
    assert session.unresolved_seqs == []
    assert session.submitted == 0  # it did not run: it does not count against max_bets
    assert session.bets == 0
    assert session.profit == 0
    assert session.resume_after_reconciliation()
    assert session.stop_reason is None
    assert admit_ok(session, bet) == seq + 1  # a fresh seq: never reuse one
    assert admit_ok(session, bet) == seq + 2  # max_bets 2 still allows two


@pytest.mark.parametrize(("profit", "win"), [(D(-2), False), (D(2), True)])
def test_resolve_unknown_that_ran(profit: Decimal, win: bool) -> None:
    session = make_session()
    bet = dice("2")
    seq = admit_ok(session, bet)
    session.apply(Unknown(seq=seq, bet=bet, message="lost"))
    session.resolve_unknown(seq, bet, profit)
    assert session.exposure == 0
    assert session.bets == 1
    assert session.wins == int(win)
    assert session.profit == profit
    assert session.wagered == D(2)
    assert session.submitted == 1
    assert session.resume_after_reconciliation()


def test_resume_only_lifts_an_unknown_outcome_stop() -> None:
    session = make_session()
    bet = dice("1")
    seq = admit_ok(session, bet)
    session.stop(StopKind.SIGNAL, "SIGINT")
    session.apply(Unknown(seq=seq, bet=bet, message="cancelled"))
    session.resolve_unknown(seq, bet, None)
    assert not session.resume_after_reconciliation()
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.SIGNAL
    assert not make_session().resume_after_reconciliation()  # not stopped at all


def test_resume_waits_for_every_unknown() -> None:
    session = make_session()
    bet = dice("1")
    s1, s2 = admit_ok(session, bet), admit_ok(session, bet)
    session.apply(Unknown(seq=s1, bet=bet, message="x"))
    session.apply(Unknown(seq=s2, bet=bet, message="y"))
    session.resolve_unknown(s1, bet, None)
    assert not session.resume_after_reconciliation()
    session.resolve_unknown(s2, bet, D(-1))
    assert session.resume_after_reconciliation()
    assert session.exposure == 0
    assert session.profit == D(-1)


# -- refusals ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "stop"),
    [
        (RefusalKind.BALANCE, StopKind.INSUFFICIENT_BALANCE),
        (RefusalKind.MIN_BET, StopKind.MIN_BET),
        (RefusalKind.BAD_REQUEST, StopKind.REFUSED),
        (RefusalKind.AUTH, StopKind.REFUSED),
    ],
)
def test_refused_releases_exposure_and_stops(kind: RefusalKind, stop: StopKind) -> None:
    session = make_session(limits=Limits(max_bets=5))
    bet = dice("3")
    seq = admit_ok(session, bet)
    admit_ok(session, dice("1"))
    session.apply(Refused(seq=seq, bet=bet, kind=kind, message="The minimum bet is 5 DOGE"))
    assert session.stop_reason is not None
    assert session.stop_reason.kind is stop
    assert "minimum bet" in session.stop_reason.detail
    assert session.exposure == D(1)
    assert session.submitted == 1  # the refused bet was not placed
    assert session.bets == 0
    assert session.profit == 0
    assert session.in_flight == 1


def test_the_gate_checks_every_new_request_however_many_it_has_seen() -> None:
    """The gate remembers the requests it has found valid (by identity, a bounded memo): past the memo's
    size, and after it starts again, a new invalid request is still refused and a known one still admitted."""
    session = make_session(balance="1000")
    seen = [dice(f"0.{n:08d}") for n in range(1, 150)]  # more distinct requests than the memo keeps
    for bet in seen + seen[:3]:
        seq = admit_ok(session, bet)
        session.apply(settled(seq, bet, win=False))
    assert session.bets == len(seen) + 3
    assert_stopped(session.admit(dice("0.000000001"), 0), StopKind.INVALID_BET)  # 9 places
