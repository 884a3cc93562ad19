"""Reconciliation, driven: read the site's books and settle the bets whose outcome is unknown.

The engine calls this only once every other bet in flight has drained, so the site's bet count and
balance move for no other bet of this session. The reasoning itself is pure (`betbot.core.reconcile`); this
module only fetches `/bot/stats/{SYMBOL}`, remembers the baseline taken at the session's start, and runs the
search on a worker thread (it can take seconds of CPU for many distinct bets; the event loop stays free
for signals and the display). An unknown bet is never sent again: the books say whether it ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial

import anyio.to_thread

from betbot.backends.base import Backend, SiteStats
from betbot.core.fairness import GameRules
from betbot.core.models import BetRequest
from betbot.core.reconcile import PayoutKey, Reconciliation, reconcile

__all__ = ["Reconciler"]


class Reconciler:
    def __init__(self, backend: Backend, currency: str, rules: GameRules) -> None:
        self.backend = backend
        self.currency = currency
        self.rules = rules
        self.baseline: SiteStats | None = None

    async def take_baseline(self) -> SiteStats:
        """The site's books before the session's first bet (the zero against which it reconciles)."""
        self.baseline = await self.backend.stats(self.currency)
        return self.baseline

    async def reconcile(self, *, settled_bets: int, settled_profit: Decimal, unknown: Mapping[int, BetRequest],
                        paid: Mapping[PayoutKey, Decimal] | None = None) -> Reconciliation:
        """The site's verdict on each unknown bet, given what the session settled since the baseline.

        `paid`: the multiplier the site paid per (chance, faucet), learned from this session's settled
        bets; a chance it has not paid yet is tried with every rounding the site may use.
        """
        if self.baseline is None:
            raise RuntimeError("take_baseline() must run before the session's first bet")
        site = await self.backend.stats(self.currency)
        search = partial(reconcile, baseline=self.baseline, site=site, settled_bets=settled_bets,
                         settled_profit=settled_profit, unknown=sorted(unknown.items()), paid=dict(paid or {}),
                         rules=self.rules)
        return await anyio.to_thread.run_sync(search)
