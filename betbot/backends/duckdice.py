"""The live backend: DuckDice's Bot API over one shared httpx.AsyncClient.

Theory of operation. `place()` sends one request and classifies what came back; it never retries and
never raises for the bet's own fate (the engine owns retries, after the shared back-off). The three
outcomes follow what the bet's request could have done on the site (DESIGN.md, "Failures"):

  reply / failure                                          outcome
  ─────────────────────────────────────────────────────    ─────────────────────────────────────────
  2xx with a bet that parses and matches the request       Settled
  429 (any body)                                           Refused RATE_LIMIT, retry_after from Retry-After
  HTML page (<!DOCTYPE / <html), status < 500, or any      Refused CHALLENGE  (Cloudflare: never reached
    status with `cf-mitigated: challenge`                                      the game server)
  non-2xx JSON {"error": ...}                              Refused: MIN_BET / BALANCE by the message,
                                                            else AUTH for 401/403, else BAD_REQUEST
  other 4xx (plain text, empty)                            Refused AUTH (401/403) or BAD_REQUEST
  connect error, connect timeout, pool timeout             Refused CONNECT  (nothing was sent)
  read/write timeout, connection lost, protocol error      Unknown  (the bet may have run)
  5xx without a JSON `{"error": ...}` (HTML or text)       Unknown  (e.g. Cloudflare 524: the origin
                                                                     got the bet and did not answer)
  2xx whose body does not parse, or is for another bet     Unknown
  3xx, anything else                                       Unknown

The key travels only as the query parameter `api_key`, so every request URL is a secret: no httpx
exception escapes this module, every message goes through `betbot.redact`, and the key value itself is
registered with the redactor. Calls other than `place()` (balances, stats, seed rotation) raise
`DuckDiceError` with a redacted message; they retry connect errors, rate limits and challenges a few
times themselves (and, for idempotent GETs, timeouts and 5xx too).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Final, Self, TypeVar

import anyio
import httpx
from pydantic import SecretStr, ValidationError

from betbot import __version__
from betbot.backends.api_models import (
    BetResponse,
    CurrentSeeds,
    ErrorBody,
    Offer,
    StatsResponse,
    UserInfo,
    describe_validation_error,
    parse_current_seeds,
    parse_seed_rotation,
)
from betbot.backends.base import SeedRotation, SiteStats
from betbot.backends.errors import DuckDiceError
from betbot.backends.minbets import parse_min_bet
from betbot.backends.transport import SHARD_SIZE, ShardedTransport, pooled_transport
from betbot.core.fairness import SeedPair
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, Settled, Unknown
from betbot.core.money import SATOSHI
from betbot.redact import install_logging_filters, redact, register_secret

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_REPLY_BYTES",
    "SHARD_SIZE",
    "DuckDiceBackend",
    "DuckDiceError",
    "ShardedTransport",
    "Timeouts",
    "classify_error",
    "is_html",
    "parse_retry_after",
]

DEFAULT_BASE_URL: Final = "https://duckdice.io/api"
MAX_REPLY_BYTES: Final = 1 << 20  # a bet reply is about 1 KB; anything near this is not one
_RETRY_AFTER_CAP: Final = 300.0  # seconds; a larger Retry-After is a server's mistake, not a plan
_SNIPPET: Final = 160

_M = TypeVar("_M", UserInfo, StatsResponse)

_httpx_log: Final = logging.getLogger("httpx")

# Nothing left the machine: safe to send the same bet again.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request could not even be built or routed (a bad base_url): nothing was sent either.
_NOT_SENDABLE: Final = (httpx.UnsupportedProtocol, httpx.InvalidURL)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Every phase bounded. `read` is how long a bet may take to answer before its outcome is unknown."""

    connect: float = 5.0
    read: float = 15.0
    write: float = 10.0
    pool: float = 5.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool


def _now() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: Callable[[], datetime] = _now) -> float | None:
    """Seconds from a Retry-After header: delta-seconds ("120", also "1.5") or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT by definition
            when = when.replace(tzinfo=UTC)
        seconds = (when - now()).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _RETRY_AFTER_CAP)


def is_html(body: bytes) -> bool:
    """Whether a body is an HTML page (a Cloudflare challenge or error page), not the API's JSON."""
    head = body[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype", b"<html"))


def _snippet(body: bytes) -> str:
    text = body[:_SNIPPET].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return redact(text + ("…" if len(body) > _SNIPPET else ""))


def _describe(exc: BaseException) -> str:
    """An exception as text that is safe to show: its type and its redacted message, never a URL's key."""
    message = str(exc).strip()
    return redact(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _parse_error(body: bytes) -> ErrorBody | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or ("error" not in data and "message" not in data):
        return None
    try:
        return ErrorBody.model_validate(data)
    except ValidationError:
        return None


def classify_error(message: str, status: int) -> RefusalKind:
    """What kind of refusal a JSON error is: by its message first, by the status second."""
    low = message.lower()
    if "minimum" in low or "min bet" in low or "min. bet" in low:
        return RefusalKind.MIN_BET
    if "balance" in low or "insufficient funds" in low or "not enough funds" in low:
        return RefusalKind.BALANCE
    if "too many" in low or "rate limit" in low:
        return RefusalKind.RATE_LIMIT
    if status in (401, 403) or "api key" in low or "unauthori" in low or "unauthenticated" in low:
        return RefusalKind.AUTH
    return RefusalKind.BAD_REQUEST


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


class DuckDiceBackend:
    """The `Backend` protocol over the DuckDice Bot API. Share one instance among all bet coroutines."""

    name = "duckdice"
    live = True

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        max_connections: int = 5,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        tle_hash: str | None = None,
        wagering_bonus_hash: str | None = None,
        faucet: bool = False,
        retries: int = 3,
        retry_pause: float = 0.5,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        keepalive_expiry: float = 4.0,
        trust_env: bool = True,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        now: Callable[[], datetime] = _now,
    ) -> None:
        if not isinstance(api_key, SecretStr):
            raise TypeError("api_key must be a pydantic SecretStr")
        key = api_key.get_secret_value().strip()
        if not key:
            raise ValueError("the API key is empty")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        register_secret(key)
        install_logging_filters()  # httpx logs request URLs (with the key) at INFO
        self._key = SecretStr(key)
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.tle_hash = tle_hash
        self.seeds_at_start: CurrentSeeds | None = None  # read by the lifecycle before a session's first bet
        self.wagering_bonus_hash = wagering_bonus_hash
        # A faucet session's balance (and its reconciliation) is the faucet wallet's, not the main one's.
        self.faucet = faucet
        self._retries = max(0, retries)
        self._retry_pause = retry_pause
        self._max_reply_bytes = max_reply_bytes
        self._sleep = sleep
        self._now = now
        self._urls: dict[str, httpx.URL] = {}
        # The pool is sized to the concurrency: a bet never waits for a connection held by another. Idle
        # connections are dropped after `keepalive_expiry`, below the usual 5 s of servers, so a bet is not
        # sent on a connection the server is closing (that would make its outcome unknown for nothing).
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=keepalive_expiry)
        if transport is None:
            transport = pooled_transport(max_connections, keepalive_expiry, trust_env)
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            timeout=self.timeouts.to_httpx(),
            limits=limits,
            headers={
                "User-Agent": f"betbot/{__version__}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            transport=transport,
            follow_redirects=False,  # a redirect would resend the key to wherever it points
            trust_env=trust_env,
        )
        self._transport = transport
        self._extensions = {"timeout": self._client.timeout.as_dict()}
        self._bet_extensions = self._extensions  # a bet's read timeout may follow the replies (`-n auto`)

    def __repr__(self) -> str:
        return f"DuckDiceBackend(base_url={self.base_url!r}, api_key=SecretStr('**********'))"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- transport ---------------------------------------------------------------------------------
    def _url(self, path: str) -> httpx.URL:
        """The absolute URL of an endpoint, with the key, built once per path: httpx parses a URL given as
        text on every request, which was a third of the client's CPU per bet."""
        url = self._urls.get(path)
        if url is None:
            url = self._client.base_url.join(path.lstrip("/")).copy_merge_params(
                {"api_key": self._key.get_secret_value()})
            self._urls[path] = url
        return url

    def set_read_timeout(self, seconds: float) -> None:
        """How long a bet's reply may take from now on before its outcome is unknown (other calls keep theirs).

        `-n auto` follows the measured reply times with it, never above `timeouts.read`."""
        timeout = self._client.timeout
        read = min(seconds, self.timeouts.read)
        self._bet_extensions = {"timeout": httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write,
                                                         pool=timeout.pool).as_dict()}

    async def _send(self, method: str, path: str, payload: dict[str, Any] | None = None,
                    extensions: dict[str, Any] | None = None) -> _Reply:
        """One request, its body read up to the cap. httpx exceptions propagate to the caller.

        The request goes straight to the client's transport. `AsyncClient.send` would add, per request, an
        auth flow, a redirect loop, event hooks and a cookie round trip through `http.cookiejar` (a mock
        urllib request and an email.Message for every reply, Set-Cookie or not): about a sixth of the
        client's CPU per bet, for nothing this client uses (no auth, no redirects, no hooks). What it does
        use is kept: the client's headers and timeouts, cookies when the site sets any, its log line.
        """
        client = self._client
        if client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        content = None if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        request = httpx.Request(method, self._url(path), headers=client.headers, content=content,
                                extensions=self._extensions if extensions is None else extensions)
        cookies = client.cookies
        if cookies:
            cookies.set_cookie_header(request)
        response = await self._transport.handle_async_request(request)
        try:
            response.request = request
            if "set-cookie" in response.headers:
                cookies.extract_cookies(response)
            if _httpx_log.isEnabledFor(logging.INFO):  # the line AsyncClient.send logs (redacted by the filter)
                _httpx_log.info('HTTP Request: %s %s "%s %d %s"', method, request.url, response.http_version,
                                response.status_code, response.reason_phrase)
            body, truncated = await _read_capped(response, self._max_reply_bytes)
        finally:
            await response.aclose()
        return _Reply(response.status_code, response.headers, body, truncated)

    # -- bets --------------------------------------------------------------------------------------
    @property
    def known_seeds(self) -> Sequence[SeedPair]:
        return ()  # the site's server seed stays its secret until a rotation reveals it

    def bet_payload(self, bet: BetRequest) -> tuple[str, dict[str, Any]]:
        """The path and JSON body for a bet: amount as an 8-place string, chance as a 2-place string."""
        payload: dict[str, Any] = {
            "symbol": bet.currency.upper(),
            "amount": f"{bet.amount.quantize(SATOSHI):f}",
        }
        if bet.range is None:
            path = "dice/play"
            payload["chance"] = f"{bet.chance.quantize(Decimal('0.01')):f}"
            payload["isHigh"] = bet.high
        else:
            path = "range-dice/play"
            payload["range"] = [bet.range[0], bet.range[1]]
            payload["isIn"] = bet.range_in
        if bet.faucet:
            payload["faucet"] = True
        if self.tle_hash:
            payload["tleHash"] = self.tle_hash
        if self.wagering_bonus_hash:
            payload["userWageringBonusHash"] = self.wagering_bonus_hash
        return path, payload

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        """Send the bet once and classify the reply (see the module docstring). Never raises for the bet."""
        try:
            path, payload = self.bet_payload(bet)
        except Exception as exc:  # noqa: BLE001 - a malformed BetRequest is refused, not raised
            return Refused(seq=seq, bet=bet, kind=RefusalKind.BAD_REQUEST,
                           message=f"cannot build the request: {_describe(exc)}")
        failure: Outcome
        try:
            reply = await self._send("POST", path, payload, self._bet_extensions)
        except _NOT_SENT as exc:
            failure = Refused(seq=seq, bet=bet, kind=RefusalKind.CONNECT,
                              message=f"could not connect, the bet was not sent ({_describe(exc)})")
        except _NOT_SENDABLE as exc:
            failure = Refused(seq=seq, bet=bet, kind=RefusalKind.BAD_REQUEST,
                              message=f"cannot send to {self.base_url}: {_describe(exc)}")
        except httpx.TimeoutException as exc:
            failure = Unknown(seq=seq, bet=bet,
                              message=f"no reply in time after the bet was sent ({_describe(exc)})")
        except Exception as exc:  # noqa: BLE001 - connection lost mid-reply, protocol errors, anything else
            failure = Unknown(seq=seq, bet=bet,
                              message=f"the connection failed after the bet was sent ({_describe(exc)})")
        else:
            try:
                return self._classify(seq, bet, reply)
            except Exception as exc:  # noqa: BLE001 - a classifier bug must not lose the bet
                return Unknown(seq=seq, bet=bet, message=f"the reply could not be classified ({_describe(exc)})")
        return failure

    def _classify(self, seq: int, bet: BetRequest, reply: _Reply) -> Outcome:
        status = reply.status
        body = reply.body
        if status == 429:
            return Refused(seq=seq, bet=bet, kind=RefusalKind.RATE_LIMIT,
                           message="HTTP 429: rate limited, the bet was not placed",
                           retry_after=parse_retry_after(reply.headers.get("retry-after"), self._now))
        challenged = reply.headers.get("cf-mitigated", "").strip().lower() == "challenge"
        if is_html(body) and (status < 500 or challenged):
            return Refused(seq=seq, bet=bet, kind=RefusalKind.CHALLENGE,
                           message=f"HTTP {status}: a Cloudflare challenge page, the bet was not placed",
                           retry_after=parse_retry_after(reply.headers.get("retry-after"), self._now))
        if 200 <= status < 300:
            return self._settled(seq, bet, reply)
        error = None if reply.truncated else _parse_error(body)
        if error is not None and (status < 500 or _documented_error(body)):
            kind = classify_error(error.error, status)
            min_bet = None
            if kind is RefusalKind.MIN_BET:
                parsed = parse_min_bet(error.error, error.params)
                min_bet = parsed.amount if parsed is not None else None
            return Refused(seq=seq, bet=bet, kind=kind, min_bet=min_bet,
                           message=redact(f"HTTP {status}: {error.error}"))
        if status >= 500:
            return Unknown(seq=seq, bet=bet,
                           message=f"HTTP {status} from the server after the bet was sent: {_snippet(body)}")
        if status in (401, 403):
            return Refused(seq=seq, bet=bet, kind=RefusalKind.AUTH,
                           message=f"HTTP {status}: the key was not accepted: {_snippet(body)}")
        if 400 <= status < 500:
            return Refused(seq=seq, bet=bet, kind=RefusalKind.BAD_REQUEST,
                           message=f"HTTP {status}: {_snippet(body) or 'no body'}")
        hint = " (a redirect: is base_url right?)" if 300 <= status < 400 else ""
        return Unknown(seq=seq, bet=bet, message=f"HTTP {status}: not a bet reply{hint}")

    def _settled(self, seq: int, bet: BetRequest, reply: _Reply) -> Outcome:
        status = reply.status
        if reply.truncated:
            return Unknown(seq=seq, bet=bet,
                           message=f"HTTP {status}: the reply is larger than {self._max_reply_bytes} bytes")
        try:
            data = json.loads(reply.body)
        except (ValueError, RecursionError):
            return Unknown(seq=seq, bet=bet, message=f"HTTP {status}: the reply is not JSON: {_snippet(reply.body)}")
        try:
            parsed = BetResponse.model_validate(data)
        except ValidationError as exc:
            return Unknown(seq=seq, bet=bet,
                           message=f"HTTP {status}: the reply is not a bet ({describe_validation_error(exc)})")
        info = parsed.bet
        if info.symbol.upper() != bet.currency.upper() or info.bet_amount != bet.amount:
            return Unknown(seq=seq, bet=bet,
                           message=f"HTTP {status}: the reply is for another bet "
                                   f"({info.bet_amount} {info.symbol}, sent {bet.amount} {bet.currency})")
        return Settled(
            seq=seq, bet=bet, number=info.number, win=info.result, payout=info.payout, profit=info.profit,
            balance=parsed.user.balance, nonce=info.nonce, bet_hash=info.hash,
        )

    # -- other calls -------------------------------------------------------------------------------
    def _pause(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return min(self._retry_pause * (2.0**attempt), 10.0)

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None = None, *,
                    idempotent: bool) -> Any:
        """A non-bet call's JSON, with a few retries; DuckDiceError (redacted) when it cannot be had."""
        what = f"{method} /{path.lstrip('/')}"
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            problem: str
            status: int | None = None
            retry_after: float | None = None
            retryable = False
            try:
                reply = await self._send(method, path, payload)
            except _NOT_SENT as exc:
                problem = f"could not connect to {self.base_url} ({_describe(exc)})"
                retryable = True
            except Exception as exc:  # noqa: BLE001 - every failure becomes a redacted DuckDiceError
                problem = f"the request failed ({_describe(exc)})"
                retryable = idempotent and isinstance(exc, httpx.TransportError)
            else:
                status = reply.status
                if status == 429:
                    problem = "HTTP 429: rate limited"
                    retry_after = parse_retry_after(reply.headers.get("retry-after"), self._now)
                    retryable = True
                elif is_html(reply.body):
                    problem = f"HTTP {status}: an HTML page (a Cloudflare challenge?) instead of JSON"
                    retryable = True
                elif 200 <= status < 300 and not reply.truncated:
                    try:
                        return json.loads(reply.body)
                    except (ValueError, RecursionError):
                        problem = f"HTTP {status}: the reply is not JSON: {_snippet(reply.body)}"
                else:
                    error = None if reply.truncated else _parse_error(reply.body)
                    detail = error.error if error is not None else (_snippet(reply.body) or "no body")
                    problem = f"HTTP {status}: {detail}"
                    retryable = idempotent and status >= 500
            if not retryable or last:
                raise DuckDiceError(f"{what}: {problem}", status=status)
            await self._sleep(self._pause(attempt, retry_after))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _model(model: type[_M], data: Any, what: str) -> _M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise DuckDiceError(f"{what}: unexpected reply ({describe_validation_error(exc)})") from None

    async def user_info(self) -> UserInfo:
        """`GET /bot/user-info`: the profile and the balances of every currency."""
        data = await self._call("GET", "bot/user-info", idempotent=True)
        return self._model(UserInfo, data, "GET /bot/user-info")

    async def balance(self, currency: str) -> Decimal:
        """The main balance of `currency` (the faucet one with faucet=True; 0 when the site lists none)."""
        info = await self.user_info()
        entry = info.balance_of(currency)
        amount = None if entry is None else entry.faucet if self.faucet else entry.main
        return Decimal(0) if amount is None else amount

    async def stats(self, currency: str) -> SiteStats:
        """`GET /bot/stats/{SYMBOL}`: the bet count and balances, for reconciliation."""
        symbol = currency.upper()
        if not symbol.isalnum():
            raise DuckDiceError(f"{currency!r} is not a currency symbol")
        what = f"GET /bot/stats/{symbol}"
        data = await self._call("GET", f"bot/stats/{symbol}", idempotent=True)
        stats = self._model(StatsResponse, data, what)
        return SiteStats(
            currency=symbol, bets=stats.bets, wins=stats.wins, profit=stats.profit, volume=stats.volume,
            balance=stats.balances.faucet if self.faucet else stats.balances.main,
            faucet_balance=stats.balances.faucet,
        )

    async def rotate_seed(self, client_seed: str | None = None) -> SeedRotation:
        """`POST /randomize`: a new seed pair (a random client seed unless one is given)."""
        seed = client_seed if client_seed is not None else secrets.token_hex(8)
        # Not idempotent (a second call rotates again), so only failures where nothing was sent are retried.
        data = await self._call("POST", "randomize", {"clientSeed": seed}, idempotent=False)
        return parse_seed_rotation(data, seed)

    async def current_seeds(self) -> CurrentSeeds | None:
        """`GET /randomize`: the seed pair bets are rolled with now (its server seed hash, client seed and
        nonce), journaled at a session's start so that `betbot verify --session` can check its bets once a
        rotation reveals the server seed. None when the site does not answer it (the call is not in the
        documented Bot API) or says no hash; a failure to reach the site is a DuckDiceError as for any call."""
        try:
            data = await self._call("GET", "randomize", idempotent=True)
        except DuckDiceError as exc:
            if exc.status is not None:  # answered, but not with a pair: a session starts without one
                return None
            raise
        return parse_current_seeds(data)

    async def use_single_event(self) -> Offer:
        """`--tle auto`: bet toward the account's one active time-limited event; ValueError (bad input) when
        the account has none or several, naming them."""
        events = (await self.user_info()).events()
        active = [event for event in events if event.active]
        if len(active) == 1:
            self.tle_hash = active[0].hash
            return active[0]
        listed = ", ".join(f"{event.hash} ({event.name or 'no name'}, {event.status or 'no status'})"
                           for event in events) or "none"
        many = "no active time-limited event" if not active else f"{len(active)} active time-limited events"
        raise ValueError(f"--tle auto: the account has {many} (events: {listed}); pass one with --tle HASH "
                         "(`betbot account` lists them)")

    async def aclose(self) -> None:
        await self._client.aclose()


def _documented_error(body: bytes) -> bool:
    """Whether a body is the documented refusal `{"error": "<text>"}` (a 5xx counts as refused only then)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("error"), str)
