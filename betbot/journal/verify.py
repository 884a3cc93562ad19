"""Verify a journaled session: every settled bet whose server seed is revealed, re-computed from its seeds.

The arithmetic is `betbot.core.verify`'s; this module feeds it the session's seed pairs and bets from the
journal (streamed in seq order: constant memory whatever the session's length) and gathers the verdicts.
Server seeds the user passes in (a live seed revealed by a rotation the journal did not see) complete the
pairs whose published hash they match; nothing is written, so a read-only journal will do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from betbot.core.fairness import server_seed_hash
from betbot.core.models import BetRequest
from betbot.core.verify import BetVerdict, PairToVerify, Verdict, Verifier
from betbot.journal.schema import BetStatus
from betbot.journal.store import Journal

_Row = tuple[Any, ...]

__all__ = [
    "READ", "RunningVerification", "SessionVerification", "reveal_and_verify", "session_pairs", "verify_session",
]


@dataclass(slots=True, kw_only=True)
class SessionVerification:
    """What verifying one session found."""

    session_id: int
    pairs: int = 0
    revealed_pairs: int = 0
    matched: int = 0
    not_revealed: int = 0  # settled bets whose server seed is not revealed yet
    without_roll: int = 0  # refused, pending, unknown or reconciled: no roll to check
    mismatches: list[BetVerdict] = field(default_factory=list)
    unmatched_seeds: list[str] = field(default_factory=list)  # given seeds whose hash is no pair's

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def checked(self) -> int:
        return self.matched + len(self.mismatches)

    def line(self) -> str:
        """The result in one line, for the end of a run or the end of `betbot verify --session`."""
        outcome = (f"all {self.checked:,} match" if self.ok
                   else f"{len(self.mismatches):,} of {self.checked:,} do NOT match")
        later = f"; {self.not_revealed:,} not verifiable yet (server seed not revealed)" if self.not_revealed else ""
        if not self.checked:
            return f"session {self.session_id}: no bet to re-compute{later}"
        return (f"session {self.session_id}: {self.checked:,} bets re-computed from "
                f"{self.revealed_pairs} revealed server seed(s): {outcome}{later}")


def verify_session(journal: Journal, session_id: int, server_seeds: Iterable[str] = ()) -> SessionVerification:
    """Verify session `session_id`; `server_seeds` complete unrevealed pairs by their hash.

    Raises UnknownSession when the journal has no such session, JournalError when it cannot be read.
    """
    given = {server_seed_hash(seed): seed for seed in server_seeds}
    running = RunningVerification(session_id, session_pairs(journal, session_id, given))
    running.feed(journal.bet_columns(session_id, READ))
    return running.result(given)


def session_pairs(journal: Journal, session_id: int, given: dict[str, str]) -> list[PairToVerify]:
    """The session's seed pairs as journaled, each with its server seed: revealed, or one of `given` (by hash)."""
    pairs = []
    for record in journal.seed_pairs(session_id):
        seed = record.server_seed if record.server_seed is not None else given.get(record.server_seed_hash)
        pairs.append(PairToVerify(first_seq=record.first_seq, server_seed_hash=record.server_seed_hash,
                                  client_seed=record.client_seed, server_seed=seed))
    return pairs


class RunningVerification:
    """`verify_session` in steps: the session's bets fed in seq order, in as many batches as come (a run's
    verification that keeps pace with it, `betbot.journal.verify_ahead`), then `result`. Fed all at once,
    it is `verify_session`."""

    def __init__(self, session_id: int, pairs: list[PairToVerify]) -> None:
        self.session_id = session_id
        self.pairs = pairs
        self.last_seq = 0  # the last bet fed
        self._verifier = Verifier(pairs)
        self._matched = 0
        self._not_revealed = 0
        self._without_roll = 0
        self._mismatches: list[BetVerdict] = []
        # A session repeats a few requests and amounts millions of times: each is parsed once.
        self._bets: dict[tuple[object, ...], BetRequest] = {}
        self._amounts: dict[str, Decimal] = {}

    def more_pairs(self, pairs: list[PairToVerify]) -> None:
        """The session's pairs again, now with those rotated in since, and every server seed known by now."""
        self.pairs = pairs
        self._verifier.extend(pairs)

    def feed(self, rows: Iterable[_Row], *, before: int | None = None, final_only: bool = False) -> bool:
        """Check these rows (`READ`'s columns, in seq order). With `before` or `final_only`, stop without
        checking the first row at or after seq `before`, or the first whose status may still change (pending,
        unknown): False then."""
        check = self._verifier.check
        settled = BetStatus.SETTLED.value
        stop_at = _NO_SEQ if before is None else before
        changing = _CHANGING if final_only else frozenset()
        bets = self._bets
        amounts = self._amounts
        known_amount = amounts.get
        matched = without_roll = 0
        last = self.last_seq
        try:
            for row in rows:
                seq, status, nonce, roll, win, payout_text, profit_text = row[:7]
                if seq >= stop_at:
                    return False
                if status != settled or roll is None or nonce is None:
                    if status in changing:
                        return False
                    last = seq
                    without_roll += 1
                    continue
                last = seq
                key = row[7:]
                bet = bets.get(key)
                if bet is None:
                    if len(bets) > _CACHE:
                        bets.clear()
                    bet = bets[key] = _request(key)
                # The caches' look-ups inline: this loop runs once a bet, a million times for a million bets.
                payout = known_amount(payout_text) or _amount(amounts, payout_text)
                profit = known_amount(profit_text) or _amount(amounts, profit_text)
                verdict = check(seq, bet, nonce, roll, bool(win), payout, profit)
                if verdict is None:
                    matched += 1
                elif verdict.verdict is Verdict.MISMATCH:
                    self._mismatches.append(verdict)
                else:
                    self._not_revealed += 1
            return True
        finally:  # the counts kept in locals: this loop runs once a bet
            self.last_seq = last
            self._matched += matched
            self._without_roll += without_roll

    def result(self, given: dict[str, str]) -> SessionVerification:
        """What the bets fed so far found; `given`: the server seeds passed in, by hash."""
        known = {pair.server_seed_hash for pair in self.pairs}
        return SessionVerification(
            session_id=self.session_id, pairs=len(self.pairs),
            revealed_pairs=sum(pair.server_seed is not None for pair in self.pairs),
            unmatched_seeds=[seed for digest, seed in given.items() if digest not in known],
            matched=self._matched, not_revealed=self._not_revealed, without_roll=self._without_roll,
            mismatches=list(self._mismatches),
        )


# What verifying reads of each bet: the record, then the request (the columns `_request` takes, in order).
READ = ("seq", "status", "nonce", "roll", "win", "payout", "profit",
        "amount", "chance", "currency", "high", "faucet", "range_lo", "range_hi", "range_in")

_CACHE = 65_536
_NO_SEQ = 1 << 62  # above every seq
_CHANGING = frozenset({BetStatus.PENDING.value, BetStatus.UNKNOWN.value})  # statuses a bet may still leave


def _amount(cache: dict[str, Decimal], text: str) -> Decimal:
    value = cache.get(text)
    if value is None:
        if len(cache) > _CACHE:
            cache.clear()
        value = cache[text] = Decimal(text)
    return value


def _request(columns: tuple[Any, ...]) -> BetRequest:
    amount, chance, currency, high, faucet, low, high_end, inside = columns
    return BetRequest(amount=Decimal(amount), chance=Decimal(chance), currency=currency, high=bool(high),
                      faucet=bool(faucet), range=None if low is None or high_end is None else (low, high_end),
                      range_in=True if inside is None else bool(inside))


def reveal_and_verify(journal: Journal, session_id: int, server_seeds: Iterable[str]) -> SessionVerification:
    """The simulator's end of session: store its server seeds as revealed, then verify the session."""
    for seed in server_seeds:
        journal.reveal_seed(session_id, seed)
    return verify_session(journal, session_id)
