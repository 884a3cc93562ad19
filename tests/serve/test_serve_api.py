"""`betbot serve`'s HTTP API through an ASGI transport: every endpoint, auth where it is required, CSRF
refused, bad input as a 4xx with one JSON error, money as 8-place text, the security headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from betbot.core.models import StopKind, StopReason
from betbot.journal import Journal
from betbot.serve.api import CSP, MAX_BODY, REPORT_CSP
from betbot.serve.auth import COOKIE, CSRF_HEADER, FREE_FAILURES
from betbot.serve.server import start_sessions
from betbot.serve.spec import SessionSpec
from tests.journal.test_lease import held_elsewhere, new_session
from tests.serve_support import BEARER, MONEY, QUICK, TOKEN, next_tick, served


async def login(client) -> str:  # type: ignore[no-untyped-def]
    response = await client.post("/api/v1/login", json={"token": TOKEN})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf"])


# -- auth ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/sessions/x", "/api/v1/history", "/api/v1/strategies",
                                  "/api/v1/me", "/api/v1/sessions/x/events", "/api/v1/history/1/export"])
async def test_reads_need_the_token(tmp_path: Path, path: str) -> None:
    async with served(tmp_path) as s:
        response = await s.client.get(path)
        assert response.status_code == 401
        assert "log in" in response.json()["error"]
        wrong = await s.client.get(path, headers={"Authorization": "Bearer wrong-token-wrong-token"})
        assert wrong.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/sessions/x/stop", "/api/v1/sessions/x/stop-now",
                                  "/api/v1/sessions/x/pause", "/api/v1/sessions/x/resume",
                                  "/api/v1/sessions/x/limits", "/api/v1/preview"])
async def test_writes_need_the_token(tmp_path: Path, path: str) -> None:
    async with served(tmp_path) as s:
        response = await s.client.post(path, json={})
        assert response.status_code == 401
        assert set(response.json()) == {"error"}


async def test_login_sets_a_strict_httponly_cookie_and_the_cookie_reads(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        response = await s.client.post("/api/v1/login", json={"token": TOKEN})
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert TOKEN not in cookie
        assert TOKEN not in response.text
        me = await s.client.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["csrf"] == response.json()["csrf"]
        await s.client.post("/api/v1/logout")
        assert (await s.client.get("/api/v1/me")).status_code == 401


async def test_a_cookie_write_needs_the_csrf_header_and_the_same_origin(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        csrf = await login(s.client)
        body = {"strategy": "flat", "settings": {**QUICK, "max_bets": 5}}
        missing = await s.client.post("/api/v1/sessions", json=body)
        assert missing.status_code == 403
        assert CSRF_HEADER in missing.json()["error"]
        wrong = await s.client.post("/api/v1/sessions", json=body, headers={CSRF_HEADER: "forged"})
        assert wrong.status_code == 403
        cross = await s.client.post("/api/v1/sessions", json=body,
                                    headers={CSRF_HEADER: csrf, "Origin": "http://evil.example"})
        assert cross.status_code == 403
        assert "cross-origin" in cross.json()["error"]
        assert not s.host.sessions  # nothing was started by the refused requests
        ok = await s.client.post("/api/v1/sessions", json=body,
                                 headers={CSRF_HEADER: csrf, "Origin": "http://127.0.0.1:8765"})
        assert ok.status_code == 201, ok.text


async def test_failed_logins_are_throttled(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        for _ in range(FREE_FAILURES + 1):
            response = await s.client.post("/api/v1/login", json={"token": "nope"})
            assert response.status_code == 401
        throttled = await s.client.post("/api/v1/login", json={"token": TOKEN})  # even the right token waits
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
        assert "too many failed logins" in throttled.json()["error"]


async def test_a_read_only_server_refuses_every_control(tmp_path: Path) -> None:
    async with served(tmp_path, read_only=True) as s:
        response = await s.client.post("/api/v1/sessions", json={"strategy": "flat"}, headers=BEARER)
        assert response.status_code == 403
        assert "read-only" in response.json()["error"]
        assert (await s.client.get("/api/v1/sessions", headers=BEARER)).status_code == 200


# -- sessions and controls ---------------------------------------------------------------------------------
async def test_start_a_session_and_read_it_to_its_end(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "one", "strategy": "martingale", "params": {"base_bet": "0.01"},
                                "settings": {**QUICK, "max_bets": 40}})
        await hosted.done.wait()
        listing = (await s.client.get("/api/v1/sessions", headers=BEARER)).json()["sessions"]
        assert [row["name"] for row in listing] == ["one"]
        detail = (await s.client.get("/api/v1/sessions/one", headers=BEARER)).json()
        assert detail["state"] == "ended"
        assert detail["bets"] == 40
        assert detail["summary"]["bets"] == 40
        for field in ("balance", "profit", "wagered", "starting_balance"):
            assert MONEY.match(detail[field]), (field, detail[field])
        assert all(MONEY.match(bet["profit"]) for bet in detail["last_bets"])
        assert detail["verification"] is not None
        assert "match" in detail["verification"]
        assert detail["limits"][0]["name"] == "max_bets"
        assert detail["limits"][0]["used"] == 1.0
        assert detail["summary"]["balance"] == detail["balance"]


async def test_pause_resume_tighten_and_stop(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "long", "strategy": "flat",
                                "settings": {**QUICK, "max_bets": 100000, "sim_latency": "2ms"}})
        await hosted.attached.wait()
        paused = await s.client.post("/api/v1/sessions/long/pause", headers=BEARER)
        assert paused.json()["state"] == "paused"
        assert hosted.run is not None
        assert hosted.run.engine.paused
        resumed = await s.client.post("/api/v1/sessions/long/resume", headers=BEARER)
        assert resumed.json()["state"] == "running"
        assert not hosted.run.engine.paused
        tightened = await s.client.post("/api/v1/sessions/long/limits", headers=BEARER,
                                        json={"max_bets": 50000, "stop_loss": "50%"})
        notes = tightened.json()["notes"]
        assert "max_bets tightened from 100000 to 50000" in notes
        assert "stop_loss tightened from none to 50.00000000" in notes
        looser = await s.client.post("/api/v1/sessions/long/limits", headers=BEARER, json={"max_bets": 60000})
        assert looser.json()["notes"] == ["max_bets kept at the session's 50000 (60000 would loosen it)"]
        assert hosted.run.engine.session.limits.max_bets == 50000
        await next_tick(hosted)
        stopped = await s.client.post("/api/v1/sessions/long/stop", headers=BEARER)
        assert stopped.json()["state"] == "stopping"
        await hosted.done.wait()
        reason = hosted.run.engine.session.stop_reason
        assert reason is not None
        assert reason.kind is StopKind.SIGNAL
        assert "console" in reason.detail
        assert hosted.run.engine.session.unresolved_seqs == []
        again = await s.client.post("/api/v1/sessions/long/stop", headers=BEARER)
        assert again.status_code == 409
        assert "ended" in again.json()["error"]


async def test_stop_now(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "n", "strategy": "flat",
                                "settings": {**QUICK, "max_bets": 100000, "parallel": True, "max_concurrent": 4,
                                             "sim_latency": "20ms"}})
        await hosted.attached.wait()
        response = await s.client.post("/api/v1/sessions/n/stop-now", headers=BEARER)
        assert response.status_code == 200
        await hosted.done.wait()
        assert hosted.summary is not None
        assert "stopped at once" in hosted.summary["stop_reason"]


async def test_unknown_sessions_are_404(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        for method, path in (("GET", "/api/v1/sessions/nope"), ("POST", "/api/v1/sessions/nope/stop"),
                             ("GET", "/api/v1/sessions/nope/events"), ("GET", "/api/v1/history/99"),
                             ("GET", "/api/v1/history/99/report")):
            response = await s.client.request(method, path, headers=BEARER)
            assert response.status_code == 404, (path, response.text)
            assert set(response.json()) == {"error"}


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"strategy": "flat", "bogus": 1}, 422, "bogus: unknown field"),
    ({"strategy": "no-such-strategy"}, 400, "unknown strategy"),
    ({"strategy": "flat", "settings": {"max_bets": 0}}, 400, "max_bets"),
    ({"strategy": "flat", "settings": {"api_key": "x"}}, 400, "settings.api_key is the server's setting"),
    ({"strategy": "flat", "settings": {"journal": "/etc/x"}}, 400, "settings.journal is the server's setting"),
    ({"strategy": "flat", "settings": {"nonsense": 1}}, 400, "settings.nonsense is not a setting"),
    ({"strategy": "flat", "params": {"base_bet": "-1"}}, 400, "base_bet"),
    ({"strategy": "flat", "preset": "hunter-1pct.toml"}, 400, "give one of strategy, preset or lua"),
    ({"strategy": "../../etc/passwd.py:X"}, 422, "strategy"),
    ({"preset": "nope.toml"}, 400, "not a shipped settings file"),
    ({"lua": "nope.lua"}, 400, "not a shipped Lua script"),
    ({"name": "bad name!", "strategy": "flat"}, 422, "name"),
    ({"strategy": "flat", "settings": {"min_balance": "500"}}, 400, "min_balance"),
    ({"strategy": "flat", "settings": {"notify": "json://127.0.0.1:9/x"}}, 400,
     "settings.notify is the server's setting"),
    ({"strategy": "flat", "settings": {"notify_on": "nothing"}}, 400, "unknown event 'nothing'"),
    ({"strategy": "flat", "settings": {"max_sessions": 3}}, 400, "add --repeat"),
    ({"resume": 1, "strategy": "flat"}, 400, "with its own strategy and parameters: drop strategy"),
    ({"resume": 0}, 422, "resume"),
    ({"resume": 7}, 400, "no session 7 to resume: there is no journal at"),
])
async def test_bad_start_requests_are_4xx_with_one_message(tmp_path: Path, body: dict[str, object], status: int,
                                                           words: str) -> None:
    async with served(tmp_path) as s:
        response = await s.client.post("/api/v1/sessions", json=body, headers=BEARER)
        assert response.status_code == status, response.text
        assert set(response.json()) == {"error"}
        assert words in response.json()["error"]
        assert "Traceback" not in response.text
        assert not s.host.sessions


async def test_bad_bodies(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        not_json = await s.client.post("/api/v1/sessions", content=b"{nope", headers={
            **BEARER, "Content-Type": "application/json"})
        assert not_json.status_code == 422
        assert set(not_json.json()) == {"error"}
        huge = await s.client.post("/api/v1/sessions", content=b"x" * (MAX_BODY + 1), headers={
            **BEARER, "Content-Type": "application/json"})
        assert huge.status_code == 413
        assert "over" in huge.json()["error"]
        hosted = await s.start({"name": "t", "strategy": "flat", "settings": {**QUICK, "max_bets": 3}})
        await hosted.done.wait()
        empty = await s.client.post("/api/v1/sessions/t/limits", json={}, headers=BEARER)
        assert empty.status_code == 400
        assert "at least one limit" in empty.json()["error"]
        bad = await s.client.post("/api/v1/sessions/t/limits", json={"max_duration": "soon"}, headers=BEARER)
        assert bad.status_code == 400
        assert "max_duration" in bad.json()["error"]
        ended = await s.client.post("/api/v1/sessions/t/limits", json={"max_bets": 1}, headers=BEARER)
        assert ended.status_code == 409
        busy = await s.client.post("/api/v1/sessions", json={"name": "t", "strategy": "flat",
                                                             "settings": {**QUICK, "max_bets": 3}}, headers=BEARER)
        assert busy.status_code == 201  # an ended session's name may be used again
        await s.host.get("t").done.wait()


async def test_start_from_a_preset_and_from_a_shipped_lua_script(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        preset = await s.start({"name": "p", "preset": "hunter-1pct.toml", "settings": {**QUICK, "max_bets": 20}})
        lua = await s.start({"name": "l", "lua": "martingale.lua", "settings": {**QUICK, "max_bets": 20}})
        await preset.done.wait()
        await lua.done.wait()
        assert preset.summary is not None
        assert preset.summary["bets"] == 20
        assert preset.summary["strategy"] == "hunter"
        assert lua.summary is not None
        assert lua.summary["bets"] == 20
        assert lua.state == "ended"


async def test_the_risk_preview(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        response = await s.client.post("/api/v1/preview", headers=BEARER, json={
            "strategy": "martingale", "settings": {"max_bets": 200, "stop_loss": "10"}})
        assert response.status_code == 200, response.text
        found = response.json()
        assert 0 <= found["p_ruin"] <= 1
        assert MONEY.match(found["median_profit"])
        assert found["sessions"] > 0


async def test_events_stream_ticks_then_the_end(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "e", "strategy": "flat", "settings": {**QUICK, "max_bets": 300}})
        await hosted.attached.wait()
        response = await s.client.get("/api/v1/sessions/e/events", headers=BEARER)  # the transport reads to the end
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = [frame for frame in response.text.split("\n\n") if frame]
        kinds = [frame.split("\n")[0] for frame in frames]
        assert kinds[0] == "event: tick"
        assert kinds[-1] == "event: end"
        last = json.loads(frames[-1].split("\n", 1)[1].removeprefix("data: "))
        assert last["state"] == "ended"
        assert last["bets"] == 300
        assert last["summary"]["bets"] == 300


async def test_history_report_and_exports(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        assert (await s.client.get("/api/v1/history", headers=BEARER)).json() == {"sessions": []}
        hosted = await s.start({"name": "h", "strategy": "flat", "settings": {**QUICK, "max_bets": 25}})
        await hosted.done.wait()
        listing = (await s.client.get("/api/v1/history", headers=BEARER)).json()["sessions"]
        assert len(listing) == 1
        assert listing[0]["bets"] == 25
        session_id = listing[0]["id"]
        detail = (await s.client.get(f"/api/v1/history/{session_id}", headers=BEARER)).json()
        assert detail["summary"]["profit"] == hosted.summary["profit"]  # type: ignore[index]
        report = await s.client.get(f"/api/v1/history/{session_id}/report", headers=BEARER)
        assert report.status_code == 200
        assert "<svg" in report.text
        assert "<script" not in report.text
        assert report.headers["content-security-policy"] == REPORT_CSP
        csv = await s.client.get(f"/api/v1/history/{session_id}/export?format=csv", headers=BEARER)
        assert csv.status_code == 200
        assert "attachment" in csv.headers["content-disposition"]
        assert len(csv.text.strip().splitlines()) == 26
        jsonl = await s.client.get(f"/api/v1/history/{session_id}/export?format=jsonl", headers=BEARER)
        assert len(jsonl.text.strip().splitlines()) == 25
        bad = await s.client.get(f"/api/v1/history/{session_id}/export?format=xml", headers=BEARER)
        assert bad.status_code == 422
        assert "format" in bad.json()["error"]


async def test_strategies_give_the_start_form_its_fields(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        found = (await s.client.get("/api/v1/strategies", headers=BEARER)).json()
        martingale = next(b for b in found["builtins"] if b["name"] == "martingale")
        assert {"base_bet", "chance", "multiplier"} <= set(martingale["params"]["properties"])
        assert any(p["name"] == "hunter-1pct.toml" for p in found["presets"])
        assert any(p["name"] == "martingale.lua" for p in found["lua"])
        assert "api_key" not in found["settings"]
        assert "max_bets" in found["settings"]


async def test_metrics_label_every_session(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "m1", "strategy": "flat", "settings": {**QUICK, "max_bets": 7}})
        await hosted.done.wait()
        text = (await s.client.get("/metrics")).text
        assert 'betbot_bets_settled{session="m1"} 7.0' in text
    async with served(tmp_path / "closed", open_metrics=False) as s:
        assert (await s.client.get("/metrics")).status_code == 401
        assert (await s.client.get("/metrics", headers=BEARER)).status_code == 200


async def test_pages_carry_the_security_headers_and_static_files_stay_inside(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        index = await s.client.get("/")
        assert index.status_code == 200
        assert "<script src=\"/static/app.js\"" in index.text
        assert index.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP.split("style-src")[0]
        assert index.headers["x-frame-options"] == "DENY"
        assert index.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in index.text  # no inline script
        assert (await s.client.get("/static/app.js")).status_code == 200
        for path in ("/static/..%2fapi.py", "/static/.hidden", "/static/nope.js"):
            response = await s.client.get(path)
            assert response.status_code == 404, path
        schema = (await s.client.get("/api/v1/openapi.json")).json()
        assert "/api/v1/sessions/{name}/limits" in schema["paths"]


async def test_a_cookie_never_authorises_a_cross_site_form_post(tmp_path: Path) -> None:
    # A form post from another site: no CSRF header (a page of another origin cannot read or set it).
    async with served(tmp_path) as s:
        await login(s.client)
        response = await s.client.post("/api/v1/sessions", data={"strategy": "flat"},
                                       headers={"Origin": "http://evil.example"})
        assert response.status_code == 403
        assert s.client.cookies.get(COOKIE)  # the cookie was there, and still not enough


async def test_a_failing_start_does_not_leave_a_session(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        response = await s.client.post("/api/v1/sessions", headers=BEARER, json={
            "strategy": "martingale", "params": {"base_bet": "5"}, "settings": {"max_bets": 1000, "max_ruin": 0.0}})
        assert response.status_code == 400
        assert "max-ruin" in response.json()["error"]
        assert not s.host.sessions


# -- resuming a journal session, and the lease -----------------------------------------------------------------
async def test_resume_an_interrupted_session_and_a_held_one_is_a_409_naming_its_holder(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        first = await s.start({"name": "first", "strategy": "flat",
                               "settings": {**QUICK, "max_bets": 100000, "sim_latency": "2ms"}})
        before = (await next_tick(first))["bets"]
        assert (await s.client.post("/api/v1/sessions/first/stop", headers=BEARER)).status_code == 200
        await first.done.wait()
        assert first.summary is not None
        played = first.summary["bets"]
        assert played >= before
        session_id = first.session_id
        history = (await s.client.get("/api/v1/history", headers=BEARER)).json()["sessions"]
        assert [row["resumable"] for row in history] == [True]  # stopped by a signal: the console offers it
        again = await s.start({"name": "again", "resume": session_id, "settings": {"sim_latency": "2ms"}})
        await again.attached.wait()
        assert again.session_id == session_id
        # The same session once more while this process runs it: refused, nothing started.
        twice = await s.client.post("/api/v1/sessions", json={"name": "twice", "resume": session_id},
                                    headers=BEARER)
        assert twice.status_code == 409
        assert twice.json() == {"error": f"session {session_id} is already run here as again"}
        again.stop()
        await again.done.wait()
        assert again.summary is not None
        # The journal's session, continued: its bets before the stop count, from its first balance.
        assert again.summary["session_id"] == session_id
        assert again.summary["bets"] > played
        assert again.summary["starting_balance"] == first.summary["starting_balance"]
        # Another process holds it (a `betbot run --resume`, or another serve on the same journal).
        with held_elsewhere(s.journal, session_id) as holder:
            held = await s.client.post("/api/v1/sessions", json={"name": "held", "resume": session_id},
                                       headers=BEARER)
        assert held.status_code == 409
        error = held.json()["error"]
        assert error.startswith(f"session {session_id} is being run by process {holder.pid} on host ")
        assert "stop that process first" in error
        assert "held" not in s.host.sessions
        assert "twice" not in s.host.sessions


async def test_a_session_held_elsewhere_at_the_start_is_on_the_console_with_the_reason(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        with Journal.open(s.journal, durable=False) as journal:
            session_id = new_session(journal)
            journal.finish_session(session_id, StopReason(kind=StopKind.SIGNAL, detail="interrupted"), {})
        s.host.state_file.write_text(json.dumps({"sessions": [{
            "spec": SessionSpec(name="old", values={**QUICK, "strategy": "flat"}).to_json(),
            "session_id": session_id, "resume": True}]}))
        with held_elsewhere(s.journal, session_id) as holder:
            await start_sessions(s.host, [])
        listed = (await s.client.get("/api/v1/sessions", headers=BEARER)).json()["sessions"]
    [row] = listed
    assert row["name"] == "old"
    assert row["state"] == "failed"
    assert row["error"].startswith(f"not started: session {session_id} is being run by process {holder.pid}")


async def test_a_session_that_ended_is_not_resumed(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        done = await s.start({"name": "done", "strategy": "flat", "settings": {**QUICK, "max_bets": 3}})
        await done.done.wait()
        response = await s.client.post("/api/v1/sessions", json={"resume": done.session_id}, headers=BEARER)
        assert response.status_code == 400
        assert response.json() == {"error": f"session {done.session_id} has ended (max_bets: placed 3 of 3 bets): "
                                            "there is nothing to resume; start a new session"}
        history = (await s.client.get("/api/v1/history", headers=BEARER)).json()["sessions"]
        assert [row["resumable"] for row in history] == [False]  # the console offers no Resume for it
