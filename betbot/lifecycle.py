"""Run one session from settings: the lifecycle around the engine (start-up, the run, the summary).

The CLI is a thin adapter over `run_session`; tests and embedders call it directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import anyio
from pydantic import ValidationError
from rich.console import Console

from betbot.backends.base import Backend
from betbot.backends.duckdice import DuckDiceBackend
from betbot.backends.minbets import MinBetCache
from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.config.apikey import resolve_api_key
from betbot.config.paths import data_dir
from betbot.config.settings import Settings, SettingsError
from betbot.config.units import is_loopback, parse_host_port
from betbot.core.fairness import GameRules, SeedPair
from betbot.core.minbet_rule import MinBetPolicy
from betbot.core.session import Limits, Session
from betbot.core.strategy import Strategy, StrategyContext
from betbot.engine.hooks import combine
from betbot.engine.loop import Engine
from betbot.engine.ratelimit import TokenBucket
from betbot.engine.site_books import Reconciler
from betbot.journal import Journal, SessionRecord
from betbot.journal.resume import (
    ResumeFailure,
    baseline_of,
    choose_session,
    limits_from_record,
    reconcile_live,
    reconcile_simulated,
    replay_history,
    site_stats_to_json,
)
from betbot.observe.display import dashboard, progress_lines
from betbot.observe.heartbeat import heartbeat
from betbot.observe.logs import get_logger
from betbot.observe.metrics import Metrics, MetricsServer
from betbot.observe.summary import build_summary, summary_table, write_summary_json
from betbot.strategies.registry import StrategyNotFound, load_strategy

__all__ = ["ResumeRequest", "RunOutcome", "build_limits", "build_strategy", "run_session"]


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


def _simulator(settings: Settings, rules: GameRules, *, seeds: SeedPair | None = None, balance: Decimal | None = None,
               first_seq: int = 1) -> SimulatorBackend:
    seeds = seeds or SeedPair.derive(settings.seed, first_nonce=settings.first_nonce)
    game = SimulatedGame(seeds=seeds, balances={settings.currency: settings.balance if balance is None else balance},
                         rules=rules, first_seq=first_seq)
    latency = LatencyModel(fixed=settings.sim_latency, jitter=settings.sim_jitter)
    return SimulatorBackend(game, latency)


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


ResumeRequest = int | Literal["newest"]


async def run_session(settings: Settings, *, out: Console, err: Console, api_key_from_cli: bool = False,
                      resume: ResumeRequest | None = None) -> RunOutcome:
    """Play one session to its end (or resume one); the summary goes to `out`, everything else to `err`.

    Raises SettingsError or click.UsageError for bad input, DuckDiceError when the site cannot be used,
    JournalError when the journal cannot be written, ResumeFailure when a session cannot be resumed.
    """
    log = get_logger()
    journal = None if settings.no_journal else Journal.open(settings.journal, durable=settings.live)
    try:
        record = _session_to_resume(settings, journal, resume, err)
        if record is not None:
            settings = settings.model_copy(update={"currency": record.currency, "chance": None, "high": None,
                                                   "strategy": record.strategy, "params": record.params})
        rules = game_rules(settings)
        live = _live(settings, api_key_from_cli) if settings.live else None
        backend: Backend | None = live
        try:
            if record is not None and journal is not None:
                backend = await _settle_last_run(settings, journal, record, live=live, rules=rules, log=log)
            backend = backend or _simulator(settings, rules)
            reconciler: Reconciler | None = None
            min_bets: MinBetPolicy | None = None
            if settings.live:
                reconciler = Reconciler(backend, settings.currency, rules)
                min_bets = MinBetPolicy(MinBetCache(settings.min_bet_cache or data_dir() / "min_bets.json"),
                                        settings.below_min_bet)
            # Bound before anything is journaled: a busy port fails the run before it starts.
            with _serving(settings.metrics_addr, log) as metrics:
                wiring = _Wiring(backend=backend, reconciler=reconciler, min_bets=min_bets, rules=rules,
                                 journal=journal, resumed=record, metrics=metrics)
                return await _play(settings, wiring, log=log, out=out, err=err)
        finally:
            if backend is not None:
                await backend.aclose()
    finally:
        if journal is not None:
            journal.close()


def _session_to_resume(settings: Settings, journal: Journal | None, resume: ResumeRequest | None,
                       err: Console) -> SessionRecord | None:
    if resume is None:
        return None
    if journal is None:
        raise SettingsError("--resume continues a session from the journal; drop --no-journal")
    record = choose_session(journal, None if resume == "newest" else resume)
    if record is None:
        err.print(f"betbot: no interrupted session in {journal.path}; starting a new one", highlight=False,
                  soft_wrap=True)
        return None
    was_live = record.backend == DuckDiceBackend.name
    if was_live != settings.live:
        fix = "add --live to resume it" if was_live else "drop --live: it was simulated"
        raise SettingsError(f"session {record.id} was {'live' if was_live else 'simulated'}; {fix}")
    return record


async def _settle_last_run(settings: Settings, journal: Journal, record: SessionRecord, *,
                           live: DuckDiceBackend | None, rules: GameRules, log: Any) -> Backend:
    """Resolve what the interrupted run left pending or unknown; the simulator comes back as it was."""
    if live is not None:
        result = await reconcile_live(journal, record, live, rules)
        if result is not None:
            log.warning("resume.reconciled", session=record.id, detail=result.detail)
        return live
    settled = reconcile_simulated(journal, record)
    if settled:
        log.warning("resume.reconciled", session=record.id,
                    detail=f"{settled} simulated bet(s) without an outcome did not run")
    pairs = journal.seed_pairs(record.id)
    if not pairs or pairs[-1].server_seed is None:  # journaled at the start of every simulated session
        raise ResumeFailure(f"session {record.id} has no server seed journaled; it cannot be resumed")
    pair = pairs[-1]
    assert pair.server_seed is not None  # noqa: S101 - checked above
    seeds = SeedPair(server_seed=pair.server_seed, client_seed=pair.client_seed, first_nonce=pair.first_nonce)
    return _simulator(settings, rules, seeds=seeds, balance=journal.replay_balance(record.id),
                      first_seq=pair.first_seq)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Wiring:
    """What the settings chose to play against, and where it is recorded."""

    backend: Backend
    reconciler: Reconciler | None
    min_bets: MinBetPolicy | None
    rules: GameRules
    journal: Journal | None
    resumed: SessionRecord | None
    metrics: Metrics | None


async def _play(settings: Settings, wiring: _Wiring, *, log: Any, out: Console, err: Console) -> RunOutcome:
    backend, rules, journal, resumed = wiring.backend, wiring.rules, wiring.journal, wiring.resumed
    clock = time.monotonic
    if resumed is None:
        starting_balance = await backend.balance(settings.currency)
        limits = build_limits(settings, starting_balance)
        started_at = clock()
    else:
        starting_balance = resumed.starting_balance
        limits = limits_from_record(resumed)
        # max_duration is wall time since the session first started, the time between its runs included.
        started_at = clock() - (datetime.now(UTC) - resumed.started_at).total_seconds()
    context = StrategyContext(currency=settings.currency, starting_balance=starting_balance,
                              rules=rules, faucet=settings.faucet)
    strategy = build_strategy(settings, context)
    session = Session(currency=settings.currency, starting_balance=starting_balance, limits=limits,
                      started_at=started_at, rules=rules, first_seq=1 if resumed is None else resumed.first_seq)
    if wiring.reconciler is not None:
        await _baseline(wiring.reconciler, resumed)
    session_id = None
    if journal is not None:
        session_id = _journal_session(journal, settings, wiring, session=session, strategy=strategy)
    if resumed is not None:
        assert journal is not None  # noqa: S101 - resuming reads the journal
        replayed = replay_history(journal, resumed, session, strategy)
        session.check_limits(clock())  # the last run may have ended on a limit: it still holds
        err.print(f"betbot: resuming session {resumed.id} after bet {session.next_seq - 1} "
                  f"({replayed.bets} journaled), balance {session.balance} {settings.currency}, with its own "
                  "strategy, parameters and limits (flags for those apply to new sessions only)",
                  highlight=False, soft_wrap=True)
    first_new_seq = session.next_seq

    def ready() -> None:
        log.info("session.running", hint="SIGINT/SIGTERM drains the bets in flight and stops; a second one "
                 "stops at once")

    metrics = wiring.metrics
    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=settings.concurrency,
                    drain_timeout=settings.drain_timeout, clock=clock, handle_signals=True, on_ready=ready,
                    hooks=combine(journal, metrics), reconciler=wiring.reconciler,
                    continue_after_reconciliation=settings.after_reconcile == "continue", min_bets=wiring.min_bets,
                    rate_limit=None if settings.max_rate is None else TokenBucket(settings.max_rate, clock=clock))
    if metrics is not None:
        metrics.watch(engine)
    _announce(settings, engine, err, starting_balance=starting_balance, session_id=session_id)
    log.info("session.start", strategy=strategy.name, backend=backend.name, concurrency=engine.concurrency,
             currency=settings.currency, balance=str(starting_balance), limits=_limits_for_log(limits),
             server_seed_hash=_seed_hash(backend), session_id=session_id)
    show_dashboard = settings.dashboard == "on" or (settings.dashboard == "auto" and err.is_terminal)
    await _run_engine(engine, settings, err=err, log=log, show_dashboard=show_dashboard)
    summary = build_summary(session.snapshot(), elapsed=engine.elapsed, concurrency=engine.concurrency,
                            strategy=strategy.name, backend=backend.name,
                            seed_pairs=_seed_pairs(backend, revealed=True),
                            run_bets=session.next_seq - first_new_seq, session_id=session_id)
    if journal is not None and session_id is not None:
        _journal_end(journal, session_id, session=session, strategy=strategy, summary=summary)
    log.info("session.end", **{k: v for k, v in summary.items() if k != "seed_pairs"})
    out.print(summary_table(summary))
    if settings.summary_json is not None:
        write_summary_json(settings.summary_json, summary)
    return RunOutcome(summary=summary, exit_code=3 if session.unresolved_seqs else 0)


async def _run_engine(engine: Engine, settings: Settings, *, err: Console, log: Any, show_dashboard: bool) -> None:
    """The engine, with what watches it: the dashboard or progress lines, and the heartbeat."""
    async with anyio.create_task_group() as tg:
        if show_dashboard:
            tg.start_soon(dashboard, engine, err)
        else:
            tg.start_soon(progress_lines, engine, log)
        if settings.heartbeat_file is not None:
            tg.start_soon(heartbeat, settings.heartbeat_file, engine)
        await engine.run()
        tg.cancel_scope.cancel()


@contextmanager
def _serving(addr: str | None, log: Any) -> Iterator[Metrics | None]:
    """Prometheus metrics on `addr` for the whole run (nothing without --metrics-addr)."""
    if addr is None:
        yield None
        return
    host, port = parse_host_port(addr)
    metrics = Metrics()
    server = MetricsServer(metrics, host, port)
    if not is_loopback(host):
        log.warning("metrics.public", addr=addr, hint="anyone who can reach this address can read the metrics")
    log.info("metrics.serving", url=f"http://{addr}/metrics")
    try:
        yield metrics
    finally:
        server.close()


async def _baseline(reconciler: Reconciler, resumed: SessionRecord | None) -> None:
    """The site's books reconciliation counts from: the session's first start, also after a resume."""
    if resumed is None:
        await reconciler.take_baseline()
        return
    reconciler.baseline = baseline_of(resumed)
    if reconciler.baseline is None:
        raise ResumeFailure(f"session {resumed.id} has no record of the site's books at its start; "
                            "start a new session instead")


def _journal_session(journal: Journal, settings: Settings, wiring: _Wiring, *, session: Session,
                     strategy: Strategy) -> int:
    """Bind the journal to the session: a new record, or the resumed one reopened."""
    backend, resumed = wiring.backend, wiring.resumed
    if resumed is not None:
        journal.reopen_session(resumed.id)
        journal.attach(resumed.id)
        return resumed.id
    seeds = backend.game.seeds if isinstance(backend, SimulatorBackend) else None
    session_id = journal.start_session(
        strategy=strategy.name, params=strategy.params.model_dump(mode="json"), limits=session.limits,
        backend=backend.name, currency=settings.currency, starting_balance=session.starting_balance,
        server_seed_hash=seeds.server_seed_hash if seeds else None,
        client_seed=seeds.client_seed if seeds else None, first_nonce=seeds.first_nonce if seeds else None,
    )
    if seeds is not None:
        # A simulated house's secret guards no one's money, and a resumed run must roll on with it.
        journal.reveal_seed(session_id, seeds.server_seed)
    if wiring.reconciler is not None and wiring.reconciler.baseline is not None:
        journal.set_site_baseline(session_id, site_stats_to_json(wiring.reconciler.baseline))
    return session_id


def _journal_end(journal: Journal, session_id: int, *, session: Session, strategy: Strategy,
                 summary: dict[str, Any]) -> None:
    left = journal.mark_unknown_pending(session_id)  # a bet cancelled in flight may have run
    # Every bet up to next_seq - 1 is resolved or unknown; the strategy has heard every settled one.
    journal.save_strategy_state(session_id, session.next_seq - 1, strategy.save_state())
    journal.finish_session(session_id, session.stop_reason, summary)
    if left:
        get_logger().warning("session.unresolved", session=session_id, bets=left,
                             hint="`betbot run --resume` reconciles them")


def _seed_hash(backend: Backend) -> str | None:
    return backend.game.seeds.server_seed_hash if isinstance(backend, SimulatorBackend) else None


def _announce(settings: Settings, engine: Engine, err: Console, *, starting_balance: Decimal,
              session_id: int | None) -> None:
    backend, strategy = engine.backend, engine.strategy
    note = ""
    if engine.concurrency < settings.concurrency:
        note = f" ({strategy.name} must see each result before its next bet; asked for {settings.concurrency})"
    journaled = "" if session_id is None else f", session {session_id}"
    err.print(
        f"betbot: {strategy.name} on the {backend.name}, {starting_balance} {settings.currency}, "
        f"effective concurrency {engine.concurrency}{note}{journaled}", highlight=False, soft_wrap=True,
    )
    if isinstance(backend, SimulatorBackend):
        seeds = backend.game.seeds
        err.print(f"betbot: server seed hash {seeds.server_seed_hash}, client seed {seeds.client_seed}, "
                  f"first nonce {seeds.first_nonce}", highlight=False, soft_wrap=True)
    if backend.live:
        err.print("betbot: LIVE: betting real money on DuckDice", style="bold red", soft_wrap=True)


def _limits_for_log(limits: Limits) -> dict[str, str]:
    return {name: str(getattr(limits, name)) for name in limits.__slots__ if getattr(limits, name) is not None}
