"""`betbot serve`: many sessions in one event loop, the web console and its HTTP API.

Theory of operation. One process, one anyio event loop, one task group (`host.Host`): each hosted session is
`betbot.lifecycle.run_session` (the same session machine and engine as `betbot run`) in a task of its own,
run with a `Hosting` (no signal handling of its own, the account's shared back-off and rate budget, a
watcher). A session that fails ends with its reason; the others go on. The web layer (`api`, on uvicorn's
`Server.serve()` in the same loop) reads the sessions through their watchers (`watch.SessionWatch`: snapshots
on a timer, the machine's events) and the journal, and writes only through the engine's controls (stop, stop
now, pause, resume, tighten). Nothing here decides about a bet.

Modules: `spec` (a session's settings from the config's `[[sessions]]` or an API request), `host` (the
sessions, their accounts, the restart state), `watch` (what a session's page shows, fanned out over SSE),
`auth` (the token, the login cookie, CSRF, failed-login throttle), `api` (the FastAPI app: `/api/v1`, the
console's static files, `/metrics`), `server` (uvicorn in the loop, SIGTERM drains every session), `static/`
(the console: plain JS and SVG, no build step).
"""
