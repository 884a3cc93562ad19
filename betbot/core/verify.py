"""The verifier: re-compute DuckDice rolls from revealed seeds and check journaled bets against them.

Theory of operation. A bet can be verified once the server seed it was rolled under is revealed (the
site reveals it when the seed pair is rotated; the simulator at the end of its session). A seed pair
covers the bets from its `first_seq` up to the next pair's; each bet carries the nonce the house
reported. For every settled bet under a revealed pair the verifier re-computes

    roll   = fairness.roll(server seed, client seed, the bet's nonce)
    win    = fairness.bet_wins(bet, that roll)
    profit = win_profit(amount, payout) on a win, -amount on a loss (with the payout the house paid)

and reports each difference from the record, bet by bet. A nonce used twice under one pair is reported
too: the house never rolls a nonce twice, so a record that does was altered. A revealed seed whose
SHA-256 is not the hash published for its pair makes every bet of that pair a mismatch.

Pure and streaming: bets go in as an iterable in seq order and verdicts come out one by one, so a
session of millions of bets is checked in constant memory. Nothing here reads the journal or prints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from betbot.core.fairness import bet_wins, pair_roller, roll, server_seed_hash, win_profit, winning_window
from betbot.core.models import BetRequest

__all__ = [
    "BetVerdict",
    "JournaledBet",
    "NonceSet",
    "PairToVerify",
    "RollTrace",
    "Verdict",
    "Verifier",
    "format_roll",
    "parse_nonces",
    "trace_roll",
    "verify_bets",
]

_WINDOW = 5
_LAST_WINDOW_OFFSET = 120
_WINDOW_LIMIT = 1_000_000
_ROLLS = 10_000
MAX_NONCES = 1_000_000  # `--nonces A-B` prints at most this many rolls in one call


@dataclass(frozen=True, slots=True)
class RollTrace:
    """A roll with the work shown: the digest, which 5-hex window gave it (None: the fallback), the value."""

    nonce: int
    digest: str
    offset: int | None  # offset of the first window below 1,000,000; None if the last 3 characters were used
    value: int  # that window's (or the 3 characters') integer value
    roll: int


def trace_roll(server_seed: str, client_seed: str, nonce: int) -> RollTrace:
    """The roll of duckdice-api.md's "Provably fair roll", step by step (equal to `fairness.roll`)."""
    digest = hashlib.sha512(f"{server_seed}{client_seed}{nonce}".encode()).hexdigest()
    for offset in range(0, _LAST_WINDOW_OFFSET + 1, _WINDOW):
        value = int(digest[offset : offset + _WINDOW], 16)
        if value < _WINDOW_LIMIT:
            return RollTrace(nonce, digest, offset, value, value % _ROLLS)
    value = int(digest[_LAST_WINDOW_OFFSET + _WINDOW :], 16)
    return RollTrace(nonce, digest, None, value, value % _ROLLS)


def format_roll(number: int) -> str:
    """A roll 0..9999 as the site shows it, 0.00..99.99."""
    return f"{number // 100}.{number % 100:02d}"


def parse_nonces(text: str) -> range:
    """`A-B` (inclusive, A <= B) or a single `N`, as a range of nonces; ValueError says what is wrong."""
    first, sep, last = text.strip().partition("-")
    try:
        low = int(first)
        high = int(last) if sep else low
    except ValueError:
        raise ValueError(f"{text!r} is not a nonce range; write it as A-B, e.g. 0-99") from None
    if low < 0:
        raise ValueError(f"{text!r}: nonces are 0 or more")
    if high < low:
        raise ValueError(f"{text!r}: the range ends before it starts; write the smaller nonce first")
    if high - low + 1 > MAX_NONCES:
        raise ValueError(f"{text!r} holds {high - low + 1} nonces; at most {MAX_NONCES:,} at a time")
    return range(low, high + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PairToVerify:
    """A seed pair a session played under from bet `first_seq` on; `server_seed` None until revealed."""

    first_seq: int
    server_seed_hash: str
    client_seed: str
    server_seed: str | None

    hash_matches: bool = field(init=False)  # the revealed seed is the one whose hash was published

    def __post_init__(self) -> None:
        # Once per pair, not once per bet (True while unrevealed).
        matches = self.server_seed is None or server_seed_hash(self.server_seed) == self.server_seed_hash
        object.__setattr__(self, "hash_matches", matches)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a session's verification
# builds one of these and one verdict per bet (a million of each for a million bets).
@dataclass(slots=True, kw_only=True)
class JournaledBet:
    """What the record says of one settled bet."""

    seq: int
    bet: BetRequest
    nonce: int
    roll: int
    win: bool
    payout: Decimal
    profit: Decimal


class Verdict(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_REVEALED = "not verifiable yet"  # its server seed has not been revealed


@dataclass(slots=True, kw_only=True)
class BetVerdict:
    seq: int
    verdict: Verdict
    problems: tuple[str, ...] = ()  # for a mismatch: each difference, as a phrase


def _pair_index(pairs: Sequence[PairToVerify], seq: int, start: int) -> int:
    """Index of the pair in force at `seq` (the last with first_seq <= seq), searching on from `start`."""
    index = start
    while index + 1 < len(pairs) and pairs[index + 1].first_seq <= seq:
        index += 1
    return index


_NONCE_BYTES = 1 << 24  # 134 million nonces in 16 MiB; a nonce beyond that is an altered record's
_NO_PAIR_YET = 1 << 63  # a seq no session reaches


class NonceSet:
    """The nonces seen under one seed pair: a session of millions of bets is checked for a nonce used twice in
    a few hundred kilobytes, not a set of millions of ints.

    The house counts nonces up one by one, so a session's are almost always one unbroken run: the run is two
    ints, and `add` of its next nonce is one comparison. Any nonce outside the run (an account's bets made
    elsewhere in between, or an altered record) takes one bit from the first nonce seen, or a set entry
    below it or far above it.
    """

    __slots__ = ("_bits", "_end", "_others", "_plain", "_start")

    def __init__(self) -> None:
        self._start: int | None = None  # the run is start..end-1; both None until the first nonce
        self._end: int | None = None
        self._plain = True  # no nonce seen outside the run: its next nonce needs no other look-up
        self._bits = bytearray()  # bit k: nonce start + k seen (outside the run)
        self._others: set[int] = set()  # a nonce below the run's start, or far above it

    def __contains__(self, nonce: int) -> bool:
        start, end = self._start, self._end
        if start is None or end is None:
            return False
        if start <= nonce < end:
            return True
        offset = nonce - start
        byte = offset >> 3
        if offset < 0 or byte >= _NONCE_BYTES:
            return nonce in self._others
        return byte < len(self._bits) and bool(self._bits[byte] >> (offset & 7) & 1)

    def add(self, nonce: int) -> bool:
        """Remember `nonce`; whether it is new (False: it was seen already)."""
        if nonce == self._end and self._plain:  # the run goes on: every other nonce seen is below it
            self._end = nonce + 1
            return True
        return self._add_other(nonce)

    def _add_other(self, nonce: int) -> bool:
        start, end = self._start, self._end
        if start is None or end is None:
            self._start, self._end = nonce, nonce + 1
            return True
        if start <= nonce < end:
            return False
        self._plain = False
        offset = nonce - start
        byte = offset >> 3
        if offset < 0 or byte >= _NONCE_BYTES:
            others = self._others
            if nonce in others:
                return False
            others.add(nonce)
            return True
        bits = self._bits
        if byte >= len(bits):
            bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))
        mask = 1 << (offset & 7)
        if bits[byte] & mask:
            return False
        bits[byte] |= mask
        return True


class Verifier:
    """Checks one session's bets, fed in seq order; keeps the pair in force and the nonces seen under it.

    `check` takes a record's fields as they are (no record object per bet: a session has millions) and
    answers None when the bet matches its seeds, else its verdict (a mismatch with each difference, or not
    verifiable yet).
    """

    __slots__ = ("_first_seq", "_index", "_lost", "_pairs", "_payout", "_request", "_roll", "_seen", "_until",
                 "_window", "_won")

    def __init__(self, pairs: Sequence[PairToVerify]) -> None:
        self._pairs = pairs  # sorted by first_seq
        self._first_seq = pairs[0].first_seq if pairs else _NO_PAIR_YET  # before it, nothing is verifiable
        # The last request's terms: a session repeats the same request object. Its winning window (lo, hi,
        # inside), its loss, and its win's profit at the last payout seen.
        self._request: BetRequest | None = None
        self._window = (0, -1, True)
        self._lost = Decimal(0)
        self._payout: Decimal | None = None
        self._won = Decimal(0)
        self._index = 0
        self._seen = NonceSet()  # nonces used under the current pair
        self._roll: Callable[[int], int] | None = None  # the current pair's roll, when revealed and true
        self._until = _NO_PAIR_YET  # the next pair's first seq
        if pairs:
            self._enter(0)

    def _enter(self, index: int) -> None:
        """Make pair `index` the one in force."""
        pairs = self._pairs
        pair = pairs[index]
        self._index, self._seen = index, NonceSet()
        self._until = pairs[index + 1].first_seq if index + 1 < len(pairs) else _NO_PAIR_YET
        self._roll = _roller(pair)

    def extend(self, pairs: Sequence[PairToVerify]) -> None:
        """The session's pairs again, with those rotated in since it began: the ones given before come first,
        unchanged but for a server seed known by now. Checking goes on where it was, as if it had been given
        them all from the start."""
        before = self._pairs
        if [pair.first_seq for pair in pairs[:len(before)]] != [pair.first_seq for pair in before]:
            raise ValueError("the pairs given before must come first, unchanged")
        self._pairs = pairs
        if not before:  # nothing was checkable yet: the first pair begins now
            if pairs:
                self._first_seq = pairs[0].first_seq
                self._enter(0)
            return
        index = self._index
        self._until = pairs[index + 1].first_seq if index + 1 < len(pairs) else _NO_PAIR_YET
        if self._roll is None:  # its server seed may be known now
            self._roll = _roller(pairs[index])

    def check(self, seq: int, bet: BetRequest, nonce: int, number: int, win: bool,  # noqa: PLR0917 - a record's fields
              payout: Decimal, profit: Decimal) -> BetVerdict | None:
        if seq >= self._until:
            self._enter(_pair_index(self._pairs, seq, self._index))
        roll_of = self._roll
        fresh = self._seen.add(nonce) if seq >= self._first_seq else False
        if bet is not self._request:
            self._request, self._window, self._lost, self._payout = bet, winning_window(bet), -bet.amount, None
        low, high, inside = self._window
        # The common case in one pass; any difference is then spelled out by the slow path.
        if fresh and roll_of is not None and roll_of(nonce) == number and ((low <= number <= high) is inside) == win:
            if not win:
                if profit == self._lost:
                    return None
            else:
                if payout is not self._payout:
                    self._payout, self._won = payout, _win_profit(bet.amount, payout)
                if profit == self._won:
                    return None
        return self._slow_check(seq, bet, nonce, number, win, payout, profit, reused=not fresh)

    def _slow_check(self, seq: int, bet: BetRequest, nonce: int, number: int, win: bool,  # noqa: PLR0917 - a record's fields
                    payout: Decimal, profit: Decimal, *, reused: bool) -> BetVerdict | None:
        pairs = self._pairs
        if seq < self._first_seq:
            return BetVerdict(seq=seq, verdict=Verdict.NOT_REVEALED)
        pair = pairs[self._index]
        server_seed = pair.server_seed
        if server_seed is None:
            return BetVerdict(seq=seq, verdict=Verdict.NOT_REVEALED)
        record = JournaledBet(seq=seq, bet=bet, nonce=nonce, roll=number, win=win, payout=payout, profit=profit)
        problems = _problems(pair, server_seed, record, reused=reused)
        return BetVerdict(seq=seq, verdict=Verdict.MISMATCH, problems=problems) if problems else None


def _roller(pair: PairToVerify) -> Callable[[int], int] | None:
    """The roll of a pair's nonces, once its seed is revealed. A pair whose revealed seed is not its published
    one gets none: its bets take the slow path, which reports it."""
    seed = pair.server_seed
    return pair_roller(seed, pair.client_seed) if seed is not None and pair.hash_matches else None


def verify_bets(pairs: Sequence[PairToVerify], bets: Iterable[JournaledBet]) -> Iterator[BetVerdict]:
    """A verdict per bet, in the bets' order (which must be seq order). `pairs` sorted by first_seq.

    A bet before the first pair, or with no pair at all, is not verifiable.
    """
    verifier = Verifier(pairs)
    for bet in bets:
        verdict = verifier.check(bet.seq, bet.bet, bet.nonce, bet.roll, bet.win, bet.payout, bet.profit)
        yield BetVerdict(seq=bet.seq, verdict=Verdict.MATCH) if verdict is None else verdict


# A session repeats few stakes and payouts: their winning profit is computed once each.
_win_profit = lru_cache(maxsize=4096)(win_profit)


def _problems(pair: PairToVerify, server_seed: str, bet: JournaledBet, *, reused: bool) -> tuple[str, ...]:
    found: list[str] = []
    if not pair.hash_matches:
        found.append(f"the revealed server seed does not hash to {pair.server_seed_hash}")
    if reused:
        found.append(f"nonce {bet.nonce} was already used under this seed pair")
    number = roll(server_seed, pair.client_seed, bet.nonce)
    if number != bet.roll:
        found.append(f"roll {format_roll(bet.roll)} recorded, the seeds give {format_roll(number)}")
    wins = bet_wins(bet.bet, number)
    if wins != bet.win:
        found.append(f"recorded as a {'win' if bet.win else 'loss'}, but roll {format_roll(number)} "
                     f"{'wins' if wins else 'loses'} this bet")
    expected = _win_profit(bet.bet.amount, bet.payout) if bet.win else -bet.bet.amount
    if expected != bet.profit:
        found.append(f"profit {bet.profit:f} recorded, a {'win' if bet.win else 'loss'} of "
                     f"{bet.bet.amount:f} at payout {bet.payout} gives {expected:f}")
    return tuple(found)
