"""DuckDiceBackend against httpx.MockTransport: every kind of reply lands in the right outcome, and nothing
(no httpx exception, no key) ever escapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from betbot.backends.base import immediate_placer
from betbot.backends.duckdice import (
    SHARD_SIZE,
    DuckDiceBackend,
    DuckDiceError,
    ShardedTransport,
    Timeouts,
    parse_retry_after,
)
from betbot.core.models import BetRequest, RefusalKind, Refused, Settled, Unknown

KEY = "Sup3rS3cretKeyForTests-0123456789"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
BET = BetRequest(amount=Decimal("0.5"), chance=Decimal("49.5"), currency="DOGE", high=False)
RANGE_BET = BetRequest(amount=Decimal("0.1"), chance=Decimal("22.23"), currency="XLM", range=(0, 2222))

Handler = Callable[[httpx.Request], httpx.Response]


def bet_json(**overrides: Any) -> dict[str, Any]:
    bet = {
        "hash": "abc123", "symbol": "DOGE", "result": True, "number": 1234, "choice": "<4950",
        "choiceOption": None, "chance": 49.5, "payout": 2.0, "betAmount": "0.50000000",
        "winAmount": "1.00000000", "profit": "0.50000000", "mined": "0.00000000", "nonce": 41,
        "created": 1714564800000, "gameMode": "main", "game": {"name": "Original Dice", "slug": "original-dice"},
        "someNewField": {"ignored": True},
    }
    user = {
        "hash": "u1", "username": "duck", "level": 3, "bets": 42, "wins": 20, "nonce": 41, "luck": 101.5,
        "balance": "100.50000000", "profit": "0.50000000", "volume": "21.00000000",
    }
    bet.update(overrides.pop("bet", {}))
    user.update(overrides.pop("user", {}))
    return {"bet": bet, "isJackpot": False, "jackpotStatus": None, "jackpot": None, "user": user, **overrides}


class Recorder:
    """A MockTransport handler that answers with `handler` and records every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def make_backend(handler: Handler, **kwargs: Any) -> tuple[DuckDiceBackend, Recorder]:
    recorder = Recorder(handler)
    pauses: list[float] = []

    async def no_sleep(seconds: float) -> None:
        pauses.append(seconds)

    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url="https://duck.test/api",
                              transport=httpx.MockTransport(recorder), sleep=no_sleep, now=lambda: NOW, **kwargs)
    backend.pauses = pauses  # type: ignore[attr-defined]
    return backend, recorder


def reply(status: int = 200, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None,
          ) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers)

    return handler


def raises(exc_type: type[Exception], message: str = "boom") -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"{message} for url {request.url}", request=request)  # type: ignore[call-arg]

    return handler


async def place(handler: Handler, bet: BetRequest = BET, **kwargs: Any) -> tuple[Any, Recorder]:
    backend, recorder = make_backend(handler, **kwargs)
    async with backend:
        outcome = await backend.place(7, bet)
    assert KEY not in repr(outcome)
    return outcome, recorder


# -- the request ---------------------------------------------------------------------------------------
async def test_dice_request_shape() -> None:
    outcome, recorder = await place(reply(200, bet_json()), tle_hash="tle-1", wagering_bonus_hash="wb-2")
    assert isinstance(outcome, Settled)
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == "/api/dice/play"
    assert dict(request.url.params) == {"api_key": KEY}  # the key only as a query parameter
    assert KEY not in request.content.decode()
    assert KEY not in str(request.headers)
    assert json.loads(request.content) == {
        "symbol": "DOGE", "amount": "0.50000000", "chance": "49.50", "isHigh": False,
        "tleHash": "tle-1", "userWageringBonusHash": "wb-2",
    }
    assert request.headers["user-agent"].startswith("betbot/")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"


async def test_range_dice_request_shape() -> None:
    body = bet_json(bet={"symbol": "XLM", "betAmount": "0.10000000", "choice": "in", "choiceOption": "0,2222"})
    outcome, recorder = await place(reply(200, body), RANGE_BET)
    assert isinstance(outcome, Settled)
    (request,) = recorder.requests
    assert request.url.path == "/api/range-dice/play"
    assert json.loads(request.content) == {"symbol": "XLM", "amount": "0.10000000", "range": [0, 2222], "isIn": True}


async def test_faucet_flag_is_sent() -> None:
    bet = BetRequest(amount=Decimal("0.5"), chance=Decimal("49.5"), currency="DOGE", faucet=True)
    _, recorder = await place(reply(200, bet_json()), bet)
    assert json.loads(recorder.requests[0].content)["faucet"] is True


def test_timeouts_are_finite_and_explicit() -> None:
    backend, _ = make_backend(reply(200, {}), max_connections=7, timeouts=Timeouts(connect=1, read=2, write=3, pool=4))
    timeout = backend._client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (1, 2, 3, 4)
    assert all(0 < value < 60 for value in (Timeouts().connect, Timeouts().read, Timeouts().write, Timeouts().pool))
    assert KEY not in repr(backend)
    assert immediate_placer(backend) is None  # a live bet always goes through a task and group commit
    assert backend.name == "duckdice"
    assert backend.live is True


# -- settled -------------------------------------------------------------------------------------------
async def test_settled_fields() -> None:
    outcome, _ = await place(reply(200, bet_json()))
    assert outcome == Settled(seq=7, bet=BET, number=1234, win=True, payout=Decimal("2.0"),
                              profit=Decimal("0.5"), balance=Decimal("100.5"), nonce=41, bet_hash="abc123")
    assert isinstance(outcome.profit, Decimal)


async def test_legacy_bet_shape_parses() -> None:
    body = bet_json()
    del body["bet"]["choice"]
    del body["bet"]["choiceOption"]
    body["bet"].update({"isHigh": False, "threshold": 4950})
    outcome, _ = await place(reply(200, body))
    assert isinstance(outcome, Settled)
    assert outcome.number == 1234


async def test_losing_bet() -> None:
    body = bet_json(bet={"result": False, "profit": "-0.50000000", "winAmount": "0.00000000"},
                    user={"balance": "99.50000000"})
    outcome, _ = await place(reply(200, body))
    assert isinstance(outcome, Settled)
    assert (outcome.win, outcome.profit, outcome.balance) == (False, Decimal("-0.5"), Decimal("99.5"))


# -- refused -------------------------------------------------------------------------------------------
async def test_min_bet_from_params() -> None:
    body = {"error": "The minimum bet is 1 DOGE", "params": {"amount": "1.00000000", "symbol": "DOGE"}}
    outcome, _ = await place(reply(422, body))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.MIN_BET
    assert outcome.min_bet == Decimal(1)


async def test_min_bet_from_message_only() -> None:
    outcome, _ = await place(reply(400, {"error": "Minimum bet amount is 0.00010000 DOGE"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.MIN_BET
    assert outcome.min_bet == Decimal("0.0001")


async def test_insufficient_balance() -> None:
    outcome, _ = await place(reply(422, {"error": "Insufficient balance", "params": {}}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.BALANCE


@pytest.mark.parametrize("status", [401, 403])
async def test_bad_key_json(status: int) -> None:
    outcome, _ = await place(reply(status, {"error": "Invalid api key"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.AUTH


@pytest.mark.parametrize(("status", "body"), [
    (400, {"error": "Chance is out of range", "params": {"chance": "99.99"}}),
    (422, {"message": "The given data was invalid."}),
    (418, {"error": {"message": "teapot"}}),
])
async def test_other_json_errors_are_bad_request(status: int, body: Any) -> None:
    outcome, _ = await place(reply(status, body))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.BAD_REQUEST


async def test_body_beats_status() -> None:
    # A 403 whose message is about the balance is a balance refusal.
    outcome, _ = await place(reply(403, {"error": "Not enough balance"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.BALANCE


@pytest.mark.parametrize("status", [200, 403, 404])
async def test_html_is_a_challenge(status: int) -> None:
    page = b"\n  <!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"
    outcome, _ = await place(reply(status, raw=page, headers={"cf-ray": "x", "content-type": "text/html"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.CHALLENGE


async def test_html_5xx_with_cf_mitigated_is_a_challenge() -> None:
    outcome, _ = await place(reply(503, raw=b"<html>challenge</html>", headers={"cf-mitigated": "challenge"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.CHALLENGE


async def test_rate_limit_retry_after_seconds() -> None:
    outcome, _ = await place(reply(429, {"error": "Too many requests"}, headers={"Retry-After": "7"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.RATE_LIMIT
    assert outcome.retry_after == 7.0


async def test_rate_limit_retry_after_http_date() -> None:
    when = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    outcome, _ = await place(reply(429, raw=b"", headers={"Retry-After": when}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.RATE_LIMIT
    assert outcome.retry_after == pytest.approx(42.0)


async def test_rate_limit_html_body_and_no_header() -> None:
    outcome, _ = await place(reply(429, raw=b"<html>slow down</html>"))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.RATE_LIMIT
    assert outcome.retry_after is None


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("99999") == 300.0  # capped
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None
    past = format_datetime(NOW - timedelta(seconds=10), usegmt=True)
    assert parse_retry_after(past, lambda: NOW) == 0.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", lambda: NOW) == pytest.approx(30.0)


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_nothing_sent_is_a_connect_refusal(exc: type[Exception]) -> None:
    outcome, recorder = await place(raises(exc))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.CONNECT
    assert len(recorder.requests) == 1
    assert KEY not in outcome.message
    assert "api_key=***" in outcome.message


# -- unknown -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("exc", [
    httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError,
    httpx.LocalProtocolError, httpx.NetworkError,
])
async def test_sent_and_no_answer_is_unknown_and_sent_once(exc: type[Exception]) -> None:
    outcome, recorder = await place(raises(exc))
    assert isinstance(outcome, Unknown)
    assert len(recorder.requests) == 1  # never resent
    assert KEY not in outcome.message


async def test_any_exception_from_the_transport_is_unknown() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"weird failure talking to {request.url}")

    outcome, _ = await place(handler)
    assert isinstance(outcome, Unknown)
    assert KEY not in outcome.message


@pytest.mark.parametrize(("status", "raw"), [
    (500, b"Internal Server Error"),
    (502, b"<html><head><title>502 Bad Gateway</title></head></html>"),
    (524, b"<!DOCTYPE html><html>A timeout occurred</html>"),
    (503, b""),
    (500, b'{"message": "Server Error"}'),
])
async def test_5xx_without_json_error_is_unknown(status: int, raw: bytes) -> None:
    outcome, _ = await place(reply(status, raw=raw))
    assert isinstance(outcome, Unknown)


async def test_5xx_with_documented_json_error_is_refused() -> None:
    outcome, _ = await place(reply(500, {"error": "The minimum bet is 2 DOGE"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.MIN_BET
    assert outcome.min_bet == Decimal(2)


async def test_redirect_is_unknown() -> None:
    outcome, _ = await place(reply(302, raw=b"", headers={"location": f"https://elsewhere/?api_key={KEY}"}))
    assert isinstance(outcome, Unknown)
    assert KEY not in outcome.message


def _missing(field: str) -> dict[str, Any]:
    body = bet_json()
    section, _, name = field.partition(".")
    del body[section][name]
    return body


@pytest.mark.parametrize(("raw", "needle"), [
    (b"", "not JSON"),
    (b"{", "not JSON"),
    (b'{"bet": {"hash": "x", "symbol": "DOGE", "res', "not JSON"),
    (b"[]", "not a bet"),
    (b"null", "not a bet"),
    (b'"ok"', "not a bet"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (json.dumps(_missing("bet.hash")).encode(), "missing field bet.hash"),
    (json.dumps(_missing("user.balance")).encode(), "missing field user.balance"),
    (json.dumps(_missing("bet.profit")).encode(), "missing field bet.profit"),
    (json.dumps({"bet": bet_json()["bet"]}).encode(), "missing field user"),
    (json.dumps(bet_json(bet={"number": "abc"})).encode(), "bet.number"),
    (json.dumps(bet_json(bet={"number": 12000})).encode(), "bet.number"),
    (json.dumps(bet_json(bet={"profit": 0.5})).encode(), "float"),
    (json.dumps(bet_json(user={"balance": 100.5})).encode(), "float"),
    (json.dumps(bet_json(bet={"profit": "lots"})).encode(), "bet.profit"),
    (json.dumps(bet_json(bet={"result": "maybe"})).encode(), "bet.result"),
    (json.dumps(bet_json(bet={"hash": None})).encode(), "bet.hash"),
    (json.dumps(bet_json(bet={"choice": None, "choiceOption": None})).encode(), "choice"),
    (json.dumps(bet_json(bet={"betAmount": "0.60000000"})).encode(), "another bet"),
    (json.dumps(bet_json(bet={"symbol": "BTC"})).encode(), "another bet"),
    (json.dumps({"error": "Something odd"}).encode(), "not a bet"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
])
async def test_2xx_that_does_not_parse_is_unknown(raw: bytes, needle: str) -> None:
    outcome, recorder = await place(reply(200, raw=raw))
    assert isinstance(outcome, Unknown), outcome
    assert needle in outcome.message
    assert len(recorder.requests) == 1


async def test_huge_body_is_unknown_without_reading_it_all() -> None:
    huge = b'{"bet": "' + b"x" * (3 << 20) + b'"}'
    outcome, _ = await place(reply(200, raw=huge))
    assert isinstance(outcome, Unknown)
    assert "larger than" in outcome.message


async def test_huge_error_body() -> None:
    outcome, _ = await place(reply(400, raw=b"x" * (2 << 20)))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.BAD_REQUEST
    assert len(outcome.message) < 400


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.integers(100, 599), body=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                 lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                   max_size=4),
                 max_leaves=20).map(lambda value: json.dumps(value).encode()),
))
def test_any_reply_is_classified_never_raised(status: int, body: bytes) -> None:
    if status in (101,):  # httpx cannot represent a protocol switch on a plain response
        return

    async def go() -> Any:
        return await place(reply(status, raw=body))

    outcome, _ = anyio.run(go)
    assert isinstance(outcome, Settled | Refused | Unknown)
    if 200 <= status < 300:
        assert not isinstance(outcome, Refused) or outcome.kind is RefusalKind.CHALLENGE


# -- other calls -----------------------------------------------------------------------------------------
STATS = {"bets": 100, "wins": 50, "profit": "10.5", "volume": "100.0", "balances": {"main": "50.0", "faucet": "0.5"}}


async def test_stats() -> None:
    backend, recorder = make_backend(reply(200, STATS))
    async with backend:
        stats = await backend.stats("doge")
    assert (stats.currency, stats.bets, stats.wins, stats.profit, stats.volume, stats.balance, stats.faucet_balance) \
        == ("DOGE", 100, 50, Decimal("10.5"), Decimal("100.0"), Decimal("50.0"), Decimal("0.5"))
    assert recorder.requests[0].url.path == "/api/bot/stats/DOGE"
    assert dict(recorder.requests[0].url.params) == {"api_key": KEY}


async def test_user_info_and_balance() -> None:
    info = {"username": "duck", "balances": [{"currency": "DOGE", "main": "12.34", "faucet": "0.1"},
                                             {"currency": "BTC", "main": "0.00100000", "faucet": None}],
            "wageringBonuses": [], "tle": [{"hash": "t", "name": "event", "status": "active"}]}
    backend, _ = make_backend(reply(200, info))
    async with backend:
        assert await backend.balance("doge") == Decimal("12.34")
        assert await backend.balance("LTC") == Decimal(0)
        user = await backend.user_info()
    assert user.tle[0]["name"] == "event"


async def test_stats_retries_rate_limit_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(403, content=b"<html>cf</html>"),
                    httpx.Response(200, json=STATS)])
    backend, recorder = make_backend(lambda request: next(answers))
    async with backend:
        stats = await backend.stats("DOGE")
    assert stats.bets == 100
    assert len(recorder.requests) == 3
    assert backend.pauses[0] == 3.0  # type: ignore[attr-defined]


async def test_stats_connect_error_gives_up_with_redacted_error() -> None:
    backend, recorder = make_backend(raises(httpx.ConnectError, "connection refused"), retries=2)
    async with backend:
        with pytest.raises(DuckDiceError) as caught:
            await backend.stats("DOGE")
    assert len(recorder.requests) == 3
    text = f"{caught.value} {caught.value!r} {caught.value.args}"
    assert KEY not in text
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(("response", "needle"), [
    (httpx.Response(401, json={"error": "Invalid api key"}), "Invalid api key"),
    (httpx.Response(200, json={"bets": 1}), "missing field wins"),
    (httpx.Response(200, content=b"not json"), "not JSON"),
    (httpx.Response(200, json={**STATS, "profit": 1.5}), "float"),
])
async def test_stats_errors(response: httpx.Response, needle: str) -> None:
    backend, _ = make_backend(lambda request: response)
    async with backend:
        with pytest.raises(DuckDiceError, match=needle):
            await backend.stats("DOGE")


async def test_get_retries_a_read_timeout_but_randomize_does_not() -> None:
    backend, recorder = make_backend(raises(httpx.ReadTimeout), retries=2)
    async with backend:
        with pytest.raises(DuckDiceError):
            await backend.stats("DOGE")
        assert len(recorder.requests) == 3
        recorder.requests.clear()
        with pytest.raises(DuckDiceError) as caught:
            await backend.rotate_seed("abc")
        assert len(recorder.requests) == 1
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(("body", "expected"), [
    ({"previous": {"serverSeed": "old", "serverSeedHash": "oldhash"}, "current": {"serverSeedHash": "newhash",
                                                                                   "clientSeed": "abc"}},
     ("old", "oldhash", "newhash", "abc")),
    ({"previousServerSeed": "old", "serverSeedHash": "newhash"}, ("old", None, "newhash", "abc")),
    ({"data": {"oldSeed": {"seed": "old"}, "newSeed": {"hash": "nh", "clientSeed": "xyz"}}},
     ("old", None, "nh", "xyz")),
    ({}, (None, None, None, "abc")),
    ([], (None, None, None, "abc")),
    ("done", (None, None, None, "abc")),
])
async def test_randomize_parses_defensively(body: Any, expected: tuple[Any, ...]) -> None:
    backend, recorder = make_backend(reply(200, body))
    async with backend:
        rotation = await backend.rotate_seed("abc")
    assert (rotation.previous_server_seed, rotation.previous_server_seed_hash, rotation.server_seed_hash,
            rotation.client_seed) == expected
    assert json.loads(recorder.requests[0].content) == {"clientSeed": "abc"}


async def test_randomize_picks_a_client_seed() -> None:
    backend, recorder = make_backend(reply(200, {}))
    async with backend:
        rotation = await backend.rotate_seed()
    sent = json.loads(recorder.requests[0].content)["clientSeed"]
    assert len(sent) == 16
    assert rotation.client_seed == sent


def test_constructor_checks() -> None:
    with pytest.raises(TypeError):
        DuckDiceBackend(api_key=KEY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        DuckDiceBackend(api_key=SecretStr("  "))
    with pytest.raises(ValueError, match="max_connections"):
        DuckDiceBackend(api_key=SecretStr(KEY), max_connections=0)


# -- the sharded pool ------------------------------------------------------------------------------------------
async def test_sharded_transport_spreads_and_releases() -> None:
    seen: list[int] = []

    def shard(index: int) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(index)
            return httpx.Response(200, json=STATS)

        return httpx.MockTransport(handler)

    sharded = ShardedTransport([shard(0), shard(1), shard(2)])
    async with httpx.AsyncClient(transport=sharded, base_url="http://x") as client:
        responses = [await client.send(client.build_request("GET", "/"), stream=True) for _ in range(3)]
        assert sorted(seen) == [0, 1, 2]  # each open response keeps its shard busy
        assert sharded._busy == [1, 1, 1]
        for response in responses:
            await response.aread()
            await response.aclose()
        assert sharded._busy == [0, 0, 0]
        await client.get("/")
        assert sharded._busy == [0, 0, 0]


async def test_sharded_transport_releases_on_error() -> None:
    sharded = ShardedTransport([httpx.MockTransport(raises(httpx.ReadTimeout))])
    async with httpx.AsyncClient(transport=sharded, base_url="http://x") as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/")
    assert sharded._busy == [0]
    with pytest.raises(ValueError, match="shard"):
        ShardedTransport([])


def test_pool_is_sharded_by_concurrency() -> None:
    small = DuckDiceBackend(api_key=SecretStr(KEY), max_connections=SHARD_SIZE)
    big = DuckDiceBackend(api_key=SecretStr(KEY), max_connections=5 * SHARD_SIZE + 1)
    assert not isinstance(small._client._transport, ShardedTransport)
    assert isinstance(big._client._transport, ShardedTransport)
    assert len(big._client._transport._shards) == 6
