"""The strategy as a table: its decisions, state by state, learned by asking the strategy itself.

Theory of operation. A progression (flat, martingale and the other presets of the advanced strategy) bets
an amount that depends only on its own state, and moves from state to state on a win or a loss. Rather
than re-implement each progression's arithmetic (and risk differing from it by one rounding), the table
asks the real strategy object: restore a state, call `next_bet`, call `on_result` with a win and with a
loss, save the state that results. Each distinct state becomes a row: the stake in satoshis, the win's
profit (the site's rounding, `fairness.win_profit`), the winning rolls, the expected return, the static
gate verdict (an invalid bet, a stake above max_bet) and the two successor rows. The vectorised kernel then
plays thousands of sessions by indexing these rows, and is exact by construction.

Rows are made lazily, when a session first reaches a state, so a d'Alembert that could climb ten thousand
steps costs only the steps some session climbed. Two states are the same row when they agree on every
field that can change a later decision (`state_key`): the advanced strategy counts bets, wins and losses
for knobs that may be off, and those counts must not make every state distinct.

What cannot be tabled is marked ESCAPE on its row, and a session reaching it is played by the generic path
instead (so the kernel's results stay exact): a strategy that reads the session view (its balance, its
profit: not a function of the strategy's state), answers anything but a bet or a stop (WAIT, a pause, a
reseed) or raises, or has more states than `MAX_STATES`. (The simulated game knows no minimum bet.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from betbot.core.fairness import GameRules, payout_multiplier, win_profit, winning_numbers
from betbot.core.models import BetRequest, Settled, StopKind, StopReason
from betbot.core.session import Limits, Session
from betbot.core.strategy import StopStrategy, Strategy

__all__ = [
    "BIG",
    "CODES",
    "ESCAPE",
    "MAX_STATES",
    "NEXT_STOP",
    "StateTable",
    "Tables",
    "UnsupportedStrategy",
    "state_key_for",
]

MAX_STATES: Final = 65_536
# Stakes (and what follows from them) above this are clipped: the kernel refuses balances and limits above
# `betbot.montecarlo.kernel.SAFE` (far below), so a clipped stake is never placed and compares the same.
BIG: Final = 1 << 62
NEXT_STOP: Final = -1  # a successor that is "the strategy stopped the session" (on_result's StopStrategy)

# Stop codes of the kernel, in one table: 0 is "still playing"; ESCAPE hands the session to the generic path.
CODES: Final[tuple[StopKind | None, ...]] = (
    None, StopKind.MAX_BETS, StopKind.MAX_DURATION, StopKind.STOP_LOSS, StopKind.TAKE_PROFIT,
    StopKind.MAX_LOSSES, StopKind.MAX_WINS, StopKind.TRAILING_STOP, StopKind.MAX_BET, StopKind.MIN_BALANCE,
    StopKind.INSUFFICIENT_BALANCE, StopKind.INVALID_BET, StopKind.STRATEGY,
)
ESCAPE: Final = len(CODES)
CODE: Final[dict[StopKind, int]] = {kind: code for code, kind in enumerate(CODES) if kind is not None}

_SATOSHIS: Final = 100_000_000
_ROLLS: Final = 10_000

StateKey = Callable[[dict[str, Any]], str]


class UnsupportedStrategy(Exception):
    """The strategy cannot be tabled at all (the kernel is not used for it)."""


class _ViewRead(Exception):
    """The strategy read the session view: its decision is not a function of its own state."""


class _NoView:
    """A session view that refuses every read (probing must not depend on the session)."""

    def __getattr__(self, name: str) -> Any:
        raise _ViewRead(name)


_NO_VIEW: Final = _NoView()


def _satoshis(amount: Decimal) -> int:
    return min(BIG, int(amount.scaleb(8)))


def _json_key(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, default=str)


# The advanced strategy's state fields this module knows how to project; another set is not tabled.
_ADVANCED_FIELDS: Final = frozenset(("stake", "level", "bets", "wins", "losses", "streak", "streak_profit",
                                     "cycle_profit", "current_chance", "current_high"))


def _advanced_key(rules: Any) -> StateKey:
    """The projection of the advanced strategy's state onto what can change a later decision.

    Follows the semantics in `betbot.strategies.advanced`: the streak matters through multiples
    (every_nth_*, reset_after_wins/losses, switch_after_wins/losses: |streak| mod their lcm) and thresholds
    (chance_after_*, stop_after_*_streak: |streak| clipped at the largest), its sign decides whether it
    continues; bets only modulo switch_after_bets; wins and losses only up to their stop; the streak's and
    the cycle's profits only when a knob reads them.
    """
    moduli = [n for n in (rules.every_nth_win, rules.every_nth_loss, rules.reset_after_wins,
                          rules.reset_after_losses, rules.switch_after_wins, rules.switch_after_losses)
              if n is not None and n > 1]
    period = math.lcm(*moduli) if moduli else 1
    thresholds = [n for n in (rules.chance_after_losses, rules.chance_after_wins, rules.stop_after_win_streak,
                              rules.stop_after_loss_streak) if n is not None]
    cap = max(thresholds, default=0)
    streak_profit = rules.stop_after_streak_won is not None or rules.stop_after_streak_lost is not None
    cycle_profit = rules.reset_after_profit is not None or rules.reset_after_loss is not None
    streak_matters = period > 1 or cap > 0 or streak_profit
    every_bets = rules.switch_after_bets
    stop_wins, stop_losses = rules.stop_after_wins, rules.stop_after_losses

    def key(state: dict[str, Any]) -> str:
        parts: list[Any] = [state["stake"], state["level"], state["current_chance"], state["current_high"]]
        if streak_matters:
            streak = int(state["streak"])
            parts += [(streak > 0) - (streak < 0), min(abs(streak), cap), abs(streak) % period]
        if every_bets is not None:
            parts.append(int(state["bets"]) % every_bets)
        if stop_wins is not None:
            parts.append(min(int(state["wins"]), stop_wins))
        if stop_losses is not None:
            parts.append(min(int(state["losses"]), stop_losses))
        if streak_profit:
            parts.append(str(state["streak_profit"]))
        if cycle_profit:
            parts.append(str(state["cycle_profit"]))
        return json.dumps(parts, default=str)

    return key


# Built-in strategies whose whole memory is in `state_fields` (so a saved state determines every later
# decision). Others (a plug-in, a Lua script) keep state the table cannot see: they take the generic path.
_TABLED_BUILTINS: Final = frozenset(("flat", "martingale", "anti-martingale", "dalembert", "paroli",
                                     "one-three-two-six", "advanced"))


def state_key_for(strategy: Strategy) -> StateKey:
    """How to tell this strategy's states apart; UnsupportedStrategy if it cannot be tabled."""
    module = type(strategy).__module__
    if strategy.name not in _TABLED_BUILTINS or not module.startswith("betbot.strategies."):
        raise UnsupportedStrategy(f"{strategy.name} is not a built-in progression")
    window = strategy.context.range_window
    if window is not None and window.at is None:
        raise UnsupportedStrategy("a range window at a random place depends on the strategy's generator")
    rules = getattr(strategy, "rules", None)
    if rules is not None and hasattr(rules, "on_win"):  # the advanced strategy and its presets
        if frozenset(strategy.state_fields) != _ADVANCED_FIELDS:
            raise UnsupportedStrategy("the advanced strategy's state is not the one this kernel knows")
        return _advanced_key(rules)
    return _json_key


class StateTable:
    """The rows the kernel indexes; grows as sessions reach new states. Row 0 is the strategy's start."""

    def __init__(self, strategy: Strategy, limits: Limits, *, rules: GameRules) -> None:
        self._key = state_key_for(strategy)
        self._strategy = strategy
        self._rules = rules
        self._max_bet = limits.max_bet
        self._rows: dict[str, int] = {}
        self._states: list[dict[str, Any]] = []  # a representative saved state per row
        self._expanded: list[bool] = []
        columns = ("stake", "win_profit", "expected", "low", "high", "inverted", "gate")
        self._columns: dict[str, list[int]] = {name: [] for name in columns}
        self._next: list[int] = []  # 2 * row + win -> row, or NEXT_STOP
        self.pending = 0  # rows made but not expanded yet
        self._row(strategy.save_state())
        self.arrays = self._arrays()

    # -- rows -------------------------------------------------------------------------------------------
    def _row(self, state: dict[str, Any]) -> int:
        key = self._key(state)
        row = self._rows.get(key)
        if row is None:
            row = len(self._states)
            self._rows[key] = row
            self._states.append(state)
            self._expanded.append(False)
            for column in self._columns.values():
                column.append(0)
            self._next += [row, row]
            self.pending += 1
        return row

    def expand(self, rows: npt.NDArray[np.int64]) -> None:
        """Work out the rows sessions have just reached (their bet and successors), then refresh `arrays`."""
        for row in rows.tolist():
            if not self._expanded[row]:
                self._expand(row)
        self.arrays = self._arrays()

    def _expand(self, row: int) -> None:
        self._expanded[row] = True
        self.pending -= 1
        columns = self._columns
        if len(self._states) > MAX_STATES:
            columns["gate"][row] = ESCAPE
            return
        strategy = self._strategy
        try:
            strategy.restore_state(self._states[row])
            decision = strategy.next_bet(_NO_VIEW)  # a view that refuses every read
            decided = strategy.save_state()
        except Exception:  # noqa: BLE001 - a view read or the strategy's own error: the generic path says which
            columns["gate"][row] = ESCAPE
            return
        if isinstance(decision, StopStrategy):
            columns["gate"][row] = CODE[StopKind.STRATEGY]
            return
        if not isinstance(decision, BetRequest):
            columns["gate"][row] = ESCAPE  # WAIT, a pause or a reseed: the machine's business, not a table's
            return
        self._bet_row(row, decision)
        if columns["gate"][row]:
            return
        for win in (False, True):
            try:
                strategy.restore_state(decided)
                verdict = strategy.on_result(self._probe(decision, win), _NO_VIEW)
                after = strategy.save_state()
            except Exception:  # noqa: BLE001 - as above
                columns["gate"][row] = ESCAPE
                return
            self._next[2 * row + win] = NEXT_STOP if verdict is not None else self._row(after)

    def _bet_row(self, row: int, bet: BetRequest) -> None:
        columns = self._columns
        # The gate's static verdict, from a session that checks bets exactly as the real one does (currency,
        # chance, places); a fresh one each time, with no limits, so only an invalid bet can stop it.
        checker = Session(currency=self._strategy.context.currency, starting_balance=Decimal(BIG),
                          limits=Limits(), started_at=0.0, rules=self._rules)
        verdict = checker.admit(bet, 0.0)
        if isinstance(verdict, StopReason) and verdict.kind is StopKind.INVALID_BET:
            columns["gate"][row] = CODE[StopKind.INVALID_BET]
            return
        amount = bet.amount
        if self._max_bet is not None and amount > self._max_bet:
            columns["gate"][row] = CODE[StopKind.MAX_BET]
        if amount.scaleb(8) >= BIG:  # never placed (see BIG); its win's profit need not (cannot) be computed
            profit = amount
        else:
            profit = win_profit(amount, payout_multiplier(bet.chance, self._rules.edge_for(bet)))
        if profit < 0:
            columns["gate"][row] = ESCAPE  # a payout below 1 (a faucet edge): the session flags the books
        if bet.range is not None:
            low, high = bet.range[0], bet.range[1] + 1
            inverted = not bet.range_in
            winning = (high - low) if bet.range_in else _ROLLS - (high - low)
        else:
            winning = winning_numbers(bet.chance)
            low, high = (_ROLLS - winning, _ROLLS) if bet.high else (0, winning)
            inverted = False
        stake = _satoshis(amount)
        columns["stake"][row] = stake
        columns["win_profit"][row] = _satoshis(profit)
        columns["expected"][row] = min(BIG, winning * _satoshis(amount + profit))
        columns["low"][row] = low
        columns["high"][row] = high
        columns["inverted"][row] = int(inverted)

    def _probe(self, bet: BetRequest, win: bool) -> Settled:
        """A result as the game would give it (the roll is any winning or losing one: no strategy reads it)."""
        payout = payout_multiplier(bet.chance, self._rules.edge_for(bet))
        profit = win_profit(bet.amount, payout) if win else -bet.amount
        return Settled(seq=1, bet=bet, number=0, win=win, payout=payout, profit=profit, balance=Decimal(0),
                       nonce=0, bet_hash="")

    def _arrays(self) -> Tables:
        columns = self._columns
        gate = np.array(columns["gate"], dtype=np.int8)
        stake = np.array(columns["stake"], dtype=np.int64)
        delta = np.empty(2 * len(stake), dtype=np.int64)
        delta[0::2] = -stake
        delta[1::2] = columns["win_profit"]
        expanded = np.array(self._expanded, dtype=bool)
        betting = expanded & (gate == 0)  # the rows a bet is ever placed from
        shapes = {(low, high, inverted) for low, high, inverted, bets in zip(
            columns["low"], columns["high"], columns["inverted"], betting.tolist(), strict=True) if bets}
        following = np.array(self._next, dtype=np.int64)
        return Tables(
            gate=gate,
            gate_stake=np.where(gate == 0, stake, BIG),
            delta=delta,
            expected=np.array(columns["expected"], dtype=np.int64),
            next=following,
            unexpanded=~expanded,
            low=np.array(columns["low"], dtype=np.uint64),
            high=np.array(columns["high"], dtype=np.uint64),
            inverted=np.array(columns["inverted"], dtype=bool),
            shape=next(iter(shapes)) if len(shapes) == 1 else None,
            strategy_stops=bool((following == NEXT_STOP).any()),
        )


@dataclass(frozen=True, slots=True)
class Tables:
    """The rows as NumPy arrays, indexed by row (`delta` and `next` by 2 * row + win)."""

    gate: npt.NDArray[np.int8]  # the static gate verdict: 0, a stop code, or ESCAPE
    gate_stake: npt.NDArray[np.int64]  # the stake; BIG where the gate stops anyway (one test finds both)
    delta: npt.NDArray[np.int64]  # the profit of a loss (-stake) and of a win
    expected: npt.NDArray[np.int64]  # W x (stake + the win's profit)
    next: npt.NDArray[np.int64]  # the successor row, or NEXT_STOP
    unexpanded: npt.NDArray[np.bool_]
    low: npt.NDArray[np.uint64]  # a win is low <= roll < high (not, when inverted: Range Dice outside)
    high: npt.NDArray[np.uint64]
    inverted: npt.NDArray[np.bool_]
    shape: tuple[int, int, int] | None  # (low, high, inverted) when every betting row shares them
    strategy_stops: bool  # whether any successor is NEXT_STOP
