"""The sans-IO session core: statistics, limits and the risk gate with exposure accounting.

Theory of operation. One `Session` is owned by one task (the engine's strategy task, or a plain loop in
Monte Carlo). It never reads the clock, the network, the disk or an RNG and never logs: time comes in as
`now` (seconds on any monotonic clock), outcomes come in as data. The same code therefore decides for a
live run, a dry run and a Monte Carlo run, and they can never disagree about limits.

The life of a bet, as the owner drives it:

    open_for_bets(now)?  ── no ──► stop_reason says why
      │ yes
    strategy.next_bet(view) ──► admit(bet, now) ──► seq      (the bet is in flight: its stake is exposure)
                                       ├─────────► HELD      (fits once bets in flight resolve: try again then)
                                       └─────────► StopReason
    ... outcomes arrive in any order; the reorder buffer hands them over in seq order ...
    apply(outcome) ──► strategy.on_result(...) ──► check_limits(now)

Invariants, enforced in `admit`:
  * exposure (the sum of the stakes in flight) never exceeds the balance;
  * settled profit - exposure - stake >= -stop_loss: even if every bet in flight loses, and this one too,
    the stop-loss is not crossed, at any concurrency;
  * balance - exposure - stake >= min_balance;
  * no stake above max_bet; at most max_bets bets are ever admitted; none after the deadline.
A reply that breaks the books (an unknown seq, a loss that does not cost the stake) halts the session
with BACKEND_ERROR rather than guessing.

The books (balance, profit, exposure, the statistics, the limits) are kept in integer satoshis: they are
read and compared once or more per bet, and an integer costs a fraction of a Decimal there. Decimals come in
at the edges (a request's stake, an outcome's profit, the limits), each turned into satoshis exactly (a
request's terms once per request object, an outcome's profit once per object the backend hands over), and
go out at the edges (the properties, the snapshot, the messages) as `SATOSHI * n`: the very Decimal, digits
and exponent, that summing the quantised amounts gave.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

from mypy_extensions import mypyc_attr

from betbot.core.fairness import GameRules, range_chance
from betbot.core.models import (
    BetRequest,
    Outcome,
    RefusalKind,
    Refused,
    Settled,
    StopKind,
    StopReason,
)
from betbot.core.money import SATOSHI
from betbot.core.money import money_text as _m

__all__ = ["HELD", "LIMIT_NAMES", "Held", "Limits", "Session", "SessionSnapshot"]


class Held:
    """The gate's "not now": the bet fits once some bets in flight have resolved."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "HELD"


HELD: Final = Held()
_VALID_BETS_KEPT: Final = 64  # distinct request objects remembered as valid; then the memo starts again
_money = SATOSHI.__mul__  # satoshis (an int) as the Decimal amount, exponent -8: the way out of the books


class _Terms:
    """A valid request's terms in the books' units, kept per request object: its stake in satoshis, its
    chance in hundredths of a percent, and the profit objects last seen on its outcomes with their value in
    satoshis (a simulated house hands the same Decimal over for every win, and for every loss, of a request)."""

    __slots__ = ("bet", "chance", "lost", "stake", "won", "won_sats")

    def __init__(self, bet: BetRequest, stake: int, chance: int) -> None:
        self.bet = bet  # held: its id stays this request's while the entry lives
        self.stake = stake
        self.chance = chance
        self.won: Decimal | None = None
        self.won_sats = 0
        self.lost: Decimal | None = None


def _satoshis(amount: Decimal) -> int | None:
    """An amount as exact satoshis, or None when it has more than 8 places (or is not finite).

    (Turning a Decimal into an int costs as much as four Decimal additions: the books do it once per request
    object and once per profit object, never per bet when the objects repeat.)"""
    if not amount.is_finite():
        return None
    scaled = amount.scaleb(8)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _floor_satoshis(limit: Decimal | None) -> int | None:
    """The largest whole number of satoshis at or below `limit`: for a whole n, n <= limit iff n <= this,
    and n > limit iff n > this (so a limit with more than 8 places is compared exactly)."""
    return None if limit is None else int(limit.scaleb(8).to_integral_value(rounding=ROUND_FLOOR))


def _ceiling_satoshis(limit: Decimal | None) -> int | None:
    """The smallest whole number of satoshis at or above `limit`: n >= limit iff n >= this, n < limit iff
    n < this."""
    return None if limit is None else int(limit.scaleb(8).to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Session limits; None means no limit. Amounts are absolute (percentages resolved before)."""

    max_bets: int | None = None
    max_duration: float | None = None  # seconds
    stop_loss: Decimal | None = None  # stop before the session could lose more than this
    take_profit: Decimal | None = None  # stop once the profit reaches this
    max_losses: int | None = None  # stop after this many losses in a row
    max_wins: int | None = None  # stop after this many wins in a row
    max_bet: Decimal | None = None  # no single stake above this
    min_balance: Decimal | None = None  # never risk the balance below this
    trailing_stop: Decimal | None = None  # stop once the profit falls this far below its peak

    def tightened(self, requested: Limits) -> tuple[Limits, list[str]]:
        """These limits with each limit of `requested` that is tighter; never a looser one.

        A resumed session keeps its own limits: a limit given again may only tighten it. The notes say, for
        each limit requested, what was done and why, so nothing changes silently.
        """
        values: dict[str, object] = {}
        notes: list[str] = []
        for name in LIMIT_NAMES:
            own = getattr(self, name)
            wanted = getattr(requested, name)
            values[name] = own
            if wanted is None or wanted == own:
                continue
            looser_is_lower = name == "min_balance"
            tighter = own is None or (wanted > own if looser_is_lower else wanted < own)
            if tighter:
                values[name] = wanted
                notes.append(f"{name} tightened from {_limit_text(own)} to {_limit_text(wanted)}")
            else:
                notes.append(f"{name} kept at the session's {_limit_text(own)} "
                             f"({_limit_text(wanted)} would loosen it)")
        return Limits(**values), notes  # type: ignore[arg-type]


LIMIT_NAMES: Final = tuple(field.name for field in fields(Limits))  # every limit, in declaration order


def _limit_text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        return _m(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSnapshot:
    """Everything the dashboard, the summary and the journal report about a session at one moment."""

    currency: str
    starting_balance: Decimal
    balance: Decimal
    profit: Decimal
    wagered: Decimal
    bets: int
    wins: int
    losses: int
    submitted: int
    in_flight: int
    exposure: Decimal
    unresolved: int
    streak: int
    longest_win_streak: int
    longest_loss_streak: int
    largest_bet: Decimal
    largest_win: Decimal
    largest_loss: Decimal
    max_drawdown: Decimal
    peak_profit: Decimal
    luck: float | None  # wins / expected wins, in percent; a rate, not money
    stop_reason: StopReason | None


# A compiled build (pyproject.toml) lets interpreted classes extend it: tests and the balance-path recorder do.
@mypyc_attr(allow_interpreted_subclasses=True)
class Session:
    """Session state, statistics and limits. Drive it only from the task that owns it."""

    def __init__(
        self,
        *,
        currency: str,
        starting_balance: Decimal,
        limits: Limits,
        started_at: float,
        rules: GameRules | None = None,
        first_seq: int = 1,
    ) -> None:
        start = _satoshis(starting_balance)
        if start is None:
            raise ValueError(f"starting balance {starting_balance} must have at most 8 decimal places")
        self.currency = currency
        self.rules = rules or GameRules()
        self.started_at = started_at
        self._set_limits(limits)
        self._starting_balance = starting_balance
        self._start = start  # satoshis, as every amount below
        self._next_seq = first_seq
        self._stop_reason: StopReason | None = None
        # Exposure: every admitted bet whose outcome has not been applied, and unknown ones until
        # reconciled (an unknown bet may have lost its stake).
        self._in_flight: dict[int, int] = {}
        self._unresolved: dict[int, int] = {}
        self._exposure = 0
        self._submitted = 0
        # Requests that passed validation, by identity, with their terms: strategies reuse request objects (a
        # martingale cycles through a few stakes), so each is checked and converted once.
        self._valid_bets: dict[int, _Terms] = {}
        self._last: _Terms | None = None  # the last of them admitted
        self._chance: tuple[Decimal | None, int] = (None, 0)  # the last chance converted, and its hundredths
        # Statistics over the ordered history.
        self._profit = 0
        self._wagered = 0
        self._bets = 0
        self._wins = 0
        self._streak = 0
        self._longest_win_streak = 0
        self._longest_loss_streak = 0
        self._largest_bet = 0
        self._largest_win = 0
        self._largest_loss = 0
        self._peak_profit = 0
        self._max_drawdown = 0
        self._chance_sum = 0  # the chances of settled bets in hundredths of a percent, for luck

    @property
    def limits(self) -> Limits:
        """The session's limits (the deadline and the checks after each result are worked out from them when
        they are set: at the start, and by `tighten`)."""
        return self._limits

    def tighten(self, requested: Limits) -> list[str]:
        """Take each limit of `requested` that is tighter than the session's own (never a looser one, the rule
        of `Limits.tightened`); the notes say what was done. The deadline and the checks after each result are
        worked out again from the new limits. The caller checks the limits next (one may already hold)."""
        limits, notes = self._limits.tightened(requested)
        self._set_limits(limits)
        return notes

    def _set_limits(self, limits: Limits) -> None:
        self._limits = limits
        self._deadline = None if limits.max_duration is None else self.started_at + limits.max_duration
        # Whether any limit is read off the results (the rest bound the count and the clock): with none set,
        # checking the limits after a result costs one test.
        self._result_limits = any(value is not None for value in (
            limits.take_profit, limits.stop_loss, limits.max_losses, limits.max_wins, limits.trailing_stop,
            limits.min_balance))
        # The money limits as whole satoshis that compare with the books exactly as the Decimal limit would
        # (see _floor_satoshis and _ceiling_satoshis for which side each comparison needs).
        self._max_bet = _floor_satoshis(limits.max_bet)  # stake > max_bet
        stop_loss = _floor_satoshis(limits.stop_loss)
        self._gate_loss = None if stop_loss is None else -stop_loss  # worst case < -stop_loss
        loss = _ceiling_satoshis(limits.stop_loss)
        self._stop_loss = None if loss is None else -loss  # profit <= -stop_loss
        self._gate_balance = _ceiling_satoshis(limits.min_balance)  # balance - exposure < min_balance
        self._min_balance = _floor_satoshis(limits.min_balance)  # balance <= min_balance
        self._take_profit = _ceiling_satoshis(limits.take_profit)  # profit >= take_profit
        self._trailing_stop = _ceiling_satoshis(limits.trailing_stop)  # peak - profit >= trailing_stop

    # -- the read-only view a strategy gets ------------------------------------------------------
    @property
    def starting_balance(self) -> Decimal:
        return self._starting_balance

    @property
    def balance(self) -> Decimal:
        return _money(self._start + self._profit)

    @property
    def profit(self) -> Decimal:
        return _money(self._profit)

    @property
    def wagered(self) -> Decimal:
        return _money(self._wagered)

    @property
    def bets(self) -> int:
        return self._bets

    @property
    def wins(self) -> int:
        return self._wins

    @property
    def losses(self) -> int:
        return self._bets - self._wins

    @property
    def streak(self) -> int:
        return self._streak

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def exposure(self) -> Decimal:
        return _money(self._exposure)

    # -- for the owner ---------------------------------------------------------------------------
    @property
    def submitted(self) -> int:
        return self._submitted

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def stop_reason(self) -> StopReason | None:
        return self._stop_reason

    @property
    def stopped(self) -> bool:
        return self._stop_reason is not None

    @property
    def done(self) -> bool:
        """Stopped, and nothing left in flight: the owner may finish."""
        return self._stop_reason is not None and not self._in_flight

    @property
    def unresolved_seqs(self) -> list[int]:
        """Bets whose outcome is unknown and not yet reconciled."""
        return sorted(self._unresolved)

    def stop(self, kind: StopKind, detail: str, *, replace: bool = False) -> StopReason:
        """Stop admitting bets. The first reason given is the one that stands, unless `replace`
        (the owner restating the same stop with what it learned since, e.g. reconciliation's verdict)."""
        if self._stop_reason is None or replace:
            self._stop_reason = StopReason(kind=kind, detail=detail)
        return self._stop_reason

    def open_for_bets(self, now: float) -> bool:
        """Whether a new bet could be admitted now at all (checked before asking the strategy)."""
        if self._stop_reason is not None:
            return False
        limits = self._limits
        if limits.max_bets is not None and self._submitted >= limits.max_bets:
            self.stop(StopKind.MAX_BETS, f"placed {self._submitted:,} of {limits.max_bets:,} bets")
            return False
        if self._deadline is not None and now >= self._deadline:
            self.stop(StopKind.MAX_DURATION, f"max_duration of {limits.max_duration:g}s reached")
            return False
        return True

    def admit(self, bet: BetRequest, now: float) -> int | Held | StopReason:
        """The risk gate: a seq for the admitted bet, HELD, or the reason the session stopped."""
        if not self.open_for_bets(now):
            assert self._stop_reason is not None  # noqa: S101 - open_for_bets sets it when it says no
            return self._stop_reason
        return self.admit_open(bet)

    def admit_open(self, bet: BetRequest) -> int | Held | StopReason:
        """`admit` for an owner that has just found the session open (the machine asks before it asks the
        strategy): the gate without asking again."""
        terms = self._last
        if terms is None or terms.bet is not bet:
            terms = self._valid_bets.get(id(bet))
            if terms is None:
                invalid = self._invalid(bet)
                if invalid is not None:
                    return self.stop(StopKind.INVALID_BET, invalid)
                valid = self._valid_bets
                if len(valid) >= _VALID_BETS_KEPT:
                    valid.clear()
                # Valid: whole satoshis and whole hundredths, so the conversions are exact.
                terms = valid[id(bet)] = _Terms(bet, int(bet.amount.scaleb(8)), self._chance_of(bet.chance))
            self._last = terms
        amount = terms.stake
        if self._max_bet is not None and amount > self._max_bet:
            return self.stop(StopKind.MAX_BET, f"the strategy asked for {_m(bet.amount)}, above max_bet "
                             f"{_limit_text(self._limits.max_bet)}")
        exposure = self._exposure + amount
        if self._gate_loss is not None and self._profit - exposure < self._gate_loss:
            return self._held_or_stop(
                StopKind.STOP_LOSS,
                f"a stake of {_m(bet.amount)} could cross the stop-loss of "
                f"{_limit_text(self._limits.stop_loss)} "
                f"(profit {_m(_money(self._profit))}, in flight {_m(_money(self._exposure))})",
            )
        balance = self._start + self._profit
        if exposure > balance:
            return self._held_or_stop(
                StopKind.INSUFFICIENT_BALANCE,
                f"a stake of {_m(bet.amount)} exceeds the available balance {_m(_money(balance - self._exposure))}",
            )
        if self._gate_balance is not None and balance - exposure < self._gate_balance:
            return self._held_or_stop(
                StopKind.MIN_BALANCE,
                f"a stake of {_m(bet.amount)} could take the balance below min_balance "
                f"{_limit_text(self._limits.min_balance)}",
            )
        seq = self._next_seq
        self._next_seq = seq + 1
        self._submitted += 1
        self._in_flight[seq] = amount
        self._exposure = exposure
        return seq

    def _held_or_stop(self, kind: StopKind, detail: str) -> Held | StopReason:
        # With bets in flight the bet may fit once they resolve; with none, it never will.
        if self._in_flight:
            return HELD
        return self.stop(kind, detail)

    def _invalid(self, bet: BetRequest) -> str | None:
        amount = bet.amount
        # A stake of 0 is a "watch" bet (DiceBot scripts use them to see rolls): nothing at stake; live,
        # the site's minimum decides (the minimum-bet rule).
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(SATOSHI):
            return f"stake {amount:f} must be 0 or above with at most 8 decimal places"
        if bet.currency != self.currency:
            return f"currency {bet.currency} differs from the session's {self.currency}"
        rules = self.rules
        if bet.range is not None:
            low, high = bet.range
            if not 0 <= low <= high <= 9999:
                return f"range {low}..{high} must lie inside 0..9999 with low <= high"
            if bet.chance != range_chance(low, high, bet.range_in):
                return f"chance {bet.chance} does not match the range {low}..{high} ({'in' if bet.range_in else 'out'})"
        if not rules.min_chance <= bet.chance <= rules.max_chance or bet.chance * 100 % 1:
            return (
                f"chance {bet.chance} must be between {rules.min_chance} and {rules.max_chance} "
                "in 0.01 steps"
            )
        return None

    def _chance_of(self, chance: Decimal) -> int:
        """A valid chance in hundredths of a percent (strategies pass the same chance object bet after bet)."""
        memo = self._chance
        if memo[0] is not chance:
            memo = self._chance = (chance, int(chance * 100))
        return memo[1]

    def _terms_of(self, bet: BetRequest) -> _Terms | None:
        """The terms of an outcome's request that is not the last one admitted (None if it cannot be put in the
        books' units)."""
        terms = self._valid_bets.get(id(bet))
        if terms is not None and terms.bet is bet:
            return terms
        stake = _satoshis(bet.amount)
        chance = bet.chance * 100
        if stake is None or not chance.is_finite() or chance % 1:
            return None
        return _Terms(bet, stake, int(chance))

    def apply(self, outcome: Outcome) -> None:
        """Apply one outcome, strictly in seq order (the reorder buffer's job)."""
        seq = outcome.seq
        stake = self._in_flight.pop(seq, None)
        if stake is None:
            self.stop(StopKind.BACKEND_ERROR, f"an outcome arrived for bet {seq}, which is not in flight")
            return
        if isinstance(outcome, Settled):
            self._exposure -= stake
            bet = outcome.bet
            profit = outcome.profit
            win = outcome.win
            terms = self._last
            if terms is None or terms.bet is not bet:
                terms = self._terms_of(bet)
            # The profit in satoshis: known already when the backend hands over the same object as before.
            if terms is None:
                sats = None
            elif win:
                if profit is terms.won:
                    sats = terms.won_sats
                else:
                    sats = _satoshis(profit)
                    if sats is not None:
                        terms.won, terms.won_sats = profit, sats
            elif profit is terms.lost:
                sats = -terms.stake
            elif profit == -bet.amount:  # a loss costs the stake: no conversion needed to see that
                terms.lost, sats = profit, -terms.stake
            else:
                sats = _satoshis(profit)
            if terms is None or sats is None:
                self.stop(StopKind.BACKEND_ERROR,
                          f"bet {seq} does not add up: stake {bet.amount}, profit {profit} (more than 8 places)")
                return
            if terms.stake != stake or ((sats < 0) if win else sats != -stake):  # a 0-stake loss: profit 0
                self.stop(
                    StopKind.BACKEND_ERROR,
                    f"bet {seq} does not add up: stake {_m(bet.amount)}, win {win}, profit {_m(profit)}",
                )
            self._count_result(stake, terms.chance, win=win, profit=sats)
        elif isinstance(outcome, Refused):
            self._exposure -= stake
            self._submitted -= 1  # not placed: max_bets counts bets that ran or may have run
            self.stop(_REFUSAL_STOPS.get(outcome.kind, StopKind.REFUSED), f"bet {seq} refused: {outcome.message}")
        else:
            # The stake stays in the exposure: until reconciled, the bet may have lost.
            self._unresolved[seq] = stake
            self.stop(StopKind.UNKNOWN_OUTCOME, f"bet {seq}: {outcome.message}; reconcile before betting on")

    def _count_result(self, stake: int, chance: int, *, win: bool, profit: int) -> None:
        # Comparisons rather than max(): this runs once per bet, and a call to max() costs twice a comparison.
        self._bets += 1
        self._wagered += stake
        total = self._profit = self._profit + profit
        self._chance_sum += chance
        if stake > self._largest_bet:
            self._largest_bet = stake
        if win:
            self._wins += 1
            streak = self._streak = self._streak + 1 if self._streak > 0 else 1
            if streak > self._longest_win_streak:
                self._longest_win_streak = streak
            if profit > self._largest_win:
                self._largest_win = profit
            if total > self._peak_profit:
                self._peak_profit = total
        else:
            streak = self._streak = self._streak - 1 if self._streak < 0 else -1
            if -streak > self._longest_loss_streak:
                self._longest_loss_streak = -streak
            if stake > self._largest_loss:
                self._largest_loss = stake
            drawdown = self._peak_profit - total
            if drawdown > self._max_drawdown:
                self._max_drawdown = drawdown

    def replay(self, seq: int, stake: Decimal, chance: Decimal, *, win: bool | None, profit: Decimal | None) -> None:
        """A bet of an earlier run of this session (from the journal), in seq order, counted as it was.

        No gate: it was admitted then, against the same limits. `profit` None: it never ran (refused, or
        reconciled as not run), so it takes its seq but counts towards nothing.
        """
        if seq < self._next_seq:
            raise ValueError(f"bet {seq} replayed after bet {self._next_seq - 1}: the history must be in seq order")
        if self._in_flight or self._unresolved:
            raise ValueError("history is replayed before the first bet of this run")
        self._next_seq = seq + 1
        if profit is not None:
            self._submitted += 1
            self._count_result(_exact(stake, f"bet {seq}'s stake"), _hundredths(chance),
                               win=profit >= 0 if win is None else win, profit=_exact(profit, f"bet {seq}'s profit"))

    def resolve_unknown(self, seq: int, bet: BetRequest, profit: Decimal | None) -> None:
        """Reconciliation's verdict on an unknown bet: it did not run (None), or it ran with this profit.

        The site's books tell whether a bet ran and what it did to the balance, not its roll; so the
        verdict is a profit, from which win or loss follows.
        """
        stake = self._unresolved.pop(seq)
        self._exposure -= stake
        if profit is None:
            self._submitted -= 1
        else:
            self._count_result(stake, _hundredths(bet.chance), win=profit >= 0,
                               profit=_exact(profit, f"bet {seq}'s profit"))

    def resume_after_reconciliation(self) -> bool:
        """Lift an UNKNOWN_OUTCOME stop once every unknown bet is resolved; True if betting may go on."""
        return self.resume(StopKind.UNKNOWN_OUTCOME)

    def resume(self, kind: StopKind) -> bool:
        """Lift a stop of this kind, once the owner has dealt with its cause (reconciled the unknown bets,
        learned a minimum bet it will raise stakes to). Never while bets remain unresolved."""
        reason = self._stop_reason
        if self._unresolved or reason is None or reason.kind is not kind:
            return False
        self._stop_reason = None
        return True

    def check_limits(self, now: float) -> StopReason | None:
        """The limits on the ordered history, checked after the strategy has seen the latest result."""
        if self._stop_reason is not None:
            return self._stop_reason
        if not self._result_limits:
            # open_for_bets may stop the session: read the reason through the property, not the attribute the
            # check above narrowed to None (a type checker would take it to be None still).
            self.open_for_bets(now)
            return self.stop_reason
        limits = self._limits
        profit = self._profit
        if self._take_profit is not None and profit >= self._take_profit:
            return self.stop(StopKind.TAKE_PROFIT,
                             f"profit {_m(_money(profit))} reached take_profit {_limit_text(limits.take_profit)}")
        if self._stop_loss is not None and profit <= self._stop_loss:
            return self.stop(StopKind.STOP_LOSS,
                             f"loss {_m(_money(-profit))} reached stop_loss {_limit_text(limits.stop_loss)}")
        if limits.max_losses is not None and -self._streak >= limits.max_losses:
            return self.stop(StopKind.MAX_LOSSES, f"{-self._streak} losses in a row")
        if limits.max_wins is not None and self._streak >= limits.max_wins:
            return self.stop(StopKind.MAX_WINS, f"{self._streak} wins in a row")
        if self._trailing_stop is not None and self._peak_profit - profit >= self._trailing_stop:
            return self.stop(
                StopKind.TRAILING_STOP,
                f"profit {_m(_money(profit))} fell {_m(_money(self._peak_profit - profit))} below its peak "
                f"{_m(_money(self._peak_profit))}",
            )
        balance = self._start + profit
        if self._min_balance is not None and balance <= self._min_balance:
            return self.stop(StopKind.MIN_BALANCE,
                             f"balance {_m(_money(balance))} reached min_balance {_limit_text(limits.min_balance)}")
        self.open_for_bets(now)
        return self.stop_reason  # as above: what open_for_bets set

    def snapshot(self) -> SessionSnapshot:
        expected_wins = Decimal(self._chance_sum) / 10000
        return SessionSnapshot(
            currency=self.currency,
            starting_balance=self._starting_balance,
            balance=self.balance,
            profit=_money(self._profit),
            wagered=_money(self._wagered),
            bets=self._bets,
            wins=self._wins,
            losses=self.losses,
            submitted=self._submitted,
            in_flight=len(self._in_flight),
            exposure=_money(self._exposure),
            unresolved=len(self._unresolved),
            streak=self._streak,
            longest_win_streak=self._longest_win_streak,
            longest_loss_streak=self._longest_loss_streak,
            largest_bet=_money(self._largest_bet),
            largest_win=_money(self._largest_win),
            largest_loss=_money(self._largest_loss),
            max_drawdown=_money(self._max_drawdown),
            peak_profit=_money(self._peak_profit),
            luck=float(self._wins / expected_wins * 100) if expected_wins else None,
            stop_reason=self._stop_reason,
        )


def _exact(amount: Decimal, what: str) -> int:
    """An amount of the history or of a verdict in satoshis (ValueError if it has more than 8 places)."""
    sats = _satoshis(amount)
    if sats is None:
        raise ValueError(f"{what} {amount} has more than 8 decimal places")
    return sats


def _hundredths(chance: Decimal) -> int:
    """A chance in hundredths of a percent, exactly (ValueError off the 0.01 steps)."""
    scaled = chance * 100
    if not scaled.is_finite() or scaled % 1:
        raise ValueError(f"chance {chance} is not in 0.01 steps")
    return int(scaled)


_REFUSAL_STOPS: Final = {
    RefusalKind.BALANCE: StopKind.INSUFFICIENT_BALANCE,
    RefusalKind.MIN_BET: StopKind.MIN_BET,
}
