"""The `lua` strategy follows the lifecycle, globals and functions of docs/dicebot-scripts.md."""

from __future__ import annotations

import copy
import itertools
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from structlog.testing import capture_logs

from betbot.config.settings import SettingsError, load_settings
from betbot.core.models import BetRequest, Settled, StopKind
from betbot.core.strategy import RESEED, Pause, RangeWindow, StopStrategy, StrategyContext
from betbot.engine.loop import effective_concurrency
from betbot.strategies.lua import LuaParams, LuaStrategy, ScriptError, ScriptLoadError, batch_mode
from betbot.strategies.registry import load_strategy
from tests.lua_support import bets_of, load, play, write

D = Decimal


def _lua(tmp_path: Path, text: str, **kwargs: Any) -> LuaStrategy:
    return load(write(tmp_path, text), files_dir=tmp_path / "files", **kwargs)


def test_registered_as_lua_and_built_from_options(tmp_path: Path) -> None:
    script = write(tmp_path, "nextbet = 0.01\nfunction dobet() end\n")
    cls = load_strategy("lua")
    assert cls is LuaStrategy
    strategy = cls.from_options({"script": str(script)}, load(script).context)
    assert strategy.params.script == script  # type: ignore[attr-defined]


def test_nextbet_is_reset_to_the_previous_amount_before_each_dobet(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.5
        seen = {}
        function dobet()
          seen[#seen + 1] = nextbet == previousbet
          if bets == 3 then nextbet = 0.25 end
        end
    """)
    _, settled = play(strategy, bets=6)
    assert [amount for amount, _, _ in bets_of(settled)] == [D("0.5")] * 3 + [D("0.25")] * 3
    seen = strategy.runtime.env.seen
    assert [seen[i] for i in range(1, 7)] == [True] * 6


def test_globals_after_each_result_match_the_session(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        chance = 30
        bethigh = false
        log = {}
        function dobet()
          log[#log + 1] = { win = win, roll = currentroll, streak = currentstreak, bets = bets, wins = wins,
                            losses = losses, balance = balance, profit = profit, wagered = wagered,
                            cp = currentprofit, prev = previousbet }
          bethigh = not bethigh
        end
    """)
    _session, settled = play(strategy, bets=40)
    log = strategy.runtime.env.log
    streak = balance = profit = wagered = D(0)
    balance = D(100)
    for i, result in enumerate(settled, start=1):
        entry = log[i]
        number = result.number
        winning = int(result.bet.chance * 100)
        expected_win = number >= 10000 - winning if result.bet.high else number < winning
        assert entry.win is expected_win is result.win
        assert entry.roll == number / 100
        streak = (max(streak, 0) + 1) if result.win else (min(streak, 0) - 1)
        balance += result.profit
        profit += result.profit
        wagered += result.bet.amount
        assert entry.streak == streak
        assert (entry.bets, entry.wins + entry.losses) == (i, i)
        assert D(str(entry.balance)) == balance
        assert D(str(entry.profit)) == profit
        assert D(str(entry.wagered)) == wagered
        assert D(str(entry.cp)) == result.profit
        assert D(str(entry.prev)) == result.bet.amount
    assert {high for _, _, high in bets_of(settled)} == {True, False}


def test_last_bet_fields_in_any_case_and_its_date(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.02
        chance = 49.5
        function dobet()
          got = { lastBet.Roll, lastbet.roll, lastBet.ROLL, lastBet.Amount, lastbet.amount, lastBet.Chance,
                  lastBet.Profit, lastBet.high, lastBet.nonce, lastBet.Id, lastBet.Currency, lastBet.TotalAmount,
                  lastBet.serverhash, lastBet.clientseed }
          local d = lastBet.date
          date = { d.year, d.month, d.day, d.hour, d.minute, d.second, d.min, d.sec, d.Year }
        end
    """, epoch=1_700_000_000.0)
    _, settled = play(strategy, bets=1)
    result = settled[0]
    got = strategy.runtime.env.got
    values = [got[i] for i in range(1, 15)]
    roll = result.number / 100
    assert values[:3] == [roll, roll, roll]
    assert D(str(values[3])) == D(str(values[4])) == D("0.02")
    assert values[5] == 49.5
    assert D(str(values[6])) == result.profit
    assert values[7] is True
    assert values[8] == result.nonce
    assert values[9] == result.bet_hash
    assert values[10] == "doge"
    assert D(str(values[11])) == D("0.02")
    assert (values[12], values[13]) == (result.server_seed_hash, result.client_seed)
    date = strategy.runtime.env.date
    fields = [date[i] for i in range(1, 10)]
    assert fields[0] == 2023  # the epoch of the virtual clock: 2023-11-14 (local time)
    assert 1 <= fields[1] <= 12
    assert 1 <= fields[2] <= 31
    assert 0 <= fields[3] <= 23
    assert fields[4] == fields[6]
    assert fields[5] == fields[7]
    assert fields[8] == fields[0]


def test_stop_ends_the_session_after_that_bet(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet()\n  if bets == 5 then stop() end\nend\n")
    session, settled = play(strategy, bets=50)
    assert len(settled) == 5
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STRATEGY
    assert session.stop_reason.detail == "the script called stop()"


def test_resetseed_asks_for_a_rotation_then_bets_on(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet()\n  if bets == 3 then resetseed() end\nend\n")
    _session, settled = play(strategy, bets=6)
    assert len(settled) == 6
    assert settled[3].server_seed_hash != settled[2].server_seed_hash  # bet 4 rolled under the new pair
    assert settled[4].server_seed_hash == settled[3].server_seed_hash
    fresh = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() resetseed() sleep(250) end\n")
    view = play(fresh, bets=1)[0]
    assert fresh.next_bet(view) is RESEED
    assert fresh.next_bet(view) == Pause(0.25)
    assert fresh.next_bet(view).amount == D("0.01")  # type: ignore[union-attr]


def test_sleep_is_a_pause_between_the_bets(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() sleep(60000) end\n")  # a minute per bet
    session, settled = play(strategy, bets=20)
    assert len(settled) == 20
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    # After each result the strategy answers the pause first, then the bet: a sleep is never ignored.
    assert strategy.next_bet(session) == Pause(60.0)
    assert strategy.next_bet(session).amount == D("0.01")  # type: ignore[union-attr]
    assert strategy.runtime.control.now() >= 20 * 60  # the script's clock moved a minute per bet


def test_after_stop_every_next_bet_is_the_stop(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() stop() end\n")
    session, settled = play(strategy, bets=5)
    assert len(settled) == 1
    for _ in range(3):
        decision = strategy.next_bet(session)
        assert isinstance(decision, StopStrategy)
        assert decision.reason == "the script called stop()"


def test_an_all_in_nextbet_is_placed(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = balance\nfunction dobet() nextbet = balance end\n", balance="2.5")
    settled = play(strategy, bets=1, balance="2.5")[1]
    assert [s.bet.amount for s in settled] == [D("2.5")]


def test_an_all_in_nextbet_after_a_result_is_placed(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 1\nchance = 90\nfunction dobet() nextbet = balance end\n")
    _session, settled = play(strategy, bets=3)
    assert len(settled) == 3
    assert settled[1].bet.amount == D(100) + settled[0].profit  # the whole balance, exactly


@pytest.mark.parametrize(("chance", "placed"), [("49.505", "49.50"), ("49.515", "49.52"), ("12.345", "12.34"),
                                                ("12.355", "12.36"), ("12.3451", "12.35")])
def test_a_chance_at_a_half_step_rounds_to_the_even_hundredth(chance: str, placed: str, tmp_path: Path) -> None:
    strategy = _lua(tmp_path, f"nextbet = 0.01\nchance = {chance}\nfunction dobet() chance = {chance} end\n")
    assert {bet_chance for _, bet_chance, _ in bets_of(play(strategy, bets=2)[1])} == {D(placed)}


def test_a_cached_bet_is_not_reused_once_the_balance_fell_below_it(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 60\nchance = 1\nfunction dobet() end\n")
    session = play(strategy, bets=1)[0]  # 60 at 1 %: lost (the test seed's first roll)
    assert session.balance == D(40)
    decision = strategy.next_bet(session)
    assert isinstance(decision, StopStrategy)
    assert "nextbet 60.00000000 is above the balance 40" in decision.reason


def _boundary_result(bet: BetRequest, number: int) -> Settled:
    return Settled(seq=1, bet=bet, number=number, win=False, payout=D(2), profit=-bet.amount, balance=D(99),
                   nonce=0, bet_hash="h")


@pytest.mark.parametrize(("high", "number", "won"), [(True, 5050, True), (True, 5049, False), (False, 4949, True),
                                                      (False, 4950, False)])
def test_the_scripts_win_at_the_boundary_roll(high: bool, number: int, won: bool, tmp_path: Path) -> None:
    # 49.5 % wins on 4950 numbers: high on 5050..9999 (roll > 99.99 - 49.5), low on 0..4949 (roll < 49.5)
    strategy = _lua(tmp_path, f"nextbet = 0.01\nbethigh = {str(high).lower()}\nfunction dobet() seen = win end\n")
    bet = strategy.next_bet(SimpleNamespace(balance=D(100)))  # type: ignore[arg-type]
    assert isinstance(bet, BetRequest)
    view = SimpleNamespace(profit=D(0), wagered=D("0.01"), bets=1, wins=int(won), losses=int(not won), streak=1,
                           in_flight=0)
    strategy.on_result(_boundary_result(bet, number), view)  # type: ignore[arg-type]
    assert strategy.runtime.env.seen is won


def test_inflight_ok_lifts_the_one_bet_limit(tmp_path: Path) -> None:
    strict = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() end\n")
    lenient = _lua(tmp_path, "inflight_ok = true\nnextbet = 0.01\nfunction dobet() seen = inflight end\n")
    assert strict.max_in_flight == 1
    assert effective_concurrency(8, strict) == 1
    assert lenient.max_in_flight is None
    assert effective_concurrency(8, lenient) == 8
    play(lenient, bets=2)
    assert lenient.runtime.env.seen == 0  # the bare loop has nothing else in flight


def test_builtin_progression_helpers(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        basebet = 0.01
        nextbet = basebet
        function dobet()
          if win then nextbet = martingale(true) else nextbet = martingale(false) end
        end
    """)
    _, settled = play(strategy, bets=30)
    for before, after in itertools.pairwise(settled):
        expected = D("0.01") if before.win else before.bet.amount * 2
        assert after.bet.amount == expected


def test_resetstats_resets_what_the_script_sees(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        function dobet()
          if bets == 4 and not done then resetstats() done = true end
          last = bets
        end
    """)
    play(strategy, bets=7)
    assert strategy.runtime.env.last == 3  # 7 bets, counted again from bet 4


def test_amounts_and_chances_are_quantised(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.123456789123\nchance = 33.333\nbethigh = false\nfunction dobet() end\n")
    bet = bets_of(play(strategy, bets=1)[1])[0]
    assert bet == (D("0.12345678"), D("33.33"), False)
    # DiceBot's double -> decimal keeps 15 digits: 5 * 0.000001 is 0.000005, not 0.00000499
    assert bets_of(play(_lua(tmp_path, "nextbet = 5 * 0.000001\nfunction dobet() end\n"), bets=1)[1])[0][0] == D(
        "0.000005")


def test_math_random_replays_from_the_session_seed(tmp_path: Path) -> None:
    text = "nextbet = 0.01\nfunction dobet() chance = math.random(10, 90) end\n"
    first = bets_of(play(_lua(tmp_path, text), bets=30)[1])
    second = bets_of(play(_lua(tmp_path, text), bets=30)[1])
    assert first == second
    assert len({chance for _, chance, _ in first}) > 5


@pytest.mark.parametrize(("body", "reason"), [
    ("nextbet = 0/0", "nextbet is NaN"),
    ("nextbet = -1", "nextbet is -1: it must not be negative"),
    ("nextbet = 1000", "nextbet 1000.00000000 is above the balance"),
    ("currency = 'btc'", "switched currency to btc"),
])
def test_a_bad_nextbet_at_run_time_is_a_named_stop(tmp_path: Path, body: str, reason: str) -> None:
    strategy = _lua(tmp_path, f"nextbet = 0.01\nfunction dobet()\n  if bets == 2 then {body} end\nend\n")
    session, settled = play(strategy, bets=10)
    assert len(settled) == 2
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STRATEGY
    assert session.stop_reason.detail.startswith("script.lua")
    assert reason in session.stop_reason.detail


def test_a_runtime_error_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet()\n  local t = nil\n  t.x = 1\nend\n")
    session, settled = play(strategy, bets=10)
    assert len(settled) == 1
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STRATEGY_ERROR
    assert session.stop_reason.detail == "ScriptError: script.lua:4: attempt to index local 't' (a nil value)"
    with pytest.raises(ScriptError, match=r"^script\.lua:4: attempt to index"):
        strategy.on_result(settled[0], session)


@pytest.mark.parametrize(("text", "message"), [
    ("nextbet = = 1", r"^script\.lua:1: unexpected symbol near '='$"),
    ("nextbet = 1\nfunction dobet() end\nlocal x = nil + 1", r"^script\.lua:3: attempt to perform arithmetic"),
    ("function dobet() end", r"^script\.lua: the script never sets nextbet"),
    ("nextbet = 1", r"^script\.lua: the script defines no dobet\(\) function"),
    ("nextbet = 0/0\nfunction dobet() end", r"^script\.lua: nextbet is NaN"),
    ("nextbet = 500\nfunction dobet() end", r"^script\.lua: nextbet 500\.00000000 is above the balance 100"),
    ("function DoDiceBet(PreviousBet, Win, NextBet)\n  NextBet.Amount = 1\nend",
     r"^script\.lua:1: this is a DiceBot 4 / Doormat script \(function DoDiceBet\); betbot runs DiceBot 3's"),
    ("nextbet = 1\nfunction dobet()\n  if win != true then end\nend\nlocal y = nil + 1",
     r"^script\.lua:5: attempt to perform arithmetic"),  # SharpLua's `!=` is read, line numbers kept
    ("\x1bLua\x51\x00", r"^script\.lua: precompiled Lua bytecode is not allowed"),
])
def test_load_errors_are_one_line_settings_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScriptLoadError, match=message) as caught:
        _lua(tmp_path, text)
    assert isinstance(caught.value, SettingsError)  # exit code 2 on the command line
    assert "\n" not in str(caught.value)


def test_a_not_equal_sign_in_a_string_or_comment_is_not_another_dialect(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, '-- if a != b\nnextbet = 0.01\nmsg = "a != b"\nfunction dobet() end\n--[[ != ]]\n')
    assert strategy.runtime.env.msg == "a != b"


def _view(settled: list[Any]) -> SimpleNamespace:
    profit = sum((s.profit for s in settled), D(0))
    wins = sum(s.win for s in settled)
    streak = 0
    for s in settled:
        streak = (max(streak, 0) + 1) if s.win else (min(streak, 0) - 1)
    return SimpleNamespace(balance=D(100) + profit, profit=profit, wagered=sum((s.bet.amount for s in settled), D(0)),
                           bets=len(settled), wins=wins, losses=len(settled) - wins, streak=streak, in_flight=0)


def test_resume_restores_the_plain_data_globals(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "strategies" / "labouchere.lua"
    whole = load(script, files_dir=tmp_path)
    _, settled = play(whole, bets=120)
    first = load(script, files_dir=tmp_path)
    for i, result in enumerate(settled[:60]):
        first.on_result(result, _view(settled[: i + 1]))  # type: ignore[arg-type]
    state = json.loads(json.dumps(first.save_state()))  # what the journal keeps
    assert {"line", "unit", "start", "nextbet", "chance", "bethigh"} <= set(state["globals"])
    assert "dobet" not in state["globals"]
    assert "string" not in state["globals"]
    assert "balance" not in state["globals"]
    resumed = load(script, files_dir=tmp_path)
    resumed.restore_state(state)
    for i, result in enumerate(settled[60:], start=60):
        decision = resumed.next_bet(_view(settled[:i]))  # type: ignore[arg-type]
        assert (decision.amount, decision.chance, decision.high) == bets_of([result])[0]  # type: ignore[union-attr]
        resumed.on_result(result, _view(settled[: i + 1]))  # type: ignore[arg-type]
    fresh = load(script, files_dir=tmp_path)  # without the state the line starts again: the test can fail
    differs = False
    for i, result in enumerate(settled[60:], start=60):
        decision = fresh.next_bet(_view(settled[:i]))  # type: ignore[arg-type]
        if (decision.amount, decision.chance, decision.high) != bets_of([result])[0]:  # type: ignore[union-attr]
            differs = True
            break
        fresh.on_result(result, _view(settled[: i + 1]))  # type: ignore[arg-type]
    assert differs


def test_a_copy_is_the_script_reloaded_with_the_same_state(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nn = 0\nfunction dobet() n = n + 1 end\n")
    play(strategy, bets=5)
    twin = copy.deepcopy(strategy)
    assert twin.runtime is not strategy.runtime
    assert twin.runtime.env.n == 5


def test_the_script_setting_is_sugar_for_the_lua_strategy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = write(tmp_path, "nextbet = 0.01\nfunction dobet() end\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"script": "script.lua"})
    assert settings.strategy == "lua"
    assert settings.params["script"] == str(script)  # absolute, so a resume finds it from anywhere
    monkeypatch.setenv("BETBOT_SCRIPT", str(script))
    assert load_settings({}).strategy == "lua"
    monkeypatch.delenv("BETBOT_SCRIPT")
    config = tmp_path / "betbot.toml"
    config.write_text(f'script = "{script}"\n')
    assert load_settings({}, config).params["script"] == str(script)
    with pytest.raises(SettingsError, match=r"invalid script .*a script plays the lua strategy, not martingale"):
        load_settings({"script": str(script), "strategy": "martingale"})
    with pytest.raises(SettingsError, match=r"invalid script .*no such file: nope\.lua"):
        load_settings({"script": "nope.lua"})


def test_python_objects_are_not_reachable(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        function dobet() end
        kinds = { type(print), type(math.random), type(io.open), type(python), tostring(getmetatable("")) }
        ok, err = pcall(function() return print.__class__ end)
    """)
    env = strategy.runtime.env
    assert [env.kinds[i] for i in range(1, 6)] == ["function", "function", "function", "nil", "false"]
    assert env.ok is False


def test_a_strict_mode_script_is_read_without_running_its_metamethods(tmp_path: Path) -> None:
    """Scripts that guard _G (strict.lua) must load, play and resume: betbot reads and writes globals raw."""
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        count = 0
        function dobet() count = count + 1 end
        setmetatable(_G, {
          __index = function(_, key) error("undefined global " .. tostring(key), 2) end,
          __newindex = function(_, key) error("assignment to undeclared global " .. tostring(key), 2) end,
        })
    """)
    session, settled = play(strategy, bets=5)
    assert len(settled) == 5
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    state = strategy.save_state()
    assert state["globals"]["count"] == 5
    twin = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() end\nsetmetatable(_G, {__newindex = function() "
                "error('no new globals') end})\n")
    twin.restore_state(state)
    assert twin.runtime.get("count") == 5


def test_batch_mode_keeps_simulated_sessions_quiet_and_out_of_the_scripts_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    script = write(tmp_path, 'nextbet = 0.01\nprint("hello")\nlocal f = assert(io.open("log.txt", "w"))\n'
                   'f:write("x")\nf:close()\nfunction dobet() print("bet") end\n')
    context = load(script, files_dir=tmp_path).context
    with capture_logs() as logs, batch_mode():
        strategy = LuaStrategy(LuaParams(script=script), context)
        play(strategy, bets=3)
        scratch = strategy.runtime.config.files_dir
        assert (scratch / "log.txt").read_text() == "x"
    assert not scratch.exists()  # thrown away with the batch
    assert [entry for entry in logs if entry["event"] == "script.print"] == []
    assert not (tmp_path / "data").exists()
    with capture_logs() as logs:  # outside batch mode: the log and the script's own directory
        play(LuaStrategy(LuaParams(script=script), context), bets=1)
    assert [entry["text"] for entry in logs if entry["event"] == "script.print"] == ["hello", "bet"]
    assert (tmp_path / "data" / "betbot" / "scripts" / "script" / "log.txt").read_text() == "x"


def test_range_dice_places_each_chance_as_a_window_and_win_follows_it(tmp_path: Path) -> None:
    script = write(tmp_path, "nextbet = 0.01\nchance = 30\nseen = {}\nfunction dobet() seen[#seen + 1] = win end\n")
    context = StrategyContext(currency="DOGE", starting_balance=D(100), rng_seed=3,
                              range_window=RangeWindow(inside=False, at=None))
    strategy = LuaStrategy(LuaParams(script=script), context, printer=lambda _text: None, files_dir=tmp_path)
    _, settled = play(strategy, bets=40)
    assert len(settled) == 40
    assert all(s.bet.range is not None and not s.bet.range_in for s in settled)
    assert len({s.bet.range for s in settled}) > 1  # a new place every bet: no bet is reused
    seen = strategy.runtime.env.seen
    assert [seen[i] for i in range(1, 41)] == [s.win for s in settled]
    assert {s.win for s in settled} == {True, False}


def _helper_reference(name: str, settled: list[Any]) -> list[Decimal]:
    """The next amount each built-in helper gives after each result (base 0.01), in Decimal."""
    base, step, line, out = D("0.01"), 0, [1, 2, 3, 4], []
    fib = [1, 1]
    while len(fib) < 80:
        fib.append(fib[-1] + fib[-2])
    for result in settled:
        previous = result.bet.amount
        if name == "dalembert":
            out.append(max(previous - base, base) if result.win else previous + base)
        elif name == "fibonacci":
            step = max(step - 2, 0) if result.win else step + 1
            out.append(base * fib[step])
        else:
            lost = line[0] if len(line) == 1 else line[0] + line[-1]
            line = (line[1:-1] if result.win else [*line, lost]) or [1, 2, 3, 4]
            out.append(base * (line[0] if len(line) == 1 else line[0] + line[-1]))
    return out


@pytest.mark.parametrize("name", ["dalembert", "fibonacci", "labouchere"])
def test_builtin_helpers_follow_their_progressions(name: str, tmp_path: Path) -> None:
    strategy = _lua(tmp_path, f"basebet = 0.01\nnextbet = basebet\nfunction dobet() nextbet = {name}(win) end\n")
    _, settled = play(strategy, bets=60)
    assert [s.bet.amount for s in settled[1:]] == _helper_reference(name, settled)[:-1]
