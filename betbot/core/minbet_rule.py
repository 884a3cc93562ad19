"""What the engine does about the site's minimum bets: learn them from refusals (never by probing),
then raise a smaller stake to the minimum or stop the session — the user's choice, `stop` by default,
because raising a stake bets more than the strategy asked for."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import structlog

from betbot.backends.minbets import MinBetCache
from betbot.core.models import BetRequest, Refused, StopKind
from betbot.core.session import Session

__all__ = ["BelowMinBet", "MinBetPolicy"]

BelowMinBet = Literal["raise", "stop"]
_log = structlog.get_logger("betbot.backends.minbets")


class MinBetPolicy:
    def __init__(self, cache: MinBetCache, below_min: BelowMinBet = "stop") -> None:
        self.cache = cache
        self.below_min = below_min

    def check(self, bet: BetRequest, session: Session) -> BetRequest | None:
        """The bet to place: as decided, raised to the known minimum, or None (the session stopped)."""
        minimum = self.cache.get(bet.currency)
        if minimum is None or bet.amount >= minimum:
            return bet
        if self.below_min == "raise":
            return replace(bet, amount=minimum)
        session.stop(
            StopKind.MIN_BET,
            f"the strategy's stake {bet.amount} is below the site's minimum bet {minimum} {bet.currency} "
            "(set below_min_bet = raise to raise such stakes to the minimum)",
        )
        return None

    def refused(self, refused: Refused, session: Session) -> None:
        """Learn from a minimum-bet refusal; with `raise`, betting goes on at the minimum."""
        try:
            learned = self.cache.learn_from_refusal(refused)
        except OSError as exc:  # the cache is a convenience: a full disk must not end the session
            _log.warning("minbets.save_failed", path=str(self.cache.path), error=str(exc))
            learned = self.cache.get(refused.bet.currency)
        # A bet at or above what the site said is its minimum, refused as below it: raising again would
        # loop, so the stop stands.
        if learned is not None and self.below_min == "raise" and refused.bet.amount < learned:
            session.resume(StopKind.MIN_BET)
