"""The simulated house: DuckDice's game and books without any I/O (seeds, nonces, balances, minimum bets).

The roll of bet `seq` depends only on the seed pair in force and its nonce, and the nonce follows the seq
(first_nonce + seq - first seq of that pair), never the moment the bet completes. So a run with a fixed
seed replays exactly at any concurrency and under any latency. Balances move when a bet executes, as on
the site. The async simulator backend and the Monte Carlo loop both play this one game.

Two roll sources (`betbot.core.rolls`): by default the provably-fair SHA-512 roll of the seed pair in force
and the nonce, exactly as the site rolls. With `fast_key` (Monte Carlo's `--rolls fast`) bet k of the game
(k = 0, 1, ... in seq order, counted from the game's first seq) rolls `fast_roll(fast_key, k)`; the
counter never restarts, so a seed rotation never replays earlier rolls (every fast roll is independent of
the others already). The seed pairs, nonces and hashes are kept either way, so the books look the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from mypy_extensions import mypyc_attr

from betbot.core.fairness import (
    GameRules,
    SeedPair,
    pair_roller,
    payout_multiplier,
    win_profit,
    winning_numbers,
    winning_window,
)
from betbot.core.models import BetRequest, RefusalKind, Refused, SeedRotation, Settled
from betbot.core.money import to_satoshis
from betbot.core.rolls import SCALAR_BLOCK, fast_roll_block

__all__ = ["SimulatedGame"]

_ZERO = Decimal(0)
# A Settled from a tuple of its fields in order, without `_make`'s Python frame and length check (play builds
# all eleven): tuple.__new__ is what `_make` calls.
_new_tuple = tuple.__new__
_FIRST_BLOCK = SCALAR_BLOCK  # the first block of fast rolls, made without NumPy (a short game needs no more)
_LAST_BLOCK = 4096
_REQUESTS_KEPT = 64  # request objects whose terms are remembered; then the memo starts again

# A request's terms: the request itself, its window of rolls (low, high, inside), payout, profit on a win and
# on a loss, 10,000 x its expected return in satoshis, and the bets it has played: [losses, wins].
_Terms = tuple[BetRequest, int, int, bool, Decimal, Decimal, Decimal, int, list[int]]


@dataclass(slots=True, kw_only=True)
class _Epoch:
    first_seq: int
    seeds: SeedPair
    seed_hash: str  # the server seed's hash, computed once per pair rather than once per bet
    hash_prefix: str  # the simulated bet hashes' prefix, "sim-<first 8 of the server seed>-"
    roll: Callable[[int], int]  # the provably-fair roll of a nonce under these seeds
    nonce_offset: int  # a bet's nonce is its seq plus this
    client_seed: str


def _epoch(first_seq: int, seeds: SeedPair) -> _Epoch:
    return _Epoch(first_seq=first_seq, seeds=seeds, seed_hash=seeds.server_seed_hash,
                  hash_prefix=f"sim-{seeds.server_seed[:8]}-", roll=pair_roller(seeds.server_seed, seeds.client_seed),
                  nonce_offset=seeds.first_nonce - first_seq, client_seed=seeds.client_seed)


# A compiled build (pyproject.toml) lets interpreted classes extend it: tests and the balance-path recorder do.
@mypyc_attr(allow_interpreted_subclasses=True)
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
        fast_key: int | None = None,
    ) -> None:
        self.rules = rules or GameRules()
        self.fast_key = fast_key
        # The fast source's next rolls, made in blocks (one NumPy call instead of a SplitMix64 in Python per
        # bet): block[i] is the roll of the game's bet block_start + i.
        self._block: list[int] = []
        self._block_start = 0
        self._first_seq = first_seq
        self.balances = dict(balances)
        self.min_bets = dict(min_bets or {})
        self._epochs = [_epoch(first_seq, seeds)]
        self._shapes: dict[tuple[object, ...], tuple[int, int, bool, Decimal]] = {}
        self._requests: dict[int, _Terms] = {}  # by id(request): see `_remember`
        self._last_terms: _Terms | None = None  # the last request played, with its terms
        self.bets = 0
        self.wins = 0
        # 10,000 x the sum over the bets played of stake + win profit, in satoshis, times the chance of a win:
        # the exact expected return (the edge's expected take is the volume less this / 10,000).
        self.expected_x10k = 0
        self.last_seq = first_seq - 1  # the highest seq played; a rotation applies after it
        # Profit and volume per currency of the requests no longer remembered (see `profit`).
        self._books: dict[str, tuple[Decimal, Decimal]] = {}

    @property
    def profit(self) -> dict[str, Decimal]:
        """The profit of every bet played, per currency."""
        return {currency: books[0] for currency, books in self._tally().items()}

    @property
    def volume(self) -> dict[str, Decimal]:
        """The stakes of every bet played, per currency."""
        return {currency: books[1] for currency, books in self._tally().items()}

    def _tally(self) -> dict[str, tuple[Decimal, Decimal]]:
        # Each request counts its wins and losses as it plays (an int each, where summing two decimals per bet
        # cost a tenth of a bet); the money follows from the counts when someone asks, which is rarely.
        books = dict(self._books)
        for terms in self._requests.values():
            _add_books(books, terms)
        return books

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
        self._epochs.append(_epoch(from_seq, new))
        return SeedRotation(
            previous_server_seed=old.server_seed,
            previous_server_seed_hash=old.server_seed_hash,
            server_seed_hash=new.server_seed_hash,
            client_seed=new.client_seed,
        )

    def _terms(self, bet: BetRequest) -> tuple[int, int, bool, Decimal]:
        """What decides and pays a bet of this shape: the window of rolls (lo..hi), whether the roll must fall
        inside it, and the payout multiplier. The same for every bet of the same shape, so computed once."""
        key = (bet.chance, bet.high, bet.faucet, bet.range, bet.range_in)
        terms = self._shapes.get(key)
        if terms is None:
            terms = self._shapes[key] = (*winning_window(bet), payout_multiplier(bet.chance, self.rules.edge_for(bet)))
        return terms

    def play(self, seq: int, bet: BetRequest) -> Settled | Refused:
        currency = bet.currency
        balances = self.balances
        balance = balances.get(currency, _ZERO)
        amount = bet.amount
        if self.min_bets:
            minimum = self.min_bets.get(currency)
            if minimum is not None and amount < minimum:
                return Refused(seq=seq, bet=bet, kind=RefusalKind.MIN_BET,
                               message=f"The minimum bet is {minimum} {currency}", min_bet=minimum)
        if amount > balance:
            return Refused(seq=seq, bet=bet, kind=RefusalKind.BALANCE, message="Insufficient balance")
        if seq > self.last_seq:
            self.last_seq = seq
        epoch = self._epochs[-1]
        if seq < epoch.first_seq:
            epoch = self._epoch_for(seq)
        nonce = seq + epoch.nonce_offset
        fast_key = self.fast_key
        if fast_key is None:
            number = epoch.roll(nonce)
        else:
            index = seq - self._first_seq - self._block_start
            block = self._block
            number = block[index] if 0 <= index < len(block) else self._next_block(fast_key, seq - self._first_seq)
        # `fairness.bet_wins` and `win_profit`, computed once per request object (the last one's at hand).
        terms = self._last_terms
        if terms is None or terms[0] is not bet:
            terms = self._last_terms = self._requests.get(id(bet)) or self._remember(bet)
        _, low, high, inside, payout, won, lost, expected, played = terms
        win = (low <= number <= high) is inside
        profit = won if win else lost
        balance += profit
        balances[currency] = balance
        self.bets += 1
        self.expected_x10k += expected
        played[win] += 1
        if win:
            self.wins += 1
        # In field order (seq, bet, number, win, payout, profit, balance, nonce, bet_hash, client_seed,
        # server_seed_hash), as the named tuple's `_make` builds it: less than half the cost of calling the class.
        return _new_tuple(Settled, (seq, bet, number, win, payout, profit, balance, nonce,
                                    f"{epoch.hash_prefix}{nonce}", epoch.client_seed, epoch.seed_hash))

    def _next_block(self, key: int, k: int) -> int:
        """The roll of the game's bet k, from a new block starting there. Blocks double from _FIRST_BLOCK (a
        session that busts early wastes little) to _LAST_BLOCK."""
        size = min(max(2 * len(self._block), _FIRST_BLOCK), _LAST_BLOCK)
        self._block = fast_roll_block(key, k, size)
        self._block_start = k
        return self._block[0]

    def _remember(self, bet: BetRequest) -> _Terms:
        # Strategies send the same request object again and again (a flat bettor always does, a martingale
        # cycles through a few), so what decides and pays it is kept per object; holding the object in the
        # entry keeps its id from being reused while the entry lives.
        requests = self._requests
        if len(requests) >= _REQUESTS_KEPT:
            self._books = self._tally()  # what the forgotten requests played stays in the books
            requests.clear()
        low, high, inside, payout = self._terms(bet)
        amount = bet.amount
        won = win_profit(amount, payout)
        expected = winning_numbers(bet.chance) * to_satoshis(amount + won)
        terms = requests[id(bet)] = (bet, low, high, inside, payout, won, -amount, expected, [0, 0])
        return terms


def _add_books(books: dict[str, tuple[Decimal, Decimal]], terms: _Terms) -> None:
    """Add what one request played to per-currency (profit, volume)."""
    bet, won, lost, (losses, wins) = terms[0], terms[5], terms[6], terms[8]
    if not losses + wins:
        return
    profit, volume = books.get(bet.currency, (_ZERO, _ZERO))
    books[bet.currency] = (profit + wins * won + losses * lost, volume + (wins + losses) * bet.amount)
