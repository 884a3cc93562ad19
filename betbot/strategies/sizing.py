"""Stakes sized from the balance: a percentage of it, or a capped fraction of the Kelly stake.

Both read the settled balance of the session (what the strategy has been told), never a balance that
includes bets still in flight, and both bet at least base_bet (the stake the user knows the site takes).

Kelly. For a bet that pays `payout` times the stake with win probability p, the stake that maximises the
long-run growth of the balance is the fraction f* = (p * (payout - 1) - (1 - p)) / (payout - 1) of it. At
the site's own odds f* is negative for every chance (the house edge): Kelly says do not bet, and this
strategy then bets base_bet. It bets more only when given a `win_probability` above the true one, i.e. a
belief that the game is not what the provably-fair roll says; that belief is the whole risk, so the
stake is a fraction of f* (`kelly_fraction`, half-Kelly by default) and capped at `cap_percent` of the
balance.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from betbot.core.fairness import payout_multiplier
from betbot.core.strategy import Decision, DiceParams, SessionView, Strategy, StrategyContext, StrategyParams

__all__ = ["KellyCapped", "KellyParams", "PercentOfBalance", "PercentParams", "kelly_fraction"]

_HUNDRED = Decimal(100)


class PercentParams(DiceParams):
    percent: Decimal = Field(
        default=Decimal("0.01"), gt=0, le=100, description="stake as a percentage of the current balance",
    )


class PercentOfBalance(Strategy):
    """Bets percent % of the balance after the last result, at least base_bet."""

    name = "percent-of-balance"
    summary = "stake a fixed percentage of the current balance (at least base_bet)"
    Params = PercentParams
    max_in_flight = 1

    params: PercentParams

    def next_bet(self, view: SessionView) -> Decision:
        stake = view.balance * self.params.percent / _HUNDRED
        return self.dice_bet(max(stake, self.params.base_bet))


def kelly_fraction(probability: Decimal, payout: Decimal) -> Decimal:
    """f*: the fraction of the balance the Kelly criterion stakes (negative: do not bet)."""
    net = payout - 1
    if net <= 0:
        return Decimal(-1)
    return (probability * net - (1 - probability)) / net


class KellyParams(DiceParams):
    win_probability: Decimal | None = Field(
        default=None, gt=0, lt=100,
        description="the win chance in percent you believe (default: the true one, so Kelly bets base_bet)",
    )
    kelly_fraction: Decimal = Field(
        default=Decimal("0.5"), gt=0, le=1, description="the part of the Kelly stake to bet (0.5: half-Kelly)",
    )
    cap_percent: Decimal = Field(
        default=Decimal(1), gt=0, le=100, description="never stake more than this percentage of the balance",
    )


class KellyCapped(Strategy):
    """Stakes kelly_fraction of the Kelly stake for win_probability, at most cap_percent of the balance,
    at least base_bet. At the true odds Kelly is negative (the house edge), so it bets base_bet."""

    name = "kelly"
    summary = "a capped fraction of the Kelly stake for the win chance you believe (base_bet at true odds)"
    Params = KellyParams
    max_in_flight = 1

    params: KellyParams

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        p = self.params
        edge = context.rules.faucet_edge if context.faucet else context.rules.edge
        payout = payout_multiplier(p.chance, edge)
        believed = (p.win_probability if p.win_probability is not None else p.chance) / _HUNDRED
        kelly = kelly_fraction(believed, payout)
        # The fraction of the balance staked each bet, fixed for the session: the odds never change.
        self.fraction = max(Decimal(0), min(kelly * p.kelly_fraction, p.cap_percent / _HUNDRED))

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(max(view.balance * self.fraction, self.params.base_bet))
