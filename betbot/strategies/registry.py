"""Where strategies are found: the built-ins, and any package's `betbot.strategies` entry points."""

from __future__ import annotations

import difflib
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from betbot.core.strategy import Strategy

__all__ = ["BUILTIN_STRATEGIES", "StrategyNotFound", "available_strategies", "load_strategy"]

ENTRY_POINT_GROUP = "betbot.strategies"

# Also declared as entry points in pyproject.toml; listed here so a source checkout works uninstalled.
BUILTIN_STRATEGIES: dict[str, str] = {
    "flat": "betbot.strategies.flat:Flat",
    "martingale": "betbot.strategies.martingale:Martingale",
    "anti-martingale": "betbot.strategies.anti_martingale:AntiMartingale",
    "dalembert": "betbot.strategies.dalembert:DAlembert",
    "fibonacci": "betbot.strategies.fibonacci:Fibonacci",
    "labouchere": "betbot.strategies.labouchere:Labouchere",
    "paroli": "betbot.strategies.paroli:Paroli",
    "oscars-grind": "betbot.strategies.oscars_grind:OscarsGrind",
    "one-three-two-six": "betbot.strategies.one_three_two_six:OneThreeTwoSix",
}


class StrategyNotFound(LookupError):
    """No strategy has that name; the message suggests the nearest ones."""


def _import(target: str) -> type[Strategy]:
    module_name, _, attr = target.partition(":")
    loaded = getattr(import_module(module_name), attr)
    if not (isinstance(loaded, type) and issubclass(loaded, Strategy)):
        raise TypeError(f"{target} is not a betbot Strategy subclass")
    return loaded


@cache
def _entry_point_targets() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_strategies() -> list[str]:
    """Every strategy name, built-ins first, then third-party ones in name order."""
    extra = sorted(set(_entry_point_targets()) - set(BUILTIN_STRATEGIES))
    return [*BUILTIN_STRATEGIES, *extra]


def load_strategy(name: str) -> type[Strategy]:
    """The strategy class registered under `name` (built-ins win over a third party's same name)."""
    target = BUILTIN_STRATEGIES.get(name) or _entry_point_targets().get(name)
    if target is None:
        close = difflib.get_close_matches(name, available_strategies(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise StrategyNotFound(
            f"unknown strategy {name!r}{hint} (`betbot strategies` lists them all)"
        )
    return _import(target)
