"""`betbot serve` itself: the host, the API on uvicorn in the same event loop, signals, the heartbeat.

Theory of operation. The process's one notifier (`--notify`, or `notify` at the config's top) runs around
everything: it checks its URLs first (a bad one is exit 2) and sends what is queued before the process exits;
the sessions report to it (`Host`), and the server itself says so if it exits on an error. One anyio task
group holds the sessions (`Host`), uvicorn's `Server.serve()` (on a socket bound here first, so a busy port is
one line and exit 1), the heartbeat and the signal watcher. uvicorn's own signal capture is switched off: the
first SIGTERM/SIGINT drains every session (each stops admitting and waits for its bets in flight, within its
drain deadline), then the web server stops and the process exits 0; a second one stops every session at once.
Sessions drained this way resume at the next start, as do those a kill -9 left running.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import structlog
import uvicorn

from betbot.config.settings import SettingsError
from betbot.config.units import is_loopback
from betbot.notify import NoticeFilter, Notifier
from betbot.notify.events import error_notice
from betbot.observe.heartbeat import Beat, write_beat
from betbot.serve.api import create_app
from betbot.serve.auth import Auth
from betbot.serve.host import Host
from betbot.serve.lag import LoopLag
from betbot.serve.spec import SessionSpec

__all__ = ["ServeOptions", "serve", "start_sessions"]

_log = structlog.get_logger("betbot.serve")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    host: str
    port: int
    token: str
    token_file: Path
    token_created: bool
    read_only: bool
    shared: dict[str, Any]
    specs: list[SessionSpec]
    state_file: Path
    journal: Path | None
    heartbeat_file: Path | None
    notifier: Notifier  # disabled without a URL
    notify_on: list[str]  # the server's own events (its error); each session has its own


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the host's watcher handles signals (drain first, then stop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
                            "or --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve(options: ServeOptions) -> int:
    notifier = options.notifier
    async with notifier.running():
        try:
            return await _serve(options)
        except Exception as exc:
            if not isinstance(exc, SettingsError):  # bad input is said on the terminal, not sent
                cause: BaseException = exc
                while isinstance(cause, BaseExceptionGroup):
                    cause = cause.exceptions[0]
                NoticeFilter(notifier, options.notify_on).notify(error_notice(f"{type(cause).__name__}: {cause}"))
            raise


async def _serve(options: ServeOptions) -> int:
    sock = bind(options.host, options.port)
    host = Host(shared=options.shared, state_file=options.state_file, notifier=options.notifier)
    auth = Auth(options.token, read_only=options.read_only)
    loopback = is_loopback(options.host)
    lag = LoopLag()
    app = create_app(host, auth, journal_path=options.journal, open_metrics=loopback, lag=lag)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", server_header=False,
                            timeout_graceful_shutdown=5, ws="none")
    server = _Server(config)
    # The web stack's long-lived objects (FastAPI, pydantic, uvicorn), made once, are left out of the cyclic
    # collector's full passes, which then walk mostly the sessions' own objects.
    gc.freeze()
    address = f"http://{options.host if ':' not in options.host else f'[{options.host}]'}:{sock.getsockname()[1]}/"
    _announce(options, address, loopback)
    async with anyio.create_task_group() as tg:
        host.bind(tg)
        await tg.start(_watch_signals, host, server, tg)
        tg.start_soon(lag.run)
        await start_sessions(host, options.specs)
        if options.heartbeat_file is not None:
            tg.start_soon(_heartbeat, host, options.heartbeat_file)
        await server.serve(sockets=[sock])
        tg.cancel_scope.cancel()
    return 0


def _announce(options: ServeOptions, address: str, loopback: bool) -> None:
    out = sys.stderr
    out.write(f"betbot serve: console and API on {address} (API under /api/v1)\n")
    if options.token_created:
        out.write(f"betbot serve: a new token was written to {options.token_file} (mode 0600); log in with it\n")
    else:
        out.write(f"betbot serve: the token is in {options.token_file}\n")
    if not loopback:
        out.write(f"betbot serve: listening on {options.host}, not loopback: every request needs the token, "
                  "and it travels in clear text unless a TLS proxy is in front\n")
    if options.read_only:
        out.write("betbot serve: read-only: no controls\n")
    out.flush()


async def start_sessions(host: Host, specs: list[SessionSpec]) -> None:
    """The sessions the last process left running (resumed), then the config's autostart ones."""
    started = set()
    for spec, session_id in host.to_resume():
        await _start_one(host, spec, session_id)
        started.add(spec.name)
    for spec in specs:
        if spec.autostart and spec.name not in started:
            await _start_one(host, spec, None)


async def _start_one(host: Host, spec: SessionSpec, session_id: int | None) -> None:
    try:
        await host.start(spec, resume_id=session_id)
    except Exception as exc:  # noqa: BLE001 - one session's bad settings never stop the server
        _log.error("serve.session_not_started", session=spec.name, error=str(exc))
        sys.stderr.write(f"betbot serve: session {spec.name} not started: {exc}\n")
        host.refused(spec, f"not started: {exc}")  # the console shows why (a lease held elsewhere, a bad setting)


async def _watch_signals(host: Host, server: _Server, tg: anyio.abc.TaskGroup, *,
                         task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        task_status.started()
        count = 0
        async for signum in received:
            count += 1
            name = signal.Signals(signum).name
            if count == 1:
                _log.warning("serve.draining", why=name, sessions=sum(h.running for h in host.sessions.values()),
                             hint="send the signal again to stop every session at once")
                tg.start_soon(_drain_then_exit, host, server)
            else:
                host.stop_all_now()


async def _drain_then_exit(host: Host, server: _Server) -> None:
    await host.drain()
    server.should_exit = True


async def _heartbeat(host: Host, path: Path, interval: float = 5.0) -> None:
    """One heartbeat for the whole server (`betbot health`): betting while any session has bets in flight."""
    last_bets, last_progress = -1, time.time()
    while True:
        bets = in_flight = 0
        for hosted in host.sessions.values():
            view = hosted.watch.look()
            if view is not None:
                bets += view.snapshot.bets
                in_flight += view.snapshot.in_flight
        now = time.time()
        if bets != last_bets:
            last_bets, last_progress = bets, now
        running = sum(hosted.running for hosted in host.sessions.values())
        state = "betting" if in_flight else "idle"
        try:
            write_beat(path, Beat(pid=os.getpid(), time=now, state=state, bets=bets, in_flight=in_flight,
                                  last_progress=last_progress, stop_reason=f"serving {running} session(s)"))
        except OSError as exc:
            _log.warning("heartbeat.unwritable", path=str(path), error=exc.strerror or str(exc))
        await anyio.sleep(interval)
