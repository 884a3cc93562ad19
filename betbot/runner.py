"""Run one session from settings: the lifecycle around the engine (start-up, the run, the summary).

The CLI is a thin adapter over `run_session`; tests and embedders call it directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import ValidationError
from rich.console import Console

from betbot.apikey import resolve_api_key
from betbot.backends.base import Backend
from betbot.backends.duckdice import DuckDiceBackend
from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.display import dashboard, progress_lines
from betbot.engine import Engine
from betbot.fairness import GameRules, SeedPair
from betbot.logs import get_logger
from betbot.minbet_policy import MinBetPolicy
from betbot.minbets import MinBetCache
from betbot.paths import data_dir
from betbot.ratelimit import TokenBucket
from betbot.reconciler import Reconciler
from betbot.registry import StrategyNotFound, load_strategy
from betbot.session import Limits, Session
from betbot.settings import Settings, SettingsError
from betbot.strategy import Strategy, StrategyContext
from betbot.summary import build_summary, summary_table, write_summary_json

__all__ = ["RunOutcome", "build_limits", "build_strategy", "run_session"]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    summary: dict[str, Any]
    exit_code: int


def game_rules(settings: Settings) -> GameRules:
    return GameRules(edge=settings.edge, faucet_edge=settings.faucet_edge,
                     min_chance=settings.min_chance, max_chance=settings.max_chance)


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


def _simulator(settings: Settings, rules: GameRules) -> tuple[SimulatorBackend, SeedPair]:
    seeds = SeedPair.derive(settings.seed, first_nonce=settings.first_nonce)
    game = SimulatedGame(seeds=seeds, balances={settings.currency: settings.balance}, rules=rules)
    latency = LatencyModel(fixed=settings.sim_latency, jitter=settings.sim_jitter)
    return SimulatorBackend(game, latency), seeds


def _seed_pairs(backend: Backend, revealed: bool) -> list[dict[str, Any]]:
    if not isinstance(backend, SimulatorBackend):
        return []
    return [
        {
            "server_seed_hash": pair.server_seed_hash,
            "server_seed": pair.server_seed if revealed else None,
            "client_seed": pair.client_seed,
            "first_nonce": pair.first_nonce,
        }
        for pair in backend.game.seed_history
    ]


def _live(settings: Settings, api_key_from_cli: bool) -> DuckDiceBackend:
    key = resolve_api_key(settings.api_key, settings.api_key_file, warn_cli=api_key_from_cli)
    return DuckDiceBackend(api_key=key, base_url=settings.base_url, max_connections=settings.concurrency)


async def run_session(settings: Settings, *, out: Console, err: Console, api_key_from_cli: bool = False) -> RunOutcome:
    """Play one session to its end; the summary goes to `out`, everything else to `err`.

    Raises SettingsError or click.UsageError for bad input, DuckDiceError when the site cannot be used.
    """
    log = get_logger()
    rules = game_rules(settings)
    backend: Backend
    seeds: SeedPair | None = None
    reconciler: Reconciler | None = None
    min_bets: MinBetPolicy | None = None
    if settings.live:
        backend = _live(settings, api_key_from_cli)
        reconciler = Reconciler(backend, settings.currency, rules)
        min_bets = MinBetPolicy(MinBetCache(settings.min_bet_cache or data_dir() / "min_bets.json"),
                                settings.below_min_bet)
    else:
        backend, seeds = _simulator(settings, rules)
    try:
        return await _play(settings, _Wiring(backend=backend, seeds=seeds, reconciler=reconciler,
                                             min_bets=min_bets, rules=rules), log=log, out=out, err=err)
    finally:
        await backend.aclose()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Wiring:
    """What the settings chose to play against."""

    backend: Backend
    seeds: SeedPair | None  # the simulator's; the site does not reveal its seeds through the API
    reconciler: Reconciler | None
    min_bets: MinBetPolicy | None
    rules: GameRules


async def _play(settings: Settings, wiring: _Wiring, *, log: Any, out: Console, err: Console) -> RunOutcome:
    backend, seeds, rules = wiring.backend, wiring.seeds, wiring.rules
    starting_balance = await backend.balance(settings.currency)
    context = StrategyContext(currency=settings.currency, starting_balance=starting_balance,
                              rules=rules, faucet=settings.faucet)
    strategy = build_strategy(settings, context)
    limits = build_limits(settings, starting_balance)
    clock = time.monotonic
    session = Session(currency=settings.currency, starting_balance=starting_balance, limits=limits,
                      started_at=clock(), rules=rules)
    def ready() -> None:
        log.info("session.running", hint="SIGINT/SIGTERM drains the bets in flight and stops; a second one "
                 "stops at once")

    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=settings.concurrency,
                    drain_timeout=settings.drain_timeout, clock=clock, handle_signals=True, on_ready=ready,
                    reconciler=wiring.reconciler,
                    continue_after_reconciliation=settings.after_reconcile == "continue", min_bets=wiring.min_bets,
                    rate_limit=None if settings.max_rate is None else TokenBucket(settings.max_rate, clock=clock))
    note = ""
    if engine.concurrency < settings.concurrency:
        note = f" ({strategy.name} must see each result before its next bet; asked for {settings.concurrency})"
    err.print(
        f"betbot: {strategy.name} on the {backend.name}, {starting_balance} {settings.currency}, "
        f"effective concurrency {engine.concurrency}{note}", highlight=False, soft_wrap=True,
    )
    if seeds is not None:
        err.print(f"betbot: server seed hash {seeds.server_seed_hash}, client seed {seeds.client_seed}, "
                  f"first nonce {seeds.first_nonce}", highlight=False, soft_wrap=True)
    if backend.live:
        err.print("betbot: LIVE: betting real money on DuckDice", style="bold red", soft_wrap=True)
    log.info("session.start", strategy=strategy.name, backend=backend.name, concurrency=engine.concurrency,
             currency=settings.currency, balance=str(starting_balance), limits=_limits_for_log(limits),
             server_seed_hash=seeds.server_seed_hash if seeds else None)
    show_dashboard = settings.dashboard == "on" or (settings.dashboard == "auto" and err.is_terminal)
    async with anyio.create_task_group() as tg:
        if show_dashboard:
            tg.start_soon(dashboard, engine, err)
        else:
            tg.start_soon(progress_lines, engine, log)
        await engine.run()
        tg.cancel_scope.cancel()
    summary = build_summary(session.snapshot(), elapsed=engine.elapsed, concurrency=engine.concurrency,
                            strategy=strategy.name, backend=backend.name,
                            seed_pairs=_seed_pairs(backend, revealed=True))
    log.info("session.end", **{k: v for k, v in summary.items() if k != "seed_pairs"})
    out.print(summary_table(summary))
    if settings.summary_json is not None:
        write_summary_json(settings.summary_json, summary)
    return RunOutcome(summary=summary, exit_code=3 if session.unresolved_seqs else 0)


def _limits_for_log(limits: Limits) -> dict[str, str]:
    return {name: str(getattr(limits, name)) for name in limits.__slots__ if getattr(limits, name) is not None}
