"""A fake DuckDice Bot API: a plain ASGI app over the simulator's game, with latency and fault injection.

What it serves (duckdice-api.md), at the root and under `/api`:

    POST /dice/play            Original Dice bet        POST /range-dice/play   Range Dice bet
    GET  /bot/user-info        balances per currency    GET  /bot/stats/{SYM}   bets, wins, profit, balances
    POST /randomize            rotate the seed pair     GET  /bet/{hash}        one executed bet
    GET  /randomize            the pair in force (hash, client seed, next nonce): not in the documented
                               API; the shape betbot reads defensively
    GET  /_fake/ledger         every executed bet, every request that did not execute, the balances
                               (test hook, no key needed)

Every API call needs `?api_key=<the configured key>` (401 JSON error otherwise). Bets run on
`SimulatedGame` (the site's provably-fair roll, balances, minimum bets) in **arrival order**: the fake's
nonce is its own counter, as on the real site, not the client's seq. Latency is `latency` plus uniform
jitter, half before the bet executes and half after, so replies come back out of order.

Faults (bet endpoints only), drawn per request with a seeded RNG, at the given rates:

    fault                 executed?  what the client gets                      client's outcome
    429                   no         429 JSON error + Retry-After              Refused RATE_LIMIT
    challenge             no         403 Cloudflare HTML page                  Refused CHALLENGE
    5xx                   no         502 HTML or 503 plain text                Unknown (cannot tell)
    json-error            no         400 {"error": ...}                         Refused BAD_REQUEST
    malformed             YES        200 with truncated JSON                   Unknown
    drop-after-execute    YES        headers and half the body, then the       Unknown
                                     connection is closed (RemoteProtocolError)
    slow-after-execute    YES        the reply is held `slow_delay` seconds     Unknown (read timeout)
                                     (or until the client hangs up)
    5xx-after-execute     YES        502 HTML (like Cloudflare's 524: the      Unknown
                                     origin ran the bet, the reply was lost)

A site-wide rate limit (`rate_limit` bets/s, a token bucket of `rate_burst`) refuses bets that arrive too
fast with the same 429 (counted in `rate_limited`). The latency is read per request: a test may change
`config.latency` while a run goes on.

"Executed" is recorded in the ledger with the fault's name, so a test can check that reconciliation
found exactly the bets that ran. A malformed reply is executed on purpose: it is the worst case for a
client (money moved, the reply unusable) and the one it must never count as refused.

`serve_fake()` runs the app under uvicorn on 127.0.0.1 and a free port inside the caller's event loop;
`serve_fake_in_thread()` does it on a thread with its own loop (for synchronous callers such as click's
CliRunner). uvicorn is imported only there: it is a test/benchmark dependency, not a runtime one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import FrameType
from typing import Any, Final
from urllib.parse import parse_qs

import anyio

from betbot.backends.simulator import SimulatedGame
from betbot.config.units import parse_duration
from betbot.core.fairness import ROLLS, GameRules, SeedPair, range_chance, winning_numbers
from betbot.core.models import BetRequest, RefusalKind, Refused, Settled
from betbot.core.money import AmountError, parse_amount

__all__ = [
    "FAULTS",
    "FakeConnectionDrop",
    "FakeDuckDice",
    "FakeServerConfig",
    "parse_balance",
    "parse_balances",
    "parse_faults",
    "parse_latency",
    "serve_fake",
    "serve_fake_in_thread",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAULTS: Final = (
    "429",
    "challenge",
    "5xx",
    "json-error",
    "malformed",
    "drop-after-execute",
    "slow-after-execute",
    "5xx-after-execute",
)
EXECUTING_FAULTS: Final = frozenset({"malformed", "drop-after-execute", "slow-after-execute", "5xx-after-execute"})
_MAX_BODY: Final = 64 * 1024
_SATOSHI_TEXT: Final = ".8f"

CHALLENGE_PAGE: Final = (
    "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head>"
    "<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)
BAD_GATEWAY_PAGE: Final = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>cloudflare</center></body></html>"
)


class FakeConnectionDrop(Exception):
    """Raised inside the app to make uvicorn close the connection mid-reply (a drop-after-execute)."""


@dataclass(slots=True, kw_only=True)
class FakeServerConfig:
    """Everything the fake server can be told. Amounts are Decimal; rates and times are floats."""

    api_key: str = "fake-api-key"
    balances: dict[str, Decimal] = field(default_factory=lambda: {"DOGE": Decimal(100)})
    faucet_balances: dict[str, Decimal] = field(default_factory=dict)
    min_bets: dict[str, Decimal] = field(default_factory=dict)
    latency: float = 0.0  # seconds, fixed
    jitter: float = 0.0  # seconds, uniform in [0, jitter) on top
    faults: dict[str, float] = field(default_factory=dict)  # fault name -> rate in [0, 1]
    seed: str = "fake"
    first_nonce: int = 0
    rules: GameRules = field(default_factory=GameRules)
    retry_after: str | None = "0"  # the Retry-After header of a 429 fault; None sends none
    slow_delay: float = 30.0  # how long a slow-after-execute reply is held back
    # The site's own rate limit: bets arriving faster than this many a second (a token bucket holding
    # `rate_burst` bets) get a 429 and are not executed. None: no limit (only the random 429 fault).
    rate_limit: float | None = None
    rate_burst: float = 1.0
    legacy_shape: bool = False  # answer with the older isHigh + threshold instead of choice
    username: str = "fakeduck"
    events: list[dict[str, Any]] = field(default_factory=list)  # `tle[]` of /bot/user-info: {hash, name, status}
    wagering_bonuses: list[dict[str, Any]] = field(default_factory=list)  # `wageringBonuses[]`, as given

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
        for name, rate in self.faults.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"fault {name}: rate {rate} must be between 0 and 1")
        if sum(self.faults.values()) > 1:
            raise ValueError("the fault rates add up to more than 1")
        if self.rate_limit is not None and (self.rate_limit <= 0 or self.rate_burst < 1):
            raise ValueError("rate_limit must be above 0 and rate_burst at least 1")
        if self.latency < 0 or self.jitter < 0 or self.slow_delay < 0:
            raise ValueError("latency, jitter and slow_delay must be 0 or more")
        if not self.api_key:
            raise ValueError("the fake server needs an API key to accept")
        self.balances = {cur.upper(): Decimal(amount) for cur, amount in self.balances.items()}
        self.faucet_balances = {cur.upper(): Decimal(amount) for cur, amount in self.faucet_balances.items()}
        self.min_bets = {cur.upper(): Decimal(amount) for cur, amount in self.min_bets.items()}


# -- parsers for the command line ------------------------------------------------------------------
def parse_faults(text: str) -> dict[str, float]:
    """`429=0.02,challenge=0.01,...` as {name: rate}; ValueError naming the bad part."""
    faults: dict[str, float] = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        name, sep, raw = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in FAULTS:
            raise ValueError(f"--faults: {part!r} must look like NAME=RATE with NAME one of {', '.join(FAULTS)}")
        try:
            rate = float(raw.rstrip("%")) / (100 if raw.strip().endswith("%") else 1)
        except ValueError:
            raise ValueError(f"--faults: {raw!r} is not a rate like 0.01 or 1%") from None
        if not 0 <= rate <= 1:
            raise ValueError(f"--faults: the rate of {name} must be between 0 and 1")
        faults[name] = rate
    if sum(faults.values()) > 1:
        raise ValueError("--faults: the rates add up to more than 1")
    return faults


def parse_latency(text: str) -> float:
    """Seconds from `50ms`, `0.05s`, `0.05`."""
    return parse_duration(text)


def parse_balance(text: str) -> tuple[str, Decimal]:
    """`DOGE=100` as ("DOGE", Decimal("100.00000000"))."""
    currency, sep, raw = text.partition("=")
    currency = currency.strip().upper()
    if not sep or not currency.isalnum():
        raise ValueError(f"{text!r} must look like CURRENCY=AMOUNT, e.g. DOGE=100")
    try:
        return currency, parse_amount(raw.strip(), currency)
    except AmountError as exc:
        raise ValueError(str(exc)) from None


def parse_balances(items: Iterable[str]) -> dict[str, Decimal]:
    return dict(parse_balance(item) for item in items)


# -- the app ---------------------------------------------------------------------------------------
def _money(value: Decimal) -> str:
    return format(value, _SATOSHI_TEXT)


def _json_number(value: Decimal) -> float:
    # chance and payout are JSON numbers on the wire (duckdice-api.md); they are not money.
    return float(value)


@dataclass(slots=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _json_reply(status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> _Reply:
    return _Reply(status, json.dumps(payload, separators=(",", ":")).encode(), headers=headers or [])


def _error(status: int, message: str, params: dict[str, Any] | None = None) -> _Reply:
    return _json_reply(status, {"error": message, "params": params or {}})


class _BadBet(ValueError):
    pass


@dataclass(slots=True)
class _Counters:
    bets: int = 0
    wins: int = 0


class _RecentLuck:
    """The site's `luck` over the last `window` bets: wins / expected wins, in %, as running sums.

    Summing the window again for every bet was a third of the fake's own CPU per request."""

    def __init__(self, window: int = 100) -> None:
        self._window = window
        self._recent: deque[tuple[Decimal, bool]] = deque()
        self._chances = Decimal(0)  # exact: chances have two decimal places
        self._wins = 0

    def add(self, chance: Decimal, win: bool) -> float:
        self._recent.append((chance, win))
        self._chances += chance
        self._wins += win
        if len(self._recent) > self._window:
            old_chance, old_win = self._recent.popleft()
            self._chances -= old_chance
            self._wins -= old_win
        expected_wins = self._chances / self._window
        return round(float(self._wins / expected_wins * 100), 2) if expected_wins else 0.0


class FakeDuckDice:
    """The ASGI app. One instance is one fake account; inspect `ledger` / `not_executed` in-process."""

    def __init__(self, config: FakeServerConfig | None = None) -> None:
        self.config = config = config or FakeServerConfig()
        balances = dict(config.balances)
        min_bets = dict(config.min_bets)
        for currency, amount in config.faucet_balances.items():
            balances[self._faucet_key(currency)] = amount
        for currency, amount in config.min_bets.items():
            min_bets[self._faucet_key(currency)] = amount
        self.game = SimulatedGame(seeds=SeedPair.derive(config.seed, first_nonce=config.first_nonce),
                                  balances=balances, rules=config.rules, min_bets=min_bets)
        self._fault_rng = random.Random(f"{config.seed}/faults")
        self._latency_rng = random.Random(f"{config.seed}/latency")
        self.executed = 0  # bets run so far: the fake's own counter, which drives the nonce
        self._pair_started_at = 0  # bets run before the seed pair in force
        self.requests = 0
        self.ledger: list[dict[str, Any]] = []
        self.not_executed: list[dict[str, Any]] = []
        self._bets_by_hash: dict[str, dict[str, Any]] = {}
        self._user = _Counters()
        self._per_currency: dict[str, _Counters] = {}
        self._user_hash = hashlib.sha256(f"{config.seed}/user".encode()).hexdigest()[:10]
        self._luck = _RecentLuck()
        self.rate_limited = 0  # bets refused by `rate_limit` (not by the random 429 fault)
        self._tokens = config.rate_burst
        self._tokens_at: float | None = None

    @staticmethod
    def _faucet_key(currency: str) -> str:
        return f"{currency.upper()}:faucet"

    # -- ASGI -----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        self.requests += 1
        body = await self._read_body(receive)
        method = str(scope["method"]).upper()
        path = str(scope["path"])
        if path == "/api" or path.startswith("/api/"):
            path = path[4:] or "/"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if method == "POST" and path in ("/dice/play", "/range-dice/play"):
            await self._bet(path, query, body, receive, send)
            return
        reply = self._route(method, path, query, body)
        await self._send(send, reply)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _read_body(receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= _MAX_BODY:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, reply: _Reply) -> None:
        headers = [(b"content-type", reply.content_type.encode()),
                   (b"content-length", str(len(reply.body)).encode()), *reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    def _authorized(self, query: dict[str, list[str]]) -> bool:
        return query.get("api_key", [""])[-1] == self.config.api_key

    # -- non-bet endpoints ------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> _Reply:
        if path == "/_fake/ledger" and method == "GET":
            return _json_reply(200, self.ledger_json())
        known = path in ("/bot/user-info", "/randomize") or path.startswith(("/bot/stats/", "/bet/"))
        if not known:
            return _error(404, "Not found")
        if not self._authorized(query):
            return _error(401, "Unauthorized: invalid API key")
        if path == "/bot/user-info" and method == "GET":
            return _json_reply(200, self.user_info_json())
        if path.startswith("/bot/stats/") and method == "GET":
            return _json_reply(200, self.stats_json(path.removeprefix("/bot/stats/")))
        if path.startswith("/bet/") and method == "GET":
            found = self._bets_by_hash.get(path.removeprefix("/bet/"))
            return _json_reply(200, {"bet": found}) if found is not None else _error(404, "Bet not found")
        if path == "/randomize" and method == "POST":
            return self._randomize(body)
        if path == "/randomize" and method == "GET":  # the pair in force, and the nonce of the next bet
            seeds = self.game.seeds
            return _json_reply(200, {"current": {
                "serverSeedHash": seeds.server_seed_hash, "clientSeed": seeds.client_seed,
                "nonce": seeds.first_nonce + self.executed - self._pair_started_at}})
        return _error(405, "Method not allowed")

    def balances_json(self) -> dict[str, dict[str, str]]:
        currencies = sorted(set(self.config.balances) | set(self.config.faucet_balances))
        balances = self.game.balances
        return {
            currency: {"main": _money(balances.get(currency, Decimal(0))),
                       "faucet": _money(balances.get(self._faucet_key(currency), Decimal(0)))}
            for currency in currencies
        }

    def user_info_json(self) -> dict[str, Any]:
        return {
            "hash": self._user_hash,
            "username": self.config.username,
            "level": 1,
            "balances": [{"currency": currency, **amounts} for currency, amounts in self.balances_json().items()],
            "wageringBonuses": list(self.config.wagering_bonuses),
            "tle": list(self.config.events),
        }

    def stats_json(self, symbol: str) -> dict[str, Any]:
        symbol = symbol.upper()
        counters = self._per_currency.get(symbol, _Counters())
        game = self.game
        profit = game.profit.get(symbol, Decimal(0)) + game.profit.get(self._faucet_key(symbol), Decimal(0))
        volume = game.volume.get(symbol, Decimal(0)) + game.volume.get(self._faucet_key(symbol), Decimal(0))
        return {
            "bets": counters.bets,
            "wins": counters.wins,
            "profit": _money(profit),
            "volume": _money(volume),
            "balances": {"main": _money(game.balances.get(symbol, Decimal(0))),
                         "faucet": _money(game.balances.get(self._faucet_key(symbol), Decimal(0)))},
        }

    def ledger_json(self) -> dict[str, Any]:
        return {
            "executed": self.executed,
            "requests": self.requests,
            "bets": self.ledger,
            "not_executed": self.not_executed,
            "balances": self.balances_json(),
            "seeds": [
                {"server_seed_hash": pair.server_seed_hash, "client_seed": pair.client_seed}
                for pair in self.game.seed_history
            ],
        }

    def _randomize(self, body: bytes) -> _Reply:
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return _error(422, "The body is not JSON")
        client_seed = data.get("clientSeed") if isinstance(data, dict) else None
        if client_seed is not None and (not isinstance(client_seed, str) or not client_seed.strip()):
            return _error(422, "clientSeed must be a non-empty string", {"field": "clientSeed"})
        old = self.game.seeds
        rotation = self.game.rotate(self.executed + 1, client_seed)
        self._pair_started_at = self.executed
        return _json_reply(200, {
            "previous": {"serverSeed": old.server_seed, "serverSeedHash": old.server_seed_hash,
                         "clientSeed": old.client_seed, "nonce": self.executed},
            "current": {"serverSeedHash": rotation.server_seed_hash, "clientSeed": rotation.client_seed},
        })

    # -- bets ---------------------------------------------------------------------------------------
    def _draw_fault(self) -> str | None:
        faults = self.config.faults
        if not faults:
            return None
        draw = self._fault_rng.random()
        total = 0.0
        for name in FAULTS:
            total += faults.get(name, 0.0)
            if draw < total:
                return name
        return None

    def _over_rate(self) -> bool:
        """Whether a bet arriving now is over `rate_limit` (it then takes no token)."""
        rate = self.config.rate_limit
        if rate is None:
            return False
        now = anyio.current_time()
        if self._tokens_at is not None:
            self._tokens = min(self.config.rate_burst, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if self._tokens < 1:
            self.rate_limited += 1
            return True
        self._tokens -= 1
        return False

    def _latency(self) -> float:
        config = self.config
        return config.latency + (self._latency_rng.random() * config.jitter if config.jitter > 0 else 0.0)

    def _skip(self, path: str, reason: str, status: int) -> None:
        self.not_executed.append({"request": self.requests, "path": path, "reason": reason, "status": status})

    async def _bet(self, path: str, query: dict[str, list[str]], body: bytes, receive: Receive, send: Send) -> None:
        # Deadlines from the request's arrival, not two sleeps in a row: a timer's overshoot (about a
        # millisecond each) then counts once, and a fake with 50 ms of latency answers in 50 ms.
        latency = self._latency()
        arrived = anyio.current_time()
        reply_due = arrived + latency
        if latency > 0:
            # The request's way in: arrival order, not send order, decides the nonce.
            await anyio.sleep_until(arrived + latency / 2)
        fault = "429" if self._over_rate() else self._draw_fault()
        reply = self._before_execute(path, query, fault)
        if reply is not None:
            _log_fault(fault, path, self.requests, executed=None)
        else:
            try:
                bet, mode = self._parse_bet(path, body)
                extras = _event_fields(body)
            except _BadBet as exc:
                reply = _error(422, str(exc), {"path": path})
                self._skip(path, f"invalid: {exc}", 422)
            else:
                reply, entry = self._execute(path, bet, mode, fault)
                if entry is not None:
                    entry.update(extras)  # the ledger shows which event and bonus each bet joined
                if entry is not None and fault in EXECUTING_FAULTS:
                    _log_fault(fault, path, self.requests, executed=entry["index"])
                    await self._faulty_reply(fault, reply, receive, send, reply_due)
                    return
        await anyio.sleep_until(reply_due)  # the reply's way out
        await self._send(send, reply)

    def _before_execute(self, path: str, query: dict[str, list[str]], fault: str | None) -> _Reply | None:
        if fault == "429":
            headers = [] if self.config.retry_after is None else [(b"retry-after", self.config.retry_after.encode())]
            self._skip(path, "fault 429", 429)
            return _json_reply(429, {"error": "Too many requests"}, headers)
        if fault == "challenge":
            self._skip(path, "fault challenge", 403)
            ray = f"{self._fault_rng.getrandbits(64):016x}-AMS".encode()
            return _Reply(403, CHALLENGE_PAGE.encode(), "text/html; charset=UTF-8",
                          [(b"cf-ray", ray), (b"cf-mitigated", b"challenge"), (b"server", b"cloudflare")])
        if not self._authorized(query):
            self._skip(path, "bad api key", 401)
            return _error(401, "Unauthorized: invalid API key")
        if fault == "5xx":
            if self._fault_rng.random() < 0.5:
                self._skip(path, "fault 5xx (502 html)", 502)
                return _Reply(502, BAD_GATEWAY_PAGE.encode(), "text/html")
            self._skip(path, "fault 5xx (503 text)", 503)
            return _Reply(503, b"Service Unavailable", "text/plain")
        if fault == "json-error":
            self._skip(path, "fault json-error", 400)
            return _error(400, "Something went wrong, please try again")
        return None

    def _parse_bet(self, path: str, body: bytes) -> tuple[BetRequest, str]:
        try:
            data = json.loads(body)
        except ValueError:
            raise _BadBet("The body is not JSON") from None
        if not isinstance(data, dict):
            raise _BadBet("The body must be a JSON object")
        symbol = data.get("symbol")
        if not isinstance(symbol, str) or not symbol.isalnum():
            raise _BadBet("symbol must be a currency symbol")
        symbol = symbol.upper()
        if symbol not in self.config.balances and symbol not in self.config.faucet_balances:
            raise _BadBet(f"Unknown currency {symbol}")
        amount = _decimal_text(data.get("amount"), "amount", places=8)
        if amount <= 0:
            raise _BadBet("amount must be above 0")
        faucet = data.get("faucet", False)
        if not isinstance(faucet, bool):
            raise _BadBet("faucet must be a boolean")
        rules = self.config.rules
        if path == "/dice/play":
            chance = _decimal_text(data.get("chance"), "chance", places=2)
            is_high = data.get("isHigh")
            if not isinstance(is_high, bool):
                raise _BadBet("isHigh must be a boolean")
            bet = BetRequest(amount=amount, chance=chance, currency=symbol, high=is_high, faucet=faucet)
        else:
            bounds = data.get("range")
            is_in = data.get("isIn")
            if (not isinstance(bounds, list) or len(bounds) != 2
                    or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)):
                raise _BadBet("range must be [low, high], two integers")
            low, high = bounds
            if not 0 <= low <= high < ROLLS:
                raise _BadBet(f"range must lie inside 0..{ROLLS - 1} with low <= high")
            if not isinstance(is_in, bool):
                raise _BadBet("isIn must be a boolean")
            chance = range_chance(low, high, is_in)
            bet = BetRequest(amount=amount, chance=chance, currency=symbol, faucet=faucet,
                             range=(low, high), range_in=is_in)
        if not rules.min_chance <= chance <= rules.max_chance:
            raise _BadBet(f"The chance must be between {rules.min_chance} and {rules.max_chance}")
        return bet, "faucet" if faucet else "main"

    def _execute(
        self, path: str, bet: BetRequest, mode: str, fault: str | None
    ) -> tuple[_Reply, dict[str, Any] | None]:
        symbol = bet.currency
        played = bet if mode == "main" else replace(bet, currency=self._faucet_key(symbol))
        outcome = self.game.play(self.executed + 1, played)
        if isinstance(outcome, Refused):
            if outcome.kind is RefusalKind.MIN_BET and outcome.min_bet is not None:
                minimum = outcome.min_bet
                self._skip(path, "min bet", 422)
                return _error(422, f"The minimum bet is {minimum.normalize():f} {symbol}",
                              {"amount": _money(minimum), "symbol": symbol}), None
            self._skip(path, "insufficient balance", 422)
            return _error(422, "Insufficient balance", {"symbol": symbol, "amount": _money(bet.amount)}), None
        assert isinstance(outcome, Settled)  # noqa: S101 - play() answers Settled or Refused
        self.executed += 1
        self._user.bets += 1
        self._user.wins += outcome.win
        counters = self._per_currency.setdefault(symbol, _Counters())
        counters.bets += 1
        counters.wins += outcome.win
        bet_hash = hashlib.sha256(f"{self.config.seed}/bet/{self.executed}".encode()).hexdigest()[:32]
        bet_json = self._bet_json(bet, outcome, mode, bet_hash)
        self._bets_by_hash[bet_hash] = bet_json
        entry: dict[str, Any] = {
            "index": self.executed,
            "hash": bet_hash,
            "symbol": symbol,
            "mode": mode,
            "game": bet.game.value,
            "amount": _money(bet.amount),
            "chance": str(bet.chance),
            "high": bet.high if bet.range is None else None,
            "range": list(bet.range) if bet.range is not None else None,
            "range_in": bet.range_in if bet.range is not None else None,
            "number": outcome.number,
            "win": outcome.win,
            "payout": str(outcome.payout),
            "profit": _money(outcome.profit),
            "balance": _money(outcome.balance),
            "nonce": outcome.nonce,
            "fault": fault if fault in EXECUTING_FAULTS else None,
        }
        self.ledger.append(entry)
        luck = self._luck.add(bet.chance, outcome.win)
        user = {
            "hash": self._user_hash,
            "username": self.config.username,
            "level": 1,
            "bets": self._user.bets,
            "wins": self._user.wins,
            "nonce": outcome.nonce,
            "luck": luck,
            "balance": _money(outcome.balance),
            "profit": _money(self.game.profit.get(played.currency, Decimal(0))),
            "volume": _money(self.game.volume.get(played.currency, Decimal(0))),
        }
        payload = {"bet": bet_json, "isJackpot": False, "jackpotStatus": None, "jackpot": None, "user": user}
        return _json_reply(200, payload), entry

    def _bet_json(self, bet: BetRequest, outcome: Settled, mode: str, bet_hash: str) -> dict[str, Any]:
        w = winning_numbers(bet.chance)
        data: dict[str, Any] = {
            "hash": bet_hash,
            "symbol": bet.currency,
            "result": outcome.win,
            "number": outcome.number,
        }
        if bet.range is not None:
            data["choice"] = "in" if bet.range_in else "out"
            data["choiceOption"] = f"{bet.range[0]},{bet.range[1]}"
        elif self.config.legacy_shape:
            data["isHigh"] = bet.high
            data["threshold"] = ROLLS - w - 1 if bet.high else w
        else:
            data["choice"] = f">{ROLLS - w - 1}" if bet.high else f"<{w}"
        data.update({
            "chance": _json_number(bet.chance),
            "payout": _json_number(outcome.payout),
            "betAmount": _money(bet.amount),
            "winAmount": _money(bet.amount + outcome.profit if outcome.win else Decimal(0)),
            "profit": _money(outcome.profit),
            "mined": _money(Decimal(0)),
            "nonce": outcome.nonce,
            "created": int(time.time() * 1000),
            "gameMode": mode,
            "game": {"name": "Range Dice", "slug": "range-dice"} if bet.range is not None
            else {"name": "Original Dice", "slug": "original-dice"},
        })
        return data

    async def _faulty_reply(self, fault: str | None, reply: _Reply, receive: Receive, send: Send,
                            reply_due: float) -> None:
        """The bet ran; now the reply goes wrong in the way `fault` says."""
        if fault == "malformed":
            await anyio.sleep_until(reply_due)
            await self._send(send, _Reply(200, reply.body[: max(1, len(reply.body) * 3 // 5)]))
        elif fault == "5xx-after-execute":
            await anyio.sleep_until(reply_due)
            await self._send(send, _Reply(502, BAD_GATEWAY_PAGE.encode(), "text/html"))
        elif fault == "drop-after-execute":
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(reply.body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": reply.body[: len(reply.body) // 2], "more_body": True})
            # Raising after the response started makes uvicorn close the socket: the client sees the
            # connection end mid-body (RemoteProtocolError), exactly a reply lost after the bet ran.
            raise FakeConnectionDrop("dropped the connection after executing the bet")
        elif fault == "slow-after-execute":
            with anyio.move_on_after(self.config.slow_delay):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client gave up waiting: nobody to answer
            await self._send(send, reply)


def _event_fields(body: bytes) -> dict[str, str | None]:
    """The optional `tleHash` and `userWageringBonusHash` of a bet body (any non-empty string is accepted)."""
    data = json.loads(body)
    fields: dict[str, str | None] = {}
    for key, name in (("tleHash", "tle_hash"), ("userWageringBonusHash", "wagering_bonus_hash")):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise _BadBet(f"{key} must be a non-empty string")
        fields[name] = value
    return fields


def _decimal_text(value: Any, name: str, *, places: int) -> Decimal:
    # The real API takes decimal strings; a number here would be a client bug worth seeing.
    if not isinstance(value, str):
        raise _BadBet(f"{name} must be a decimal string")
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise _BadBet(f"{name} must be a decimal string") from None
    if not parsed.is_finite() or parsed != parsed.quantize(Decimal(1).scaleb(-places)):
        raise _BadBet(f"{name} must have at most {places} decimal places")
    return parsed


# -- logging -------------------------------------------------------------------------------------
# One line per injected fault, at info, on this logger: the `fake-server` command prints them; in tests and
# benchmarks nothing handles info, and they cost a level check.
_fault_log = logging.getLogger("betbot.fakeserver")

_FAULT_EFFECT: Final = {
    "429": "answered 429 Too Many Requests",
    "challenge": "answered a Cloudflare challenge page (403)",
    "5xx": "answered a gateway error page",
    "json-error": "answered a JSON error (400)",
    "malformed": "answered half a JSON body",
    "5xx-after-execute": "answered a gateway error page (502)",
    "drop-after-execute": "dropped the connection mid-reply",
    "slow-after-execute": "held the reply back",
}


def _log_fault(fault: str | None, path: str, request: int, *, executed: int | None) -> None:
    if fault is None:
        return
    ran = "not executed" if executed is None else f"executed as bet {executed}"
    _fault_log.info("fault %s: %s %s (request %d; the bet was %s)", fault, path, _FAULT_EFFECT.get(fault, fault),
                    request, ran)


class _QuietDropFilter(logging.Filter):
    """Drop uvicorn's "Exception in ASGI application" traceback for the deliberate FakeConnectionDrop (its one
    line is the fault's own). Must run before the redacting filter, which turns exc_info into text."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, FakeConnectionDrop)


def _install_uvicorn_log_filters() -> None:
    from betbot.redact import install_logging_filters  # noqa: PLC0415

    install_logging_filters()
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _QuietDropFilter) for existing in error_log.filters):
        error_log.filters.insert(0, _QuietDropFilter())  # first: it needs the exception, not its text


def _print_fault_lines() -> None:
    """The `fake-server` command: each injected fault on stderr, one line each."""
    if not _fault_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s fake-server %(message)s"))
        _fault_log.addHandler(handler)
    _fault_log.propagate = False
    _fault_log.setLevel(logging.INFO)


# -- running it under uvicorn ----------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the listening
    # socket says TCP, and without it every reply waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def _uvicorn_server(app: FakeDuckDice, host: str, port: int, *, log_level: str = "warning",
                    handle_signals: bool = False) -> Any:
    import uvicorn  # noqa: PLC0415 - a test/benchmark dependency, imported only when serving

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # In-process in a test or a benchmark, SIGINT belongs to the host program, not to uvicorn.
            # In the foreground, SIGINT/SIGTERM stop the server and the command exits 0 (uvicorn's own
            # handler would re-raise the signal after shutting down, and the process would die of it).
            if not handle_signals or threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _stop(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl+C: do not wait for open connections
            self.should_exit = True

        async def main_loop(self) -> None:
            # uvicorn polls should_exit every 100 ms; in-process servers come and go per test, so poll faster.
            counter = 0
            while not await self.on_tick(counter):
                counter = (counter + 1) % 864_000
                await anyio.sleep(0.01 if not handle_signals else 0.1)

    _install_uvicorn_log_filters()
    # http="auto": httptools (C, llhttp) when installed, which the `fake` and `test` extras do, else h11.
    # h11 is pure Python and was half of the fake's CPU per bet (bench/bench_live.py): with it, the fake
    # rather than the client set the pace at 50 bets in flight. The loop stays asyncio's: uvloop made no
    # measurable difference to the fake's CPU per request there.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level=log_level, access_log=False,
                            lifespan="on", http="auto", ws="none", loop="asyncio", timeout_graceful_shutdown=2,
                            # Longer than the client's keep-alive (4 s), as real servers are: the client
                            # then never sends a bet on a connection the server is closing.
                            timeout_keep_alive=15)
    return _Server(config)


@contextlib.asynccontextmanager
async def serve_fake(config: FakeServerConfig | None = None, *, app: FakeDuckDice | None = None) -> AsyncIterator[str]:
    """Serve the fake on 127.0.0.1 and a free port inside the current (asyncio) event loop; yields the base URL."""
    app = app or FakeDuckDice(config)
    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = _uvicorn_server(app, "127.0.0.1", port)
    stopped = anyio.Event()

    async def serve() -> None:
        try:
            await server.serve([sock])
        finally:
            stopped.set()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
            while not server.started:
                if stopped.is_set():
                    raise RuntimeError("the fake server did not start")
                await anyio.sleep(0.005)  # startup: a few ms, polled (uvicorn offers no event)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                # A graceful shutdown even when the body failed, so uvicorn is not cancelled mid-flight.
                server.should_exit = True
                with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                    await stopped.wait()
    finally:
        sock.close()


@contextlib.contextmanager
def serve_fake_in_thread(config: FakeServerConfig | None = None, *, app: FakeDuckDice | None = None) -> Iterator[str]:
    """Serve the fake on 127.0.0.1 and a free port on a background thread; yields the base URL."""
    app = app or FakeDuckDice(config)
    sock = _bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = _uvicorn_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-duckdice", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():  # pragma: no cover - serve() failed
                raise RuntimeError("the fake server did not start")
            time.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_fake_server(config: FakeServerConfig, host: str, port: int) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (the `betbot fake-server` command)."""
    app = FakeDuckDice(config)
    server = _uvicorn_server(app, host, port, log_level="info", handle_signals=True)
    _print_fault_lines()
    server.run()
