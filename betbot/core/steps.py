"""The two steps every driver of a session takes, written once so the async engine and the
synchronous Monte Carlo loop can never differ: ask the strategy, and apply an outcome in order."""

from __future__ import annotations

from betbot.core.models import BetRequest, Outcome, Settled, StopKind
from betbot.core.session import Session
from betbot.core.strategy import StopStrategy, Strategy, Wait

__all__ = ["apply_outcome", "decide"]


def decide(strategy: Strategy, session: Session) -> BetRequest | None:
    """The strategy's next bet, or None: it waits, or it (or its bug) stopped the session."""
    try:
        decision = strategy.next_bet(session)
    except Exception as exc:  # noqa: BLE001 - a strategy's bug ends the session, with its message
        session.stop(StopKind.STRATEGY_ERROR, f"{type(exc).__name__}: {exc}")
        return None
    if isinstance(decision, BetRequest):
        return decision
    if isinstance(decision, StopStrategy):
        session.stop(StopKind.STRATEGY, decision.reason)
    elif isinstance(decision, Wait) and session.in_flight == 0:
        session.stop(StopKind.STRATEGY_ERROR, "the strategy waited for a result with no bet in flight")
    return None


def apply_outcome(session: Session, strategy: Strategy, outcome: Outcome) -> None:
    """Apply one outcome (the next in seq order) and tell the strategy; limits are checked after."""
    session.apply(outcome)
    if isinstance(outcome, Settled):
        try:
            verdict = strategy.on_result(outcome, session)
        except Exception as exc:  # noqa: BLE001 - as in decide
            session.stop(StopKind.STRATEGY_ERROR, f"{type(exc).__name__}: {exc}")
            return
        if verdict is not None:
            session.stop(StopKind.STRATEGY, verdict.reason)
