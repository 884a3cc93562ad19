"""Several observers of one engine (the journal and the metrics) behind its single `hooks` slot."""

from __future__ import annotations

from decimal import Decimal

from betbot.core.models import BetRequest, Outcome
from betbot.engine.loop import EngineHooks

__all__ = ["FanOutHooks", "combine"]


class FanOutHooks:
    """Calls each observer in turn, in the order given (the journal first: its sync guards the send)."""

    def __init__(self, *hooks: EngineHooks) -> None:
        self.hooks = hooks

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        for hook in self.hooks:
            hook.admitted(seq, bet, now)

    def released(self, outcome: Outcome, now: float) -> None:
        for hook in self.hooks:
            hook.released(outcome, now)

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float) -> None:
        for hook in self.hooks:
            hook.reconciled(seq, bet, profit, now)

    def sync(self) -> None:
        for hook in self.hooks:
            hook.sync()


def combine(*hooks: EngineHooks | None) -> EngineHooks | None:
    """The observers that are there: none, the one itself (no indirection on the hot path), or a fan-out."""
    present = [hook for hook in hooks if hook is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else FanOutHooks(*present)
