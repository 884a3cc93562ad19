"""Many sessions in one `serve`: one failing never stops the others; sessions of one account share one
back-off (a 429 storm there pauses them all, and no other account's); the DuckDice key is in no response;
SIGTERM drains every session and a restart resumes them; the process's one notifier hears every session
(each with its own events); `repeat = true` runs a campaign that waits, drains and goes on after a restart."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from betbot.config.settings import SettingsError
from betbot.journal import Journal
from betbot.journal.campaigns import campaign as campaign_record
from betbot.journal.campaigns import campaign_sessions
from betbot.notify import Notifier
from betbot.observe.view import view_of
from betbot.serve.host import Host, HostedSession, SessionBusy
from betbot.serve.spec import SessionSpec
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake
from tests.notify_target import Target
from tests.serve_support import BEARER, QUICK, next_tick, served

KEY_A = "LEAKCANARY-serve-a-5c1f0e9d7b3a2468"
KEY_B = "LEAKCANARY-serve-b-93e7d1c5a0f24b86"


def live(url: str, key: str, **values: object) -> dict[str, object]:
    return {"strategy": "flat", "live": True, "base_url": url, "api_key": key, "stop_loss": "50", "preview": False,
            **values}


async def test_one_session_failing_never_stops_the_others(tmp_path: Path) -> None:
    script = tmp_path / "fails.lua"
    script.write_text("chance = 49.5\nnextbet = 0.00000100\nn = 0\n"
                      "function dobet()\n  n = n + 1\n  if n == 3 then error('boom at bet 3') end\nend\n")
    async with served(tmp_path) as s:
        steady = await s.start({"name": "steady", "strategy": "flat",
                                "settings": {**QUICK, "max_bets": 1000000, "sim_latency": "2ms"}})
        await steady.attached.wait()
        # A live session on an account whose site cannot be reached: it fails at its start, alone.
        s.host.shared.update({"base_url": "http://127.0.0.1:9", "api_key": KEY_A})
        broken = await s.start({"name": "broken", "strategy": "flat",
                                "settings": {"live": True, "stop_loss": "1", "preview": False}})
        # A script that fails mid-run stops its own session, with the reason.
        failing = await s.host.start(SessionSpec(name="script", values={**QUICK, "script": str(script)}))
        await broken.done.wait()
        await failing.done.wait()
        assert broken.state == "failed"
        assert broken.error
        assert "could not connect" in broken.error
        assert KEY_A not in broken.error
        assert failing.summary is not None
        assert failing.summary["stop_kind"] == "strategy_error"
        assert "boom at bet 3" in failing.summary["stop_reason"]
        # The steady session went on through both, and still bets.
        assert steady.state == "running"
        before = (await next_tick(steady))["bets"]
        assert (await next_tick(steady))["bets"] > before
        body = (await s.client.get("/api/v1/sessions/broken", headers=BEARER)).text
        assert KEY_A not in body
        assert "failed" in body


async def test_a_429_storm_on_one_account_pauses_that_accounts_sessions_only(tmp_path: Path) -> None:
    stormy = FakeDuckDice(FakeServerConfig(api_key=KEY_A, faults={"429": 0.3}, retry_after="0", seed="storm"))
    calm = FakeDuckDice(FakeServerConfig(api_key=KEY_B, seed="calm"))
    async with serve_fake(app=stormy) as url_a, serve_fake(app=calm) as url_b, served(tmp_path) as s:
        # Keys come from the server's configuration (a [[sessions]] table here), never from a request.
        a1 = await s.host.start(SessionSpec(name="a1", values=live(url_a, KEY_A, max_bets=60)))
        a2 = await s.host.start(SessionSpec(name="a2", values=live(url_a, KEY_A, max_bets=60)))
        b1 = await s.host.start(SessionSpec(name="b1", values=live(url_b, KEY_B, max_bets=60)))
        for hosted in (a1, a2, b1):
            await hosted.attached.wait()
        assert a1.run is not None
        assert a2.run is not None
        assert b1.run is not None
        engines = a1.run.engine, a2.run.engine, b1.run.engine
        assert engines[0].backoff is engines[1].backoff is a1.account.backoff  # type: ignore[union-attr]
        assert engines[2].backoff is not engines[0].backoff
        assert a1.account is a2.account
        assert a1.account is not b1.account
        # One trip on the account pauses both of its sessions at once, and not the other account's.
        engines[0].backoff.trip("rate-limit: test", retry_after=2.0)
        assert view_of(engines[1]).backing_off
        assert not view_of(engines[2]).backing_off
        assert (await next_tick(a2))["backoff"]["active"] is True
        for hosted in (a1, a2, b1):
            await hosted.done.wait()
        assert engines[0].backoff.trips > 1  # the storm's own 429s, on top of the test's trip
        assert engines[2].backoff.trips == 0
        for hosted in (a1, a2, b1):
            assert hosted.summary is not None, hosted.error
            assert hosted.summary["bets"] == 60
        # Every bet of the stormy account ran once: the books equal the fake's ledger.
        assert stormy.executed == 120
        site = stormy.balances_json()["DOGE"]
        assert Decimal(site["main"]) == Decimal(100) + Decimal(a1.summary["profit"]) + Decimal(a2.summary["profit"])  # type: ignore[index]


async def test_the_api_key_is_in_no_response(tmp_path: Path) -> None:
    fake = FakeDuckDice(FakeServerConfig(api_key=KEY_A))
    async with serve_fake(app=fake) as url, served(tmp_path, shared={"api_key": KEY_A, "base_url": url}) as s:
        hosted = await s.start({"name": "live", "strategy": "flat", "settings": {"live": True, "stop_loss": "5",
                                                                                 "max_bets": 30}})
        await hosted.done.wait()
        s.host.shared["api_key"] = KEY_B  # the site refuses this one: the error must not carry it either
        refused = await s.start({"name": "refused", "strategy": "flat",
                                 "settings": {"live": True, "stop_loss": "5", "max_bets": 3}})
        await refused.done.wait()
        assert refused.state == "failed"
        bodies = []
        for path in ("/api/v1/sessions", "/api/v1/sessions/live", "/api/v1/sessions/refused",
                     "/api/v1/sessions/live/events", "/api/v1/history", "/api/v1/history/1",
                     "/api/v1/history/1/export?format=csv", "/api/v1/history/1/export?format=jsonl",
                     "/api/v1/history/1/report", "/api/v1/strategies", "/metrics", "/api/v1/openapi.json"):
            response = await s.client.get(path, headers=BEARER)
            assert response.status_code == 200, (path, response.text)
            bodies.append(response.text)
        bodies.append((await s.client.post("/api/v1/sessions", headers=BEARER, json={
            "strategy": "flat", "settings": {"live": True, "max_bets": 1}})).text)  # no loss bound: refused
        for body in bodies:
            assert KEY_A not in body
            assert KEY_B not in body
        assert hosted.summary is not None
        assert hosted.summary["bets"] == 30


async def test_drain_then_restart_resumes_the_sessions(tmp_path: Path) -> None:
    state = tmp_path / "serve-state.json"
    journal = tmp_path / "journal.sqlite3"
    shared = {"journal": str(journal)}
    spec = SessionSpec(name="keeps", values={**QUICK, "strategy": "flat", "max_bets": 100000, "sim_latency": "2ms"},
                       autostart=True)
    ended = SessionSpec(name="done", values={**QUICK, "strategy": "flat", "max_bets": 3})
    host = Host(shared=shared, state_file=state)
    async with anyio.create_task_group() as tg:
        host.bind(tg)
        finished = await host.start(ended)
        await finished.done.wait()
        keeps = await host.start(spec)
        await next_tick(keeps)
        await host.drain()
        tg.cancel_scope.cancel()
    assert keeps.summary is not None
    assert keeps.summary["stop_kind"] == "signal"
    bets_before = keeps.summary["bets"]
    assert bets_before > 0
    again = Host(shared=shared, state_file=state)
    assert [(found.name, session_id) for found, session_id in again.to_resume()] == [("keeps", keeps.session_id)]
    async with anyio.create_task_group() as tg:
        again.bind(tg)
        [(found, session_id)] = again.to_resume()
        resumed = await again.start(found, resume_id=session_id)
        await resumed.attached.wait()
        assert resumed.session_id == keeps.session_id
        assert resumed.run is not None
        assert resumed.run.engine.session.bets == bets_before
        tick = await next_tick(resumed)
        assert tick["bets"] >= bets_before
        resumed.stop()  # stopped by the user: not resumed again
        await resumed.done.wait()
        tg.cancel_scope.cancel()
    assert Host(shared=shared, state_file=state).to_resume() == []


# -- notifications: one notifier for the process, each session's own notify_on ---------------------------------
async def test_sessions_report_to_the_servers_one_notifier_each_with_its_own_events(tmp_path: Path) -> None:
    target = Target()
    notifier = Notifier([target.url()])
    try:
        async with notifier.running(), served(tmp_path, notifier=notifier) as s:
            # Ends by max_bets ("stopped"), which its notify_on does not pick: nothing is sent for it.
            quiet = await s.start({"name": "quiet", "strategy": "flat",
                                   "settings": {**QUICK, "max_bets": 5, "notify_on": "take-profit"}})
            await quiet.done.wait()
            loud = await s.start({"name": "loud", "strategy": "flat", "settings": {**QUICK, "max_bets": 7}})
            await loud.done.wait()
            # A session that fails says so, and names itself; the key stays out of the message.
            s.host.shared.update({"base_url": "http://127.0.0.1:9", "api_key": KEY_A})
            broken = await s.start({"name": "broken", "strategy": "flat",
                                    "settings": {"live": True, "stop_loss": "1", "preview": False}})
            await broken.done.wait()
        assert notifier.sent == 2  # delivered before the notifier's block ended (it flushes its queue)
        bodies = target.wait_for(2)
    finally:
        target.close()
    titles = [body["title"] for body in bodies]
    assert titles[0].startswith("betbot: session loud stopped (")
    assert "7 bets" in bodies[0]["message"]
    assert titles[1] == "betbot: session broken failed"
    assert "could not connect" in bodies[1]["message"]
    assert all("quiet" not in body["title"] and KEY_A not in json.dumps(body) for body in bodies)


def test_notification_urls_are_the_servers_not_a_sessions() -> None:
    with pytest.raises(SettingsError, match="notify is the server's setting"):
        SessionSpec.from_table({"name": "s", "notify": "json://127.0.0.1:9/x"}, where="[[sessions]] #1")


# -- repeat = true: a campaign, as `betbot run --repeat` --------------------------------------------------------
CAMPAIGN = {**QUICK, "strategy": "flat", "params": {"base_bet": "1"}, "balance": "100", "repeat": True,
            "stop_loss": "3", "take_profit": "3"}


async def test_repeat_runs_a_campaign_and_the_pages_show_its_totals(tmp_path: Path) -> None:
    target = Target()
    notifier = Notifier([target.url()])
    try:
        async with notifier.running(), served(tmp_path, notifier=notifier) as s:
            hosted = await s.host.start(SessionSpec(name="camp", values={
                **CAMPAIGN, "max_sessions": 3, "pause_between": "0s", "notify_on": "campaign"}))
            await hosted.done.wait()
            detail = (await s.client.get("/api/v1/sessions/camp", headers=BEARER)).json()
        [notice] = target.wait_for(1)  # only what its notify_on picked: the campaign's end, not each session's
    finally:
        target.close()
    assert hosted.state == "ended", hosted.error
    assert hosted.sessions_played == 3
    assert detail["repeat"] is True
    campaign = detail["campaign"]
    with Journal.open(s.journal, durable=False) as journal:
        ids = campaign_sessions(journal, campaign["id"])
        record = campaign_record(journal, campaign["id"])
        profits = [Decimal(journal.session(i).summary["profit"]) for i in ids]  # type: ignore[index]
    assert len(ids) == 3
    assert detail["session_id"] == ids[-1]
    assert campaign["sessions"] == campaign["sessions_total"] == 3
    assert Decimal(campaign["profit"]) == Decimal(campaign["total_profit"]) == sum(profits)
    assert campaign["profit"] == f"{sum(profits):.8f}"
    assert campaign["ended"] == "max_sessions reached: 3 sessions"
    assert campaign["budget"] == {"max_sessions": 3}
    assert record is not None
    assert record.stop_reason == campaign["ended"]
    assert notice["title"] == f"betbot: campaign {campaign['id']} ended"
    assert "max_sessions reached: 3 sessions" in notice["message"]


async def test_a_campaign_waits_between_sessions_drains_and_goes_on_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "serve-state.json"
    shared = {"journal": str(tmp_path / "journal.sqlite3")}
    spec = SessionSpec(name="camp", values={**CAMPAIGN, "pause_between": "1h"})  # the host's wait, not a sleep
    host = Host(shared=shared, state_file=state)
    async with anyio.create_task_group() as tg:
        host.bind(tg)
        hosted = await host.start(spec)
        waiting = await waiting_for_next(hosted)
        assert waiting["campaign"]["sessions"] == 1
        assert waiting["campaign"]["waiting"] is True
        with pytest.raises(SessionBusy):
            hosted.pause()  # nothing to pause between two sessions
        first = hosted.session_id
        await host.drain()  # SIGTERM while it waits: it ends at once, to go on at the next start
        tg.cancel_scope.cancel()
    assert hosted.state == "ended"
    campaign_id = waiting["campaign"]["id"]
    again = Host(shared=shared, state_file=state)
    [(found, session_id)] = again.to_resume()
    assert session_id == first
    async with anyio.create_task_group() as tg:
        again.bind(tg)
        resumed = await again.start(found, resume_id=session_id)
        waiting = await waiting_for_next(resumed)
        # The same campaign, a new session: the one that had ended is counted, not played again.
        assert waiting["campaign"]["id"] == campaign_id
        assert waiting["campaign"]["sessions"] == 2
        assert resumed.session_id != first
        resumed.stop()  # a stop from the console ends the wait, and the campaign is not resumed again
        await resumed.done.wait()
        tg.cancel_scope.cancel()
    assert resumed.state == "ended"
    assert resumed.sessions_played == 1
    assert Host(shared=shared, state_file=state).to_resume() == []
    with Journal.open(tmp_path / "journal.sqlite3", durable=False) as journal:
        assert campaign_sessions(journal, campaign_id) == [first, resumed.session_id]


async def waiting_for_next(hosted: HostedSession) -> dict[str, Any]:
    """The session's state once its campaign waits for its next session (the watcher's ticks say so)."""
    with anyio.fail_after(30):
        while True:
            found = await next_tick(hosted)
            if found["state"] == "waiting":
                return found
