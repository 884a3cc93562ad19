"""The classic progressions as they were before they became presets of the advanced strategy.

Copied from betbot/strategies/{martingale,anti_martingale,dalembert,paroli}.py as they stood at commit
be8db18, reduced to their arithmetic: each takes the old parameters and a win/loss sequence and returns the
stakes it would have bet. tests/strategies/test_advanced.py holds the presets to these outputs bet for bet.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from betbot.core.money import quantize


def martingale(base_bet: Decimal, multiplier: Decimal, max_multiplies: int, reset_on_win: bool,
               results: Iterable[bool]) -> list[Decimal]:
    multiplies = 0
    stakes = []
    for win in results:
        stakes.append(quantize(base_bet * multiplier**multiplies))
        if win:
            multiplies = 0 if reset_on_win else max(0, multiplies - 1)
        elif multiplies >= max_multiplies:
            multiplies = 0
        else:
            multiplies += 1
    return stakes


def anti_martingale(base_bet: Decimal, multiplier: Decimal, max_multiplies: int,
                    results: Iterable[bool]) -> list[Decimal]:
    multiplies = 0
    stakes = []
    for win in results:
        stakes.append(quantize(base_bet * multiplier**multiplies))
        if not win or multiplies >= max_multiplies:
            multiplies = 0
        else:
            multiplies += 1
    return stakes


def dalembert(base_bet: Decimal, increment: Decimal | None, max_steps: int | None,
              results: Iterable[bool]) -> list[Decimal]:
    step_size = increment if increment is not None else base_bet
    steps = 0
    stakes = []
    for win in results:
        stakes.append(quantize(base_bet + steps * step_size))
        if win:
            steps = max(0, steps - 1)
        elif max_steps is not None and steps >= max_steps:
            steps = 0
        else:
            steps += 1
    return stakes


def paroli(base_bet: Decimal, target_wins: int, results: Iterable[bool]) -> list[Decimal]:
    wins = 0
    stakes = []
    for win in results:
        stakes.append(quantize(base_bet * 2**wins))
        wins = wins + 1 if win else 0
        if wins >= target_wins:
            wins = 0
    return stakes
