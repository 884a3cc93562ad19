"""Who may do what on `betbot serve`: the token, the console's login cookie, CSRF and the login throttle.

Theory of operation. One secret, the token: generated at first start (`secrets.token_urlsafe`, 43 characters)
into a file of mode 0600 in the data directory (or read from `--token-file`, e.g. a Docker secret), never
logged (it is registered with the redactor as a last line of defence). A request is authenticated by either

* `Authorization: Bearer <token>` (scripts, Prometheus): not sent by a browser on its own, so not forgeable
  cross-site; or
* the console's cookie, set by `POST /api/v1/login` with the token: a random session id (not the token),
  HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it). A state-changing request
  with the cookie must also carry `X-CSRF-Token` with the value the login returned (a page of another origin
  cannot read it) and, when the browser sends one, an `Origin` equal to the server's own.

Failed logins are throttled per client address: after `FREE_FAILURES` failures, each further attempt waits
twice as long as the last (up to `MAX_LOCKOUT`), answered 429 with a `Retry-After`. Comparisons of secrets
are constant-time.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from betbot.redact import register_secret

__all__ = ["COOKIE", "CSRF_HEADER", "Auth", "LoginThrottle", "TokenError", "load_or_create_token"]

COOKIE: Final = "betbot_console"
CSRF_HEADER: Final = "X-CSRF-Token"
FREE_FAILURES: Final = 5
MAX_LOCKOUT: Final = 300.0
_MAX_CONSOLE_SESSIONS: Final = 256


class TokenError(ValueError):
    """The token file cannot be used: one line naming it and the fix."""


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """The token in `path` (created, mode 0600, when missing); True when it was created now."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(token + "\n")
        except OSError as exc:
            raise TokenError(f"cannot create the token file {path}: {exc.strerror or exc}; give --token-file a "
                             "path in a writable directory") from None
        register_secret(token)
        return token, True
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(f"cannot read the token file {path}: {exc}; check its permissions") from None
    if len(text) < 16:
        raise TokenError(f"the token in {path} is shorter than 16 characters; put a long random one there "
                         "(or delete the file: a new one is made at the next start)")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not _is_mounted_secret(path):
        raise TokenError(f"the token file {path} can be read by other users (mode {stat.filemode(mode)}); "
                         f"run: chmod 600 {path}")
    register_secret(text)
    return text, False


def _is_mounted_secret(path: Path) -> bool:
    """Docker and Kubernetes mount secrets read-only, often 0444; their directory is the protection."""
    return str(path).startswith(("/run/secrets/", "/var/run/secrets/"))


@dataclass(slots=True)
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_client: dict[str, _Failures] = {}

    def wait(self, client: str) -> float:
        """Seconds before this client may try again (0: now)."""
        found = self._by_client.get(client)
        return 0.0 if found is None else max(0.0, found.locked_until - self._clock())

    def failed(self, client: str) -> None:
        found = self._by_client.setdefault(client, _Failures())
        found.count += 1
        if found.count > FREE_FAILURES:
            found.locked_until = self._clock() + min(MAX_LOCKOUT, 2.0 ** (found.count - FREE_FAILURES))
        if len(self._by_client) > 10_000:  # bounded memory under a spray of addresses
            self._by_client.pop(next(iter(self._by_client)))

    def succeeded(self, client: str) -> None:
        self._by_client.pop(client, None)


class Auth:
    def __init__(self, token: str, *, read_only: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self._token = token
        self.read_only = read_only
        self.throttle = LoginThrottle(clock)
        self._console: dict[str, str] = {}  # console session id -> its CSRF token

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token.encode())

    def bearer_ok(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def login(self) -> tuple[str, str]:
        """A new console session: (cookie value, CSRF token)."""
        if len(self._console) >= _MAX_CONSOLE_SESSIONS:
            self._console.pop(next(iter(self._console)))
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._console[session] = csrf
        return session, csrf

    def logout(self, cookie: str | None) -> None:
        if cookie:
            self._console.pop(cookie, None)

    def csrf_of(self, cookie: str | None) -> str | None:
        """The CSRF token of a valid console cookie, else None."""
        if not cookie:
            return None
        for session, csrf in self._console.items():
            if hmac.compare_digest(session.encode(), cookie.encode()):
                return csrf
        return None
