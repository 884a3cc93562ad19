"""Helpers for the `betbot serve` tests: a host and its API in the test's event loop, an ASGI client."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from betbot.notify import Notifier
from betbot.serve.api import create_app
from betbot.serve.auth import Auth
from betbot.serve.host import Host, HostedSession

TOKEN = "test-token-0123456789abcdefghij"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
MONEY = re.compile(r"^-?\d+\.\d{8}$")
QUICK = {"preview": False, "sim_latency": "1ms", "seed": "serve-test"}  # no preview: tests stay fast


@dataclass
class Served:
    client: httpx.AsyncClient
    host: Host
    auth: Auth
    journal: Path

    async def start(self, body: dict[str, Any]) -> HostedSession:
        response = await self.client.post("/api/v1/sessions", json=body, headers=BEARER)
        assert response.status_code == 201, response.text
        return self.host.get(response.json()["name"])


@asynccontextmanager
async def served(tmp_path: Path, *, read_only: bool = False, shared: dict[str, Any] | None = None,
                 open_metrics: bool = True, notifier: Notifier | None = None) -> AsyncIterator[Served]:
    journal = tmp_path / "journal.sqlite3"
    host = Host(shared={"journal": str(journal), **(shared or {})}, state_file=tmp_path / "serve-state.json",
                notifier=notifier)
    auth = Auth(TOKEN, read_only=read_only)
    app = create_app(host, auth, journal_path=journal, open_metrics=open_metrics)
    async with anyio.create_task_group() as tg:
        host.bind(tg)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
            try:
                yield Served(client=client, host=host, auth=auth, journal=journal)
            finally:
                host.stop_all_now()
                for hosted in list(host.sessions.values()):
                    with anyio.fail_after(30):
                        await hosted.done.wait()
        tg.cancel_scope.cancel()


def parsed(frame: bytes) -> tuple[str, dict[str, Any]]:
    """A server-sent event's type and its data."""
    head, data = frame.decode().split("\n", 1)
    state: dict[str, Any] = json.loads(data.removeprefix("data: "))
    return head.removeprefix("event: "), state


async def next_tick(hosted: HostedSession, kind: str = "tick") -> dict[str, Any]:
    """The session's next published frame of this kind (the watcher's own timer drives it), as its data."""
    with anyio.fail_after(20):
        async with hosted.watch.subscribe() as subscriber:
            async for frame in subscriber.frames():
                found_kind, state = parsed(frame)
                if found_kind == kind:
                    return state
    raise AssertionError("the stream ended")
