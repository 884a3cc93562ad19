"""The fake server's log: one line per injected fault, saying what it did and whether the bet ran, and no
ASGI traceback for a deliberately dropped connection (the redacting filter must not hide it from the quiet
one)."""

from __future__ import annotations

import logging

import httpx
import pytest

from betbot.testing.fakeserver import FakeServerConfig, serve_fake

KEY = "fake-log-test-key"
DICE = {"symbol": "DOGE", "amount": "1.00000000", "chance": "49.50", "isHigh": True}


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        ("drop-after-execute", "fault drop-after-execute: /dice/play dropped the connection mid-reply (request 1; "
                               "the bet was executed as bet 1)"),
        ("429", "fault 429: /dice/play answered 429 Too Many Requests (request 1; the bet was not executed)"),
    ],
)
async def test_each_fault_is_one_line_and_no_traceback(caplog: pytest.LogCaptureFixture, fault: str,
                                                       line: str) -> None:
    caplog.set_level(logging.INFO)
    config = FakeServerConfig(api_key=KEY, faults={fault: 1.0})
    async with serve_fake(config) as url, httpx.AsyncClient(base_url=url) as client:
        try:
            await client.post("/api/dice/play", params={"api_key": KEY}, json=DICE)
        except httpx.RemoteProtocolError:
            assert fault == "drop-after-execute"  # the client sees the connection end mid-body
    faults = [r.getMessage() for r in caplog.records if r.name == "betbot.fakeserver"]
    assert faults == [line]
    assert not [r for r in caplog.records if r.name.startswith("uvicorn") and r.levelno >= logging.WARNING]
    assert "Traceback" not in caplog.text
    assert "Exception in ASGI application" not in caplog.text
