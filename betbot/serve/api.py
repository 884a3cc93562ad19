"""The HTTP side of `betbot serve`: the API under `/api/v1`, the console's files, `/metrics`, `/healthz`.

Theory of operation. One FastAPI app (its OpenAPI schema at `/api/v1/openapi.json`; pydantic validates every
body, with size limits) over a `Host` and an `Auth`. Everything under `/api/v1` but the login needs the
token (`auth`); every state-changing route also passes the CSRF check, and answers 403 on a `--read-only`
server. Errors are one JSON object, `{"error": "..."}`, with a 4xx status: bad input, an unknown session, a
control that does not fit the session's state. Nothing answers with a traceback; a bug is a 500 with
`{"error": "internal error"}` and the details in the log (redacted). Money is 8-place decimal text.

The security headers (a strict Content-Security-Policy without inline script, no framing, no sniffing, no
referrer) and the request-size limit are one ASGI middleware each, outside the app.
"""

from __future__ import annotations

import hmac
import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import anyio
import structlog
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from betbot.config.build import build_limits
from betbot.config.settings import Settings, SettingsError, load_settings
from betbot.core.session import LIMIT_NAMES, Limits
from betbot.redact import redact
from betbot.serve.auth import COOKIE, CSRF_HEADER, Auth
from betbot.serve.host import Host, HostedSession, SessionBusy, UnknownHostedSession
from betbot.serve.lag import LoopLag
from betbot.serve.spec import API_FORBIDDEN, NAME_PATTERN, SessionSpec
from betbot.serve.watch import sse_frame

__all__ = ["MAX_BODY", "ApiError", "create_app"]

_log = structlog.get_logger("betbot.serve.api")

MAX_BODY: Final = 16 * 1024  # bytes: a start request with its parameters is well under 2 KB
STATIC: Final = Path(__file__).parent / "static"
CSP: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
              "frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The report page is the journal report's own self-contained HTML (inline style, no script), shown in a frame.
REPORT_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
_SETTABLE: Final = frozenset(Settings.model_fields) - API_FORBIDDEN - {"strategy", "params"}

Scalar = str | int | float | bool


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


# -- request bodies ------------------------------------------------------------------------------------------
class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)


class StartRequest(BaseModel):
    """A session to start: a built-in strategy (`strategy` + `params`), a shipped preset, or a shipped Lua
    script; `settings` holds the rest (currency, live, limits, concurrency, the simulator's; `repeat` and the
    campaign limits; `notify_on` and the notification thresholds), as in TOML. Or `resume`: an interrupted
    session of the journal, with its own strategy, parameters and limits (`settings` may only tighten them);
    one that another process runs is refused (409, naming it)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    strategy: str | None = Field(default=None, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$")
    preset: str | None = Field(default=None, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    lua: str | None = Field(default=None, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    params: dict[str, Scalar | list[Scalar] | None] = Field(default_factory=dict, max_length=60)
    settings: dict[str, Scalar | None] = Field(default_factory=dict, max_length=80)
    resume: int | None = Field(default=None, ge=1)


class TightenRequest(BaseModel):
    """Limits to tighten (a limit may only get tighter: a looser one is kept at the session's, and said so).
    Amounts as decimal text or a percentage of the starting balance; durations with a unit."""

    model_config = ConfigDict(extra="forbid")
    max_bets: int | None = Field(default=None, ge=1)
    max_duration: str | None = Field(default=None, max_length=20)
    stop_loss: str | None = Field(default=None, max_length=40)
    take_profit: str | None = Field(default=None, max_length=40)
    trailing_stop: str | None = Field(default=None, max_length=40)
    max_losses: int | None = Field(default=None, ge=1)
    max_wins: int | None = Field(default=None, ge=1)
    max_bet: str | None = Field(default=None, max_length=40)
    min_balance: str | None = Field(default=None, max_length=40)


def spec_of(request: StartRequest, host: Host) -> SessionSpec:
    """The request as a session spec; bad input is an ApiError(400) naming the field."""
    chosen = [what for what in ("strategy", "preset", "lua") if getattr(request, what) is not None]
    if len(chosen) > 1:
        raise ApiError(400, f"give one of strategy, preset or lua, not {' and '.join(chosen)}")
    if request.resume is not None and (chosen or request.params):
        raise ApiError(400, f"resume continues session {request.resume} with its own strategy and parameters: "
                            f"drop {(chosen or ['params'])[0]}")
    unknown = sorted(set(request.settings) - _SETTABLE)
    if unknown:
        name = unknown[0]
        why = "is the server's setting" if name in API_FORBIDDEN else "is not a setting"
        raise ApiError(400, f"settings.{name} {why}; see GET /api/v1/strategies for what a session takes")
    values: dict[str, Any] = {key: value for key, value in request.settings.items() if value is not None}
    if request.strategy is not None:
        values["strategy"] = request.strategy
    if request.params:
        values["params"] = {key: value for key, value in request.params.items() if value is not None}
    stem = request.strategy or request.preset or request.lua or (
        "session" if request.resume is None else f"session-{request.resume}")
    name = request.name or host.new_name(stem.rsplit(".", 1)[0])
    return SessionSpec(name=name, values=values, preset=request.preset, lua=request.lua)


def _api_text(exc: SettingsError) -> str:
    """A settings error as the API says it: the field, not the command-line flag it would be."""
    return redact(re.sub(r" \((?:flag|default) [^)]*\)", "", str(exc)))


def limits_of(request: TightenRequest, hosted: HostedSession) -> Limits:
    given = {name: value for name, value in request.model_dump().items() if value is not None}
    if not given:
        raise ApiError(400, f"give at least one limit to tighten: {', '.join(LIMIT_NAMES)}")
    try:
        parsed = load_settings(given)
    except SettingsError as exc:
        raise ApiError(400, _api_text(exc)) from None
    engine = hosted.run.engine if hosted.run is not None else None
    starting = engine.session.starting_balance if engine is not None else Decimal(0)
    built = build_limits(parsed, starting)
    return Limits(**{name: getattr(built, name) for name in given})


# -- the app -------------------------------------------------------------------------------------------------
def create_app(host: Host, auth: Auth, *, journal_path: Path | None, open_metrics: bool,
               lag: LoopLag | None = None) -> ASGIApp:
    app = FastAPI(title="betbot serve", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/api/v1/openapi.json")
    _errors(app)

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def reader(request: Request) -> None:
        """Any API read: the bearer token or a console cookie."""
        if auth.bearer_ok(request.headers.get("authorization")):
            return
        if auth.csrf_of(request.cookies.get(COOKIE)) is not None:
            return
        raise ApiError(401, "log in first: POST /api/v1/login with the token, or send Authorization: Bearer TOKEN")

    async def writer(request: Request) -> None:
        """A state-changing request: authenticated, CSRF-proof, and not on a read-only server."""
        if not auth.bearer_ok(request.headers.get("authorization")):
            csrf = auth.csrf_of(request.cookies.get(COOKIE))
            if csrf is None:
                raise ApiError(401, "log in first: POST /api/v1/login with the token, or send "
                                    "Authorization: Bearer TOKEN")
            given = request.headers.get(CSRF_HEADER, "")
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
                raise ApiError(403, "cross-origin request refused")
            if not hmac.compare_digest(given.encode(), csrf.encode()):
                raise ApiError(403, f"missing or wrong {CSRF_HEADER} header (the console sends the one the login "
                                    "returned)")
        if auth.read_only:
            raise ApiError(403, "this server is read-only (started with --read-only): no controls")

    Read = Depends(reader)
    Write = Depends(writer)

    def hosted_or_404(name: str) -> HostedSession:
        try:
            return host.get(name)
        except UnknownHostedSession as exc:
            raise ApiError(404, str(exc)) from None

    # -- login ---------------------------------------------------------------------------------------------
    @app.post("/api/v1/login", tags=["auth"])
    async def login(body: LoginRequest, request: Request) -> JSONResponse:
        """Exchange the token for the console's cookie (HttpOnly, SameSite=Strict) and a CSRF token."""
        client = client_of(request)
        wait = auth.throttle.wait(client)
        if wait > 0:
            raise ApiError(429, f"too many failed logins; try again in {wait:.0f} s",
                           headers={"Retry-After": str(int(wait) + 1)})
        if not auth.token_matches(body.token):
            auth.throttle.failed(client)
            _log.warning("serve.login_failed", client=client)
            raise ApiError(401, "wrong token (it is in the token file in the data directory)")
        auth.throttle.succeeded(client)
        session, csrf = auth.login()
        response = JSONResponse({"csrf": csrf, "read_only": auth.read_only})
        response.set_cookie(COOKIE, session, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/api/v1/logout", tags=["auth"])
    async def logout(request: Request) -> JSONResponse:
        auth.logout(request.cookies.get(COOKIE))
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/api/v1/me", tags=["auth"], dependencies=[Read])
    async def me(request: Request) -> dict[str, Any]:
        """Whether this client is logged in, its CSRF token (console), and whether the server is read-only."""
        return {"csrf": auth.csrf_of(request.cookies.get(COOKIE)), "read_only": auth.read_only}

    # -- sessions ------------------------------------------------------------------------------------------
    @app.get("/api/v1/sessions", tags=["sessions"], dependencies=[Read])
    async def list_sessions() -> dict[str, Any]:
        """Every hosted session: state, strategy, currency, balance, profit, bets/s, in flight, back-off,
        the limit closest to binding, the stop reason."""
        return {"sessions": [hosted.describe() for hosted in host.sessions.values()]}

    @app.get("/api/v1/sessions/{name}", tags=["sessions"], dependencies=[Read])
    async def session_detail(name: str) -> dict[str, Any]:
        return hosted_or_404(name).describe(detail=True)

    @app.post("/api/v1/sessions", tags=["sessions"], status_code=201, dependencies=[Write])
    async def start_session(body: StartRequest) -> dict[str, Any]:
        """Start a session (simulated unless settings.live is true; a live one uses the server's key)."""
        spec = spec_of(body, host)
        try:
            hosted = await host.start(spec, resume_id=body.resume)
        except SettingsError as exc:
            raise ApiError(400, _api_text(exc)) from None
        except SessionBusy as exc:
            raise ApiError(409, str(exc)) from None
        return hosted.describe()

    @app.post("/api/v1/preview", tags=["sessions"], dependencies=[Write])
    async def preview(body: StartRequest) -> dict[str, Any]:
        """The risk preview of a session before starting it (a quick Monte Carlo of its configuration)."""
        spec = spec_of(body, host)
        try:
            settings = host.settings_for(spec)
            from betbot.montecarlo.preview import run_preview  # noqa: PLC0415 - NumPy, when asked

            found = await anyio.to_thread.run_sync(run_preview, settings, settings.balance)
        except SettingsError as exc:
            raise ApiError(400, _api_text(exc)) from None
        except Exception as exc:  # noqa: BLE001 - the strategy failing in the preview is the request's fault
            raise ApiError(400, f"the risk preview failed: {redact(str(exc))}") from None
        shown: dict[str, Any] = json.loads(json.dumps(found, default=str))
        return shown

    def control(action: Callable[[HostedSession], object]) -> Callable[[str], Awaitable[dict[str, Any]]]:
        async def route(name: str) -> dict[str, Any]:
            hosted = hosted_or_404(name)
            try:
                action(hosted)
            except SessionBusy as exc:
                raise ApiError(409, str(exc)) from None
            return hosted.describe()
        return route

    app.post("/api/v1/sessions/{name}/stop", tags=["controls"], dependencies=[Write],
             summary="Stop admitting bets and drain the bets in flight")(control(HostedSession.stop))
    app.post("/api/v1/sessions/{name}/stop-now", tags=["controls"], dependencies=[Write],
             summary="Stop at once: bets in flight are left unknown, reconciled at the next start")(
        control(HostedSession.stop_now))
    app.post("/api/v1/sessions/{name}/pause", tags=["controls"], dependencies=[Write],
             summary="Pause admission (bets in flight resolve)")(control(HostedSession.pause))
    app.post("/api/v1/sessions/{name}/resume", tags=["controls"], dependencies=[Write],
             summary="Resume admission")(control(HostedSession.resume))

    @app.post("/api/v1/sessions/{name}/limits", tags=["controls"], dependencies=[Write])
    async def tighten(name: str, body: TightenRequest) -> dict[str, Any]:
        """Tighten limits; a limit is never loosened (the same rule as `betbot run --resume`)."""
        hosted = hosted_or_404(name)
        limits = limits_of(body, hosted)
        try:
            notes = hosted.tighten(limits)
        except SessionBusy as exc:
            raise ApiError(409, str(exc)) from None
        return {"notes": notes, "session": hosted.describe(detail=True)}

    @app.get("/api/v1/sessions/{name}/events", tags=["sessions"], dependencies=[Read])
    async def events(name: str) -> StreamingResponse:
        """Server-sent events: `tick` with the whole session state every half second, `end` at the end."""
        hosted = hosted_or_404(name)
        return StreamingResponse(_event_stream(hosted), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # -- strategies ----------------------------------------------------------------------------------------
    @app.get("/api/v1/strategies", tags=["strategies"], dependencies=[Read])
    async def strategies() -> dict[str, Any]:
        """The built-ins with their parameters' JSON schema (the console's start form), the shipped presets
        and Lua scripts, and the settings a session takes."""
        return await anyio.to_thread.run_sync(_strategies)

    # -- history -------------------------------------------------------------------------------------------
    @app.get("/api/v1/history", tags=["history"], dependencies=[Read])
    async def history() -> dict[str, Any]:
        """The journal's sessions, newest first."""
        return {"sessions": await anyio.to_thread.run_sync(_history, journal_path)}

    @app.get("/api/v1/history/{session_id}", tags=["history"], dependencies=[Read])
    async def history_detail(session_id: int) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(_history_one, journal_path, session_id)

    @app.get("/api/v1/history/{session_id}/report", tags=["history"], dependencies=[Read],
             response_class=HTMLResponse)
    async def history_report(session_id: int) -> HTMLResponse:
        """The journal report's page for the session (its statistics and charts)."""
        page = await anyio.to_thread.run_sync(_report_page, journal_path, session_id)
        return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_CSP})

    @app.get("/api/v1/history/{session_id}/export", tags=["history"], dependencies=[Read])
    async def history_export(session_id: int, fmt: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "csv",
                             ) -> Response:
        """Every bet of the session, as CSV or JSON Lines (money as exact decimal text)."""
        text = await anyio.to_thread.run_sync(_export, journal_path, session_id, fmt)
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        return Response(text, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="betbot-session-{session_id}.{fmt}"'})

    # -- the rest ------------------------------------------------------------------------------------------
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "sessions": len(host.sessions)}

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> PlainTextResponse:
        if not open_metrics and not auth.bearer_ok(request.headers.get("authorization")):
            raise ApiError(401, "send Authorization: Bearer TOKEN (the server is not on loopback)")
        from betbot.serve.metrics import exposition  # noqa: PLC0415

        return PlainTextResponse(exposition(host, lag), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/static/{path}", include_in_schema=False)
    async def static(path: str) -> FileResponse:
        found = STATIC / path
        if "/" in path or path.startswith(".") or not found.is_file():
            raise ApiError(404, "no such file")
        return FileResponse(found)

    return SecurityHeaders(BodyLimit(app, MAX_BODY))


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        return JSONResponse({"error": f"{where}: {message}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def bug(_request: Request, exc: Exception) -> JSONResponse:
        _log.error("serve.api_bug", error=redact(f"{type(exc).__name__}: {exc}"))
        return JSONResponse({"error": "internal error (see the server's log)"}, status_code=500)


async def _event_stream(hosted: HostedSession) -> AsyncIterator[bytes]:
    """The page's first frame (the state now), then the watcher's frames: one serialisation per tick, shared
    by every subscriber; a slow reader gets the newest (`Subscriber`)."""
    if not hosted.running:
        yield sse_frame("end", hosted.describe(detail=True))
        return
    async with hosted.watch.subscribe() as subscriber:
        yield sse_frame("tick", hosted.describe(detail=True))
        async for frame in subscriber.frames():
            yield frame


# -- the journal, read in a worker thread ----------------------------------------------------------------------
def _open_journal(path: Path | None) -> Any:
    from betbot.journal import Journal, JournalError, default_journal_path  # noqa: PLC0415

    path = path or default_journal_path()
    if not path.exists():
        return None
    try:
        return Journal.open(path, durable=False, readonly=True)
    except JournalError as exc:
        raise ApiError(400, str(exc)) from None


def _history(path: Path | None) -> list[dict[str, Any]]:
    journal = _open_journal(path)
    if journal is None:
        return []
    with journal:
        return [_record_json(record) for record in reversed(journal.sessions())]


def _record_json(record: Any, *, summary: bool = False) -> dict[str, Any]:
    from betbot.journal.resume import resumable  # noqa: PLC0415

    found = {"id": record.id, "started_at": record.started_at.isoformat(),
             "ended_at": None if record.ended_at is None else record.ended_at.isoformat(),
             "strategy": record.strategy, "backend": record.backend, "currency": record.currency,
             "starting_balance": f"{record.starting_balance:.8f}", "stop_reason": record.stop_reason,
             "unresolved": record.unresolved,
             "bets": (record.summary or {}).get("bets"), "profit": (record.summary or {}).get("profit"),
             "balance": (record.summary or {}).get("balance"), "resumable": resumable(record)}
    if summary:
        found["summary"] = record.summary
        found["limits"] = record.limits
        found["params"] = record.params
    return found


def _history_one(path: Path | None, session_id: int) -> dict[str, Any]:
    from betbot.journal import UnknownSession  # noqa: PLC0415

    journal = _open_journal(path)
    if journal is None:
        raise ApiError(404, "the journal is empty")
    with journal:
        try:
            return _record_json(journal.session(session_id), summary=True)
        except UnknownSession as exc:
            raise ApiError(404, str(exc)) from None


def _report_page(path: Path | None, session_id: int) -> str:
    from betbot.journal import UnknownSession  # noqa: PLC0415
    from betbot.observe.report import build_report, render_html  # noqa: PLC0415

    journal = _open_journal(path)
    if journal is None:
        raise ApiError(404, "the journal is empty")
    with journal:
        try:
            return render_html(build_report(journal, session_id))
        except UnknownSession as exc:
            raise ApiError(404, str(exc)) from None


def _export(path: Path | None, session_id: int, fmt: Literal["csv", "jsonl"]) -> str:
    from betbot.journal import UnknownSession  # noqa: PLC0415
    from betbot.journal.export import export_session  # noqa: PLC0415

    journal = _open_journal(path)
    if journal is None:
        raise ApiError(404, "the journal is empty")
    out = io.StringIO()
    with journal:
        try:
            export_session(journal, session_id, out, fmt)
        except UnknownSession as exc:
            raise ApiError(404, str(exc)) from None
    return out.getvalue()


def _strategies() -> dict[str, Any]:
    from betbot.strategies.registry import available_strategies, load_strategy  # noqa: PLC0415
    from betbot.strategies.shipped import shipped_files  # noqa: PLC0415

    builtins = []
    for name in available_strategies():
        if name == "lua":
            continue
        try:
            cls = load_strategy(name)
        except Exception:  # noqa: BLE001,S112 - a broken plug-in is left out of the form, not the server
            continue
        builtins.append({"name": name, "summary": getattr(cls, "summary", ""),
                         "params": cls.Params.model_json_schema()})
    files = shipped_files()
    return {
        "builtins": builtins,
        "presets": [{"name": f.path.name, "summary": f.summary} for f in files if f.path.suffix == ".toml"],
        "lua": [{"name": f.path.name, "summary": f.summary} for f in files if f.path.suffix == ".lua"],
        "settings": sorted(_SETTABLE),
    }


# -- middleware ------------------------------------------------------------------------------------------------
class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, whether it says its length or streams it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send, self.limit)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"request body over {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """The strict CSP (unless the route set its own), no framing, no sniffing, no referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {key.lower() for key, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                            (b"cross-origin-opener-policy", b"same-origin")]
                if b"x-frame-options" not in names and b"frame-ancestors 'self'" not in b"".join(
                        value for key, value in headers if key.lower() == b"content-security-policy"):
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
