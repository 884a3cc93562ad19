"""The host: every session of one `betbot serve` process, as tasks in one task group.

Theory of operation. `Host.start` checks a session's settings (a bad one is a `SettingsError`, said before
anything runs), runs a simulated session's risk preview in a worker thread, and starts the session's task:
`run_session` with a `Hosting` that hands the engine back (`HostedSession.attach`), the account's shared
back-off and rate budget (one per API key and base URL: a 429 on one session pauses every session of that
account, and no other), and the session's `SessionWatch`. Whatever ends the task, its session alone ends:
with its summary, or `failed` and one line saying why (redacted: never the key). The host never decides
about a bet; its controls are the engine's (stop, stop now, pause, resume, tighten).

Notifications and campaigns. The process has one `Notifier` (the server's `notify` URLs); each session has a
`SessionNotices` over a `NoticeFilter` of it (the session's own `notify_on` and thresholds), and a session that
fails says so (an `error` notice). A session with `repeat = true` runs as a campaign (`betbot.campaign`, the
same rules as `betbot run --repeat`): each new session of it is attached in turn, the pause between two is the
host's own wait (a stop or SIGTERM ends it; never a signal handler of its own), and the page shows the
campaign's id, sessions and totals (`CampaignProgress`).

Leases. A session to resume that another process (or another session of this one) runs is refused before
anything starts (`SessionHeld`, a 409 naming the holder); the lease taken by `run_session` stays the guard
against a race.

Restarts. The host keeps `serve-state.json` (data directory) up to date: each session's spec, its journal id,
and whether it should resume at the next start. A session that ends on its own (a limit, a stop from the
console, a failure) will not; one still running when the process dies (kill -9) or drained by SIGTERM will,
under `--resume`'s rules (its own strategy, limits and concurrency; unknown bets reconciled first).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.abc
import structlog
from rich.console import Console

from betbot.atomicfile import atomic_write
from betbot.backends.duckdice import DuckDiceBackend
from betbot.campaign import CampaignProgress, run_campaign
from betbot.config.apikey import resolve_api_key
from betbot.config.build import build_strategy, game_rules, strategy_context
from betbot.config.settings import Settings, SettingsError
from betbot.core.money import money_text
from betbot.core.session import Limits
from betbot.engine.backoff import SharedBackoff
from betbot.engine.ratelimit import TokenBucket
from betbot.journal import Journal, JournalError, SessionRecord, UnknownSession, default_journal_path
from betbot.journal.resume import resumable
from betbot.lifecycle import HostedRun, Hosting, RunOutcome, run_session
from betbot.notify import NoticeFilter, Notifier, notices_for
from betbot.notify.events import session_failed_notice
from betbot.redact import redact
from betbot.serve.spec import SessionSpec, hosted_settings, spec_settings
from betbot.serve.watch import SessionWatch, limit_bars

__all__ = ["Account", "Host", "HostedSession", "SessionBusy", "SessionHeld", "UnknownHostedSession"]

_log = structlog.get_logger("betbot.serve")

# "waiting": a campaign between two of its sessions (`repeat = true`).
RUNNING_STATES: Final = frozenset({"starting", "running", "paused", "stopping", "waiting"})


class UnknownHostedSession(LookupError):
    pass


class SessionBusy(RuntimeError):
    """A control that does not fit the session's state (a name already running, a stop before it started)."""


class SessionHeld(SessionBusy):
    """The journal session to resume is run by another process (or another session of this one)."""


class Account:
    """One DuckDice account (API key and base URL): the back-off and rate budget its sessions share."""

    def __init__(self, label: str, max_rate: float | None) -> None:
        self.label = label  # a short hash: names the account on pages without the key
        self.backoff = SharedBackoff()
        self.rate_limit = None if max_rate is None else TokenBucket(max_rate)


class HostedSession:
    def __init__(self, spec: SessionSpec, settings: Settings, *, account: Account | None,
                 resume_id: int | None, preview: dict[str, Any] | None) -> None:
        self.spec = spec
        self.settings = settings
        self.account = account
        self.resume_id = resume_id
        self.preview = preview
        self.state = "starting"
        self.error: str | None = None
        self.run: HostedRun | None = None
        self.summary: dict[str, Any] | None = None
        self.verification: str | None = None
        self.watch = SessionWatch()
        self.host_stopped = False  # drained by SIGTERM: resumed at the next start
        self.started_wall = time.time()
        self.output = io.StringIO()  # what `betbot run` would print (announcements, the summary)
        self.done = anyio.Event()
        self.attached = anyio.Event()  # the engine exists: controls work from now on
        self.campaign: CampaignProgress | None = None  # repeat = true: where its campaign stands
        self.sessions_played = 0  # engines attached so far (a campaign's sessions, in this process)
        self._engine_done = True  # the attached engine's run has returned (a campaign between sessions)
        self._halt_reason: str | None = None  # stopped: a campaign starts no other session
        self._halted = anyio.Event()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def session_id(self) -> int | None:
        return self.run.session_id if self.run is not None else self.resume_id

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    def attach(self, run: HostedRun) -> None:
        self.run = run
        self.settings = run.settings  # a resumed session plays with its own
        self.watch.attach(run.engine)
        self.sessions_played += 1
        self._engine_done = False
        if self.state in ("starting", "waiting"):
            self.state = "running"
        if self._halt_reason is not None:  # stopped while this engine was being built: it stops at once
            run.engine.stop(self._halt_reason)
        self.attached.set()

    def engine_done(self) -> None:
        self._engine_done = True

    async def between(self, seconds: float) -> bool:
        """A campaign's pause before its next session; False if the session was stopped meanwhile."""
        if self._halted.is_set():
            return False
        self.state = "waiting"
        self.watch.note("campaign", f"the next session of the campaign starts in {seconds:g} s")
        with anyio.move_on_after(seconds):
            await self._halted.wait()
        if self._halted.is_set():
            return False
        self.state = "starting"
        return True

    def halt(self, why: str, *, at_once: bool = False) -> None:
        """Stop: the running engine drains (or stops at once); a campaign starts no other session."""
        if not self.running:
            raise SessionBusy(f"session {self.name} is {self.state}: it cannot stop now")
        self._halt_reason = why
        self._halted.set()
        self.state = "stopping"
        if self.run is not None and not self._engine_done:
            if at_once:
                self.run.engine.stop_now(why)
            else:
                self.run.engine.stop(why)

    # -- controls ------------------------------------------------------------------------------------------
    def _engine(self, what: str) -> Any:
        if self.run is None or not self.running or self._engine_done:
            raise SessionBusy(f"session {self.name} is {self.state}: it cannot {what} now")
        return self.run.engine

    def stop(self) -> None:
        if self.run is None and self.state == "starting":
            raise SessionBusy(f"session {self.name} is starting: it cannot stop now")
        self.halt("stopped from the console")

    def stop_now(self) -> None:
        if self.run is None and self.state == "starting":
            raise SessionBusy(f"session {self.name} is starting: it cannot stop now")
        self.halt("stopped at once from the console", at_once=True)

    def pause(self) -> None:
        engine = self._engine("pause")
        if self.state != "stopping":
            engine.pause()
            self.state = "paused"
            self.watch.note("paused", "admission paused: bets in flight resolve, no new bet is placed")

    def resume(self) -> None:
        engine = self._engine("resume")
        if self.state == "paused":
            engine.resume()
            self.state = "running"
            self.watch.note("resumed", "admission resumed")

    def tighten(self, requested: Limits) -> list[str]:
        notes: list[str] = self._engine("tighten a limit").tighten(requested)
        for line in notes:
            self.watch.note("limits", line)
        return notes

    # -- what the pages show -------------------------------------------------------------------------------
    def describe(self, *, detail: bool = False) -> dict[str, Any]:
        settings = self.settings
        found: dict[str, Any] = {
            "name": self.name, "state": self.state, "live": settings.live, "currency": settings.currency,
            "strategy": settings.strategy if settings.script is None else f"lua {settings.script.name}",
            "account": self.account.label if self.account else None, "session_id": self.session_id,
            "error": self.error, "stop_reason": None, "paused": self.state == "paused",
            "repeat": settings.repeat, "campaign": self._campaign_json(),
        }
        view = self.watch.look()
        if view is None or self.run is None:
            return found
        snap = view.snapshot
        bets_per_s, profit_per_s = self.watch.rates()
        engine = self.run.engine
        elapsed_total = engine.clock() - engine.session.started_at
        bars = limit_bars(engine.session.limits, view, bets_per_s=bets_per_s, profit_per_s=profit_per_s,
                          elapsed_total=elapsed_total)
        if found["campaign"] is not None and not self._engine_done:  # the session running counts in the totals
            progress = found["campaign"]
            progress["total_profit"] = money_text(Decimal(progress["profit"]) + snap.profit)
            progress["sessions_total"] = progress["sessions"] + 1
        found.update({
            "strategy": engine.strategy.name, "concurrency": view.concurrency,
            "balance": money_text(snap.balance), "starting_balance": money_text(snap.starting_balance),
            "profit": money_text(snap.profit), "wagered": money_text(snap.wagered), "bets": snap.bets,
            "wins": snap.wins, "losses": snap.losses, "submitted": snap.submitted, "in_flight": snap.in_flight,
            "unresolved": snap.unresolved, "bets_per_s": round(bets_per_s, 1),
            "backoff": {"active": view.backing_off, "remaining_seconds": round(view.backoff_remaining, 1),
                        "reason": view.backoff_reason, "episodes": view.backoff_trips},
            "stop_reason": None if snap.stop_reason is None else str(snap.stop_reason),
            "closest_limit": max(bars, key=lambda bar: bar["used"]) if bars else None,
        })
        if detail:
            seeds = engine.backend.known_seeds[-1] if engine.backend.known_seeds else None
            found.update({
                "streak": snap.streak, "longest_win_streak": snap.longest_win_streak,
                "longest_loss_streak": snap.longest_loss_streak, "max_drawdown": money_text(snap.max_drawdown),
                "largest_win": money_text(snap.largest_win), "largest_loss": money_text(snap.largest_loss),
                "luck": None if snap.luck is None else round(snap.luck, 2), "limits": bars,
                "seeds": None if seeds is None else {"server_seed_hash": seeds.server_seed_hash,
                                                     "client_seed": seeds.client_seed,
                                                     "first_nonce": seeds.first_nonce},
                "chart": self.watch.points, "last_bets": self.watch.recent(), "notes": self.watch.notes(),
                "verification": self.verification, "summary": self.summary, "preview": self.preview,
            })
        return found

    def _campaign_json(self) -> dict[str, Any] | None:
        """The campaign's figures: `sessions` and `profit` of the sessions that ended, `total_profit` and
        `sessions_total` with the one running (the same while it waits between two)."""
        progress = self.campaign
        if progress is None:
            return None
        profit = money_text(progress.profit)
        return {"id": progress.id, "sessions": progress.sessions, "profit": profit, "sessions_total":
                progress.sessions, "total_profit": profit, "budget": progress.budget, "ended": progress.ended,
                "waiting": self.state == "waiting"}


class Host:
    """The sessions of this process. Bind it to a task group (`bind`) before starting any."""

    def __init__(self, *, shared: Mapping[str, Any], state_file: Path,
                 run: Callable[..., Any] = run_session, notifier: Notifier | None = None) -> None:
        self.shared = dict(shared)
        self.state_file = state_file
        self.notifier = notifier  # the process's one notifier (its `running()` is the server's to enter)
        self.sessions: dict[str, HostedSession] = {}
        self.accounts: dict[str, Account] = {}
        self.closing = False  # SIGTERM: the sessions drain, and resume at the next start
        self._tg: anyio.abc.TaskGroup | None = None
        self._run = run
        self._counter = 0

    def bind(self, tg: anyio.abc.TaskGroup) -> None:
        self._tg = tg

    def get(self, name: str) -> HostedSession:
        try:
            return self.sessions[name]
        except KeyError:
            raise UnknownHostedSession(f"no session named {name!r} (GET /api/v1/sessions lists them)") from None

    def new_name(self, stem: str) -> str:
        stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem)[:30].strip("-.") or "session"
        while True:
            self._counter += 1
            name = f"{stem}-{self._counter}"
            if name not in self.sessions:
                return name

    def settings_for(self, spec: SessionSpec) -> Settings:
        return spec_settings(self.shared, spec)

    async def start(self, spec: SessionSpec, *, resume_id: int | None = None) -> HostedSession:
        """Check the settings, run the preview (a new simulated session), then start the session's task."""
        if self._tg is None or self.closing:
            raise SessionBusy("the server is shutting down: no new session")
        old = self.sessions.get(spec.name)
        if old is not None and old.running:
            raise SessionBusy(f"session {spec.name} is already {old.state}; stop it first or choose another name")
        settings = self.settings_for(spec)
        if resume_id is None:
            _check_strategy(settings)  # bad parameters are the request's fault: said now, not as a failed session
        else:
            for hosted in self.sessions.values():
                if hosted.running and hosted.session_id == resume_id:
                    raise SessionHeld(f"session {resume_id} is already run here as {hosted.name}")
            record = await anyio.to_thread.run_sync(self._check_free, resume_id, settings)
            if record is not None and not settings.repeat and not resumable(record):
                # (A campaign's spec goes on after its session that ended: the restart between two sessions.)
                raise SettingsError(f"session {resume_id} has ended ({record.stop_reason or 'finished'}): there is "
                                    "nothing to resume; start a new session")
            was_live = None if record is None else record.backend == DuckDiceBackend.name
            if was_live is not None and "live" not in spec.values and was_live != settings.live:
                spec.values["live"] = was_live  # resumed as it ran: simulated, or live on the server's key
                settings = self.settings_for(spec)
        preview = None
        if resume_id is None and not settings.live and settings.preview:
            preview = await anyio.to_thread.run_sync(_preview, settings)
        if not settings.live:
            settings = settings.model_copy(update={"preview": False, "max_ruin": None})
        account = self._account(settings)
        hosted = HostedSession(spec, settings, account=account, resume_id=resume_id, preview=preview)
        self.sessions[spec.name] = hosted
        self._tg.start_soon(self._play, hosted, name=f"session {spec.name}")
        self.save_state()
        return hosted

    def _check_free(self, session_id: int, settings: Settings) -> SessionRecord | None:
        """A session to resume that another process runs is refused now (SessionHeld), not as a failed session.
        Its record (None: the journal cannot say). In a worker thread: it opens the journal."""
        path = settings.journal or default_journal_path()
        if settings.no_journal or not path.exists():
            raise SettingsError(f"no session {session_id} to resume: there is no journal at {path}")
        try:
            with Journal.open(path, durable=False, readonly=True) as journal:
                record = journal.session(session_id)
                holder = journal.runner(session_id)
        except UnknownSession:
            raise SettingsError(f"no session {session_id} in the journal {path} (GET /api/v1/history lists "
                                "them)") from None
        except JournalError:
            return None  # the run's own opening says what is wrong with the journal, as a failed session
        if holder is not None:
            raise SessionHeld(f"session {session_id} is being run by {holder.describe()}; stop that process "
                              "first, or resume another session")
        return record

    def refused(self, spec: SessionSpec, why: str) -> HostedSession:
        """A session that could not start (at the server's start): on the pages, failed, with the reason."""
        try:
            settings = self.settings_for(spec)
        except SettingsError:  # its settings are why: the page shows it with the defaults
            settings = hosted_settings({})
        hosted = HostedSession(spec, settings, account=None, resume_id=None, preview=None)
        hosted.state = "failed"
        hosted.error = why
        hosted.done.set()
        self.sessions[spec.name] = hosted
        return hosted

    def _account(self, settings: Settings) -> Account | None:
        if not settings.live:
            return None
        key = resolve_api_key(settings.api_key, settings.api_key_file, warn_cli=False).get_secret_value()
        digest = hashlib.sha256(f"{settings.base_url}\0{key}".encode()).hexdigest()[:10]
        account = self.accounts.get(digest)
        if account is None:
            account = self.accounts[digest] = Account(f"account-{digest[:6]}", settings.max_rate)
        return account

    async def _play(self, hosted: HostedSession) -> None:
        structlog.contextvars.bind_contextvars(session=hosted.name)
        console = Console(file=hosted.output, width=110, no_color=True, highlight=False)
        account = hosted.account
        hosting = Hosting(attached=self._attached(hosted), observers=(hosted.watch,),
                          backoff=account.backoff if account else None,
                          rate_limit=account.rate_limit if account else None)
        sink = None if self.notifier is None else NoticeFilter(self.notifier, hosted.settings.notify_on)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._sample, hosted)
                try:
                    outcome = await self._session_or_campaign(hosted, console, hosting, sink)
                finally:
                    tg.cancel_scope.cancel()
            hosted.summary = outcome.summary
            hosted.verification = _verification(hosted.output.getvalue())
            hosted.state = "ended"
            _log.info("serve.session_ended", stop_reason=outcome.summary.get("stop_reason"))
        except Exception as exc:  # noqa: BLE001 - one session failing never stops the others
            hosted.state = "failed"
            hosted.error = _one_line(exc)
            _log.warning("serve.session_failed", error=hosted.error)
            if sink is not None:
                sink.notify(session_failed_notice(f"session {hosted.name}", hosted.error))
        finally:
            hosted.watch.sample()
            hosted.watch.publish("end", hosted.describe(detail=True))
            hosted.watch.close_subscribers()
            hosted.done.set()
            self.save_state()

    async def _session_or_campaign(self, hosted: HostedSession, console: Console, hosting: Hosting,
                                   sink: NoticeFilter | None) -> RunOutcome:
        settings = hosted.settings
        notices = None if sink is None else notices_for(settings, sink, label=f"session {hosted.name}")

        async def play(*args: Any, **kwargs: Any) -> RunOutcome:
            try:
                outcome: RunOutcome = await self._run(*args, hosting=hosting, **kwargs)
                return outcome
            finally:
                hosted.engine_done()

        if not settings.repeat:  # a session resumed alone (a campaign goes on with its spec's repeat = true)
            return await play(settings, out=console, err=console, resume=hosted.resume_id, notices=notices)

        def progress(found: CampaignProgress) -> None:
            hosted.campaign = found
            if found.ended is not None:
                hosted.watch.note("campaign", f"campaign {found.id} ended: {found.ended}")

        # `betbot run --repeat`'s loop, with the host's own wait between two sessions (a stop or SIGTERM ends
        # it) in place of a signal handler of its own.
        return await run_campaign(settings, out=console, err=console, resume=hosted.resume_id, notices=notices,
                                  notifier=sink, pause=hosted.between, play=play, progress=progress)

    def _attached(self, hosted: HostedSession) -> Callable[[HostedRun], None]:
        def attached(run: HostedRun) -> None:
            hosted.attach(run)
            self.save_state()  # the journal id is known: a crash from now on resumes it
        return attached

    @staticmethod
    async def _sample(hosted: HostedSession) -> None:
        await hosted.watch.run(lambda: hosted.describe(detail=True))

    # -- shutdown and restart ------------------------------------------------------------------------------
    async def drain(self) -> None:
        """SIGTERM: every session stops admitting and drains; they resume at the next start."""
        self.closing = True
        for hosted in self.sessions.values():
            if hosted.running:
                hosted.host_stopped = True
                hosted.halt("SIGTERM")
        for hosted in list(self.sessions.values()):
            await hosted.done.wait()

    def stop_all_now(self) -> None:
        """A second SIGTERM: every session stops at once (bets in flight stay unknown until the next start)."""
        for hosted in self.sessions.values():
            if hosted.running or hosted.state == "stopping":
                hosted.halt("SIGTERM again", at_once=True)

    def save_state(self) -> None:
        entries = []
        for hosted in self.sessions.values():
            resume = hosted.running or (hosted.host_stopped and hosted.state == "ended")
            entries.append({"spec": hosted.spec.to_json(), "session_id": hosted.session_id, "resume": resume})
        try:
            with atomic_write(self.state_file, make_parents=True) as out:
                json.dump({"sessions": entries}, out, indent=1)
        except OSError as exc:
            _log.warning("serve.state_not_saved", path=str(self.state_file), error=exc.strerror or str(exc))

    def to_resume(self) -> list[tuple[SessionSpec, int | None]]:
        """The sessions the last process left running: (spec, journal id)."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise SettingsError(f"the serve state file {self.state_file} cannot be read ({exc}); move it away "
                                "to start without resuming") from None
        found = []
        for entry in data.get("sessions", []):
            if entry.get("resume"):
                raw = entry["spec"]
                spec = SessionSpec(name=raw["name"], values=raw.get("values", {}), preset=raw.get("preset"),
                                   lua=raw.get("lua"), autostart=bool(raw.get("autostart")))
                session_id = entry.get("session_id")
                found.append((spec, session_id if isinstance(session_id, int) else None))
        return found


def _check_strategy(settings: Settings) -> None:
    rules = game_rules(settings)
    build_strategy(settings, strategy_context(settings, settings.balance, rules))


def _preview(settings: Settings) -> dict[str, Any] | None:
    from betbot.montecarlo.preview import risk_preview  # noqa: PLC0415 - NumPy and the kernel, when asked

    return risk_preview(settings, settings.balance)


def _verification(output: str) -> str | None:
    """The last session's check (a campaign prints one per session)."""
    for line in reversed(output.splitlines()):
        if line.startswith("provably fair:"):
            return line.removeprefix("provably fair:").strip()
    return None


def _one_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, SettingsError):
        return redact(str(exc))
    return redact(f"{type(exc).__name__}: {exc}".replace("\n", " "))
