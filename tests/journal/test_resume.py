"""Resuming sessions from the journal: the replayed state equals the uninterrupted one, live unknown bets
are settled from the site's books, simulated ones did not run, and bad requests are one-line errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from betbot.backends.base import SiteStats
from betbot.backends.simulator import SimulatorBackend
from betbot.core.fairness import GameRules
from betbot.core.models import Settled, StopKind, StopReason, Unknown
from betbot.core.session import Limits, Session
from betbot.engine.loop import Engine
from betbot.journal import BetStatus, Journal
from betbot.journal.resume import (
    ResumeError,
    ResumeFailure,
    choose_session,
    limits_from_record,
    reconcile_live,
    reconcile_simulated,
    replay_history,
    resumable,
    site_stats_to_json,
)
from betbot.strategies.martingale import Martingale
from tests.helpers import CURRENCY, context, dice, make_game

LIMITS = Limits(max_bets=400, stop_loss=Decimal("30"), max_duration=3600.0)


def martingale() -> Martingale:
    return Martingale.from_options({"base_bet": "0.01", "multiplier": "2"}, context())


def fresh_session(limits: Limits = LIMITS) -> Session:
    return Session(currency=CURRENCY, starting_balance=Decimal(100), limits=limits, started_at=0.0)


def start(journal: Journal, backend: str = "simulator") -> int:
    return journal.start_session(strategy="martingale", params={}, limits=LIMITS, backend=backend,
                                 currency=CURRENCY, starting_balance=Decimal(100))


async def test_replaying_the_journal_rebuilds_the_session_and_the_strategy(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite3", durable=False)
    session_id = start(journal)
    session, strategy = fresh_session(), martingale()
    engine = Engine(session=session, strategy=strategy, backend=SimulatorBackend(make_game("resume")),
                    max_concurrent=1, hooks=journal, clock=lambda: 1.0)
    await engine.run()
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    record = journal.session(session_id)

    replayed_session, replayed_strategy = fresh_session(), martingale()
    replayed = replay_history(journal, record, replayed_session, replayed_strategy)

    assert replayed.bets == replayed.told == 400
    original, rebuilt = session.snapshot(), replayed_session.snapshot()
    for field in ("bets", "wins", "losses", "profit", "wagered", "balance", "largest_bet", "largest_win",
                  "largest_loss", "longest_win_streak", "longest_loss_streak", "max_drawdown", "luck"):
        assert getattr(rebuilt, field) == getattr(original, field), field
    assert replayed_session.next_seq == session.next_seq == 401
    assert replayed_session.submitted == 400
    assert replayed_strategy.save_state() == strategy.save_state()
    # The limits hold over the whole session: nothing more may be placed.
    assert not replayed_session.open_for_bets(2.0)
    journal.close()


async def test_a_saved_strategy_state_is_restored_and_only_later_results_are_told(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite3", durable=False)
    session_id = start(journal)
    session, strategy = fresh_session(Limits(max_bets=50)), martingale()
    saved: dict[str, object] = {}

    class SaveAt30:
        """Saves the strategy's state as it is after bet 30, as a run that stopped there would."""

        def admitted(self, seq: int, bet: object, now: float) -> None:
            journal.admitted(seq, bet, now)  # type: ignore[arg-type]

        def sync(self) -> None:
            journal.sync()

        def released(self, outcome: Settled, now: float) -> None:
            journal.released(outcome, now)

        def reconciled(self, seq: int, bet: object, profit: Decimal | None, now: float,
                       note: str | None = None) -> None:
            raise AssertionError("nothing to reconcile")

    engine = Engine(session=session, strategy=strategy, backend=SimulatorBackend(make_game("state")),
                    hooks=SaveAt30(), clock=lambda: 1.0)  # type: ignore[arg-type]
    real_on_result = strategy.on_result

    def on_result(result: Settled, view: Session) -> None:
        real_on_result(result, view)
        if result.seq == 30:
            saved.update(strategy.save_state())

    strategy.on_result = on_result  # type: ignore[method-assign,assignment]
    await engine.run()
    assert saved, "the state after bet 30 was captured"
    journal.save_strategy_state(session_id, 30, saved)
    rebuilt_strategy = martingale()
    replayed = replay_history(journal, journal.session(session_id), fresh_session(), rebuilt_strategy)
    assert (replayed.bets, replayed.told) == (50, 20)
    # Results 31..50 were told on top of the saved state, so the state is the original's.
    assert rebuilt_strategy.save_state() == strategy.save_state()
    journal.close()


def test_simulated_bets_without_an_outcome_did_not_run(tmp_path: Path) -> None:
    bet = dice("1")
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        session_id = start(journal)
        journal.admitted(1, bet, 0.0)
        journal.released(Settled(seq=1, bet=bet, number=9000, win=True, payout=Decimal("1.98"),
                                 profit=Decimal("0.98"), balance=Decimal("100.98"), nonce=0, bet_hash="h"), 0.1)
        journal.admitted(2, bet, 0.1)
        journal.released(Unknown(seq=2, bet=bet, message="cancelled"), 0.2)
        journal.admitted(3, bet, 0.2)  # the process dies here
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        record = journal.session(session_id)
        assert resumable(record)
        assert reconcile_simulated(journal, record) == 2
        assert [(b.seq, b.status, b.profit) for b in journal.bets(session_id)] == [
            (1, BetStatus.SETTLED, Decimal("0.98")), (2, BetStatus.RECONCILED, None), (3, BetStatus.RECONCILED, None)]
        session = fresh_session()
        replay_history(journal, journal.session(session_id), session, martingale())
        assert (session.bets, session.submitted, session.next_seq, session.balance) == (1, 1, 4, Decimal("100.98"))


class _Books:
    """A backend that only answers /bot/stats, with books the test sets."""

    name = "duckdice"
    live = True

    def __init__(self, stats: SiteStats) -> None:
        self.stats_now = stats
        self.asked = 0

    async def stats(self, currency: str) -> SiteStats:
        self.asked += 1
        return self.stats_now


def _stats(bets: int, balance: str) -> SiteStats:
    return SiteStats(currency=CURRENCY, bets=bets, wins=0, profit=Decimal(0), volume=Decimal(0),
                     balance=Decimal(balance), faucet_balance=Decimal(0))


def _live_crash(path: Path) -> int:
    """A live session: bet 1 settled (+0.98), bet 2 (stake 1) unknown, bet 3 (stake 2) in flight at the crash."""
    bet = dice("1")
    with Journal.open(path, durable=True) as journal:
        session_id = start(journal, backend="duckdice")
        journal.set_site_baseline(session_id, site_stats_to_json(_stats(1000, "500")))
        journal.admitted(1, bet, 0.0)
        journal.released(Settled(seq=1, bet=bet, number=9000, win=True, payout=Decimal("1.98"),
                                 profit=Decimal("0.98"), balance=Decimal("500.98"), nonce=0, bet_hash="h"), 0.1)
        journal.admitted(2, bet, 0.1)
        journal.released(Unknown(seq=2, bet=bet, message="read timeout"), 0.2)
        journal.admitted(3, dice("2"), 0.2)  # another stake: the books can tell the two apart
    return session_id


async def test_live_unresolved_bets_are_settled_from_the_site_books(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    session_id = _live_crash(path)
    # The site counts one bet beyond the settled one, and a loss of 1: bet 2 ran and lost, bet 3 never ran.
    books = _Books(_stats(1002, "499.98"))
    with Journal.open(path, durable=True) as journal:
        record = journal.session(session_id)
        result = await reconcile_live(journal, record, books, GameRules())  # type: ignore[arg-type]
        assert result is not None
        assert result.balanced
        statuses = [(b.seq, b.status, b.profit) for b in journal.bets(session_id)]
        assert statuses == [(1, BetStatus.SETTLED, Decimal("0.98")), (2, BetStatus.RECONCILED, Decimal("-1")),
                            (3, BetStatus.RECONCILED, None)]
        assert journal.replay_balance(session_id) == Decimal("99.98")
        # Nothing left to settle: the books are not even read again.
        assert await reconcile_live(journal, journal.session(session_id), books, GameRules()) is None  # type: ignore[arg-type]
        assert books.asked == 1


async def test_live_books_that_do_not_balance_leave_every_bet_unresolved(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    session_id = _live_crash(path)
    books = _Books(_stats(1005, "480"))  # four more bets than could be ours: other activity on the account
    with Journal.open(path, durable=True) as journal:
        with pytest.raises(ResumeFailure, match=r"cannot resume session .* its bets stay unresolved"):
            await reconcile_live(journal, journal.session(session_id), books, GameRules())  # type: ignore[arg-type]
        assert [b.status for b in journal.pending_bets(session_id)] == [BetStatus.UNKNOWN, BetStatus.PENDING]


def test_choosing_the_session_to_resume(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        assert choose_session(journal, None) is None
        finished = start(journal)
        journal.finish_session(finished, StopReason(kind=StopKind.MAX_BETS, detail="done"), {})
        assert choose_session(journal, None) is None  # a session that ran to its limit is not interrupted
        signalled = start(journal)
        journal.finish_session(signalled, StopReason(kind=StopKind.SIGNAL, detail="SIGTERM"), {})
        crashed = start(journal)  # never finished
        record = choose_session(journal, None)
        assert record is not None
        assert record.id == crashed
        chosen = choose_session(journal, signalled)
        assert chosen is not None
        assert chosen.id == signalled
        assert choose_session(journal, finished) is not None  # named explicitly: the user's call
        with pytest.raises(ResumeError, match=r"no session 99 in the journal .* \(`betbot sessions` lists them\)"):
            choose_session(journal, 99)
        assert limits_from_record(journal.session(crashed)) == LIMITS
