"""Oscar's grind: grind out one unit of profit per cycle, raising the stake only after wins.

The stake starts at one unit (base_bet). A loss keeps the stake; a win raises it by a unit, but never
past what would win the rest of the cycle's one-unit target; once the cycle is one unit up it starts
again. Losing streaks cost only the current stake per loss, so it is far gentler than a martingale, but
a long losing cycle ratchets the stake up on every win while the deficit persists, and the cycle's loss
can grow well beyond the one unit it is trying to win.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from betbot.core.models import Settled
from betbot.core.money import SATOSHI, ZERO
from betbot.core.strategy import (
    Decision,
    DiceParams,
    SessionView,
    StopStrategy,
    Strategy,
    StrategyContext,
    StrategyParams,
)

__all__ = ["OscarsGrind", "OscarsGrindParams"]


class OscarsGrindParams(DiceParams):
    """Oscar's grind takes only the shared dice parameters: base_bet is the unit, and the cycle's target."""


class OscarsGrind(Strategy):
    """Keeps the stake after a loss, adds a unit after a win, never overshooting a one-unit cycle profit."""

    name = "oscars-grind"
    summary = "win one unit per cycle: keep the stake after a loss, add a unit after a win"
    Params = OscarsGrindParams
    max_in_flight = 1
    state_fields = ("stake", "cycle_profit")

    params: OscarsGrindParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.stake: Decimal = self.params.base_bet
        self.cycle_profit: Decimal = ZERO

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.stake)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        unit = self.params.base_bet
        # The site's own profit, so the house edge and its rounding are counted, not an even-money guess.
        self.cycle_profit += result.profit
        if self.cycle_profit >= unit:
            self.stake, self.cycle_profit = unit, ZERO
        elif result.win:
            self.stake = min(self.stake + unit, self._stake_to_finish(result.payout))
        return None

    def _stake_to_finish(self, payout: Decimal) -> Decimal:
        """The smallest stake whose win at `payout` brings the cycle to one unit up, but at least a unit.

        Rounded up to the satoshi so that the win, which the site rounds down, still reaches the target;
        never below a unit, because base_bet is the stake the user knows the site accepts.
        """
        unit = self.params.base_bet
        if payout <= 1:  # a win pays nothing back (chance 99 at 1 % edge): no stake can finish the cycle
            return self.stake + unit
        needed = ((unit - self.cycle_profit) / (payout - 1)).quantize(SATOSHI, rounding=ROUND_UP)
        return max(unit, needed)
