"""The advanced strategy: DiceBot's "advanced mode" without code, and the one implementation behind the
classic progressions (martingale, anti-martingale, d'Alembert and Paroli are presets of it).

Theory of operation. The parameters are one frozen model (`AdvancedParams`, in `advanced_params`); the
strategy's whole memory is the state in `state_fields`. A preset is a strategy whose own parameter model
(the names users know: `multiplier`, `increment`, `target_wins`) translates itself into an
`AdvancedParams` with `to_advanced()`; the preset class only names that model, so there is one
implementation of the arithmetic.

Semantics (normative: a vectorised kernel must reproduce this bet for bet)
---------------------------------------------------------------------------
State: `stake` (an unrounded Decimal, never below base_bet), `level` (raises since the last reset),
`bets`, `wins`, `losses`, `streak` (+N wins in a row, -N losses in a row, 0 before the first result),
`streak_profit` (profit of the current streak), `cycle_profit` (profit since the last reset),
`current_chance`, `current_high`. Start: stake = base_bet, level = 0, chance and side from the params.

Deciding: the bet is `stake` rounded down to 8 places, at `current_chance`, on `current_high`. Deciding
changes nothing (ask twice, get the same bet).

On each result (win or loss, with the site's `profit`), in this order:
  1. Counts. bets += 1; wins or losses += 1; streak continues (+1 / -1) or turns (+1 / -1 from the
     other sign); streak_profit continues or restarts at 0, then += profit; cycle_profit += profit.
  2. Stops, the first that holds ends the session (nothing below runs): stop_after_wins (wins >= N),
     stop_after_losses (losses >= N), stop_after_win_streak (streak >= N), stop_after_loss_streak
     (-streak >= N), stop_after_streak_won (on a win: streak_profit >= X), stop_after_streak_lost (on a
     loss: -streak_profit >= X).
  3. The stake action of the result's side (on_win / on_loss, with X = on_win_by / on_loss_by), applied
     only when the run length |streak| is a multiple of every_nth_win / every_nth_loss:
       reset     stake = base_bet, level = 0, cycle_profit = 0
       multiply  raise: stake = stake * X           add       raise: stake = stake + X
       divide    stake = max(base_bet, stake / X), level = max(0, level - 1)
       subtract  stake = max(base_bet, stake - X), level = max(0, level - 1)
       keep      nothing
     A raise when max_multiplies is set and level >= max_multiplies does `at_max` instead: reset (as
     above) or stop the session. Otherwise it sets stake = max(base_bet, new stake) and level += 1.
  4. Resets (stake = base_bet, level = 0, cycle_profit = 0) when any holds: reset_after_wins (on a win,
     streak a multiple of N), reset_after_losses (on a loss, -streak a multiple of N),
     reset_after_profit (cycle_profit >= X), reset_after_loss (cycle_profit <= -X).
  5. Chance: loss_streak_chance while -streak >= chance_after_losses, else win_streak_chance while
     streak >= chance_after_wins, else the params' chance.
  6. Side: flipped once if any holds: bets a multiple of switch_after_bets; on a win, streak a multiple
     of switch_after_wins; on a loss, -streak a multiple of switch_after_losses.
Decimal arithmetic uses Python's default context (28 significant digits); only the placed stake is
rounded (down, to the satoshi), so 3 satoshis multiplied by 1.5 bets 3, 4, 6, 10 (not 3, 4, 6, 9).
With `--game range` the side is not used: `Strategy.dice_bet` places `current_chance` as a window.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from betbot.core.models import Settled
from betbot.core.money import ZERO
from betbot.core.strategy import Decision, SessionView, StopStrategy, Strategy, StrategyContext, StrategyParams
from betbot.strategies.advanced_params import AdvancedParams, PresetParams

__all__ = ["AdvancedParams", "AdvancedStrategy", "PresetParams"]


class AdvancedStrategy(Strategy):
    """DiceBot's advanced mode: base bet, what a win and a loss do to the stake, when to reset, switch,
    change the chance or stop. `betbot strategies show advanced` lists every knob; the module docstring of
    betbot.strategies.advanced gives the exact order in which they act on each result."""

    name = "advanced"
    summary = "DiceBot's advanced mode: on win/loss reset, multiply, add...; resets, switches, stops"
    Params: ClassVar[type[StrategyParams]] = AdvancedParams
    max_in_flight = 1
    state_fields = ("stake", "level", "bets", "wins", "losses", "streak", "streak_profit", "cycle_profit",
                    "current_chance", "current_high")

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.rules: AdvancedParams = self.advanced_params()
        rules = self.rules
        self.stake: Decimal = rules.base_bet
        self.level = 0
        self.bets = 0
        self.wins = 0
        self.losses = 0
        self.streak = 0
        self.streak_profit: Decimal = ZERO
        self.cycle_profit: Decimal = ZERO
        self.current_chance: Decimal = rules.chance
        self.current_high: bool = rules.high
        # What each side does, and which optional knobs are on, worked out once: on_result runs per bet.
        self._on_win = (rules.on_win, rules.on_win_by, rules.every_nth_win)
        self._on_loss = (rules.on_loss, rules.on_loss_by, rules.every_nth_loss)
        self._stops = any(getattr(rules, name) is not None for name in (
            "stop_after_wins", "stop_after_losses", "stop_after_win_streak", "stop_after_loss_streak",
            "stop_after_streak_won", "stop_after_streak_lost"))
        self._resets = any(getattr(rules, name) is not None for name in (
            "reset_after_wins", "reset_after_losses", "reset_after_profit", "reset_after_loss"))
        self._chances = rules.chance_after_losses is not None or rules.chance_after_wins is not None
        self._switches = any(getattr(rules, name) is not None for name in (
            "switch_after_wins", "switch_after_losses", "switch_after_bets"))

    def advanced_params(self) -> AdvancedParams:
        """The advanced model this strategy plays; presets translate their own parameters here."""
        params = self.params
        if isinstance(params, PresetParams):
            return params.to_advanced()
        assert isinstance(params, AdvancedParams)  # noqa: S101 - Strategy.__init__ checked the type
        return params

    def next_bet(self, view: SessionView) -> Decision:
        return self.dice_bet(self.stake, self.current_chance, self.current_high)

    def _reset(self) -> None:
        self.stake = self.rules.base_bet
        self.level = 0
        self.cycle_profit = ZERO

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        rules = self.rules
        win = result.win
        profit = result.profit
        # 1. counts (the streak in a local: this runs once per bet, every attribute access counts)
        self.bets += 1
        streak = self.streak
        if win:
            self.wins += 1
            if streak > 0:
                streak += 1
                self.streak_profit += profit
            else:
                streak, self.streak_profit = 1, profit
            run = streak
        else:
            self.losses += 1
            if streak < 0:
                streak -= 1
                self.streak_profit += profit
            else:
                streak, self.streak_profit = -1, profit
            run = -streak
        self.streak = streak
        self.cycle_profit += profit
        # 2. stops
        if self._stops:
            stop = self._stop_reason(win)
            if stop is not None:
                return StopStrategy(f"{self.name}: {stop}")
        # 3. the stake action
        action, by, every = self._on_win if win else self._on_loss
        if action != "keep" and (every == 1 or run % every == 0):
            if action == "reset":
                self._reset()
            elif action in ("multiply", "add"):
                if rules.max_multiplies is not None and self.level >= rules.max_multiplies:
                    if rules.at_max == "stop":
                        return StopStrategy(f"{self.name}: {rules.max_multiplies} raises in a row (max_multiplies)")
                    self._reset()
                else:
                    stake = self.stake * by if action == "multiply" else self.stake + by
                    self.stake = stake if stake > rules.base_bet else rules.base_bet
                    self.level += 1
            else:  # divide, subtract
                stake = self.stake / by if action == "divide" else self.stake - by
                self.stake = stake if stake > rules.base_bet else rules.base_bet
                self.level = self.level - 1 if self.level > 0 else 0
        # 4. resets
        if self._resets and self._reset_due(win, run):
            self._reset()
        # 5. chance
        if self._chances:
            self.current_chance = self._chance_now()
        # 6. side
        if self._switches and self._switch_due(win, run):
            self.current_high = not self.current_high
        return None

    def _stop_reason(self, win: bool) -> str | None:
        rules = self.rules
        if rules.stop_after_wins is not None and self.wins >= rules.stop_after_wins:
            return f"{self.wins} wins (stop_after_wins)"
        if rules.stop_after_losses is not None and self.losses >= rules.stop_after_losses:
            return f"{self.losses} losses (stop_after_losses)"
        if rules.stop_after_win_streak is not None and self.streak >= rules.stop_after_win_streak:
            return f"{self.streak} wins in a row (stop_after_win_streak)"
        if rules.stop_after_loss_streak is not None and -self.streak >= rules.stop_after_loss_streak:
            return f"{-self.streak} losses in a row (stop_after_loss_streak)"
        if win and rules.stop_after_streak_won is not None and self.streak_profit >= rules.stop_after_streak_won:
            return f"a winning streak won {self.streak_profit:f} (stop_after_streak_won)"
        if not win and rules.stop_after_streak_lost is not None and -self.streak_profit >= rules.stop_after_streak_lost:
            return f"a losing streak lost {-self.streak_profit:f} (stop_after_streak_lost)"
        return None

    def _reset_due(self, win: bool, run: int) -> bool:
        rules = self.rules
        if win:
            if rules.reset_after_wins is not None and run % rules.reset_after_wins == 0:
                return True
        elif rules.reset_after_losses is not None and run % rules.reset_after_losses == 0:
            return True
        if rules.reset_after_profit is not None and self.cycle_profit >= rules.reset_after_profit:
            return True
        return rules.reset_after_loss is not None and -self.cycle_profit >= rules.reset_after_loss

    def _chance_now(self) -> Decimal:
        rules = self.rules
        if rules.loss_streak_chance is not None and rules.chance_after_losses is not None \
                and -self.streak >= rules.chance_after_losses:
            return rules.loss_streak_chance
        if rules.win_streak_chance is not None and rules.chance_after_wins is not None \
                and self.streak >= rules.chance_after_wins:
            return rules.win_streak_chance
        return rules.chance

    def _switch_due(self, win: bool, run: int) -> bool:
        rules = self.rules
        if rules.switch_after_bets is not None and self.bets % rules.switch_after_bets == 0:
            return True
        if win:
            return rules.switch_after_wins is not None and run % rules.switch_after_wins == 0
        return rules.switch_after_losses is not None and run % rules.switch_after_losses == 0

    def save_state(self) -> dict[str, Any]:
        # Fixed-point text for the Decimals: the unrounded stake may otherwise print as 1.5E-7.
        state = super().save_state()
        for name, value in state.items():
            current = getattr(self, name)
            if isinstance(current, Decimal):
                state[name] = format(current, "f")
            else:
                state[name] = value
        return state
