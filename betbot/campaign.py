"""Campaigns: sessions one after another, under one budget that no session may cross.

Theory of operation. `betbot run --repeat` drives `run_session` in a loop. When a session ends by its
take-profit or its stop-loss, a new one starts after `--pause-between`; any other ending (max-bets, an error
of the strategy, the balance ...) ends the campaign, and a signal or bets of unknown outcome leave it open for
`--resume`. The campaign's own limits are enforced by the session gate itself: at each session's start, what
remains of the campaign's budget caps the session's limits through `Limits.tightened` (only ever tighter):
  * stop_loss   <= total_stop_loss + the campaign's profit so far, and
                <= daily_stop_loss + the profit of today's sessions (UTC);
  * take_profit <= total_take_profit - the campaign's profit so far;
  * max_duration <= the time left until the next UTC midnight (with a daily stop-loss).
So a session's exposure rule (settled profit - stakes in flight - new stake >= -stop_loss) keeps the whole
campaign inside its budget, at any concurrency, exactly as it keeps one session inside its own.

The daily stop-loss counts a session's whole profit on the UTC day it started, and is exact because no
session of a campaign with one runs past the midnight after its start (its max_duration is capped to it):
every bet is decided on the day its session counts it. A session that ends at midnight is followed by the
next at once; once a day's budget is spent (or a session's stop-loss was the day's), the campaign waits for
the next UTC day.

The campaign and each session are journaled (`betbot.journal.campaigns`): percentages of the budget resolve
against the first session's starting balance, once. `--resume` continues an interrupted campaign: its
session is resumed first (keeping its limits, which were capped at its start), then new sessions follow
under the journaled budget (a budget given again may only tighten it). Time (`utcnow`) and waiting
(`pause`) are injected so tests need no clock.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import time as time_now
from typing import Any, Protocol

import anyio
from rich.console import Console

from betbot.config.build import build_limits
from betbot.config.settings import Settings
from betbot.core.models import StopKind
from betbot.core.money import money_text
from betbot.core.session import Limits
from betbot.journal import Journal, default_journal_path
from betbot.journal.campaigns import (
    campaign,
    campaign_of,
    campaign_sessions,
    finish_campaign,
    join_campaign,
    newest_open_campaign,
    start_campaign,
)
from betbot.journal.resume import choose_session, resumable
from betbot.lifecycle import ResumeRequest, RunOutcome, SessionWatch, run_session
from betbot.observe.heartbeat import DEFAULT_INTERVAL, Beat, write_beat
from betbot.observe.logs import get_logger

__all__ = ["Budget", "CampaignBooks", "CampaignProgress", "Played", "run_campaign", "wait_or_signal"]

# A session that ended at the day's deadline ends a moment after UTC midnight (its drain); this much
# slack covers a wall clock that runs a little behind the monotonic one the deadline is kept on.
_MIDNIGHT_SLACK = timedelta(seconds=5)
_INTERRUPTED = frozenset({StopKind.SIGNAL.value, StopKind.UNKNOWN_OUTCOME.value, StopKind.BACKEND_ERROR.value})


class _Notifier(Protocol):
    def notify(self, notice: Any) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """A campaign's limits, amounts resolved; None: no such limit."""

    total_stop_loss: Decimal | None = None
    daily_stop_loss: Decimal | None = None
    total_take_profit: Decimal | None = None
    max_sessions: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, starting_balance: Decimal) -> Budget:
        def resolve(name: str) -> Decimal | None:
            limit = getattr(settings, name)
            return None if limit is None else limit.resolve(starting_balance)

        return cls(total_stop_loss=resolve("total_stop_loss"), daily_stop_loss=resolve("daily_stop_loss"),
                   total_take_profit=resolve("total_take_profit"), max_sessions=settings.max_sessions)

    def to_json(self) -> dict[str, Any]:
        return {f.name: (money_text(v) if isinstance(v, Decimal) else v)
                for f in fields(self) if (v := getattr(self, f.name)) is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Budget:
        def amount(name: str) -> Decimal | None:
            return None if data.get(name) is None else Decimal(str(data[name]))

        sessions = data.get("max_sessions")
        return cls(total_stop_loss=amount("total_stop_loss"), daily_stop_loss=amount("daily_stop_loss"),
                   total_take_profit=amount("total_take_profit"),
                   max_sessions=None if sessions is None else int(sessions))

    def tightened(self, requested: Budget) -> tuple[Budget, list[str]]:
        """This budget with each tighter limit of `requested`; never a looser one (as `Limits.tightened`)."""
        values: dict[str, Any] = {}
        notes = []
        for f in fields(self):
            own, wanted = getattr(self, f.name), getattr(requested, f.name)
            values[f.name] = own
            if wanted is None or wanted == own:
                continue
            if own is None or wanted < own:
                values[f.name] = wanted
                notes.append(f"{f.name} tightened from {_text(own)} to {_text(wanted)}")
            else:
                notes.append(f"{f.name} kept at the campaign's {_text(own)} ({_text(wanted)} would loosen it)")
        return Budget(**values), notes


def _text(value: object) -> str:
    if value is None:
        return "none"
    return money_text(value) if isinstance(value, Decimal) else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Played:
    """One session of the campaign, as the budget counts it."""

    session_id: int | None
    day: date  # the UTC day it started: its whole profit counts there
    profit: Decimal
    balance: Decimal  # at its end


@dataclass(slots=True, kw_only=True)
class CampaignBooks:
    """What the campaign has played and what remains of its budget. Pure arithmetic, no I/O."""

    budget: Budget
    played: list[Played] = field(default_factory=list)

    @property
    def profit(self) -> Decimal:
        return sum((p.profit for p in self.played), Decimal(0))

    def profit_on(self, day: date) -> Decimal:
        return sum((p.profit for p in self.played if p.day == day), Decimal(0))

    def over(self) -> str | None:
        """Why the campaign is over before another session, or None."""
        budget, profit = self.budget, self.profit
        if budget.total_take_profit is not None and profit >= budget.total_take_profit:
            return (f"total take-profit reached: the campaign made {money_text(profit)} of its "
                    f"{money_text(budget.total_take_profit)}")
        if budget.total_stop_loss is not None and -profit >= budget.total_stop_loss:
            return (f"total stop-loss reached: the campaign lost {money_text(-profit)} of its "
                    f"{money_text(budget.total_stop_loss)}")
        if budget.max_sessions is not None and len(self.played) >= budget.max_sessions:
            return f"max_sessions reached: {len(self.played)} sessions"
        return None

    def day_spent(self, day: date) -> bool:
        daily = self.budget.daily_stop_loss
        return daily is not None and -self.profit_on(day) >= daily

    def caps(self, day: date, played: list[Played] | None = None) -> tuple[Decimal | None, Decimal | None]:
        """(total, daily) stop-loss remaining for a session starting on `day` after `played` (default: all)."""
        history = self.played if played is None else played
        before = CampaignBooks(budget=self.budget, played=history)
        total = None if self.budget.total_stop_loss is None else self.budget.total_stop_loss + before.profit
        daily = None if self.budget.daily_stop_loss is None else self.budget.daily_stop_loss + before.profit_on(day)
        return total, daily

    def cap(self, now: datetime) -> Limits:
        """The limits no new session starting `now` may exceed."""
        total, daily = self.caps(now.date())
        losses = [cap for cap in (total, daily) if cap is not None]
        take = None if self.budget.total_take_profit is None else self.budget.total_take_profit - self.profit
        until_midnight = None
        if self.budget.daily_stop_loss is not None:
            until_midnight = (_next_midnight(now) - now).total_seconds()
        return Limits(stop_loss=min(losses) if losses else None, take_profit=take, max_duration=until_midnight)


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignProgress:
    """Where a campaign stands, for a host's pages (`betbot serve`): told at each change (`run_campaign`'s
    `progress`). `sessions` and `profit` count the sessions that have ended; the one running is not in them."""

    id: int | None  # None until its first session is journaled
    sessions: int
    profit: Decimal
    budget: dict[str, Any]  # Budget.to_json(): the campaign's limits, amounts as text
    ended: str | None = None  # why it ended, once it has


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)


def verdict(books: CampaignBooks, summary: Mapping[str, Any], *, day: date, stop_loss: Decimal | None,
            now: datetime) -> str:
    """What the campaign does after the session just added to `books` (the last of `played`):
    "continue", "wait-day", "interrupted" or "end: <why>"."""
    kind = summary.get("stop_kind")
    if kind in _INTERRUPTED or kind is None or int(summary.get("unresolved_bets") or 0) > 0:
        return "interrupted"
    if kind == StopKind.TAKE_PROFIT.value:
        return "continue"
    if kind == StopKind.STOP_LOSS.value:
        total, daily = books.caps(day, books.played[:-1])
        # The session's stop-loss was the campaign's (what remained of a budget), not its own: that budget is
        # spent as far as this strategy's stakes can use it.
        if stop_loss is not None and total is not None and stop_loss >= total:
            return (f"end: total stop-loss reached: the session's stop-loss was what remained of the campaign's "
                    f"{money_text(books.budget.total_stop_loss or Decimal(0))}")
        if stop_loss is not None and daily is not None and stop_loss >= daily:
            return "wait-day"
        return "continue"
    if kind == StopKind.MAX_DURATION.value and books.budget.daily_stop_loss is not None \
            and (now + _MIDNIGHT_SLACK).date() > day:
        return "continue"  # the day's deadline: the next session counts on the new day
    reason = summary.get("stop_reason") or kind
    return f"end: the session stopped by {reason}; only a take-profit or a stop-loss starts another"


async def wait_or_signal(seconds: float) -> bool:
    """Wait `seconds`; False if SIGINT or SIGTERM came first (the campaign then stops, left open to resume)."""
    interrupted = False
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            nonlocal interrupted
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    interrupted = True
                    tg.cancel_scope.cancel()

        tg.start_soon(watch)
        await anyio.sleep(seconds)
        tg.cancel_scope.cancel()
    return not interrupted


async def _beat_while_waiting(path: Path, why: str) -> None:
    """Between two sessions no engine beats: say `idle` (healthy), and why, until the next session starts."""
    while True:
        now = time_now()
        try:
            write_beat(path, Beat(pid=os.getpid(), time=now, state="idle", bets=0, in_flight=0, last_progress=now,
                                  stop_reason=why))
        except OSError:  # the session's heartbeat warned about it already; a stale beat says it to the check
            return
        await anyio.sleep(DEFAULT_INTERVAL)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Turn:
    """A new session's place in the campaign: the `CampaignTurn` the lifecycle asks."""

    def __init__(self, owner: _Campaign, now: datetime) -> None:
        self.owner = owner
        self.now = now
        self.new_seed = owner.settings.new_seed_each
        self.stop_loss: Decimal | None = None  # the session's own, once capped

    def cap(self, starting_balance: Decimal) -> Limits:
        owner = self.owner
        if owner.books is None:  # the first session: the budget's percentages resolve against its balance
            owner.starting_balance = starting_balance
            owner.books = CampaignBooks(budget=Budget.from_settings(owner.settings, starting_balance))
        cap = owner.books.cap(self.now)
        own = build_limits(owner.settings, starting_balance).stop_loss
        candidates = [value for value in (own, cap.stop_loss) if value is not None]
        self.stop_loss = min(candidates) if candidates else None
        return cap

    def joined(self, journal: Journal, session_id: int) -> None:
        owner = self.owner
        if owner.id is None:
            assert owner.books is not None  # noqa: S101 - cap() came first
            assert owner.starting_balance is not None  # noqa: S101 - cap() came first
            owner.id = start_campaign(journal, currency=owner.settings.currency,
                                      starting_balance=owner.starting_balance,
                                      limits=owner.books.budget.to_json(), first_session=session_id)
            owner.announce(f"campaign {owner.id} started with session {session_id}")
        else:
            join_campaign(journal, owner.id, session_id)
        owner.changed()


class _Campaign:
    def __init__(self, settings: Settings, *, err: Console, notifier: _Notifier | None,
                 progress: Callable[[CampaignProgress], None] | None = None) -> None:
        self.settings = settings
        self.err = err
        self.notifier = notifier
        self.progress = progress
        self.id: int | None = None
        self.books: CampaignBooks | None = None
        self.starting_balance: Decimal | None = None
        self.path: Path | None = None if settings.no_journal else (settings.journal or default_journal_path())
        self.log = get_logger()

    def announce(self, text: str) -> None:
        self.err.print(f"betbot: {text}", highlight=False, soft_wrap=True)

    def changed(self, ended: str | None = None) -> None:
        """Tell the host where the campaign stands (nothing without one)."""
        if self.progress is None or self.books is None:
            return
        self.progress(CampaignProgress(id=self.id, sessions=len(self.books.played), profit=self.books.profit,
                                       budget=self.books.budget.to_json(), ended=ended))

    def load(self, journal: Journal, campaign_id: int, skip: int | None) -> None:
        """An interrupted campaign: its budget (tightened by the one given now) and its sessions so far."""
        record = campaign(journal, campaign_id)
        assert record is not None  # noqa: S101 - found through its sessions or as the newest open one
        self.id, self.starting_balance = record.id, record.starting_balance
        budget, notes = Budget.from_json(record.limits).tightened(
            Budget.from_settings(self.settings, record.starting_balance))
        for note in notes:
            self.announce(f"resuming campaign {record.id}: {note}")
        played = []
        for session_id in campaign_sessions(journal, campaign_id):
            if session_id == skip:
                continue
            session = journal.session(session_id)
            if session.summary is not None:
                profit, balance = Decimal(session.summary["profit"]), Decimal(session.summary["balance"])
            else:  # never finished and not resumed now: its journaled bets still count against the budget
                balance = journal.replay_balance(session_id)
                profit = balance - session.starting_balance
            played.append(Played(session_id=session_id, day=session.started_at.astimezone(UTC).date(),
                                 profit=profit, balance=balance))
        self.books = CampaignBooks(budget=budget, played=played)
        self.announce(f"resuming campaign {record.id}: {len(played)} session(s) played, profit "
                      f"{money_text(self.books.profit)} {record.currency}")
        self.changed()

    def session_settings(self) -> Settings:
        """A simulated session carries the balance on, with seeds of its own (from --seed and its number)."""
        settings = self.settings
        if settings.live or self.books is None or not self.books.played:
            return settings
        number = len(self.books.played) + 1
        return settings.model_copy(update={
            "balance": self.books.played[-1].balance,
            "seed": None if settings.seed is None else f"{settings.seed}/session-{number}",
        })

    def end(self, reason: str) -> None:
        books = self.books
        played = 0 if books is None else len(books.played)
        profit = Decimal(0) if books is None else books.profit
        name = "the campaign" if self.id is None else f"campaign {self.id}"
        text = f"{name} ended: {reason} ({played} session(s), profit {money_text(profit)} {self.settings.currency})"
        self.announce(text)
        self.log.info("campaign.end", campaign=self.id, reason=reason, sessions=played, profit=money_text(profit))
        if self.id is not None and self.path is not None:
            with closing(Journal.open(self.path, durable=False)) as journal:
                finish_campaign(journal, self.id, reason)
        self.changed(ended=reason)
        self._notify(f"{name} ended", f"{text[0].upper()}{text[1:]}.")

    def _notify(self, title: str, body: str, *, warning: bool = False) -> None:
        if self.notifier is not None:
            from betbot.notify.events import campaign_notice  # noqa: PLC0415 - above this module's layer

            self.notifier.notify(campaign_notice(title, body, warning=warning))

    def wait_for_day(self, now: datetime) -> float:
        seconds = (_next_midnight(now) - now).total_seconds()
        name = "the campaign" if self.id is None else f"campaign {self.id}"
        text = (f"{name} reached its daily stop-loss; the next session starts at 00:00 UTC "
                f"(in {seconds / 3600:.1f} h)")
        self.announce(text)
        self.log.info("campaign.wait_day", campaign=self.id, seconds=round(seconds))
        self._notify(f"{name} waits for the next UTC day", f"{text[0].upper()}{text[1:]}.", warning=True)
        return seconds


Play = Callable[..., Awaitable[RunOutcome]]


async def run_campaign(settings: Settings, *, out: Console, err: Console, api_key_from_cli: bool = False,
                       resume: ResumeRequest | None = None, notices: SessionWatch | None = None,
                       notifier: _Notifier | None = None,
                       pause: Callable[[float], Awaitable[bool]] = wait_or_signal,
                       utcnow: Callable[[], datetime] = _utcnow, play: Play = run_session,
                       progress: Callable[[CampaignProgress], None] | None = None) -> RunOutcome:
    """Play sessions while the campaign's rules say so; the last session's outcome (its exit code).

    With `--repeat`, or with `--resume` of a session (or after a crash between sessions) of a campaign: a
    resumed campaign goes on with the flags given now for what it did not journal (the pause, the seeds).
    `--resume ID` of a campaign's session that had ended (the crash came between two sessions) continues its
    campaign with a new session. `progress` hears where the campaign stands at each change.
    """
    state = _Campaign(settings, err=err, notifier=notifier, progress=progress)

    async def wait(seconds: float) -> bool:
        """`pause`, with heartbeats while it lasts."""
        if settings.heartbeat_file is None:
            return await pause(seconds)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_beat_while_waiting, settings.heartbeat_file,
                          f"campaign: the next session starts in {seconds:.0f} s")
            waited = await pause(seconds)
            tg.cancel_scope.cancel()
        return waited

    common: dict[str, Any] = {"out": out, "err": err, "api_key_from_cli": api_key_from_cli, "notices": notices}
    to_resume = None  # (session id, its UTC start day, its stop-loss)
    # The journal is closed (and the session's lease released) before a session is played: `run_session` takes
    # the lease again for itself, and a lease is one holder's, this process's other uses included.
    plain: int | None = None  # a session of no campaign, resumed on its own
    if resume is not None and state.path is not None and state.path.exists():
        with closing(Journal.open(state.path, durable=False)) as journal:
            record = choose_session(journal, None if resume == "newest" else resume)
            campaign_id = None if record is None else campaign_of(journal, record.id)
            if record is not None and campaign_id is not None and not resumable(record):
                # It ended (the process stopped between two sessions): an open campaign goes on with a new
                # session; a finished one is not continued, and the session is resumed as any other would be.
                found = campaign(journal, campaign_id)
                if found is None or found.finished:
                    campaign_id = None
                else:
                    journal.release(record.id)
                    record = None
            if record is not None and campaign_id is None:
                plain = record.id
            else:
                if campaign_id is None:  # interrupted between two sessions
                    open_one = newest_open_campaign(journal)
                    campaign_id = None if open_one is None else open_one.id
                if campaign_id is not None:
                    state.load(journal, campaign_id, skip=None if record is None else record.id)
                if record is not None:
                    own = record.limits.get("stop_loss")
                    to_resume = (record.id, record.started_at.astimezone(UTC).date(),
                                 None if own is None else Decimal(str(own)))
    if plain is not None:
        return await play(settings, resume=plain, **common)
    if not settings.repeat and to_resume is None and state.books is None:
        return await play(settings, resume=resume, **common)  # --resume alone, and no campaign to continue
    last = RunOutcome(summary={}, exit_code=0)
    blocked_day: date | None = None  # a day whose stop-loss budget is spent
    while True:
        if to_resume is not None:
            session_id, day, stop_loss = to_resume
            to_resume = None
            last = await play(settings, resume=session_id, **common)
        else:
            now = utcnow()
            if state.books is not None:
                reason = state.books.over()
                if reason is not None:
                    state.end(reason)
                    return last
                if blocked_day == now.date() or state.books.day_spent(now.date()):
                    if not await wait(state.wait_for_day(now)):
                        return last  # a signal: the campaign stays open for --resume
                    blocked_day = None
                    continue
            turn = _Turn(state, now)
            last = await play(state.session_settings(), campaign=turn, **common)
            day, stop_loss = now.date(), turn.stop_loss
        summary = last.summary
        if state.books is None:  # no session reached its start (nothing to count)
            return last
        state.books.played.append(Played(session_id=summary.get("session_id"), day=day,
                                         profit=Decimal(summary["profit"]), balance=Decimal(summary["balance"])))
        state.changed()
        step = verdict(state.books, summary, day=day, stop_loss=stop_loss, now=utcnow())
        if step == "interrupted":
            state.announce("the campaign stops here, unfinished: `betbot run --resume` continues it")
            return last
        if step.startswith("end: "):
            state.end(step.removeprefix("end: "))
            return last
        if step == "wait-day":
            blocked_day = day
            continue
        if state.books.over() is None and settings.pause_between > 0:
            state.announce(f"next session of the campaign in {settings.pause_between:g} s")
            if not await wait(settings.pause_between):
                return last
