"""The fake DuckDice server: endpoints, the ledger, the key check, minimum bets, and every fault.

Most tests drive the ASGI app in-process through httpx.ASGITransport; the two faults that depend on a real
socket (a dropped connection, a reply slower than the client's read timeout) run under uvicorn on
127.0.0.1.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from betbot.backends.api_models import BetResponse, StatsResponse, UserInfo
from betbot.backends.duckdice import DuckDiceBackend, Timeouts
from betbot.cli.live import fake_server_command
from betbot.core.fairness import SeedPair, roll
from betbot.core.models import BetRequest, RefusalKind, Refused, Settled, Unknown
from betbot.testing.fakeserver import (
    FAULTS,
    FakeConnectionDrop,
    FakeDuckDice,
    FakeServerConfig,
    parse_balance,
    parse_balances,
    parse_faults,
    parse_latency,
    serve_fake,
)

KEY = "fake-server-test-key"
DICE = {"symbol": "DOGE", "amount": "1.00000000", "chance": "49.50", "isHigh": True}


def app_with(**kwargs: Any) -> FakeDuckDice:
    kwargs.setdefault("api_key", KEY)
    return FakeDuckDice(FakeServerConfig(**kwargs))


def client_for(app: FakeDuckDice) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake")


async def post(app: FakeDuckDice, path: str, body: Any, key: str = KEY) -> httpx.Response:
    async with client_for(app) as client:
        return await client.post(path, params={"api_key": key}, json=body)


async def get(app: FakeDuckDice, path: str, key: str | None = KEY) -> httpx.Response:
    async with client_for(app) as client:
        return await client.get(path, params={"api_key": key} if key is not None else None)


# -- endpoints ---------------------------------------------------------------------------------------
async def test_dice_bet_documented_shape_and_fair_roll() -> None:
    app = app_with(seed="s1")
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= {"bet", "isJackpot", "jackpotStatus", "jackpot", "user"}
    bet = data["bet"]
    assert set(bet) >= {"hash", "symbol", "result", "number", "choice", "chance", "payout", "betAmount",
                        "winAmount", "profit", "mined", "nonce", "created", "gameMode", "game"}
    assert set(data["user"]) >= {"hash", "username", "level", "bets", "wins", "nonce", "luck", "balance", "profit",
                                 "volume"}
    for money in ("betAmount", "winAmount", "profit", "mined"):
        assert isinstance(bet[money], str)
    assert bet["choice"] == ">5049"
    assert bet["betAmount"] == "1.00000000"
    seeds = SeedPair.derive("s1")
    assert bet["number"] == roll(seeds.server_seed, seeds.client_seed, 0)
    assert bet["nonce"] == 0
    parsed = BetResponse.model_validate(data)
    assert parsed.user.balance == Decimal(100) + parsed.bet.profit
    (entry,) = app.ledger
    assert entry["hash"] == bet["hash"]
    assert entry["fault"] is None
    assert (await get(app, f"/bet/{bet['hash']}")).json()["bet"]["hash"] == bet["hash"]
    assert (await get(app, "/bet/nope")).status_code == 404


async def test_nonce_counts_in_arrival_order_and_api_prefix() -> None:
    app = app_with()
    for expected in range(3):
        data = (await post(app, "/api/dice/play", DICE)).json()
        assert data["bet"]["nonce"] == expected
        assert data["user"]["bets"] == expected + 1


async def test_range_dice() -> None:
    app = app_with()
    body = {"symbol": "DOGE", "amount": "0.50000000", "range": [0, 2222], "isIn": True}
    data = (await post(app, "/range-dice/play", body)).json()
    assert data["bet"]["choiceOption"] == "0,2222"
    assert data["bet"]["chance"] == 22.23
    assert data["bet"]["game"]["slug"] == "range-dice"
    assert data["bet"]["result"] == (0 <= data["bet"]["number"] <= 2222)
    BetResponse.model_validate(data)


async def test_legacy_shape() -> None:
    app = app_with(legacy_shape=True)
    bet = (await post(app, "/dice/play", DICE)).json()["bet"]
    assert "choice" not in bet
    assert bet["isHigh"] is True
    assert bet["threshold"] == 5049


async def test_user_info_stats_and_ledger() -> None:
    app = app_with(balances={"DOGE": Decimal(100), "BTC": Decimal("0.001")}, faucet_balances={"DOGE": Decimal(1)})
    data = (await post(app, "/dice/play", DICE)).json()
    profit = Decimal(data["bet"]["profit"])
    info = UserInfo.model_validate((await get(app, "/bot/user-info")).json())
    assert info.balance_of("DOGE") is not None
    assert info.balance_of("DOGE").main == Decimal(100) + profit  # type: ignore[union-attr]
    assert info.balance_of("DOGE").faucet == Decimal(1)  # type: ignore[union-attr]
    assert info.balance_of("BTC").main == Decimal("0.001")  # type: ignore[union-attr]
    stats = StatsResponse.model_validate((await get(app, "/bot/stats/doge")).json())
    assert (stats.bets, stats.profit, stats.volume) == (1, profit, Decimal(1))
    assert stats.balances.main == Decimal(100) + profit
    ledger = (await get(app, "/_fake/ledger", key=None)).json()
    assert ledger["executed"] == 1
    assert ledger["bets"][0]["profit"] == data["bet"]["profit"]
    assert ledger["balances"]["DOGE"]["main"] == data["user"]["balance"]


async def test_faucet_bet_uses_the_faucet_balance() -> None:
    app = app_with(faucet_balances={"DOGE": Decimal(2)})
    data = (await post(app, "/dice/play", {**DICE, "faucet": True})).json()
    assert data["bet"]["gameMode"] == "faucet"
    assert Decimal(data["user"]["balance"]) == Decimal(2) + Decimal(data["bet"]["profit"])
    assert app.balances_json()["DOGE"]["main"] == "100.00000000"


async def test_randomize_rotates_and_resets_the_nonce() -> None:
    app = app_with(seed="r")
    await post(app, "/dice/play", DICE)
    old = SeedPair.derive("r")
    rotated = (await post(app, "/randomize", {"clientSeed": "mine"})).json()
    assert rotated["previous"]["serverSeed"] == old.server_seed
    assert rotated["current"]["clientSeed"] == "mine"
    bet = (await post(app, "/dice/play", DICE)).json()["bet"]
    assert bet["nonce"] == 0
    assert len(app.ledger_json()["seeds"]) == 2
    assert (await post(app, "/randomize", {"clientSeed": ""})).status_code == 422


# -- the key and the refusals --------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [("POST", "/dice/play"), ("GET", "/bot/user-info"),
                                              ("GET", "/bot/stats/DOGE"), ("POST", "/randomize")])
async def test_wrong_key_is_401_json(method: str, path: str) -> None:
    app = app_with()
    async with client_for(app) as client:
        response = await client.request(method, path, params={"api_key": "wrong"}, json=DICE)
        missing = await client.request(method, path, json=DICE)
    for r in (response, missing):
        assert r.status_code == 401
        assert "error" in r.json()
    assert app.ledger == []


async def test_min_bet_refusal() -> None:
    app = app_with(min_bets={"DOGE": Decimal(2)})
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 422
    assert response.json() == {"error": "The minimum bet is 2 DOGE", "params": {"amount": "2.00000000",
                                                                                "symbol": "DOGE"}}
    assert app.ledger == []
    assert app.not_executed[0]["reason"] == "min bet"


async def test_insufficient_balance() -> None:
    app = app_with(balances={"DOGE": Decimal("0.5")})
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 422
    assert "balance" in response.json()["error"].lower()
    assert app.ledger == []


@pytest.mark.parametrize("body", [
    {**DICE, "amount": 1.0},
    {**DICE, "amount": "1.123456789"},
    {**DICE, "chance": "49.555"},
    {**DICE, "chance": "99.5"},
    {**DICE, "isHigh": "yes"},
    {**DICE, "symbol": "NOPE"},
    {**DICE, "amount": "-1"},
    [],
])
async def test_invalid_bets_are_422(body: Any) -> None:
    app = app_with()
    response = await post(app, "/dice/play", body)
    assert response.status_code == 422
    assert "error" in response.json()
    assert app.ledger == []


async def test_unknown_path() -> None:
    assert (await get(app_with(), "/nope")).status_code == 404
    assert (await post(app_with(), "/bot/user-info", {})).status_code == 405


# -- faults (in-process) -------------------------------------------------------------------------------
async def test_fault_429() -> None:
    app = app_with(faults={"429": 1.0}, retry_after="3")
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert app.ledger == []


async def test_fault_challenge() -> None:
    app = app_with(faults={"challenge": 1.0})
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 403
    assert response.text.startswith("<!DOCTYPE html>")
    assert "cf-ray" in response.headers
    assert app.ledger == []


async def test_fault_5xx_not_executed() -> None:
    app = app_with(faults={"5xx": 1.0})
    statuses = {(await post(app, "/dice/play", DICE)).status_code for _ in range(8)}
    assert statuses <= {502, 503}
    assert app.ledger == []
    assert len(app.not_executed) == 8


async def test_fault_json_error() -> None:
    app = app_with(faults={"json-error": 1.0})
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 400
    assert "error" in response.json()
    assert app.ledger == []


async def test_fault_malformed_is_executed() -> None:
    app = app_with(faults={"malformed": 1.0})
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert app.ledger[0]["fault"] == "malformed"


async def test_fault_5xx_after_execute() -> None:
    app = app_with(faults={"5xx-after-execute": 1.0})
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 502
    assert app.ledger[0]["fault"] == "5xx-after-execute"


async def test_fault_drop_after_execute_in_process() -> None:
    app = app_with(faults={"drop-after-execute": 1.0})
    with pytest.raises(FakeConnectionDrop):
        await post(app, "/dice/play", DICE)
    assert app.ledger[0]["fault"] == "drop-after-execute"


async def test_fault_slow_after_execute_in_process() -> None:
    app = app_with(faults={"slow-after-execute": 1.0}, slow_delay=0.01)
    response = await post(app, "/dice/play", DICE)
    assert response.status_code == 200  # this client waited long enough
    assert app.ledger[0]["fault"] == "slow-after-execute"


async def test_faults_only_on_bets() -> None:
    app = app_with(faults={"429": 1.0})
    assert (await get(app, "/bot/stats/DOGE")).status_code == 200


async def test_fault_rates_are_seeded() -> None:
    def draws(seed: str) -> list[str | None]:
        app = app_with(faults={"429": 0.3, "challenge": 0.3}, seed=seed)
        return [app._draw_fault() for _ in range(200)]

    first = draws("x")
    assert first == draws("x")
    assert first != draws("y")
    counts = {name: first.count(name) for name in ("429", "challenge", None)}
    assert all(30 < count < 100 for count in counts.values()), counts


# -- the backend against the fake, in-process ------------------------------------------------------------
@pytest.mark.parametrize(("fault", "expected"), [
    (None, Settled),
    ("429", RefusalKind.RATE_LIMIT),
    ("challenge", RefusalKind.CHALLENGE),
    ("json-error", RefusalKind.BAD_REQUEST),
    ("5xx", Unknown),
    ("malformed", Unknown),
    ("5xx-after-execute", Unknown),
    ("drop-after-execute", Unknown),
])
async def test_backend_outcome_per_fault(fault: str | None, expected: Any) -> None:
    app = app_with(faults={fault: 1.0} if fault else {})
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url="http://fake",
                              transport=httpx.ASGITransport(app=app))
    async with backend:
        outcome = await backend.place(1, BetRequest(amount=Decimal(1), chance=Decimal("49.5"), currency="DOGE"))
    if isinstance(expected, RefusalKind):
        assert isinstance(outcome, Refused)
        assert outcome.kind is expected
    else:
        assert isinstance(outcome, expected)
    assert KEY not in repr(outcome)


# -- faults that need a real socket (uvicorn on 127.0.0.1) ---------------------------------------------
async def test_drop_after_execute_over_a_socket_is_unknown() -> None:
    app = app_with(faults={"drop-after-execute": 1.0})
    async with serve_fake(app=app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await client.post("/dice/play", params={"api_key": KEY}, json=DICE)
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, trust_env=False)
        async with backend:
            outcome = await backend.place(1, BetRequest(amount=Decimal(1), chance=Decimal("49.5"), currency="DOGE"))
    assert isinstance(outcome, Unknown)
    assert "RemoteProtocolError" in outcome.message or "ReadError" in outcome.message
    assert [entry["fault"] for entry in app.ledger] == ["drop-after-execute"] * 2


async def test_slow_after_execute_over_a_socket_is_unknown() -> None:
    app = app_with(faults={"slow-after-execute": 1.0}, slow_delay=30)
    async with serve_fake(app=app) as base_url:
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, trust_env=False,
                                  timeouts=Timeouts(read=0.2))
        async with backend:
            outcome = await backend.place(1, BetRequest(amount=Decimal(1), chance=Decimal("49.5"), currency="DOGE"))
    assert isinstance(outcome, Unknown)
    assert "ReadTimeout" in outcome.message
    assert app.ledger[0]["fault"] == "slow-after-execute"


# -- parsers and config ------------------------------------------------------------------------------------
def test_parse_faults() -> None:
    text = ("429=0.02,challenge=0.01,5xx=0.01,drop-after-execute=0.01,slow-after-execute=0.01,malformed=0.01,"
            "json-error=0.01")
    faults = parse_faults(text)
    assert faults["429"] == 0.02
    assert set(faults) <= set(FAULTS)
    assert parse_faults("429=2%") == {"429": 0.02}
    assert parse_faults("") == {}
    for bad in ("nope=0.1", "429", "429=x", "429=1.5", "429=0.6,challenge=0.6"):
        with pytest.raises(ValueError, match="--faults"):
            parse_faults(bad)


def test_parse_latency_and_balances() -> None:
    assert parse_latency("50ms") == pytest.approx(0.05)
    assert parse_latency("0.2") == pytest.approx(0.2)
    assert parse_balance("doge=100") == ("DOGE", Decimal(100))
    assert parse_balances(["DOGE=1", "BTC=0.001"]) == {"DOGE": Decimal(1), "BTC": Decimal("0.001")}
    for bad in ("DOGE", "=5", "DOGE=abc", "DOGE=-1", "DOGE=0.123456789"):
        with pytest.raises(ValueError, match=r"DOGE|CURRENCY=AMOUNT"):
            parse_balance(bad)


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"faults": {"nope": 0.1}}, "unknown fault"),
    ({"faults": {"429": 1.5}}, "between 0 and 1"),
    ({"faults": {"429": 0.6, "5xx": 0.6}}, "more than 1"),
    ({"latency": -1}, "0 or more"),
    ({"api_key": ""}, "API key"),
])
def test_config_validation(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        FakeServerConfig(**kwargs)


@pytest.mark.parametrize(("flags", "burst"), [((), 15.0), (("--rate-burst", "3"), 3.0)])
def test_the_fake_server_command_allows_a_quarter_second_of_its_rate_at_once(
        monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], burst: float) -> None:
    # A burst of 1 (the config's own default) would refuse two bets that merely arrive together, and -n auto
    # would learn half the site's rate from it.
    served: list[FakeServerConfig] = []
    monkeypatch.setattr("betbot.testing.fakeserver.run_fake_server",
                        lambda config, host, port: served.append(config))
    result = CliRunner().invoke(fake_server_command, ["--rate-limit", "60", *flags])
    assert result.exit_code == 0, result.output
    [config] = served
    assert (config.rate_limit, config.rate_burst) == (60.0, burst)
