"""A bare synchronous driver: the same session core and strategy in a plain loop, no asyncio.

This is what Monte Carlo uses, and the benchmark's baseline for the async pipeline. Bets resolve one at
a time, in order, so it needs no reorder buffer. The steps are the engine's (`betbot.core.steps`), in the
engine's order; only the I/O is absent.
"""

from __future__ import annotations

from collections.abc import Callable

from betbot.core.game import SimulatedGame
from betbot.core.session import Session
from betbot.core.steps import apply_outcome, decide
from betbot.core.strategy import Strategy

__all__ = ["play_sync"]


def play_sync(session: Session, strategy: Strategy, game: SimulatedGame,
              clock: Callable[[], float] = lambda: 0.0) -> Session:
    """Play until the session stops; returns the session."""
    while session.open_for_bets(clock()):
        bet = decide(strategy, session)
        if bet is None:
            break
        seq = session.admit(bet, clock())
        if not isinstance(seq, int):
            break  # nothing is in flight here, so the gate stops rather than holds
        apply_outcome(session, strategy, game.play(seq, bet))
        session.check_limits(clock())
    return session
