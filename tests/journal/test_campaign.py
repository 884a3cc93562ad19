"""Campaigns: sessions one after another under one budget, simulated and fast (a fake UTC clock and pause)."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint
from rich.console import Console

from betbot.campaign import Budget, CampaignBooks, Played, run_campaign, verdict
from betbot.config.settings import Settings, SettingsError, load_settings
from betbot.core.session import Limits
from betbot.journal import Journal
from betbot.journal.campaigns import campaign, campaign_of, campaign_sessions, newest_open_campaign
from betbot.lifecycle import RunOutcome, run_session
from betbot.observe.heartbeat import check, read_beat
from tests.cli.test_cli import ENV
from tests.cli.test_cli import run as cli

D = Decimal
DAY = date(2026, 12, 7)


def at(hour: int, minute: int = 0, second: float = 0.0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


# -- the budget's arithmetic -------------------------------------------------------------------------------
def test_a_budget_resolves_percentages_once_and_never_loosens() -> None:
    settings = load_settings({"repeat": True, "total_stop_loss": "20%", "daily_stop_loss": "5",
                              "total_take_profit": "10%", "max_sessions": "9"})
    budget = Budget.from_settings(settings, D("250"))
    assert budget == Budget(total_stop_loss=D("50.00000000"), daily_stop_loss=D(5),
                            total_take_profit=D("25.00000000"), max_sessions=9)
    assert Budget.from_json(budget.to_json()) == budget
    tighter, notes = budget.tightened(Budget(total_stop_loss=D(60), daily_stop_loss=D(4), max_sessions=3))
    assert tighter == Budget(total_stop_loss=D(50), daily_stop_loss=D(4), total_take_profit=D(25), max_sessions=3)
    assert "total_stop_loss kept at the campaign's 50.00000000 (60.00000000 would loosen it)" in notes


def test_what_remains_caps_the_next_session() -> None:
    books = CampaignBooks(budget=Budget(total_stop_loss=D(20), daily_stop_loss=D(8), total_take_profit=D(15)),
                          played=[Played(session_id=1, day=DAY - timedelta(days=1), profit=D(-9), balance=D(91)),
                                  Played(session_id=2, day=DAY, profit=D(-3), balance=D(88)),
                                  Played(session_id=3, day=DAY, profit=D(2), balance=D(90))])
    cap = books.cap(at(18))
    # total: 20 - 10 lost = 10; today: 8 - 1 lost = 7; the tighter wins. Take-profit: 15 - (-10) = 25.
    assert cap == Limits(stop_loss=D(7), take_profit=D(25), max_duration=6 * 3600.0)
    assert books.over() is None
    assert not books.day_spent(DAY)
    books.played.append(Played(session_id=4, day=DAY, profit=D(-7), balance=D(83)))
    assert books.day_spent(DAY)
    assert not books.day_spent(DAY + timedelta(days=1))
    books.played.append(Played(session_id=5, day=DAY + timedelta(days=1), profit=D(-1), balance=D(82)))
    assert books.over() is None  # 18 of 20 lost: two left
    books.played.append(Played(session_id=6, day=DAY + timedelta(days=1), profit=D(-2), balance=D(80)))
    assert books.over() == "total stop-loss reached: the campaign lost 20.00000000 of its 20.00000000"


def test_the_verdict_after_each_kind_of_ending() -> None:
    budget = Budget(total_stop_loss=D(10), daily_stop_loss=D(6))
    books = CampaignBooks(budget=budget, played=[Played(session_id=1, day=DAY, profit=D(-1), balance=D(99)),
                                                 Played(session_id=2, day=DAY, profit=D(-5), balance=D(94))])

    def after(kind: str | None, stop_loss: str | None = None, now: datetime | None = None, **extra: Any) -> str:
        summary = {"stop_kind": kind, "stop_reason": f"{kind}: ...", "unresolved_bets": 0, **extra}
        return verdict(books, summary, day=DAY, stop_loss=None if stop_loss is None else D(stop_loss),
                       now=now or at(12))

    assert after("take_profit") == "continue"
    assert after("stop_loss", "3") == "continue"  # its own stop-loss: the campaign goes on
    assert after("stop_loss", "5") == "wait-day"  # the day's remainder (6 - 1) was its stop-loss
    assert after("stop_loss", "9").startswith("end: total stop-loss reached")  # what remained of the 10
    assert after("signal") == "interrupted"
    assert after("take_profit", unresolved_bets=2) == "interrupted"
    assert after("max_duration", now=at(0, 0, 0.2, DAY + timedelta(days=1))) == "continue"  # the day's deadline
    assert after("max_duration", now=at(12)).startswith("end: the session stopped by max_duration")
    assert after("max_bets").startswith("end: the session stopped by max_bets")


def test_campaign_limits_need_repeat() -> None:
    with pytest.raises(SettingsError, match=r"invalid total_stop_loss \(flag --total-stop-loss\): is a campaign"):
        load_settings({"total_stop_loss": "5"})


# -- whole campaigns, simulated ---------------------------------------------------------------------------------
class Clock:
    """UTC time that a pause moves forward (nothing waits for real)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.pauses: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def pause(self, seconds: float) -> bool:
        self.pauses.append(seconds)
        self.now += timedelta(seconds=seconds)
        return True


def settings_for(tmp_path: Path, **flags: str) -> Settings:
    base = {"strategy": "flat", "params": {"base_bet": "1"}, "balance": "100", "seed": "campaign",
            "journal": str(tmp_path / "j.db"), "preview": False, "dashboard": "off", "repeat": True,
            "pause_between": "30s", "log_level": "error"}
    return load_settings({**base, **flags})


def consoles() -> dict[str, Console]:
    return {"out": Console(file=io.StringIO()), "err": Console(file=io.StringIO())}


def sessions_of(path: Path) -> list[Any]:
    with Journal.open(path, durable=False) as journal:
        return journal.sessions()


def profit(record: Any) -> Decimal:
    return D(record.summary["profit"])


async def test_no_session_crosses_the_total_stop_loss(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="5", take_profit="20", total_stop_loss="12")
    clock = Clock(at(9))
    outcome = await run_campaign(settings, pause=clock.pause, utcnow=clock, **consoles())
    assert outcome.exit_code == 0
    records = sessions_of(tmp_path / "j.db")
    lost = D(0)
    for record in records:
        # Each session's stop-loss was at most what remained of the campaign's budget at its start.
        assert D(str(record.limits["stop_loss"])) <= D(12) + lost
        lost += profit(record)
    assert -lost <= D(12)
    assert records[-1].stop_kind == "stop_loss"
    with Journal.open(tmp_path / "j.db", durable=False) as journal:
        found = campaign(journal, 1)
        assert found is not None
        assert campaign_sessions(journal, 1) == [r.id for r in records]
    assert found.stop_reason is not None
    assert found.stop_reason.startswith("total stop-loss reached")
    assert found.limits == {"total_stop_loss": "12.00000000"}
    assert clock.pauses == [30.0] * (len(records) - 1)  # --pause-between, between sessions only


async def test_the_total_take_profit_and_max_sessions_end_a_campaign(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="50", take_profit="1", total_take_profit="3", max_sessions="5",
                            pause_between="0s")
    clock = Clock(at(9))
    await run_campaign(settings, pause=clock.pause, utcnow=clock, **consoles())
    records = sessions_of(tmp_path / "j.db")
    total = sum((profit(r) for r in records), D(0))
    with Journal.open(tmp_path / "j.db", durable=False) as journal:
        reason = campaign(journal, 1).stop_reason  # type: ignore[union-attr]
    assert reason is not None
    if total >= 3:
        assert reason.startswith("total take-profit reached")
        # Each session's take-profit was what remained of the campaign's.
        assert [D(str(r.limits["take_profit"])) for r in records][-1] <= D(3) - (total - profit(records[-1]))
    else:
        assert reason == "max_sessions reached: 5 sessions"
        assert len(records) == 5
    assert clock.pauses == []  # --pause-between 0s


async def test_simulated_sessions_carry_the_balance_on_with_seeds_of_their_own(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="3", take_profit="3", max_sessions="3")
    clock = Clock(at(9))
    await run_campaign(settings, pause=clock.pause, utcnow=clock, **consoles())
    records = sessions_of(tmp_path / "j.db")
    assert len(records) == 3
    for before, after in itertools.pairwise(records):
        assert after.starting_balance == D(before.summary["balance"])
        assert after.seed != before.seed


async def test_a_daily_stop_loss_waits_for_the_next_utc_day(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="10", take_profit="2", daily_stop_loss="4", max_sessions="8",
                            pause_between="0s")
    clock = Clock(at(10))
    days: list[date] = []

    async def play(settings: Settings, **kwargs: Any) -> RunOutcome:
        days.append(clock.now.date())  # the fake UTC day each session starts on
        return await run_session(settings, **kwargs)

    await run_campaign(settings, pause=clock.pause, utcnow=clock, play=play, **consoles())
    records = sessions_of(tmp_path / "j.db")
    spent: dict[date, Decimal] = {}
    for day, record in zip(days, records, strict=True):
        # Each session's stop-loss is its own or what the day has left, the tighter: no day loses more than 4.
        assert D(str(record.limits["stop_loss"])) == min(D(10), D(4) + spent.get(day, D(0)))
        assert record.limits["max_duration"] <= (at(0, day=day + timedelta(days=1)) - at(10)).total_seconds()
        spent[day] = spent.get(day, D(0)) + profit(record)
    assert all(loss >= D(-4) for loss in spent.values())
    if len(spent) > 1:  # a day's budget was spent: the campaign waited until 00:00 UTC, exactly
        assert clock.pauses[0] == pytest.approx(14 * 3600.0, abs=1e-6)
        assert spent[days[0]] == D(-4)  # and only once the day had lost all it may (stakes of 1: exactly)


async def test_a_session_never_runs_past_utc_midnight_the_next_counts_on_the_new_day(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="10", take_profit="1", daily_stop_loss="4", max_sessions="2",
                            pause_between="0s")

    class Midnight(Clock):
        calls = 0

        def __call__(self) -> datetime:
            self.calls += 1
            if self.calls == 1:  # the first session starts a microsecond before midnight
                return at(23, 59, 59.999999)
            return at(0, 0, 1.0, DAY + timedelta(days=1))

    clock = Midnight(at(0))
    await run_campaign(settings, pause=clock.pause, utcnow=clock, **consoles())
    first, second = sessions_of(tmp_path / "j.db")
    assert first.stop_kind == "max_duration"
    assert first.limits["max_duration"] == pytest.approx(1e-6)
    assert second.limits["max_duration"] == pytest.approx(86399.0)  # the whole new day, less its first second
    assert D(str(second.limits["stop_loss"])) == D(4)  # yesterday's result does not count today


async def test_a_crash_between_sessions_resumes_the_campaign(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="3", take_profit="3", total_stop_loss="8", max_sessions="4")
    clock = Clock(at(9))
    calls = 0

    async def crash_second(settings: Settings, **kwargs: Any) -> RunOutcome:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the machine went down")
        return await run_session(settings, **kwargs)

    with pytest.raises(RuntimeError):
        await run_campaign(settings, pause=clock.pause, utcnow=clock, play=crash_second, **consoles())
    [first] = sessions_of(tmp_path / "j.db")
    with Journal.open(tmp_path / "j.db", durable=False) as journal:
        assert newest_open_campaign(journal) is not None
    await run_campaign(settings, resume="newest", pause=clock.pause, utcnow=clock, **consoles())
    records = sessions_of(tmp_path / "j.db")
    assert len(records) > 1
    with Journal.open(tmp_path / "j.db", durable=False) as journal:
        assert all(campaign_of(journal, r.id) == 1 for r in records)
        assert newest_open_campaign(journal) is None
    # The resumed campaign counted the first session: the second's stop-loss was capped by what remained.
    assert D(str(records[1].limits["stop_loss"])) == min(D(3), D(8) + profit(first))


class CrashWhileRunning:
    """A watcher that takes the process down once the second session is journaled and running."""

    def __init__(self) -> None:
        self.sessions = 0

    @asynccontextmanager
    async def watching(self, engine: Any, limits: Limits, *, session_id: int | None) -> AsyncIterator[None]:
        self.sessions += 1
        if self.sessions != 2:
            yield
            return

        async def crash() -> None:
            while engine.session.bets < 3:  # a few bets in, the process goes down
                await checkpoint()
            raise RuntimeError("killed")

        async with anyio.create_task_group() as tg:
            tg.start_soon(crash)
            yield

    def ended(self, summary: Mapping[str, Any]) -> None:
        pass


async def test_a_crash_mid_session_resumes_that_session_then_the_campaign(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="3", take_profit="3", max_sessions="3", pause_between="0s")
    clock = Clock(at(9))
    with pytest.raises(BaseExceptionGroup) as crashed:  # out of the session's task groups, as a crash would
        await run_campaign(settings, pause=clock.pause, utcnow=clock, notices=CrashWhileRunning(), **consoles())
    assert crashed.group_contains(RuntimeError, match="killed")
    _first, second = sessions_of(tmp_path / "j.db")
    assert second.ended_at is None  # interrupted
    out = consoles()
    await run_campaign(settings, resume="newest", pause=clock.pause, utcnow=clock, **out)
    records = sessions_of(tmp_path / "j.db")
    assert [r.id for r in records] == [1, 2, 3]  # session 2 resumed (not replaced), then one more: 3 sessions
    assert all(r.finished for r in records)
    assert "resuming campaign 1: 1 session(s) played" in out["err"].file.getvalue()  # type: ignore[attr-defined]


async def test_a_campaign_without_a_journal_runs_in_memory(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="2", take_profit="2", max_sessions="2", no_journal="true")
    clock = Clock(at(9))
    outcome = await run_campaign(settings, pause=clock.pause, utcnow=clock, **consoles())
    assert outcome.summary["session_id"] is None
    assert not (tmp_path / "j.db").exists()
    assert clock.pauses == [30.0]


async def test_resume_alone_continues_a_campaign_under_its_journaled_budget(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, stop_loss="3", take_profit="3", total_stop_loss="5", max_sessions="4")
    clock = Clock(at(9))

    async def crash_before_second(settings: Settings, **kwargs: Any) -> RunOutcome:
        if sessions_of(tmp_path / "j.db"):
            raise RuntimeError("the machine went down")
        return await run_session(settings, **kwargs)

    with pytest.raises(RuntimeError):
        await run_campaign(settings, pause=clock.pause, utcnow=clock, play=crash_before_second, **consoles())
    [first] = sessions_of(tmp_path / "j.db")
    plain = settings.model_copy(update={"repeat": False, "total_stop_loss": None, "max_sessions": None})
    await run_campaign(plain, resume="newest", pause=clock.pause, utcnow=clock, **consoles())
    records = sessions_of(tmp_path / "j.db")
    assert len(records) > 1
    assert D(str(records[1].limits["stop_loss"])) == min(D(3), D(5) + profit(first))  # the journaled budget
    with Journal.open(tmp_path / "j.db", durable=False) as journal:
        assert newest_open_campaign(journal) is None  # it ran to its end


async def test_resume_without_repeat_and_no_campaign_is_a_plain_session(tmp_path: Path) -> None:
    plain = settings_for(tmp_path, stop_loss="3", take_profit="3").model_copy(update={"repeat": False})
    clock = Clock(at(9))
    await run_campaign(plain, resume="newest", pause=clock.pause, utcnow=clock, **consoles())
    [record] = sessions_of(tmp_path / "j.db")
    with Journal.open(tmp_path / "j.db", durable=False) as journal:
        assert campaign_of(journal, record.id) is None
    assert clock.pauses == []


async def test_between_two_sessions_the_heartbeat_says_idle_and_why(tmp_path: Path) -> None:
    beat_file = tmp_path / "beat.json"
    settings = settings_for(tmp_path, stop_loss="2", take_profit="2", max_sessions="2",
                            heartbeat_file=str(beat_file))
    clock = Clock(at(9))
    beats: list[Any] = []

    async def pause(seconds: float) -> bool:
        await anyio.wait_all_tasks_blocked()  # the beating task has written and sleeps
        beats.append(read_beat(beat_file))
        return await clock.pause(seconds)

    await run_campaign(settings, pause=pause, utcnow=clock, **consoles())
    [beat] = beats
    assert beat.state == "idle"
    assert beat.stop_reason == "campaign: the next session starts in 30 s"
    assert check(beat_file, max_age=90, now=beat.time + 1)[0]
    assert read_beat(beat_file).state == "stopped"  # the last session's own last word


def test_betbot_sessions_groups_a_campaign(tmp_path: Path) -> None:
    journal = str(tmp_path / "j.db")
    result = cli("run", "-s", "flat", "-p", "base_bet=1", "--stop-loss", "2", "--take-profit", "2", "--repeat",
                 "--max-sessions", "2", "--pause-between", "0s", "--seed", "grouped", "--no-preview", "--dashboard",
                 "off", "--journal", journal)
    assert result.returncode == 0, result.stderr
    assert "campaign 1 ended: max_sessions reached: 2 sessions" in result.stderr
    listed = cli("sessions", "--journal", journal, env={**ENV, "COLUMNS": "160"})
    rows = [line.split() for line in listed.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[:2] for row in rows[:2]] == [["1", "1"], ["1", "2"]]  # campaign, session
    assert "campaign" in rows[2]
    assert "ended: max_sessions reached" in listed.stdout
    as_json = json.loads(cli("sessions", "--journal", journal, "--json").stdout)
    assert [s["campaign_id"] for s in as_json] == [1, 1]
