"""DiceBot 3's whole surface (docs/dicebot-scripts.md): every global, every function, the behaviours real
scripts depend on. Each script here is written for its test; bets are checked bet for bet against the
rule written again in Python on the same rolls (tests/lua_support.reference_bets)."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from betbot.core.machine import MinBetRule
from betbot.core.models import BetRequest, StopKind
from betbot.core.strategy import Pause
from betbot.strategies.lua import LuaStrategy
from betbot.strategies.lua.surface import DICEBOT_GAPS, DUCKDICE_CURRENCIES, Gap
from tests.lua_support import Globals, bets_of, load, play, reference_bets, write

D = Decimal


def _lua(tmp_path: Path, text: str, **kwargs: Any) -> LuaStrategy:
    return load(write(tmp_path, text), files_dir=tmp_path / "files", **kwargs)


def _list(table: Any, n: int) -> list[Any]:
    return [table[i] for i in range(1, n + 1)]


# -- globals ------------------------------------------------------------------------------------------
def test_currencies_and_the_gui_switches(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        n = #currencies
        has_doge = table.find(currencies, currency) ~= nil
        switches = { enablersc, enablezz }
        enablersc = true  -- a script may set them: harmless
        function dobet() end
    """)
    env = strategy.runtime.env
    assert env.n == len(DUCKDICE_CURRENCIES)
    assert _list(env.currencies, env.n) == [c.lower() for c in DUCKDICE_CURRENCIES]
    assert env.has_doge is True
    assert _list(env.switches, 2) == [False, False]
    assert len(play(strategy, bets=3)[1]) == 3


def test_the_fifteen_site_fields_in_any_case_follow_the_session(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        static = { site.name, site.edge, site.maxroll, site.cantip, site.tipusingname, site.canwithdraw,
                   site.canresetseed, site.caninvest, site.siteurl, site.Name, site.MaxRoll }
        seen = {}
        function dobet()
          seen[#seen + 1] = { site.Wins, site.Losses, site.Profit, site.Wagered, site.Balance, site.Bets,
                              site.wins, site.balance }
        end
    """)
    env = strategy.runtime.env
    assert _list(env.static, 11) == ["DuckDice", 1.0, 99.99, True, True, False, True, False, "https://duckdice.io",
                                     "DuckDice", 99.99]
    session, settled = play(strategy, bets=6)
    balance, profit, wagered, wins = D(100), D(0), D(0), 0
    for i, result in enumerate(settled, 1):
        balance += result.profit
        profit += result.profit
        wagered += result.bet.amount
        wins += result.win
        row = _list(env.seen[i], 8)
        assert row[0] == row[6] == wins
        assert row[1] == i - wins
        assert D(str(row[2])) == profit
        assert D(str(row[3])) == wagered
        assert D(str(row[4])) == D(str(row[7])) == balance
        assert row[5] == i
    assert session.bets == 6


def test_every_last_bet_field_with_duckdices_meanings(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.02
        chance = 33
        bethigh = false
        function dobet()
          got = { lastBet.Id, lastBet.Amount, lastBet.Chance, lastBet.Roll, lastBet.Profit, lastBet.high,
                  lastBet.nonce, lastBet.serverhash, lastBet.clientseed, lastBet.Currency, lastBet.BetDate,
                  lastBet.PlayerWin, lastBet.uid, lastBet.Guid, lastBet.Verified, lastbet.ID, lastBet.date.Year }
          serverseed_is_nil = lastBet.serverseed == nil
        end
    """, epoch=1_700_000_000.0)
    settled = play(strategy, bets=1)[1][0]
    got = _list(strategy.runtime.env.got, 17)
    assert got[0] == settled.bet_hash == got[15]  # Id: the site's bet hash (DuckDice.cs: Id = bet.hash)
    assert D(str(got[1])) == D("0.02")
    assert got[2] == 33
    assert got[3] == settled.number / 100
    assert D(str(got[4])) == settled.profit
    assert got[5] is False
    assert got[6] == settled.nonce
    assert (got[7], got[8]) == (settled.server_seed_hash, settled.client_seed)
    assert got[9] == "doge"
    assert got[10].startswith("2023-11-1")  # "YYYY-MM-DD HH:MM:SS" of the virtual clock (local time)
    assert len(got[10]) == 19
    assert got[11] is settled.win
    assert got[12] == 0
    assert got[13] == settled.bet_hash
    assert got[14] is False
    assert got[16] == 2023
    assert strategy.runtime.env.serverseed_is_nil is True


# -- functions ---------------------------------------------------------------------------------------------
def test_sharplua_extras_give_their_values(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        local parts = string.split("a,b,,c", ",")
        local spaced = ("x y"):split()
        local copied = table.copy({ 1, 2, k = 3 })
        local packed = table.pack(1, nil, 3)
        v = { math.round(2.5), math.round(3.5), math.round(-2.5), math.round(2.345, 2), math.factorial(0),
              math.factorial(6), tobool("true"), tobool("False"), tobool(0), tobool(2), tobool(nil),
              tobool("maybe"), table.find({ "x", "y", "z" }, "z"), table.find({ 1 }, 9), #parts, parts[3], parts[4],
              spaced[2], copied.k, copied[2], packed.n, select(2, table.unpack({ 7, 8 })) }
        function dobet() end
    """)
    v = strategy.runtime.env.v
    got = [v[i] for i in range(1, 23)]
    assert got == [2, 4, -2, 2.35, 1, 720, True, False, False, True, False, None, 3, None, 4, "", "c", "y", 3, 2, 3, 8]


@pytest.mark.parametrize(("expression", "expected"), [
    ("bit.band(0xFF, 0x0F)", 15), ("bit.bor(1, 2, 4)", 7), ("bit.bxor(5, 3)", 6), ("bit.bnot(0)", -1),
    ("bit.lshift(1, 31)", -2147483648), ("bit.lshift(1, 32)", 1), ("bit.rshift(-1, 28)", 15),
    ("bit.arshift(-16, 2)", -4), ("bit.rol(0x80000000, 1)", 1), ("bit.ror(1, 1)", -2147483648),
    ("bit.tobit(2^32 + 5)", 5), ("bit.tobit(0xFFFFFFFF)", -1), ("bit.tohex(255)", "000000ff"),
    ("bit.tohex(255, -2)", "FF"), ("bit.bswap(0x01020304)", 0x04030201), ("bit.band(-1, 2^40 + 3)", 3),
    ("bit32.bnot(0)", 4294967295), ("bit32.band()", 4294967295), ("bit32.lshift(1, 31)", 2147483648),
    ("bit32.lshift(1, 32)", 0), ("bit32.rshift(-1, 28)", 15), ("bit32.arshift(0x80000000, 4)", 0xF8000000),
    ("bit32.lrotate(0x80000000, 1)", 1), ("bit32.rrotate(1, 1)", 2147483648), ("bit32.btest(6, 3)", True),
    ("bit32.btest(4, 3)", False), ("bit32.extract(0xF0, 4, 4)", 15), ("bit32.replace(0, 5, 8, 4)", 0x500),
    ("bit32.bxor(1, 3, 7)", 5),
])
def test_bit_is_signed_32_bit_and_bit32_unsigned(expression: str, expected: object, tmp_path: Path) -> None:
    strategy = _lua(tmp_path, f"nextbet = 0.01\nvalue = {expression}\nfunction dobet() end\n")
    assert strategy.runtime.env.value == expected


def test_a_bad_bit_argument_names_the_function_and_the_line(tmp_path: Path) -> None:
    from betbot.strategies.lua import ScriptLoadError  # noqa: PLC0415
    with pytest.raises(ScriptLoadError, match=r"^script\.lua:2: bad argument to 'bit32\.band' \(#2: number expected"):
        _lua(tmp_path, "nextbet = 0.01\nlocal x = bit32.band(1, 'x')\nfunction dobet() end\n")


def test_bit_operations_choose_the_bets_as_the_python_rule_does(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        function dobet()
          local level = bit.band(bets, 3) + bit32.rshift(bit32.lshift(wins, 30), 30)
          nextbet = 0.01 * (1 + level)
          bethigh = bit.bxor(bets, 1) % 2 == 0
          chance = math.round(40 + level * 2.25, 1)
        end
    """)
    settled = play(strategy, bets=80)[1]

    def dobet(g: Globals) -> None:
        level = (g.bets & 3) + (g.wins & 3)
        g.nextbet = 0.01 * (1 + level)
        g.bethigh = (g.bets ^ 1) % 2 == 0
        g.chance = round(40 + level * 2.25, 1)

    assert bets_of(settled) == reference_bets(lambda g: setattr(g, "nextbet", 0.01), dobet, count=80)


def test_presetlist_steps_through_the_presets(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        basebet = 0.01
        nextbet = basebet
        presets = { 1, 3, 9 }
        function dobet() nextbet = presetlist(win) end
    """)
    settled = play(strategy, bets=60)[1]

    def dobet(g: Globals) -> None:
        g.v["i"] = 1 if g.win else g.v.get("i", 1) % 3 + 1
        g.nextbet = 0.01 * (1, 3, 9)[g.v["i"] - 1]

    assert bets_of(settled) == reference_bets(lambda g: setattr(g, "nextbet", 0.01), dobet, count=60)
    assert {bet for bet, _, _ in bets_of(settled)} == {D("0.01"), D("0.03"), D("0.09")}


def test_presetlist_without_presets_uses_the_preset_list_default(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "basebet = 0.01\nnextbet = basebet\nfunction dobet() nextbet = presetlist(false) end\n")
    amounts = [bet for bet, _, _ in bets_of(play(strategy, bets=7)[1])]
    assert amounts == [D(x) for x in ("0.01", "0.02", "0.03", "0.05", "0.08", "0.01", "0.02")]


def test_wait_is_sleep(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() wait(1500) end\n")
    session = play(strategy, bets=1)[0]
    assert strategy.next_bet(session) == Pause(1.5)
    assert strategy.next_bet(session).amount == D("0.01")  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["alarm", "ching"])
def test_gui_alerts_are_harmless_no_ops(name: str, tmp_path: Path) -> None:
    strategy = _lua(tmp_path, f"nextbet = 0.01\nfunction dobet() {name}() calls = (calls or 0) + 1 end\n")
    assert len(play(strategy, bets=4)[1]) == 4
    assert strategy.runtime.env.calls == 4


@pytest.mark.parametrize("name", sorted(n for n, gap in DICEBOT_GAPS.items()
                                        if gap is Gap.UNSUPPORTED and n != "getHistoryByQuery"))
def test_each_gui_feature_stops_with_one_line_naming_it_and_the_line(name: str, tmp_path: Path) -> None:
    strategy = _lua(tmp_path, f"nextbet = 0.01\nfunction dobet()\n  if bets == 2 then\n    {name}(1)\n  end\nend\n")
    session, settled = play(strategy, bets=10)
    assert len(settled) == 2
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STRATEGY_ERROR
    expected = f": script.lua:4: {name}() is not supported by betbot (a DiceBot GUI feature)"
    assert session.stop_reason.detail.endswith(expected)


# -- behaviours ------------------------------------------------------------------------------------------
def test_nil_or_non_numeric_values_keep_the_previous_ones_said_once(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        chance = 40
        bethigh = false
        function dobet()
          if bets == 2 then nextbet = 0.05 chance = 60 bethigh = true end
          if bets >= 3 then nextbet = nil chance = "lots" bethigh = nil end
          if bets == 6 then nextbet = "0.07" end
        end
    """)
    with capture_logs() as logs:
        settled = play(strategy, bets=8)[1]
    assert bets_of(settled) == [(D("0.01"), D(40), False), (D("0.01"), D(40), False)] + \
        [(D("0.05"), D(60), True)] * 4 + [(D("0.07"), D(60), True)] * 2  # nil: the previous bet's amount
    kept = [entry["detail"] for entry in logs if entry["event"] == "script.kept_previous"]
    assert kept == [
        "script.lua: dobet() left nextbet nil; the previous value is kept, as DiceBot does (said once)",
        "script.lua: dobet() left chance string; the previous value is kept, as DiceBot does (said once)",
        "script.lua: dobet() left bethigh nil; the previous value is kept, as DiceBot does (said once)",
    ]


@pytest.mark.parametrize(("call", "function", "amount"), [
    ('tip("someone", 0.5)', "tip", "0.50000000"),
    ('withdraw(1.25, "addr")', "withdraw", "1.25000000"),
    ("invest(0.3)", "invest", "0.30000000"),
])
def test_money_moving_calls_are_skipped_warned_and_counted(call: str, function: str, amount: str,
                                                           tmp_path: Path) -> None:
    strategy = _lua(tmp_path, f"""nextbet = 0.01
function dobet()
  if bets % 2 == 0 then
    {call}
  end
  after = (after or 0) + 1
end
""")
    with capture_logs() as logs:
        session, settled = play(strategy, bets=6)
    assert len(settled) == 6
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert strategy.runtime.env.after == 6  # the script went on after each skipped call
    assert session.balance == D(100) + sum(s.profit for s in settled)  # no money moved
    warnings = [entry for entry in logs if entry["event"] == "script.skipped"]
    assert [entry["log_level"] for entry in warnings] == ["warning"] * 3
    assert warnings[0]["detail"] == (f"script.lua:4: {function}({amount}) skipped: betbot never moves money out of "
                                     "the account; the script goes on")
    total = f"{D(amount) * 3:.8f}"
    assert strategy.summary_notes() == {"script_skipped": {function: {"calls": 3, "amount": total}}}


def test_no_skipped_call_is_an_empty_entry(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() end\n")
    play(strategy, bets=2)
    assert strategy.summary_notes() == {"script_skipped": {}}


def test_a_watch_bet_is_a_real_roll_with_nothing_at_stake(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0
        function dobet()
          rolls = (rolls or 0) + 1
          nextbet = (bets == 3) and 0.01 or 0
        end
    """)
    session, settled = play(strategy, bets=6)
    assert [s.bet.amount for s in settled] == [D(0), D(0), D(0), D("0.01"), D(0), D(0)]
    assert [s.nonce for s in settled] == list(range(settled[0].nonce, settled[0].nonce + 6))  # real rolls
    assert all(s.profit == 0 for i, s in enumerate(settled) if i != 3)
    assert session.balance == D(100) + settled[3].profit
    assert session.wagered == D("0.01")
    assert strategy.runtime.env.rolls == 6


@pytest.mark.parametrize(("below", "expected"), [("raise", D("0.001")), ("stop", None)])
def test_a_live_watch_bet_goes_by_the_minimum_bet_rule(below: str, expected: Decimal | None) -> None:
    rule = MinBetRule({"DOGE": D("0.001")}, below)  # type: ignore[arg-type]
    verdict = rule.check(BetRequest(amount=D(0), chance=D("49.5"), currency="DOGE"))
    if expected is None:
        assert not isinstance(verdict, BetRequest)
    else:
        assert isinstance(verdict, BetRequest)
        assert verdict.amount == expected


def test_amounts_below_a_satoshi_are_watch_bets(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.000000004\nfunction dobet() end\n")
    assert [s.bet.amount for s in play(strategy, bets=2)[1]] == [D(0), D(0)]


def test_math_round_ties_go_to_the_even_neighbour_as_dotnet_does(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nv = { math.round(0.5), math.round(1.5), math.round(-0.5) }\n"
                              "function dobet() end\n")
    got = _list(strategy.runtime.env.v, 3)
    assert got == [0, 2, 0]
    assert all(math.copysign(1, x) in (1, -1) for x in got)


def test_skipped_calls_are_saved_with_the_state_and_counted_on_after_a_resume(tmp_path: Path) -> None:
    text = 'nextbet = 0.01\nfunction dobet() tip("x", 0.25) end\n'
    first = _lua(tmp_path, text)
    play(first, bets=2)
    state = first.save_state()
    assert state["script_skipped"] == {"tip": {"calls": 2, "amount": "0.50000000"}}
    resumed = _lua(tmp_path, text)
    resumed.restore_state(state)
    play(resumed, bets=1)
    assert resumed.summary_notes() == {"script_skipped": {"tip": {"calls": 3, "amount": "0.75000000"}}}
