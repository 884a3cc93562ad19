"""From validated settings to the objects a session is played with: game rules, limits, the strategy.

Written once and used by every driver that plays a session from settings: `betbot run` (the lifecycle),
`betbot simulate` and the risk preview (`betbot.montecarlo`). It lives here rather than in the lifecycle so
that a Monte Carlo worker process can import it without the engine, the journal and the HTTP client.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from betbot.config.settings import Settings, SettingsError
from betbot.core.fairness import GameRules
from betbot.core.session import Limits
from betbot.core.strategy import RangeWindow, Strategy, StrategyContext
from betbot.strategies.registry import StrategyNotFound, load_strategy

__all__ = ["build_limits", "build_strategy", "game_rules", "strategy_context"]


def game_rules(settings: Settings) -> GameRules:
    return GameRules(edge=settings.edge, faucet_edge=settings.faucet_edge,
                     min_chance=settings.min_chance, max_chance=settings.max_chance)


def strategy_context(settings: Settings, starting_balance: Decimal, rules: GameRules) -> StrategyContext:
    """The fixed facts a strategy plays with: currency, balance, rules, faucet, the game and its own seed."""
    window = None
    if settings.game == "range":
        if settings.high is not None:
            raise SettingsError("--high/--low picks a side of Original Dice; with --game range use --range-in "
                                "or --range-out (and --range-at)")
        window = RangeWindow(inside=settings.range_in, at=None if settings.range_at == "random" else settings.range_at)
    # The strategy's own randomness (a random range window, a script's math.random) replays with --seed.
    rng_seed = (secrets.randbits(64) if settings.seed is None else
                int.from_bytes(hashlib.sha256(f"betbot/strategy/{settings.seed}".encode()).digest()[:8], "big"))
    return StrategyContext(currency=settings.currency, starting_balance=starting_balance, rules=rules,
                           faucet=settings.faucet, rng_seed=rng_seed, range_window=window)


def build_strategy(settings: Settings, context: StrategyContext) -> Strategy:
    """The strategy named in the settings with its parameters validated; SettingsError on bad input."""
    try:
        cls = load_strategy(settings.strategy)
    except StrategyNotFound as exc:
        raise SettingsError(str(exc)) from None
    options = dict(settings.params)
    fields = cls.Params.model_fields
    for name in ("chance", "high"):
        value = getattr(settings, name)
        if value is None:
            continue
        if name not in fields:
            flag = "--chance" if name == "chance" else "--high/--low"
            raise SettingsError(f"strategy {cls.name} takes no {name}; drop {flag}")
        options[name] = value
    try:
        return cls.from_options(options, context)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "parameters"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "no such parameter"
        raise SettingsError(
            f"invalid parameter {field} for strategy {cls.name}: {message} "
            f"(`betbot strategies show {cls.name}` lists its parameters)"
        ) from None


def build_limits(settings: Settings, starting_balance: Any) -> Limits:
    def resolve(limit: Any) -> Any:
        return None if limit is None else limit.resolve(starting_balance)

    return Limits(
        max_bets=settings.max_bets,
        max_duration=settings.max_duration,
        stop_loss=resolve(settings.stop_loss),
        take_profit=resolve(settings.take_profit),
        trailing_stop=resolve(settings.trailing_stop),
        max_losses=settings.max_losses,
        max_wins=settings.max_wins,
        max_bet=settings.max_bet,
        min_balance=settings.min_balance,
    )


