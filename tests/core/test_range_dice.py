"""Every DuckDice game: Range Dice for any strategy that picks a chance, the faucet, TLE and wagering bonus.

* The window: placed at a fixed roll (moved down to fit) or at random per bet from the strategy's seed.
* In the simulator, end to end: every bet's own roll, re-derived from the seeds, decides the win by the
  window (in or out), and the payout follows the window's chance.
* The live request body (DuckDiceBackend): `range-dice/play` with `range` and `isIn`; the faucet, TLE and
  wagering-bonus fields; and a whole `betbot run --live` against the fake server, whose ledger records them.
* Bad settings are one line, exit 2.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend
from betbot.config.build import game_rules, strategy_context
from betbot.config.settings import Settings
from betbot.core.bare_loop import play_sync
from betbot.core.fairness import SeedPair, payout_multiplier, range_chance, roll
from betbot.core.game import SimulatedGame
from betbot.core.models import BetRequest, Outcome, Settled
from betbot.core.session import Limits, Session
from betbot.core.strategy import RangeWindow, StrategyContext
from betbot.journal import Journal
from betbot.strategies.registry import BUILTIN_STRATEGIES, load_strategy
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake_in_thread
from tests.cli_support import ENV
from tests.strategies.test_strategies import FakeView

KEY = "LEAKCANARY-range-dice-key-4242"


def context(window: RangeWindow | None, seed: int = 7) -> StrategyContext:
    return StrategyContext(currency="DOGE", starting_balance=Decimal(100), range_window=window, rng_seed=seed)


# --- The window -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("window", "chance", "bounds"), [
    (RangeWindow(inside=True, at=0), "49.5", (0, 4949)),
    (RangeWindow(inside=True, at=1000), "0.01", (1000, 1000)),
    (RangeWindow(inside=True, at=9000), "20", (8000, 9999)),  # moved down so it ends at 9999
    (RangeWindow(inside=False, at=0), "30", (0, 6999)),  # outside wins: the window is the 70 % that loses
    (RangeWindow(inside=False, at=5000), "98", (5000, 5199)),
])
def test_fixed_window(window: RangeWindow, chance: str, bounds: tuple[int, int]) -> None:
    low, high = window.place(Decimal(chance), random.Random(0))
    assert (low, high) == bounds
    assert range_chance(low, high, window.inside) == Decimal(chance)


def test_random_windows_fit_replay_with_the_seed_and_move() -> None:
    window = RangeWindow(inside=True, at=None)
    strategy = load_strategy("flat").from_options({"chance": "12.34"}, context(window, seed=11))
    bets = [strategy.next_bet(FakeView()) for _ in range(200)]
    again = load_strategy("flat").from_options({"chance": "12.34"}, context(window, seed=11))
    assert [again.next_bet(FakeView()) for _ in range(200)] == bets  # the same seed, the same windows
    other = load_strategy("flat").from_options({"chance": "12.34"}, context(window, seed=12))
    assert [other.next_bet(FakeView()) for _ in range(200)] != bets
    starts = set()
    for bet in bets:
        assert isinstance(bet, BetRequest)
        assert bet.range is not None
        low, high = bet.range
        assert 0 <= low <= high <= 9999
        assert high - low + 1 == 1234
        assert bet.chance == Decimal("12.34")
        starts.add(low)
    assert len(starts) > 150  # a new place for (nearly) every bet


def test_a_fixed_window_repeats_its_request_and_a_random_one_does_not() -> None:
    fixed = load_strategy("flat").from_options({}, context(RangeWindow(inside=True, at=10)))
    assert fixed.next_bet(FakeView()) is fixed.next_bet(FakeView())
    moving = load_strategy("flat").from_options({}, context(RangeWindow(inside=True, at=None)))
    assert moving.next_bet(FakeView()) is not moving.next_bet(FakeView())


@pytest.mark.parametrize("name", [name for name in BUILTIN_STRATEGIES if name != "lua"])
def test_every_builtin_plays_range_dice(name: str) -> None:
    strategy = load_strategy(name).from_options({"chance": "33.33"}, context(RangeWindow(inside=False, at=100)))
    bet = strategy.next_bet(FakeView())
    assert isinstance(bet, BetRequest)
    assert bet.game.value == "range-dice"
    assert bet.range == (100, 100 + 6667 - 1)
    assert bet.range_in is False
    assert bet.chance == Decimal("33.33")


def test_original_dice_bets_carry_no_range() -> None:
    bet = load_strategy("martingale").from_options({}, context(None)).next_bet(FakeView())
    assert isinstance(bet, BetRequest)
    assert bet.range is None
    assert bet.game.value == "dice"


# --- End to end in the simulator --------------------------------------------------------------------------


class Recording(SimulatedGame):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcomes: list[Outcome] = []

    def play(self, seq: int, bet: BetRequest) -> Any:
        outcome = super().play(seq, bet)
        self.outcomes.append(outcome)
        return outcome


@pytest.mark.parametrize(("inside", "at", "chance"), [(True, None, "49.5"), (False, None, "30"), (True, 2500, "70")])
def test_simulated_range_bets_win_by_their_window(inside: bool, at: int | None, chance: str) -> None:
    seeds = SeedPair.derive("range-e2e")
    game = Recording(seeds=seeds, balances={"DOGE": Decimal(100)})
    strategy = load_strategy("martingale").from_options({"chance": chance}, context(RangeWindow(inside=inside, at=at)))
    session = Session(currency="DOGE", starting_balance=Decimal(100), limits=Limits(max_bets=300), started_at=0.0)
    play_sync(session, strategy, game)
    settled = [outcome for outcome in game.outcomes if isinstance(outcome, Settled)]
    assert len(settled) == 300
    wins = {True: 0, False: 0}
    for outcome in settled:
        bet = outcome.bet
        assert bet.range is not None
        assert bet.range_in is inside
        low, high = bet.range
        number = roll(seeds.server_seed, seeds.client_seed, outcome.nonce)  # the bet verifies
        assert number == outcome.number
        assert outcome.win == ((low <= number <= high) == inside)
        assert outcome.payout == payout_multiplier(Decimal(chance), Decimal(1))
        wins[outcome.win] += 1
    assert wins[True] > 0  # both kinds happened: the window really decided
    assert wins[False] > 0
    assert session.balance == game.balances["DOGE"]


def test_settings_build_the_range_context() -> None:
    settings = Settings(game="range", range_in=False, range_at="random", seed="s")
    ctx = strategy_context(settings, Decimal(100), game_rules(settings))
    assert ctx.range_window == RangeWindow(inside=False, at=None)
    assert ctx.rng_seed == strategy_context(settings, Decimal(100), game_rules(settings)).rng_seed
    assert strategy_context(Settings(), Decimal(100), game_rules(settings)).range_window is None
    fixed = Settings(game="range", range_at="1234")
    assert strategy_context(fixed, Decimal(100), game_rules(fixed)).range_window == RangeWindow(inside=True, at=1234)


def test_faucet_bets_are_flagged_and_pay_the_faucet_edge() -> None:
    settings = Settings(faucet=True, faucet_edge="3", seed="faucet")
    rules = game_rules(settings)
    strategy = load_strategy("flat").from_options({}, strategy_context(settings, Decimal(100), rules))
    game = Recording(seeds=SeedPair.derive("faucet"), balances={"DOGE": Decimal(100)}, rules=rules)
    session = Session(currency="DOGE", starting_balance=Decimal(100), limits=Limits(max_bets=20), started_at=0.0,
                      rules=rules)
    play_sync(session, strategy, game)
    assert len(game.outcomes) == 20
    for outcome in game.outcomes:
        assert isinstance(outcome, Settled)
        assert outcome.bet.faucet is True
        assert outcome.payout == payout_multiplier(Decimal("49.5"), Decimal(3)) == Decimal("1.9596")


# --- The live request body --------------------------------------------------------------------------------


class Recorder:
    def __init__(self, reply: dict[str, Any]) -> None:
        self.requests: list[httpx.Request] = []
        self.reply = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.reply)


def range_reply(amount: str = "0.50000000") -> dict[str, Any]:
    return {
        "bet": {"hash": "h1", "symbol": "DOGE", "result": True, "number": 1500, "choice": "in",
                "choiceOption": "1000,3221", "chance": 22.22, "payout": 4.4554, "betAmount": amount,
                "winAmount": "2.22770000", "profit": "1.72770000", "nonce": 5, "gameMode": "main"},
        "user": {"balance": "101.72770000", "bets": 6, "nonce": 5},
    }


async def test_range_bet_body_and_reply() -> None:
    recorder = Recorder(range_reply())
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url="https://duckdice.test/api",
                              transport=httpx.MockTransport(recorder), tle_hash="tle-9", wagering_bonus_hash="wb-3")
    bet = BetRequest(amount=Decimal("0.5"), chance=Decimal("22.22"), currency="DOGE", range=(1000, 3221),
                     range_in=True)
    try:
        outcome = await backend.place(1, bet)
    finally:
        await backend.aclose()
    (request,) = recorder.requests
    assert request.url.path == "/api/range-dice/play"
    assert json.loads(request.content) == {
        "symbol": "DOGE", "amount": "0.50000000", "range": [1000, 3221], "isIn": True,
        "tleHash": "tle-9", "userWageringBonusHash": "wb-3",
    }
    assert isinstance(outcome, Settled)
    assert (outcome.number, outcome.win, outcome.profit) == (1500, True, Decimal("1.7277"))


async def test_range_bets_against_the_fake_server_win_by_their_window() -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal(100)}))
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url="http://fake", transport=httpx.ASGITransport(app=app))
    try:
        for seq, (bounds, inside) in enumerate([((0, 4949), True), ((2000, 8999), False), ((9990, 9999), True)] * 10,
                                               start=1):
            bet = BetRequest(amount=Decimal("0.01"), chance=range_chance(*bounds, inside), currency="DOGE",
                             range=bounds, range_in=inside)
            outcome = await backend.place(seq, bet)
            assert isinstance(outcome, Settled)
            entry = app.ledger[-1]
            assert entry["game"] == "range-dice"
            assert (tuple(entry["range"]), entry["range_in"]) == (bounds, inside)
            assert outcome.win == ((bounds[0] <= outcome.number <= bounds[1]) == inside) == entry["win"]
    finally:
        await backend.aclose()


@pytest.mark.parametrize("faucet", [False, True])
async def test_a_faucet_backend_reads_the_faucet_wallet(faucet: bool) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/bot/user-info"):
            return httpx.Response(200, json={"balances": [{"currency": "DOGE", "main": "12.5", "faucet": "0.75"}]})
        return httpx.Response(200, json={"bets": 3, "wins": 1, "profit": "0.1", "volume": "1",
                                         "balances": {"main": "12.5", "faucet": "0.75"}})

    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url="https://duckdice.test/api",
                              transport=httpx.MockTransport(reply), faucet=faucet)
    try:
        expected = Decimal("0.75") if faucet else Decimal("12.5")
        assert await backend.balance("DOGE") == expected
        stats = await backend.stats("DOGE")
        assert (stats.balance, stats.faucet_balance) == (expected, Decimal("0.75"))
    finally:
        await backend.aclose()


def test_live_run_sends_range_faucet_tle_and_bonus(tmp_path: Path) -> None:
    config = FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal(0)}, faucet_balances={"DOGE": Decimal(5)})
    with serve_fake_in_thread(config) as base_url:
        result = subprocess.run(
            [sys.executable, "-m", "betbot", "run", "--live", "--base-url", base_url, "--strategy", "martingale",
             "--chance", "40", "--game", "range", "--range-out", "--range-at", "random", "--faucet",
             "--tle", "tle-hash-1", "--wagering-bonus", "wb-hash-2", "--max-bets", "25", "--no-loss-limit",
             "--seed", "live-range", "--dashboard", "off", "--journal", str(tmp_path / "j.sqlite3"),
             "--min-bet-cache", str(tmp_path / "min_bets.json")],
            capture_output=True, text=True, env={**ENV, "BETBOT_API_KEY": KEY}, timeout=120, check=False,
        )
        ledger = httpx.get(f"{base_url}/_fake/ledger", params={"api_key": KEY}).json()
    assert result.returncode == 0, result.stderr[-2000:]
    assert ledger["executed"] == 25
    for entry in ledger["bets"]:
        assert entry["game"] == "range-dice"
        assert entry["mode"] == "faucet"
        assert entry["range_in"] is False
        low, high = entry["range"]
        assert high - low + 1 == 6000  # outside wins 40 %: the window is the 60 % that loses
        assert entry["win"] == (not low <= entry["number"] <= high)
        assert (entry["tle_hash"], entry["wagering_bonus_hash"]) == ("tle-hash-1", "wb-hash-2")
    assert len({tuple(entry["range"]) for entry in ledger["bets"]}) > 1  # placed at random
    assert ledger["balances"]["DOGE"]["main"] == "0.00000000"  # only the faucet was played
    assert KEY not in result.stdout + result.stderr


# --- Bad settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "named"), [
    (["--game", "roulette"], "--game"),
    (["--game", "range", "--range-at", "10000"], "range_at"),
    (["--game", "range", "--range-at", "left"], "range_at"),
    (["--tle", "not a hash!"], "tle"),
    (["--game", "range", "--low"], "--range-out"),
    (["--wagering-bonus", ""], "wagering_bonus"),
])
def test_bad_game_settings_are_one_line_exit_2(args: list[str], named: str) -> None:
    result = subprocess.run([sys.executable, "-m", "betbot", "run", "--max-bets", "1", "--no-journal", *args],
                            capture_output=True, text=True, env=ENV, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named.replace("_", "-") in lines[0] or named in lines[0]
    assert "Traceback" not in result.stderr


# --- Resume keeps the game -------------------------------------------------------------------------------------


def test_a_resumed_range_session_keeps_its_game(tmp_path: Path) -> None:
    from tests.journal.test_daemon import wait_for  # noqa: PLC0415 - its subprocess helper

    journal = tmp_path / "journal.sqlite3"
    env = {**ENV, "BETBOT_PREVIEW": "false"}
    common = [sys.executable, "-m", "betbot", "run", "--journal", str(journal), "--dashboard", "off",
              "--log-format", "json"]
    proc = subprocess.Popen([*common, "--strategy", "martingale", "--chance", "25", "--game", "range", "--range-out",
                             "--range-at", "random", "--seed", "resume-range", "--max-bets", "400",
                             "--sim-latency", "5ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    wait_for(proc, "session.running")
    with pytest.raises(subprocess.TimeoutExpired):  # still betting: the kill lands mid-session
        proc.wait(timeout=0.3)
    proc.kill()
    proc.communicate()
    resumed = subprocess.run([*common, "--resume"], capture_output=True, text=True, env=env, timeout=120,
                             check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    with Journal.open(journal, durable=False, readonly=True) as reader:
        [session] = reader.sessions()
        rows = [bet for bet in reader.bets(session.id) if bet.profit is not None]
    assert 0 < len(rows) <= 400
    assert "resuming session" in resumed.stderr
    for row in rows:  # before and after the restart: Range Dice, outside a window of 75 % of the rolls
        assert row.range is not None, row
        assert row.range_in is False
        assert row.range[1] - row.range[0] + 1 == 7500
