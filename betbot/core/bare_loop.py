"""The bare synchronous driver: the session machine in a plain loop, no asyncio, no I/O.

This is what Monte Carlo uses, and the benchmarks' baseline for the async pipeline. The game answers at
once, so one bet is in flight at a time; every decision (the strategy, the minimum-bet rule, the gate, the
limits) is the machine's, exactly as in the async engine. Time is virtual: a strategy's pause moves the
clock forward instead of waiting.
"""

from __future__ import annotations

from betbot.core.game import SimulatedGame
from betbot.core.machine import DONE, ROTATE_SEED, BelowMinBet, MinBetRule, Place, SessionMachine, Sleep
from betbot.core.session import Session
from betbot.core.strategy import Strategy

__all__ = ["play_sync"]


def play_sync(session: Session, strategy: Strategy, game: SimulatedGame, *, pace: float = 0.0,
              below_min_bet: BelowMinBet = "stop", reseed_every: int | None = None) -> Session:
    """Play until the session stops; returns the session.

    The clock is virtual: `pace` seconds pass per bet the game has played, and a strategy's pause skips ahead.
    """
    machine = SessionMachine(session=session, strategy=strategy, concurrency=1,
                             min_bets=MinBetRule(below_min=below_min_bet), reseed_every=reseed_every)
    next_action = machine.next_action
    outcome = machine.outcome
    play = game.play
    play_at_once = machine.play_at_once
    skipped = 0.0  # virtual time the strategy's pauses skipped
    while True:
        play_at_once(play, game.bets, pace, skipped)  # the plain bets, without a dispatch per action
        now = game.bets * pace + skipped
        action = next_action(now)
        if action.__class__ is Place:
            seq = action.seq
            outcome(seq, play(seq, action.bet), now)
        elif action.__class__ is Sleep:
            skipped += action.until - now
        elif action is ROTATE_SEED:
            machine.seed_rotated(game.rotate(session.next_seq), now)
        elif action is DONE:
            return session
        else:  # AWAIT or Reconcile: the game answers every bet at once, and never with an unknown outcome
            raise RuntimeError(f"the bare loop cannot {action!r}")
