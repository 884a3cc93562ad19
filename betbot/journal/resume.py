"""Resuming a journaled session: settle what the last run left unresolved, then rebuild its state.

A session is resumed in two steps, both before the first new bet:

1. Its `pending` and `unknown` bets (a crash, or a second signal) are resolved. Live: from the site's
   books (`/bot/stats`), counted from the baseline journaled at the session's start, exactly as the engine
   reconciles during a run; a bet is never sent again. Simulated: the simulated house lived in the process
   that died, and its books are the journal (the balance is the starting balance plus every journaled
   profit, the nonce follows the seq), so a bet the journal has no outcome for did not run.
2. The session's statistics are replayed from the journal in seq order (limits count over the whole
   session: bets, profit, streaks, drawdown, and the time it already ran), and the strategy gets its saved
   state back, then every later settled result, so it decides as if the run had never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

import anyio.to_thread

from betbot.backends.base import Backend, SiteStats
from betbot.core.fairness import GameRules
from betbot.core.models import BetRequest, Settled
from betbot.core.reconcile import Reconciliation, reconcile
from betbot.core.session import Limits, Session
from betbot.core.strategy import Strategy
from betbot.journal import BetRecord, BetStatus, Journal, UnknownSession
from betbot.journal.lease import LeaseHeld
from betbot.journal.records import SessionRecord

__all__ = [
    "ResumeError",
    "ResumeFailure",
    "SessionRunning",
    "baseline_of",
    "choose_session",
    "limits_from_record",
    "reconcile_live",
    "reconcile_simulated",
    "replay_history",
    "resumable",
    "site_stats_to_json",
]

# Stops a run can be resumed from without naming the session: the run was interrupted, not finished.
_INTERRUPTED: Final = frozenset({"signal", "unknown_outcome"})
_DECIMAL_LIMITS: Final = frozenset({"stop_loss", "take_profit", "max_bet", "min_balance", "trailing_stop"})


class ResumeError(ValueError):
    """The session asked for cannot be resumed as asked (bad input): one line naming the fix."""


class SessionRunning(ResumeError):
    """The session to resume is run by another process (its lease is held): one line saying by whom."""

    def __init__(self, held: LeaseHeld, *, alone: bool = False) -> None:
        self.session_id = held.session_id
        fix = (" and no other session is interrupted: start a new one without --resume, or wait for it to end"
               if alone else "; stop that process first, or resume another session")
        super().__init__(f"session {held.session_id} is being run by {held.holder.describe()}{fix}")


class ResumeFailure(RuntimeError):
    """The session's unresolved bets cannot be settled (the books do not balance, the site is unreachable)."""


def resumable(record: SessionRecord) -> bool:
    """Interrupted (a crash, a signal, an unknown outcome), or left with bets to reconcile."""
    return record.ended_at is None or record.unresolved > 0 or record.stop_kind in _INTERRUPTED


def choose_session(journal: Journal, wanted: int | None) -> SessionRecord | None:
    """Session `wanted`, or the newest resumable one (None if there is none), with its lease taken.

    The lease (`betbot.journal.lease`) is taken before the record is read for good, so what is returned is
    the session as no one else is changing it, and it stays this process's until the journal closes.
    Raises SessionRunning when `wanted` is run by another process, or when, with no session named, the
    only resumable sessions are: a `--resume` that overlaps the run it was meant to continue (a restarted
    container while the old one drains) must not start a new session beside it.
    """
    if wanted is not None:
        try:
            journal.claim(wanted)
        except UnknownSession:
            raise ResumeError(
                f"no session {wanted} in the journal {journal.path} (`betbot sessions` lists them)"
            ) from None
        except LeaseHeld as held:
            raise SessionRunning(held) from None
        return journal.session(wanted)
    running: list[LeaseHeld] = []
    for candidate in reversed([record for record in journal.sessions() if resumable(record)]):
        try:
            journal.claim(candidate.id)
        except LeaseHeld as held:
            running.append(held)
            continue
        record = journal.session(candidate.id)  # it may have finished between the listing and the claim
        if resumable(record):
            return record
        journal.release(candidate.id)
    if running:
        raise SessionRunning(running[0], alone=True)
    return None


def limits_from_record(record: SessionRecord) -> Limits:
    """The limits as journaled at the session's start (amounts already resolved from percentages)."""
    values: dict[str, Any] = {}
    for name, value in record.limits.items():
        if name in _DECIMAL_LIMITS:
            values[name] = Decimal(str(value))
        elif name == "max_duration":
            values[name] = float(value)
        else:
            values[name] = int(value)
    return Limits(**values)


def reconcile_simulated(journal: Journal, record: SessionRecord) -> int:
    """The simulated house died with its process: a bet without an outcome did not run. Returns how many."""
    pending = journal.pending_bets(record.id)
    for bet in pending:
        journal.mark_reconciled(record.id, bet.seq, None)
    return len(pending)


def site_stats_to_json(stats: SiteStats) -> dict[str, Any]:
    return {"currency": stats.currency, "bets": stats.bets, "wins": stats.wins, "profit": f"{stats.profit:f}",
            "volume": f"{stats.volume:f}", "balance": f"{stats.balance:f}",
            "faucet_balance": f"{stats.faucet_balance:f}"}


def _site_stats_from_json(data: dict[str, Any]) -> SiteStats:
    return SiteStats(currency=str(data["currency"]), bets=int(data["bets"]), wins=int(data["wins"]),
                     profit=Decimal(data["profit"]), volume=Decimal(data["volume"]),
                     balance=Decimal(data["balance"]), faucet_balance=Decimal(data["faucet_balance"]))


def baseline_of(record: SessionRecord) -> SiteStats | None:
    return None if record.site_baseline is None else _site_stats_from_json(record.site_baseline)


async def reconcile_live(journal: Journal, record: SessionRecord, backend: Backend,
                         rules: GameRules) -> Reconciliation | None:
    """Settle the session's pending and unknown bets from the site's books; None if there were none.

    Raises ResumeFailure, with every bet left as it was, when the books do not say what happened.
    """
    pending = journal.pending_bets(record.id)
    if not pending:
        return None
    baseline = baseline_of(record)
    if baseline is None:
        raise ResumeFailure(
            f"session {record.id} has {len(pending)} unresolved bet(s) but no record of the site's books at its "
            "start; check them on the site, nothing was changed"
        )
    settled_bets, settled_profit = 0, Decimal(0)
    for bet in journal.bets(record.id):
        if bet.status in (BetStatus.SETTLED, BetStatus.RECONCILED) and bet.profit is not None:
            settled_bets += 1
            settled_profit += bet.profit
    unknown = [(bet.seq, bet.request) for bet in pending]
    paid = journal.site_payouts(record.id)  # what the site paid at each chance, before the crash
    site = await backend.stats(record.currency)
    search = partial(reconcile, baseline=baseline, site=site, settled_bets=settled_bets,
                     settled_profit=settled_profit, unknown=unknown, paid=paid, rules=rules)
    result = await anyio.to_thread.run_sync(search)
    if not result.balanced:
        raise ResumeFailure(f"cannot resume session {record.id}: {result.detail}; its bets stay unresolved")
    for verdict in result.verdicts:
        journal.mark_reconciled(record.id, verdict.seq, verdict.profit)
    return result


@dataclass(frozen=True, slots=True)
class Replayed:
    bets: int  # rows replayed, whatever became of them
    told: int  # settled results told to the strategy after its saved state


def replay_history(journal: Journal, record: SessionRecord, session: Session, strategy: Strategy) -> Replayed:
    """Rebuild the session's statistics and the strategy's state from the journal (bets resolved first)."""
    state_seq = record.first_seq - 1
    if record.strategy_state is not None and record.state_seq is not None:
        strategy.restore_state(record.strategy_state)
        state_seq = record.state_seq
    rows = told = 0
    for bet in journal.bets(record.id):
        if bet.status in (BetStatus.PENDING, BetStatus.UNKNOWN):
            raise ResumeFailure(f"bet {bet.seq} of session {record.id} is still {bet.status}; reconcile it first")
        ran = bet.status in (BetStatus.SETTLED, BetStatus.RECONCILED) and bet.profit is not None
        session.replay(bet.seq, bet.amount, bet.chance, win=bet.win, profit=bet.profit if ran else None)
        rows += 1
        if bet.status is BetStatus.SETTLED and bet.seq > state_seq:
            # As in a run: the strategy hears settled results only (a reconciled bet has no roll). A stop it
            # asks for here was acted on then, so it is not acted on twice.
            strategy.on_result(_settled(bet), session)
            told += 1
    return Replayed(bets=rows, told=told)


def _settled(bet: BetRecord) -> Settled:
    request: BetRequest = bet.request
    if bet.roll is None or bet.win is None or bet.payout is None or bet.profit is None or bet.balance_after is None:
        raise ResumeFailure(f"bet {bet.seq} of session {bet.session_id} is settled but incomplete in the journal")
    return Settled(seq=bet.seq, bet=request, number=bet.roll, win=bet.win, payout=bet.payout, profit=bet.profit,
                   balance=bet.balance_after, nonce=bet.nonce or 0, bet_hash=bet.bet_hash or "")
