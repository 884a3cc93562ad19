"""DuckDiceBackend through its real transport stack (the pooled, sharded httpx transports), with respx
answering in place of the network: each class of reply lands in the right outcome, Retry-After is kept, a
broken 2xx is unknown, and a request that may have been sent is never sent again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend
from betbot.core.models import BetRequest, RefusalKind, Refused, Settled, Unknown
from tests.backends.test_duckdice_backend import bet_json

KEY = "RespxCanaryKey-5b8e1f0c2d"
BASE = "https://duck.respx.test/api"
PLAY = f"{BASE}/dice/play"
BET = BetRequest(amount=Decimal("0.5"), chance=Decimal("49.5"), currency="DOGE", high=False)


async def place(side_effect: Any = None, response: httpx.Response | None = None,
                max_connections: int = 8) -> tuple[Any, respx.Route]:
    """One bet through a backend whose pool is sharded (8 connections: 4 shards), answered by respx."""
    with respx.mock(assert_all_called=False) as router:
        route = router.post(PLAY)
        if side_effect is not None:
            route.mock(side_effect=side_effect)
        else:
            route.mock(return_value=response)
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=BASE, max_connections=max_connections,
                                  trust_env=False)
        async with backend:
            outcome = await backend.place(1, BET)
    assert KEY not in repr(outcome)
    return outcome, route


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, json=bet_json()), Settled),
        (httpx.Response(400, json={"error": "Minimum bet is 1 DOGE"}), RefusalKind.MIN_BET),
        (httpx.Response(400, json={"error": "Insufficient balance"}), RefusalKind.BALANCE),
        (httpx.Response(401, json={"error": "Invalid api key"}), RefusalKind.AUTH),
        (httpx.Response(422, json={"error": "Chance is out of range"}), RefusalKind.BAD_REQUEST),
        (httpx.Response(403, text="<html><title>Just a moment...</title></html>",
                        headers={"content-type": "text/html"}), RefusalKind.CHALLENGE),
        (httpx.Response(429, text="slow down", headers={"retry-after": "7"}), RefusalKind.RATE_LIMIT),
        (httpx.Response(502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}), Unknown),
        (httpx.Response(500, text=""), Unknown),
        (httpx.Response(200, text='{"bet": {"hash": "x"'), Unknown),  # a 2xx cut short: it may have run
        (httpx.Response(200, json={"bet": {"hash": "x"}}), Unknown),  # a 2xx missing fields
        (httpx.Response(200, text=""), Unknown),  # a 2xx with no body at all
    ],
    ids=["settled", "min-bet", "balance", "bad-key", "bad-params", "challenge", "429", "502-html", "500-empty",
         "2xx-truncated", "2xx-missing-fields", "2xx-empty"],
)
async def test_each_reply_class_maps_to_its_outcome(response: httpx.Response, expected: Any) -> None:
    outcome, route = await place(response=response)
    assert route.call_count == 1
    if isinstance(expected, RefusalKind):
        assert isinstance(outcome, Refused), outcome
        assert outcome.kind is expected
    else:
        assert isinstance(outcome, expected), outcome


async def test_retry_after_is_kept_for_the_shared_backoff() -> None:
    outcome, _ = await place(response=httpx.Response(429, json={"error": "Too many requests"},
                                                     headers={"retry-after": "12"}))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.RATE_LIMIT
    assert outcome.retry_after == 12


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError])
async def test_no_answer_after_sending_is_unknown_and_never_sent_again(error: type[Exception]) -> None:
    outcome, route = await place(side_effect=error)
    assert isinstance(outcome, Unknown), outcome
    assert route.call_count == 1  # the bet may have run: sending it again could place it twice


async def test_a_connection_never_made_is_a_refusal_to_retry() -> None:
    outcome, route = await place(side_effect=httpx.ConnectError)
    assert isinstance(outcome, Refused), outcome
    assert outcome.kind is RefusalKind.CONNECT
    assert route.call_count == 1  # the engine resends it after the back-off, not the backend
