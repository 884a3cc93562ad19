"""The vectorised kernel: many sessions in lockstep with NumPy, equal to the generic path session by session.

Theory of operation. The generic path (`betbot.montecarlo.generic.play_session`) plays one session through
the session machine: gate, bet, result, strategy, limits, one bet in flight at a time. With the fast roll
source, bet t of session i rolls `fast_roll(session_key(master, i), t)`, whatever happened before, so many
sessions can play side by side: each step plays the next bet of every session in the lockstep (up to BLOCK
of them, each counting its own bets), one NumPy expression per operation; as sessions end, waiting ones
take their places. Money is integer satoshis (int64), exact: stakes come from the strategy's own
`next_bet` (`kernel_states.StateTable`), win profits from `fairness.win_profit`.

Each step does what the machine does, in its order:
  gate     (open_for_bets, then the strategy's decision, then `Session.admit`): max_bets and max_duration;
           the strategy stops; an invalid bet; stake > max_bet; profit - stake < -stop_loss; stake >
           balance; balance - stake < min_balance. The first that holds is the stop kind.
  bet      roll, win or loss, profit, wagered, the exact expected return (W x what a win returns).
  stats    peak profit, max drawdown, losing and winning runs (as `Session._count_result`).
  strategy the next state, or the strategy's stop (from `on_result`).
  limits   (`Session.check_limits`): take_profit, stop_loss, max_losses, max_wins, trailing_stop,
           min_balance, then max_bets and max_duration.
Sessions that stop leave the arrays; the rest play on. Two simplifications are exact, not approximations:
the peak profit and the max drawdown are updated after every bet (after a loss the peak cannot move, after
a win the drawdown cannot grow), and with one bet in flight the exposure is the stake.

A session the kernel cannot follow exactly ESCAPEs to the generic path: its state cannot be tabled
(`kernel_states`), or its money would leave the range where int64 arithmetic is exact (balance or limits
above SAFE satoshis, wagered above SAFE_WAGERED). The run then plays it with `fallback(index)`, so the
kernel's answer is the generic path's, always; escapes only cost speed.

The rolls are `betbot.core.rolls.fast_rolls_at`: `fast_roll` over a vector of SplitMix64 states.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from betbot.config.build import build_strategy, game_rules
from betbot.core.fairness import ROLLS, GameRules
from betbot.core.models import StopKind
from betbot.core.money import to_satoshis
from betbot.core.rolls import GAMMA, MASK64, RollSource, fast_rolls_at, session_key
from betbot.core.session import Limits
from betbot.core.strategy import Strategy
from betbot.montecarlo.generic import play_session
from betbot.montecarlo.kernel_states import CODE, CODES, ESCAPE, NEXT_STOP, StateTable, Tables, UnsupportedStrategy
from betbot.montecarlo.results import NO_STOP, SessionResult

if TYPE_CHECKING:
    from betbot.montecarlo.spec import SimulationSpec

__all__ = ["SAFE", "SAFE_WAGERED", "KernelPlan", "KernelRunner", "kernel_for", "plan_for"]

# Balances, limits and profits stay below SAFE satoshis (703,687 coins), so a stake times the largest payout
# (9,900x at 0.01 %) and every sum stay far inside int64; the expected return adds W x (stake + profit) per
# bet, at most 9,900 x the stake, so the amount wagered stays below SAFE_WAGERED.
SAFE: Final = 1 << 46
SAFE_WAGERED: Final = 1 << 49
BLOCK: Final = 16_384  # sessions in lockstep at once: their arrays stay in the CPU caches
REFILL: Final = 0.75  # waiting sessions join when fewer than this share of BLOCK are playing
RUN: Final = 1 << 20  # sessions per `run` call in `play` (bounds the per-session output arrays)
GAMMA_U64: Final = np.uint64(GAMMA)

Fallback = Callable[[int], SessionResult]
KernelRunner = Callable[["SimulationSpec", range], list[SessionResult]]
_I64 = npt.NDArray[np.int64]


def _duration_bets(limits: Limits, pace: float) -> int | None:
    """The first bet count t at which `max_duration` stops a session whose clock reads t * pace."""
    limit = limits.max_duration
    if limit is None:
        return None
    if limit <= 0:
        return 0
    if pace <= 0:
        return None
    t = max(0, math.floor(limit / pace) - 2)
    while t * pace < limit:  # the clock's own float arithmetic decides, as in the generic path
        t += 1
    return t


@dataclass(slots=True)
class _Outcome:
    """Per-session results of one block, by position in the block."""

    bets: _I64
    wagered: _I64
    profit: _I64
    stop: npt.NDArray[np.int8]
    max_drawdown: _I64
    loss_streak: _I64
    expected: _I64

    @classmethod
    def empty(cls, n: int) -> _Outcome:
        zeros = np.zeros(n, dtype=np.int64)
        return cls(bets=zeros.copy(), wagered=zeros.copy(), profit=zeros.copy(), stop=np.zeros(n, dtype=np.int8),
                   max_drawdown=zeros.copy(), loss_streak=zeros.copy(), expected=zeros.copy())


class KernelPlan:
    """One configuration (strategy, limits, balance, rules) ready to play any sessions' keys."""

    def __init__(self, table: StateTable, limits: Limits, *, starting_balance: Decimal, pace: float = 0.0) -> None:
        self.table = table
        self.limits = limits
        self.start = to_satoshis(starting_balance)
        amount = _amounts(limits)
        self.stop_loss, self.take_profit = amount["stop_loss"], amount["take_profit"]
        self.min_balance, self.trailing = amount["min_balance"], amount["trailing_stop"]
        self.max_bets = limits.max_bets
        self.duration_bets = _duration_bets(limits, pace)

    # -- public ---------------------------------------------------------------------------------------------
    def play(self, indices: Sequence[int], keys: Sequence[int], fallback: Fallback) -> list[SessionResult]:
        """Sessions `indices` (with their fast-roll keys), in that order; ESCAPEd ones through `fallback`."""
        results: list[SessionResult] = []
        for begin in range(0, len(indices), RUN):
            run_indices = indices[begin : begin + RUN]
            out = self.run(np.array([key & MASK64 for key in keys[begin : begin + RUN]], dtype=np.uint64))
            columns = zip(out.stop.tolist(), out.bets.tolist(), out.wagered.tolist(), out.profit.tolist(),
                          out.max_drawdown.tolist(), out.loss_streak.tolist(), out.expected.tolist(), strict=True)
            for index, (stop, bets, wagered, profit, drawdown, streak, expected) in zip(
                    run_indices, columns, strict=True):
                if stop == ESCAPE:
                    results.append(fallback(index))
                    continue
                kind = CODES[stop]
                results.append(SessionResult(
                    index=index, bets=bets, wagered=wagered, profit=profit, final_balance=self.start + profit,
                    stop_kind=NO_STOP if kind is None else kind.value, max_drawdown=drawdown,
                    longest_loss_streak=streak, expected_return_x10k=expected))
        return results

    # -- the lockstep loop ----------------------------------------------------------------------------------
    def run(self, keys: npt.NDArray[np.uint64]) -> _Outcome:
        """Play every session of `keys` to its end; ESCAPE marks those the generic path must play.

        At most BLOCK sessions play at once; as sessions end, waiting ones take their places, so the
        vectors stay long even when session lengths differ a lot (each session counts its own bets).
        """
        out = _Outcome.empty(len(keys))
        at_start = _first_stop(self.max_bets, self.duration_bets, np.zeros(1, dtype=np.int64))
        if at_start[0]:
            out.stop[:] = at_start[0]
            return out
        start, table = self.start, self.table
        # The gate's amount checks are all "stake - profit > threshold"; in the gate's order:
        gate_checks = [(threshold, code) for threshold, code in (
            (self.stop_loss, CODE[StopKind.STOP_LOSS]),
            (start, CODE[StopKind.INSUFFICIENT_BALANCE]),
            (None if self.min_balance is None else start - self.min_balance, CODE[StopKind.MIN_BALANCE]),
        ) if threshold is not None]
        gate_floor = min(threshold for threshold, _ in gate_checks)
        profit_ceiling = SAFE - start
        live = _Live.empty()
        waiting = 0  # keys[waiting:] have not started
        tables = table.arrays
        while True:
            if len(live.state) < REFILL * BLOCK and waiting < len(keys):
                joining = min(len(keys) - waiting, BLOCK - len(live.state))
                live.join(keys[waiting : waiting + joining], waiting)
                waiting += joining
            if not len(live.state):
                return out
            # -- gate ---------------------------------------------------------------------------------------
            if table.pending:
                reached = tables.unexpanded[live.state]
                if reached.any():
                    table.expand(np.unique(live.state[reached]))
                    tables = table.arrays
            stake = tables.gate_stake[live.state]  # BIG on a row the gate stops statically: one test finds both
            over = stake - live.profit
            failing = over > gate_floor
            unsafe = None
            if live.profit.max() > profit_ceiling or live.wagered.max() > SAFE_WAGERED:
                unsafe = (live.profit > profit_ceiling) | (live.wagered > SAFE_WAGERED)
                failing |= unsafe
            if failing.any():
                where = np.flatnonzero(failing)
                code = np.zeros(len(where), dtype=np.int8)
                for threshold, kind in reversed(gate_checks):
                    code[over[where] > threshold] = kind
                static = tables.gate[live.state[where]]
                code = np.where(static != 0, static, code)
                if unsafe is not None:
                    code[unsafe[where]] = ESCAPE
                live.finish(out, failing, code)
                stake = stake[~failing]
                if not len(stake):
                    continue
            self._bet(live, tables, stake)
            # -- strategy and limits -------------------------------------------------------------------------
            checks = self._limit_checks(live, tables)
            if not any(mask.any() for mask, _ in checks):
                continue
            code = np.zeros(len(live.state), dtype=np.int8)
            for mask, kind in reversed(checks):
                code[mask] = kind
            done = code != 0
            live.finish(out, done, code[done])

    @staticmethod
    def _bet(live: _Live, tables: Tables, stake: _I64) -> None:
        """The next bet of every live session: the roll, the money, the statistics, the strategy's next row."""
        win = _wins(fast_rolls_at(live.counter), tables, live.state)
        live.counter += GAMMA_U64
        live.bets += 1
        index = live.state * 2
        index += win
        live.profit += tables.delta[index]
        live.wagered += stake
        live.expected += tables.expected[live.state]
        np.maximum(live.peak, live.profit, out=live.peak)
        np.maximum(live.drawdown, live.peak - live.profit, out=live.drawdown)
        live.losses += 1
        live.losses *= ~win
        np.maximum(live.loss_streak, live.losses, out=live.loss_streak)
        live.wins += 1
        live.wins *= win
        live.state = tables.next[index]

    def _limit_checks(self, live: _Live, tables: Tables) -> list[tuple[npt.NDArray[np.bool_], int]]:
        """`Session.check_limits`'s tests in its order, after the strategy's own stop and before
        `open_for_bets`'s (max_bets, max_duration)."""
        limits, profit = self.limits, live.profit
        checks: list[tuple[npt.NDArray[np.bool_], int]] = []
        if tables.strategy_stops:
            checks.append((live.state == NEXT_STOP, CODE[StopKind.STRATEGY]))
        if self.take_profit is not None:
            checks.append((profit >= self.take_profit, CODE[StopKind.TAKE_PROFIT]))
        if self.stop_loss is not None:
            checks.append((profit <= -self.stop_loss, CODE[StopKind.STOP_LOSS]))
        if limits.max_losses is not None:
            checks.append((live.losses >= limits.max_losses, CODE[StopKind.MAX_LOSSES]))
        if limits.max_wins is not None:
            checks.append((live.wins >= limits.max_wins, CODE[StopKind.MAX_WINS]))
        if self.trailing is not None:
            checks.append((live.peak - profit >= self.trailing, CODE[StopKind.TRAILING_STOP]))
        if self.min_balance is not None:
            checks.append((profit <= self.min_balance - self.start, CODE[StopKind.MIN_BALANCE]))
        if self.max_bets is not None:
            checks.append((live.bets >= self.max_bets, CODE[StopKind.MAX_BETS]))
        if self.duration_bets is not None:
            checks.append((live.bets >= self.duration_bets, CODE[StopKind.MAX_DURATION]))
        return checks


class _Live:
    """The sessions playing now: one array per statistic, aligned; `position` is the session's place in the
    run, `counter` the fast source's SplitMix64 state of its next roll (key + (bets + 1) * GAMMA)."""

    __slots__ = ("bets", "counter", "drawdown", "expected", "loss_streak", "losses", "peak", "position", "profit",
                 "state", "wagered", "wins")

    def __init__(self, counter: npt.NDArray[np.uint64], position: npt.NDArray[np.int64]) -> None:
        n = len(counter)
        self.counter = counter
        self.position = position
        self.state: _I64 = np.zeros(n, dtype=np.int64)
        self.bets, self.profit, self.wagered, self.expected = (np.zeros(n, dtype=np.int64) for _ in range(4))
        self.peak, self.drawdown, self.losses, self.loss_streak, self.wins = (np.zeros(n, dtype=np.int64)
                                                                              for _ in range(5))

    @classmethod
    def empty(cls) -> _Live:
        return cls(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))

    def join(self, keys: npt.NDArray[np.uint64], first_position: int) -> None:
        """New sessions (their keys), at positions first_position, first_position + 1, ..."""
        with np.errstate(over="ignore"):
            joining = _Live(keys + GAMMA_U64, np.arange(first_position, first_position + len(keys)))
        for name in self.__slots__:
            setattr(self, name, np.concatenate((getattr(self, name), getattr(joining, name))))

    def finish(self, out: _Outcome, done: npt.NDArray[np.bool_], code: npt.NDArray[np.int8]) -> None:
        """Record the sessions `done` marks (with their stop codes) in `out`, and drop them."""
        where = self.position[done]
        out.stop[where] = code
        out.bets[where] = self.bets[done]
        out.wagered[where] = self.wagered[done]
        out.profit[where] = self.profit[done]
        out.max_drawdown[where] = self.drawdown[done]
        out.loss_streak[where] = self.loss_streak[done]
        out.expected[where] = self.expected[done]
        keep = ~done
        for name in self.__slots__:
            setattr(self, name, getattr(self, name)[keep])


def _wins(rolls: npt.NDArray[np.uint64], tables: Tables, state: _I64) -> npt.NDArray[np.bool_]:
    """Which rolls win the bets of these rows (one comparison when every row bets the same way)."""
    shape = tables.shape
    if shape is None:
        win = (rolls >= tables.low[state]) & (rolls < tables.high[state])
        win ^= tables.inverted[state]
        return win
    low, high, inverted = shape
    if low == 0:
        win = rolls < high
    elif high == ROLLS:
        win = rolls >= low
    else:
        win = (rolls >= low) & (rolls < high)
    return ~win if inverted else win


def _first_stop(max_bets: int | None, duration_bets: int | None, bets: _I64) -> npt.NDArray[np.int8]:
    """`Session.open_for_bets` after `bets` bets: MAX_BETS, then MAX_DURATION, else 0."""
    code = np.zeros(len(bets), dtype=np.int8)
    if duration_bets is not None:
        code[bets >= duration_bets] = CODE[StopKind.MAX_DURATION]
    if max_bets is not None:
        code[bets >= max_bets] = CODE[StopKind.MAX_BETS]
    return code


def _amounts(limits: Limits) -> dict[str, int | None]:
    names = ("stop_loss", "take_profit", "max_bet", "min_balance", "trailing_stop")
    return {name: None if getattr(limits, name) is None else to_satoshis(getattr(limits, name)) for name in names}


def plan_for(strategy: Strategy, limits: Limits, *, starting_balance: Decimal, rules: GameRules,
             pace: float = 0.0) -> KernelPlan | None:
    """A kernel plan for sessions of this configuration, or None when the kernel does not apply.

    `strategy` is a fresh instance (its state is every session's start; it is probed, not played). `pace`
    is the virtual seconds per bet of the session's clock (max_duration). None: a strategy that cannot be
    tabled at all, or amounts beyond the exact range (SAFE).
    """
    try:
        amounts = [to_satoshis(starting_balance), *(v for v in _amounts(limits).values() if v is not None)]
    except ValueError:
        return None
    if any(abs(amount) > SAFE for amount in amounts):
        return None
    try:
        table = StateTable(copy.deepcopy(strategy), limits, rules=rules)
    except UnsupportedStrategy:
        return None
    return KernelPlan(table, limits, starting_balance=starting_balance, pace=pace)


def kernel_for(spec: SimulationSpec) -> KernelRunner | None:
    """For `betbot.montecarlo.chunk`: a runner of the spec's sessions on the kernel, or None.

    The kernel applies to the fast roll source; sessions it cannot follow exactly are played by the
    generic path (`betbot.montecarlo.generic.play_session`) inside the runner.
    """
    if spec.rolls is not RollSource.FAST:
        return None
    settings = spec.settings
    limits = spec.limits()
    plan = plan_for(build_strategy(settings, spec.context(0)), limits, starting_balance=spec.balance,
                    rules=game_rules(settings), pace=float(settings.sim_latency))
    if plan is None:
        return None

    def run(spec: SimulationSpec, indices: range) -> list[SessionResult]:
        keys = [session_key(spec.master_seed, index) for index in indices]
        return plan.play(list(indices), keys, lambda index: play_session(spec, index, limits)[0])

    return run
