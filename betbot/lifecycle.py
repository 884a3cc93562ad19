"""Run one session from settings: the lifecycle around the engine (start-up, the run, the summary).

The CLI is a thin adapter over `run_session`; tests and embedders call it directly. A host that runs many
sessions in one process (`betbot serve`) calls it too, with a `Hosting`: the engine then handles no process
signal itself, uses the account's shared back-off and rate budget, feeds the host's observers, and is handed
to the host (`HostedRun`) before its first bet, for the host's controls and watchers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, ExitStack, closing, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import anyio
from rich.console import Console

from betbot.backends.base import Backend
from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.config.apikey import resolve_api_key
from betbot.config.build import build_limits, build_strategy, game_rules, strategy_context
from betbot.config.paths import data_dir
from betbot.config.settings import Settings, SettingsError
from betbot.config.units import is_loopback, parse_host_port
from betbot.core.fairness import GameRules, SeedPair
from betbot.core.machine import MinBetRule
from betbot.core.models import SeedRotation
from betbot.core.money import money_text
from betbot.core.session import LIMIT_NAMES, Limits, Session
from betbot.core.strategy import Strategy
from betbot.engine.backoff import SharedBackoff
from betbot.engine.hooks import combine
from betbot.engine.loop import Engine
from betbot.engine.pacing import PaceChange, Pacer, ReadTimeoutPolicy
from betbot.engine.ratelimit import TokenBucket
from betbot.engine.site_books import Reconciler
from betbot.journal import Journal, SessionRecord, default_journal_path
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
from betbot.journal.verify import reveal_and_verify
from betbot.journal.verify_ahead import VerifyAhead, worth_it
from betbot.montecarlo.preview import print_preview, risk_preview
from betbot.observe.logs import console_rendering, get_logger
from betbot.observe.metrics import Metrics, MetricsServer, linger
from betbot.observe.summary import build_summary, print_summary, write_summary_json
from betbot.observe.view import concurrency_text, view_of
from betbot.observe.watch import Watchers
from betbot.strategies.registry import file_spec, is_file_spec

if TYPE_CHECKING:  # a simulated run never loads httpx and the DuckDice client
    from betbot.backends.duckdice import DuckDiceBackend
    from betbot.backends.minbets import MinBetCache

__all__ = ["CampaignTurn", "HostedRun", "Hosting", "ResumeRequest", "RunOutcome", "SessionWatch", "build_limits",
           "build_strategy", "run_session"]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    summary: dict[str, Any]
    exit_code: int


def _simulator(settings: Settings, rules: GameRules, *, seeds: SeedPair | None = None, balance: Decimal | None = None,
               first_seq: int = 1) -> SimulatorBackend:
    seeds = seeds or SeedPair.derive(settings.seed, first_nonce=settings.first_nonce)
    game = SimulatedGame(seeds=seeds, balances={settings.currency: settings.balance if balance is None else balance},
                         rules=rules, first_seq=first_seq)
    latency = LatencyModel(fixed=settings.sim_latency, jitter=settings.sim_jitter)
    return SimulatorBackend(game, latency)


def _seed_pairs(backend: Backend, revealed: bool) -> list[dict[str, Any]]:
    return [
        {
            "server_seed_hash": pair.server_seed_hash,
            "server_seed": pair.server_seed if revealed else None,
            "client_seed": pair.client_seed,
            "first_nonce": pair.first_nonce,
        }
        for pair in backend.known_seeds
    ]


def _live(settings: Settings, api_key_from_cli: bool) -> DuckDiceBackend:
    from betbot.backends.duckdice import DuckDiceBackend  # noqa: PLC0415 - a live run's only

    key = resolve_api_key(settings.api_key, settings.api_key_file, warn_cli=api_key_from_cli)
    return DuckDiceBackend(api_key=key, base_url=settings.base_url, max_connections=settings.concurrency,
                           tle_hash=settings.tle, wagering_bonus_hash=settings.wagering_bonus, faucet=settings.faucet)


ResumeRequest = int | Literal["newest"]


class SessionWatch(Protocol):
    """What watches a session from outside the betting path (betbot.notify.SessionNotices): entered around the
    run, told the summary once it is built."""

    def watching(self, engine: Engine, limits: Limits, *,
                 session_id: int | None) -> AbstractAsyncContextManager[None]: ...

    def ended(self, summary: Mapping[str, Any]) -> None: ...


class CampaignTurn(Protocol):
    """A new session's place in a campaign (betbot.campaign): what remains of the campaign's budget caps its
    limits (through `Limits.tightened`: only ever tighter), and the journal records which campaign it is in."""

    new_seed: bool  # live: rotate the seed pair before the session's first bet

    def cap(self, starting_balance: Decimal) -> Limits: ...

    def joined(self, journal: Journal, session_id: int) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class HostedRun:
    """What a host keeps of a session it runs: the engine (its controls, `view_of`), the journal's id for it,
    the settings it plays with (a resumed session's own) and its limits at the start."""

    engine: Engine
    session_id: int | None
    settings: Settings
    limits: Limits


@dataclass(frozen=True, slots=True, kw_only=True)
class Hosting:
    """A session run by a host rather than by `betbot run`: no signal handling of its own (the host stops it
    through the engine's controls), the account's back-off and rate budget, and the host's observers."""

    attached: Callable[[HostedRun], None]  # called once the engine exists, before its first bet
    backoff: SharedBackoff | None = None  # one per account: a 429 on one session pauses them all
    rate_limit: TokenBucket | None = None  # one per account, when it has a --max-rate
    observers: tuple[Any, ...] = ()  # more of the machine's event consumers (see MachineObserver)


async def run_session(settings: Settings, *, out: Console, err: Console, api_key_from_cli: bool = False,
                      resume: ResumeRequest | None = None, notices: SessionWatch | None = None,
                      campaign: CampaignTurn | None = None, hosting: Hosting | None = None) -> RunOutcome:
    """Play one session to its end (or resume one); the summary goes to `out`, everything else to `err`.

    Raises SettingsError or click.UsageError for bad input, DuckDiceError when the site cannot be used,
    JournalError when the journal cannot be written, ResumeFailure when a session cannot be resumed.
    """
    log = get_logger()
    with ExitStack() as stack:
        journal: Journal | None = None
        record: SessionRecord | None = None
        if resume is not None:
            if settings.no_journal:
                raise SettingsError("--resume continues a session from the journal; drop --no-journal")
            path = settings.journal or default_journal_path()
            if path.exists():
                journal = stack.enter_context(closing(Journal.open(path, durable=settings.live,
                                                                   background=hosting is not None)))
                record = _session_to_resume(settings, journal, resume, err)
            else:  # nothing to resume; a new session's journal is made once its settings are checked
                _say(err, "session.resume_none", f"no journal at {path}: no interrupted session to resume; starting "
                     "a new one")
        if record is None:
            require_loss_bound(settings)
        else:
            settings = _resumed_settings(settings, record, err)
        rules = game_rules(settings)
        live = _live(settings, api_key_from_cli) if settings.live else None
        backend: Backend | None = live
        try:
            if live is not None:
                await _prepare_account(live, settings, log)
            if record is not None and journal is not None:
                backend = await _settle_last_run(settings, journal, record, live=live, rules=rules, log=log)
            backend = backend or _simulator(settings, rules)
            reconciler: Reconciler | None = None
            min_bets: MinBetCache | None = None
            if settings.live:
                from betbot.backends.minbets import MinBetCache  # noqa: PLC0415 - a live run's only

                reconciler = Reconciler(backend, settings.currency, rules)
                min_bets = MinBetCache(settings.min_bet_cache or data_dir() / "min_bets.json")
            # Bound before anything is journaled: a busy port fails the run before it starts.
            with _serving(settings.metrics_addr, log) as metrics:
                wiring = _Wiring(backend=backend, reconciler=reconciler, min_bets=min_bets, rules=rules,
                                 journal=journal, resumed=record, metrics=metrics, files=stack, notices=notices,
                                 campaign=None if record is not None else campaign, hosting=hosting)
                outcome = await _play(settings, wiring, log=log, out=out, err=err)
                if metrics is not None:
                    await linger(settings.metrics_linger, log)
                return outcome
        finally:
            if backend is not None:
                await backend.aclose()


async def _prepare_account(live: DuckDiceBackend, settings: Settings, log: Any) -> None:
    """Before the first bet: `--tle auto` becomes the account's one active event, and the seed pair the
    site rolls with now is read, for the journal (`_journal_session`)."""
    if settings.tle == "auto":
        try:
            event = await live.use_single_event()
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        log.info("account.tle", tle=event.hash, name=event.name)
    live.seeds_at_start = await live.current_seeds()
    if live.seeds_at_start is None:
        log.warning("seed.unknown", hint="the site did not say its current seed pair (GET /randomize): the "
                    "session's bets can be verified with `betbot verify --session ID --server-seed S` once known")


def require_loss_bound(settings: Settings) -> None:
    """A new live session needs a bound on what it can lose, unless the user opts out by name."""
    if settings.live and settings.stop_loss is None and settings.min_balance is None and not settings.no_loss_limit:
        raise SettingsError("a live run needs a bound on what it can lose: add --stop-loss (an amount, or a % "
                            "of the balance) or --min-balance, or --no-loss-limit to bet without one")


_OWN_GAME = ("game", "range_in", "range_at", "faucet")


def _resumed_settings(settings: Settings, record: SessionRecord, err: Console) -> Settings:
    """The settings a resumed session plays with: its own strategy, parameters, currency and concurrency.

    A concurrency given again may lower the session's own, never raise it (the limits follow the same rule
    in `Limits.tightened`), and either way the user is told.
    """
    update: dict[str, Any] = {"currency": record.currency, "chance": None, "high": None,
                              "strategy": record.strategy, "params": record.params}
    # The game it was playing (Original or Range Dice and the window, main or faucet) is the session's own too.
    update.update({name: value for name, value in (record.run_settings or {}).items() if name in _OWN_GAME})
    own_site = (record.run_settings or {}).get("base_url")
    if own_site is not None and "base_url" not in settings.model_fields_set:
        update["base_url"] = own_site  # the site whose books hold its bets (reconciliation reads them there)
    own = int((record.run_settings or {}).get("concurrency", settings.concurrency))
    given = {"parallel", "max_concurrent"} & settings.model_fields_set
    concurrency = own
    if given and settings.concurrency != own:
        if settings.concurrency < own:
            concurrency = settings.concurrency
            _say(err, "session.resume_concurrency", f"concurrency lowered from the session's {own} to {concurrency}")
        else:
            _say(err, "session.resume_concurrency",
                 f"concurrency kept at the session's {own} ({settings.concurrency} would raise it)")
    update["parallel"] = concurrency > 1
    if concurrency > 1:
        update["max_concurrent"] = concurrency
        if (record.run_settings or {}).get("auto_concurrency") and not given:
            update.update(max_concurrent="auto", auto_cap=concurrency)  # paced again, under its own cap
    return settings.model_copy(update=update)


def _session_to_resume(settings: Settings, journal: Journal, resume: ResumeRequest,
                       err: Console) -> SessionRecord | None:
    record = choose_session(journal, None if resume == "newest" else resume)
    if record is None:
        # A daemon can always pass --resume; a new session then starts under the same rules as any other.
        _say(err, "session.resume_none", f"no interrupted session in {journal.path}; starting a new one")
        return None
    was_live = record.backend != SimulatorBackend.name
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
    min_bets: MinBetCache | None  # live: minimums learned from the site's refusals, kept between sessions
    rules: GameRules
    journal: Journal | None  # open when resuming; a new session's is opened once its settings are checked
    resumed: SessionRecord | None
    metrics: Metrics | None
    files: ExitStack  # closes the journal with the run
    notices: SessionWatch | None = None
    campaign: CampaignTurn | None = None  # a new session of a campaign
    hosting: Hosting | None = None


async def _play(settings: Settings, wiring: _Wiring, *, log: Any, out: Console, err: Console) -> RunOutcome:
    backend, rules, journal, resumed = wiring.backend, wiring.rules, wiring.journal, wiring.resumed
    clock = time.monotonic
    if resumed is None:
        starting_balance = await backend.balance(settings.currency)
        limits = build_limits(settings, starting_balance)
        if wiring.campaign is not None:
            limits, notes = limits.tightened(wiring.campaign.cap(starting_balance))
            for note in notes:
                err.print(f"betbot: campaign: {note}", highlight=False, soft_wrap=True)
            if wiring.campaign.new_seed and backend.live:
                rotation = await backend.rotate_seed()
                log.info("seed.rotated", server_seed_hash=rotation.server_seed_hash,
                         previous_server_seed=rotation.previous_server_seed)
        if limits.min_balance is not None and limits.min_balance >= starting_balance:
            raise SettingsError(f"--min-balance {limits.min_balance:f} is at or above the balance "
                                f"{starting_balance:f} {settings.currency}: no bet could be placed; lower it")
        started_at = clock()
    else:
        starting_balance = resumed.starting_balance
        limits, notes = limits_from_record(resumed).tightened(build_limits(settings, starting_balance))
        for note in notes:
            _say(err, "session.resume_limit", f"resuming: {note}")
        # max_duration is wall time since the session first started, the time between its runs included.
        started_at = clock() - (datetime.now(UTC) - resumed.started_at).total_seconds()
    context = strategy_context(settings, starting_balance, rules)
    strategy = build_strategy(settings, context)
    # Before anything is journaled: --max-ruin may refuse the run (RiskRefused, a SettingsError).
    preview = None if resumed is not None else risk_preview(settings, starting_balance)
    if resumed is None:
        started_at = clock()  # --max-duration is the run's own time: the preview does not spend it
    if journal is None and not settings.no_journal:
        # Only now, with every setting checked: bad input never leaves a journal file behind.
        # Hosted (many sessions on one event loop): the batches are committed on the journal's writer thread.
        journal = wiring.files.enter_context(closing(Journal.open(settings.journal, durable=settings.live,
                                                                  background=wiring.hosting is not None)))
    print_preview(err, preview, settings.currency)  # once the journal has opened
    session = Session(currency=settings.currency, starting_balance=starting_balance, limits=limits,
                      started_at=started_at, rules=rules, first_seq=1 if resumed is None else resumed.first_seq)
    if wiring.reconciler is not None:
        await _baseline(wiring.reconciler, resumed)
    session_id = None
    if journal is not None:
        session_id = _journal_session(journal, settings, wiring, session=session, strategy=strategy)
        journal.set_run_settings(session_id, {"concurrency": settings.concurrency,
                                              **({"auto_concurrency": True} if settings.auto_concurrency else {}),
                                              **{name: getattr(settings, name) for name in _OWN_GAME},
                                              **({"base_url": settings.base_url} if settings.live else {})})
        if wiring.campaign is not None:
            wiring.campaign.joined(journal, session_id)
    if resumed is not None:
        assert journal is not None  # noqa: S101 - resuming reads the journal
        replayed = replay_history(journal, resumed, session, strategy)
        session.check_limits(clock())  # the last run may have ended on a limit: it still holds
        _say(err, "session.resuming", f"resuming session {resumed.id} after bet {session.next_seq - 1} "
             f"({replayed.bets} journaled), balance {money_text(session.balance)} {settings.currency}, "
             "with its own strategy, parameters, limits and concurrency (given again, a limit or -n may only "
             "tighten them)")
    first_new_seq = session.next_seq

    def ready() -> None:
        log.info("session.running", hint="SIGINT/SIGTERM drains the bets in flight and stops; a second one "
                 "stops at once")

    metrics, hosting = wiring.metrics, wiring.hosting
    rate_limit = None if settings.max_rate is None else TokenBucket(settings.max_rate, clock=clock)
    pacer = _pacer(settings, backend, clock, _PaceRecorder(journal, session_id, session, metrics, log))
    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=settings.concurrency,
                    drain_timeout=settings.drain_timeout, clock=clock, handle_signals=hosting is None,
                    on_ready=ready, hooks=combine(journal, metrics), reconciler=wiring.reconciler,
                    continue_after_reconciliation=settings.after_reconcile == "continue",
                    observers=(wiring.min_bets, _SeedRotations(journal, session_id, backend, log),
                               *(hosting.observers if hosting else ())),
                    min_bets=MinBetRule(wiring.min_bets.known() if wiring.min_bets else None, settings.below_min_bet),
                    rate_limit=hosting.rate_limit if hosting and hosting.rate_limit else rate_limit,
                    backoff=hosting.backoff if hosting else None, reseed_every=settings.reseed_every,
                    pacer=pacer)
    ahead = None
    bets_left = None if limits.max_bets is None else limits.max_bets - first_new_seq + 1
    if journal is not None and session_id is not None and not backend.live and hosting is None \
            and backend.known_seeds and worth_it(bets_left):
        # The provably-fair check at the end, done on the other core while the run goes on.
        ahead = VerifyAhead.start(journal.path, session_id, [pair.server_seed for pair in backend.known_seeds])
        if ahead is not None:
            wiring.files.callback(ahead.close)
    if resumed is not None and journal is not None:
        # What the site paid at each chance before the restart: reconciliation pays an unknown win the same.
        engine.machine.payouts.update(journal.site_payouts(resumed.id))
    if metrics is not None:
        metrics.watch(engine)
    if hosting is not None:
        hosting.attached(HostedRun(engine=engine, session_id=session_id, settings=settings, limits=limits))
    _announce(settings, engine, err, starting_balance=starting_balance, session_id=session_id)
    log.info("session.start", strategy=strategy.name, backend=backend.name, concurrency=engine.concurrency,
             currency=settings.currency, balance=money_text(starting_balance), limits=_limits_for_log(limits),
             server_seed_hash=_seed_hash(backend), session_id=session_id)
    if not backend.live and limits.max_bets is None and limits.max_duration is None:
        _warn_unbounded(log, journaled=journal is not None)
    show_dashboard = settings.dashboard == "on" or (settings.dashboard == "auto" and err.is_terminal)
    watchers = Watchers(engine, console=err, log=log, limits=limits, show_dashboard=show_dashboard,
                        heartbeat_file=settings.heartbeat_file, session_offset=clock() - started_at)
    notices = nullcontext() if wiring.notices is None else wiring.notices.watching(engine, limits,
                                                                                    session_id=session_id)
    async with watchers.running(), notices:
        await engine.run()
    final = view_of(engine)  # the dashboard's last frame and the summary: one snapshot
    summary = build_summary(final.snapshot, elapsed=final.elapsed, concurrency=final.concurrency,
                            strategy=strategy.name, backend=backend.name,
                            seed_pairs=_seed_pairs(backend, revealed=True),
                            run_bets=session.next_seq - first_new_seq, session_id=session_id,
                            auto_concurrency=engine.pacer is not None)
    if preview is not None:
        summary["risk_preview"] = preview  # into --summary-json and, with the summary, the journal
    strategy_notes = getattr(strategy, "summary_notes", None)
    if callable(strategy_notes):  # a strategy's own figures (a Lua script: the calls it skipped), journaled too
        summary.update(strategy_notes())
    if journal is not None and session_id is not None:
        _journal_end(journal, session_id, session=session, strategy=strategy, summary=summary)
    watchers.finish(final, summary)
    if wiring.notices is not None:
        wiring.notices.ended(summary)
    log.info("session.end", **_end_fields(summary))
    print_summary(out, summary)
    if journal is not None and session_id is not None and backend.known_seeds:
        seeds = [pair.server_seed for pair in backend.known_seeds]
        if ahead is not None:
            checked = ahead.finish(journal, seeds)
        elif wiring.hosting is None:
            checked = reveal_and_verify(journal, session_id, seeds)
        else:  # a host's other sessions go on while every bet is checked (the run is over: the journal is idle)
            checked = await anyio.to_thread.run_sync(reveal_and_verify, journal, session_id, seeds)
        out.print(f"provably fair: {checked.line()}", style=None if checked.ok else "bold red", highlight=False,
                  soft_wrap=True)
    if settings.summary_json is not None:
        write_summary_json(settings.summary_json, summary)
    return RunOutcome(summary=summary, exit_code=3 if session.unresolved_seqs else 0)


def _warn_unbounded(log: Any, *, journaled: bool) -> None:
    """A simulated run with nothing to end it plays at full speed until a signal (or a loss limit, by luck)."""
    cost = "; it journals every bet, about 5 MB/s at full speed" if journaled else ""
    log.warning("session.unbounded", hint=f"no --max-bets or --max-duration: this simulated run goes on until "
                f"Ctrl-C{cost}; add --max-bets N or --max-duration 10m")


def _end_fields(summary: dict[str, Any]) -> dict[str, Any]:
    """`session.end`: every figure for a machine (JSON); for a person the summary table says it all, once."""
    if console_rendering():
        return {"stop_reason": summary["stop_reason"], "bets": summary["bets"], "session_id": summary["session_id"]}
    return {k: v for k, v in summary.items() if k != "seed_pairs"}


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
    # Live: the pair the site said it rolls with now (its server seed is revealed by the next rotation).
    live = _site(backend)
    site = None if live is None else live.seeds_at_start
    if resumed is not None:
        journal.reopen_session(resumed.id)
        journal.attach(resumed.id)
        if site is not None and site.client_seed is not None:
            journal.add_seed_pair(resumed.id, server_seed_hash=site.server_seed_hash, client_seed=site.client_seed,
                                  first_nonce=site.nonce or 0, first_seq=(resumed.last_seq or 0) + 1)
        return resumed.id
    seeds = backend.known_seeds[-1] if backend.known_seeds else None
    session_id = journal.start_session(
        # A file strategy is journaled by its absolute FILE.py:Class, so that --resume finds it again.
        strategy=file_spec(settings.strategy) if is_file_spec(settings.strategy) else strategy.name,
        params=strategy.params.model_dump(mode="json"), limits=session.limits,
        backend=backend.name, currency=settings.currency, starting_balance=session.starting_balance,
        server_seed_hash=seeds.server_seed_hash if seeds else site.server_seed_hash if site else None,
        client_seed=seeds.client_seed if seeds else site.client_seed if site else None,
        first_nonce=seeds.first_nonce if seeds else site.nonce if site else None,
    )
    if seeds is not None:
        # A simulated house's secret guards no one's money, and a resumed run must roll on with it.
        journal.reveal_seed(session_id, seeds.server_seed)
    if wiring.reconciler is not None and wiring.reconciler.baseline is not None:
        journal.set_site_baseline(session_id, site_stats_to_json(wiring.reconciler.baseline))
    return session_id


def _site(backend: Backend) -> DuckDiceBackend | None:
    """The DuckDice client, if this run is live (its module loads only then)."""
    if not backend.live:
        return None
    from betbot.backends.duckdice import DuckDiceBackend  # noqa: PLC0415 - a live run's only

    return backend if isinstance(backend, DuckDiceBackend) else None


# How long a rate ceiling learned from the site stays the next session's start: a site's limit may change, and a
# day-old figure is still a better start than slow start into it (probes and push-backs move it either way).
SITE_RATE_KEPT: Final = timedelta(days=1)


def _pacer(settings: Settings, backend: Backend, clock: Callable[[], float],
           recorder: _PaceRecorder) -> Pacer | None:
    """`-n auto`'s pacer, toward --max-rate when given; the live read timeout follows the replies with it."""
    if not settings.auto_concurrency:
        return None
    set_read_timeout = getattr(backend, "set_read_timeout", None)
    live = _site(backend)
    ceiling = ReadTimeoutPolicy().ceiling if live is None else live.timeouts.read
    known = None
    if live is not None and recorder.journal is not None:
        known = recorder.journal.site_rate(settings.base_url, since=datetime.now(UTC) - SITE_RATE_KEPT)
    pacer = Pacer(ceiling=settings.concurrency, target_rate=settings.max_rate, clock=clock,
                  timeouts=ReadTimeoutPolicy(ceiling=ceiling), on_change=recorder.changed,
                  on_read_timeout=set_read_timeout if callable(set_read_timeout) else None)
    if known is not None:
        rate, session_id, at = known
        pacer.start_at_rate(rate, f"session {session_id} ({at:%Y-%m-%d %H:%M} UTC)")
        recorder.log.info("concurrency.remembered", rate=round(rate, 1), session_id=session_id,
                          at=at.isoformat(timespec="seconds"),
                          hint="the site's rate learned before: no slow start into its limit")
    return pacer


class _PaceRecorder:
    """Each change of `-n auto`'s limit: journaled (with the last bet admitted before it), counted, logged."""

    def __init__(self, journal: Journal | None, session_id: int | None, session: Session, metrics: Metrics | None,
                 log: Any) -> None:
        self.journal = journal
        self.session_id = session_id
        self.session = session
        self.metrics = metrics
        self.log = log

    def changed(self, change: PaceChange) -> None:
        after_seq = self.session.next_seq - 1
        self.log.debug("concurrency.changed", old=change.old, new=change.new, reason=change.reason,
                       detail=change.detail, after_seq=after_seq)
        if self.metrics is not None:
            self.metrics.concurrency_changed(change.reason)
        if self.journal is not None and self.session_id is not None:
            self.journal.concurrency_changed(self.session_id, after_seq=after_seq, old=change.old, new=change.new,
                                             reason=change.reason, detail=change.detail, rate=change.rate)


class _SeedRotations:
    """Records each seed rotation: the new pair from its first bet on, and the old server seed revealed.

    A simulated house's new secret is revealed at once too (as at the start: it guards no one's money, and a
    resumed run must roll on with it); the site's stays secret until the next rotation reveals it.
    """

    def __init__(self, journal: Journal | None, session_id: int | None, backend: Backend, log: Any) -> None:
        self.journal = journal
        self.session_id = session_id
        self.backend = backend
        self.log = log

    def seed_rotated(self, rotation: SeedRotation, first_seq: int, now: float) -> None:
        self.log.info("seed.rotated", first_seq=first_seq, server_seed_hash=rotation.server_seed_hash,
                      previous_server_seed=rotation.previous_server_seed)
        journal, session_id = self.journal, self.session_id
        if journal is None or session_id is None:
            return
        if self.backend.known_seeds:
            seeds = self.backend.known_seeds[-1]
            journal.add_seed_pair(session_id, server_seed_hash=seeds.server_seed_hash, client_seed=seeds.client_seed,
                                  first_nonce=seeds.first_nonce, first_seq=first_seq)
            journal.reveal_seed(session_id, seeds.server_seed)
        elif rotation.server_seed_hash and rotation.client_seed:
            # The site's new pair, its secret kept until the next rotation; the rolls are checked with each
            # bet's own nonce, so the pair's first nonce (not in the reply) is recorded as 0.
            journal.add_seed_pair(session_id, server_seed_hash=rotation.server_seed_hash,
                                  client_seed=rotation.client_seed, first_nonce=0, first_seq=first_seq)
        if rotation.previous_server_seed:
            journal.reveal_seed(session_id, rotation.previous_server_seed)


def _journal_end(journal: Journal, session_id: int, *, session: Session, strategy: Strategy,
                 summary: dict[str, Any]) -> None:
    left = journal.mark_unknown_pending(session_id)  # a bet cancelled in flight may have run
    # Every bet up to next_seq - 1 is resolved or unknown; the strategy has heard every settled one.
    journal.save_strategy_state(session_id, session.next_seq - 1, strategy.save_state())
    journal.finish_session(session_id, session.stop_reason, summary)
    if left:
        get_logger().warning("session.unresolved", session=session_id, bets=left,
                             hint="`betbot run --resume` reconciles them")


def _say(err: Console, event: str, text: str) -> None:
    """A line for a person on a console log; with JSON logs, a JSON line (then every line on stderr is JSON)."""
    if console_rendering():
        err.print(f"betbot: {text}", highlight=False, soft_wrap=True)
    else:
        get_logger().info(event, message=text)


def _seed_hash(backend: Backend) -> str | None:
    return backend.known_seeds[-1].server_seed_hash if backend.known_seeds else None


def _announce(settings: Settings, engine: Engine, err: Console, *, starting_balance: Decimal,
              session_id: int | None) -> None:
    backend, strategy = engine.backend, engine.strategy
    note = ""
    if engine.concurrency < settings.concurrency:
        note = f" ({strategy.name} must see each result before its next bet; asked for {settings.concurrency})"
    journaled = "" if session_id is None else f", session {session_id}"
    if not console_rendering():  # JSON logs: every line on stderr is JSON (session.start follows with the rest)
        seeds = backend.known_seeds[-1] if backend.known_seeds else None
        get_logger().info("session.announce", concurrency=engine.concurrency, asked_concurrency=settings.concurrency,
                          client_seed=seeds.client_seed if seeds else None,
                          first_nonce=seeds.first_nonce if seeds else None, live=backend.live)
        return
    err.print(
        f"betbot: {strategy.name} on the {backend.name}, {money_text(starting_balance)} {settings.currency}, "
        f"effective concurrency {concurrency_text(engine)}{note}{journaled}", highlight=False, soft_wrap=True,
    )
    if backend.known_seeds:
        seeds = backend.known_seeds[-1]
        err.print(f"betbot: server seed hash {seeds.server_seed_hash}, client seed {seeds.client_seed}, "
                  f"first nonce {seeds.first_nonce}", highlight=False, soft_wrap=True)
    if backend.live:
        err.print("betbot: LIVE: betting real money on DuckDice", style="bold red", soft_wrap=True)


def _limits_for_log(limits: Limits) -> dict[str, str] | str:
    """The limits set: a mapping for JSON, `max_bets=500 stop_loss=10.00000000` for a person (not a repr)."""
    found = {name: _limit_text(getattr(limits, name)) for name in LIMIT_NAMES if getattr(limits, name) is not None}
    if console_rendering():
        return " ".join(f"{name}={value}" for name, value in found.items()) or "none"
    return found


def _limit_text(value: object) -> str:
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, float):
        return f"{value:g}s"
    return str(value)
