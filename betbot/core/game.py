"""The simulated house: DuckDice's game and books without any I/O (seeds, nonces, balances, minimum bets).

The roll of bet `seq` depends only on the seed pair in force and its nonce, and the nonce follows the seq
(first_nonce + seq - first seq of that pair), never the moment the bet completes. So a run with a fixed
seed replays exactly at any concurrency and under any latency. Balances move when a bet executes, as on
the site. The async simulator backend and the Monte Carlo loop both play this one game.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from betbot.core.fairness import GameRules, SeedPair, bet_wins, payout_multiplier, roll, win_profit
from betbot.core.models import BetRequest, RefusalKind, Refused, SeedRotation, Settled

__all__ = ["SimulatedGame"]


@dataclass(slots=True)
class _Epoch:
    first_seq: int
    seeds: SeedPair


class SimulatedGame:
    """The game's books without any I/O: seeds, nonces, balances per currency, minimum bets."""

    def __init__(
        self,
        *,
        seeds: SeedPair,
        balances: dict[str, Decimal],
        rules: GameRules | None = None,
        min_bets: dict[str, Decimal] | None = None,
        first_seq: int = 1,
    ) -> None:
        self.rules = rules or GameRules()
        self.balances = dict(balances)
        self.min_bets = dict(min_bets or {})
        self._epochs = [_Epoch(first_seq=first_seq, seeds=seeds)]
        self.bets = 0
        self.wins = 0
        self.last_seq = first_seq - 1  # the highest seq played; a rotation applies after it
        self.profit: dict[str, Decimal] = {}
        self.volume: dict[str, Decimal] = {}

    @property
    def seeds(self) -> SeedPair:
        return self._epochs[-1].seeds

    @property
    def seed_history(self) -> list[SeedPair]:
        return [epoch.seeds for epoch in self._epochs]

    def _epoch_for(self, seq: int) -> _Epoch:
        for epoch in reversed(self._epochs):
            if seq >= epoch.first_seq:
                return epoch
        return self._epochs[0]

    def rotate(self, from_seq: int, client_seed: str | None = None) -> SeedRotation:
        """New seeds for bets from `from_seq` on (the owner drains the bets before it first)."""
        old = self.seeds
        new = old.rotated(len(self._epochs))
        if client_seed is not None:
            new = SeedPair(server_seed=new.server_seed, client_seed=client_seed, first_nonce=new.first_nonce)
        self._epochs.append(_Epoch(first_seq=from_seq, seeds=new))
        return SeedRotation(
            previous_server_seed=old.server_seed,
            previous_server_seed_hash=old.server_seed_hash,
            server_seed_hash=new.server_seed_hash,
            client_seed=new.client_seed,
        )

    def play(self, seq: int, bet: BetRequest) -> Settled | Refused:
        currency = bet.currency
        balance = self.balances.get(currency, Decimal(0))
        amount = bet.amount
        minimum = self.min_bets.get(currency)
        if minimum is not None and amount < minimum:
            return Refused(seq=seq, bet=bet, kind=RefusalKind.MIN_BET,
                           message=f"The minimum bet is {minimum} {currency}", min_bet=minimum)
        if amount > balance:
            return Refused(seq=seq, bet=bet, kind=RefusalKind.BALANCE, message="Insufficient balance")
        self.last_seq = max(self.last_seq, seq)
        epoch = self._epoch_for(seq)
        seeds = epoch.seeds
        nonce = seeds.first_nonce + seq - epoch.first_seq
        number = roll(seeds.server_seed, seeds.client_seed, nonce)
        win = bet_wins(bet, number)
        payout = payout_multiplier(bet.chance, self.rules.edge_for(bet))
        profit = win_profit(amount, payout) if win else -amount
        balance += profit
        self.balances[currency] = balance
        self.bets += 1
        self.wins += win
        self.profit[currency] = self.profit.get(currency, Decimal(0)) + profit
        self.volume[currency] = self.volume.get(currency, Decimal(0)) + amount
        return Settled(
            seq=seq, bet=bet, number=number, win=win, payout=payout, profit=profit, balance=balance,
            nonce=nonce, bet_hash=f"sim-{seeds.server_seed[:8]}-{nonce}",
            client_seed=seeds.client_seed, server_seed_hash=seeds.server_seed_hash,
        )
