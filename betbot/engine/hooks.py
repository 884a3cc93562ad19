"""Several observers of one session machine (the journal, metrics, the display) behind its one observer slot.

Each observer implements the events it needs (`betbot.core.machine.MachineObserver`, plus `sync` for the
journal); the fan-out binds, once, the observers that take each event, in the order given (the journal
first: its sync guards the send).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["FanOutHooks", "combine"]

_EVENTS = ("admitted", "released", "reconciled", "stopped", "resumed", "seed_rotated", "min_bet_learned", "sync")


def _each(calls: list[Callable[..., None]]) -> Callable[..., None]:
    if len(calls) == 2:
        # The common fan-out (the journal and one more observer), once per bet: two direct calls cost about
        # half what a loop over them does.
        first, second = calls

        def both(*args: Any) -> None:
            first(*args)
            second(*args)

        return both

    def call(*args: Any) -> None:
        for target in calls:
            target(*args)

    return call


class FanOutHooks:
    """Calls each observer that takes an event, in the order given."""

    def __init__(self, *hooks: Any) -> None:
        self.hooks = hooks
        for name in _EVENTS:
            calls = [getattr(hook, name) for hook in hooks if callable(getattr(hook, name, None))]
            if calls:
                setattr(self, name, calls[0] if len(calls) == 1 else _each(calls))
        # Durability is the journal's alone: the one observer that has it (awaited before a request leaves).
        durable = [hook.durable for hook in hooks if callable(getattr(hook, "durable", None))]
        if len(durable) > 1:
            raise ValueError("only one observer may make bets durable")
        if durable:
            self.durable = durable[0]


def combine(*hooks: Any) -> Any:
    """The observers that are there: none, the one itself (no indirection on the hot path), or a fan-out."""
    present = [hook for hook in hooks if hook is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else FanOutHooks(*present)
