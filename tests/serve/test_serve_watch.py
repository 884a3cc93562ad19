"""A hosted session's page feed: nothing per bet but an append, one serialisation per tick for every
subscriber, a slow reader that skips to the newest state and slows nothing, and the last frame's figures
equal to the journal's summary."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from betbot.core.models import RefusalKind, Refused
from betbot.serve.watch import LAST_BETS, SessionWatch, Subscriber, sse_frame
from tests.helpers import dice, settled
from tests.serve_support import BEARER, QUICK, parsed, served

FAST = {**QUICK, "sim_latency": "0ms"}  # as fast as the simulator goes: many bets to each tick


async def taken(subscriber: Subscriber) -> list[bytes]:
    """Every frame the subscriber holds now, until its stream ends."""
    with anyio.fail_after(10):
        return [frame async for frame in subscriber.frames()]


async def test_a_slow_reader_gets_the_newest_frame_and_holds_no_more() -> None:
    watch = SessionWatch()
    async with watch.subscribe() as slow, watch.subscribe() as prompt:
        watch.publish("tick", {"bets": 1})
        assert parsed(await anext(prompt.frames()))[1] == {"bets": 1}
        watch.publish("tick", {"bets": 2})
        watch.publish("tick", {"bets": 3})
        watch.publish("end", {"bets": 4})
        watch.close_subscribers()
        # The slow one never read: it holds the newest frame only; the others were replaced, not queued.
        assert [parsed(frame) for frame in await taken(slow)] == [("end", {"bets": 4})]
        assert [parsed(frame) for frame in await taken(prompt)] == [("end", {"bets": 4})]
    assert watch.ticks == 4
    assert watch.skipped == 3 + 2  # the slow reader skipped three frames, the prompt one two
    assert watch.subscribers == 0


async def test_a_tick_is_serialised_once_for_every_subscriber(monkeypatch: pytest.MonkeyPatch) -> None:
    dumps = 0
    real = sse_frame

    def counting(kind: str, state: dict[str, object]) -> bytes:
        nonlocal dumps
        dumps += 1
        return real(kind, state)

    monkeypatch.setattr("betbot.serve.watch.sse_frame", counting)
    watch = SessionWatch()
    async with watch.subscribe() as a, watch.subscribe() as b, watch.subscribe() as c:
        watch.publish("tick", {"chart": [[1, "1.00000000"]] * 600})
        frames = [await anext(subscriber.frames()) for subscriber in (a, b, c)]
    assert dumps == 1
    assert frames[0] is frames[1] is frames[2]  # the same bytes, not three copies


async def test_nobody_subscribed_nothing_is_serialised(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(kind: str, state: dict[str, object]) -> bytes:
        raise AssertionError("serialised for nobody")

    monkeypatch.setattr("betbot.serve.watch.sse_frame", refuse)
    SessionWatch().publish("tick", {"bets": 1})


def test_a_bet_costs_the_watch_an_append_and_the_last_bets_are_the_settled_ones() -> None:
    watch = SessionWatch()
    bet = dice("0.00000100")
    for seq in range(1, 10_001):
        watch.released(settled(seq, bet, win=seq % 2 == 0), float(seq))
    watch.released(Refused(seq=10_001, bet=bet, kind=RefusalKind.BALANCE, message="too poor"), 10_001.0)
    assert watch.ticks == 0  # no frame per bet: frames are the ticks' alone
    assert len(watch._recent) <= LAST_BETS + 8  # bounded, however many bets
    shown = watch.recent()
    assert [row["seq"] for row in shown] == list(range(10_000, 10_000 - LAST_BETS, -1))  # newest first
    assert shown[0]["win"] is True
    assert shown[0]["amount"] == "0.00000100"


async def test_ticks_are_coalesced_whatever_the_rate_of_bets(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        began = anyio.current_time()
        hosted = await s.start({"name": "fast", "strategy": "flat", "settings": {**FAST, "max_bets": 20_000}})
        async with hosted.watch.subscribe() as subscriber:
            frames = await taken(subscriber)
        await hosted.done.wait()
        lasted = anyio.current_time() - began
        assert hosted.summary is not None
        assert hosted.summary["bets"] == 20_000
        kinds = [parsed(frame)[0] for frame in frames]
        assert kinds[-1] == "end"
        # Frames follow the clock, not the bets: one per interval while the session lasted, and the end.
        assert hosted.watch.ticks <= 2 + lasted / hosted.watch.interval
        assert hosted.watch.ticks < hosted.summary["bets"] / 100
        assert len(frames) <= hosted.watch.ticks


async def test_a_reader_that_never_reads_slows_nothing_and_gets_the_final_figures(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "watched", "strategy": "flat",
                                "settings": {**FAST, "max_bets": 5000, "sim_latency": "1ms"}})
        async with hosted.watch.subscribe() as idle:
            with anyio.fail_after(60):
                await hosted.done.wait()  # the session ran to its end with a reader that took nothing
            frames = await taken(idle)
        assert len(frames) == 1  # the newest only: the end, every tick before it replaced
        kind, last = parsed(frames[0])
        assert kind == "end"
        assert hosted.watch.skipped >= hosted.watch.ticks - 1
        record = (await s.client.get(f"/api/v1/history/{hosted.session_id}", headers=BEARER)).json()
        summary = record["summary"]
        assert last["state"] == "ended"
        assert last["bets"] == summary["bets"] == 5000
        for field in ("profit", "balance", "wagered"):
            assert last[field] == summary[field]
            assert Decimal(last[field]) == Decimal(summary[field])
        assert last["summary"] == summary  # the page's final figures are the journal's


async def test_the_event_stream_ends_with_the_journals_figures(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        hosted = await s.start({"name": "e", "strategy": "flat", "settings": {**FAST, "max_bets": 3000}})
        await hosted.attached.wait()
        response = await s.client.get("/api/v1/sessions/e/events", headers=BEARER)  # read to the end
        frames = [frame + "\n\n" for frame in response.text.split("\n\n") if frame]
        kind, last = parsed(frames[-1].encode())
        assert kind == "end"
        assert [parsed(frame.encode())[0] for frame in frames[:-1]] == ["tick"] * (len(frames) - 1)
        record = (await s.client.get(f"/api/v1/history/{hosted.session_id}", headers=BEARER)).json()
        assert last["summary"] == record["summary"]
        assert last["bets"] == 3000
