"""DiceBot 3's SharpLua dialect (docs/dicebot-scripts.md): each construct plays bet for bet like its Lua twin.

The scripts in tests/lua/lua_dialect/ were written for these tests: `NAME-sharplua.lua` uses one construct of
the dialect table, `NAME-twin.lua` is the same strategy written by hand in plain Lua 5.1. Both are played
on the same rolls and must choose the same bets; the SharpLua one must really have been rewritten, and
the twin must pass through untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from betbot.core.models import StopKind
from betbot.strategies.lua import ScriptError, ScriptLoadError
from betbot.strategies.lua.dialect import translate
from betbot.strategies.lua.dialect.lexer import tokenize
from betbot.strategies.lua.dialect.rewrite import Rewritten, rewrite_tokens
from tests.lua_support import ROOT, bets_of, load, play, write

DIALECT = ROOT / "tests" / "lua" / "lua_dialect"

CONSTRUCTS = {
    "not-equal": {"'!='", "'!'"},
    "compound": {"compound assignment", "'!='"},
    "bits": {"bit operator", "compound assignment"},
    "unary-plus": {"unary '+'"},
    "continue": {"'continue'"},
    "stray-end": {"stray top-level end"},
}


def _played(tmp_path: Path, name: str, *, bets: int = 300) -> list[tuple[object, ...]]:
    text = (DIALECT / name).read_text(encoding="utf-8")
    strategy = load(write(tmp_path, text, name), files_dir=tmp_path)
    session, settled = play(strategy, bets=bets)
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS, session.stop_reason
    return list(bets_of(settled))


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_each_construct_bets_like_its_plain_lua_twin(construct: str, tmp_path: Path) -> None:
    sharplua = (DIALECT / f"{construct}-sharplua.lua").read_text(encoding="utf-8")
    twin = (DIALECT / f"{construct}-twin.lua").read_text(encoding="utf-8")
    assert {what for what, _count in translate(sharplua).rewrites} == CONSTRUCTS[construct]
    assert translate(twin).text == twin  # the twin is plain Lua 5.1
    dialect_bets = _played(tmp_path, f"{construct}-sharplua.lua")
    twin_bets = _played(tmp_path, f"{construct}-twin.lua")
    assert len(dialect_bets) == 300
    assert dialect_bets == twin_bets
    assert len(set(dialect_bets)) > 2  # the construct really steers the bets


@pytest.mark.parametrize(("source", "lua"), [
    ("x = a | b & c", "x = bit.bor(a , bit.band(b , c))"),
    ("x = a & b | c", "x = bit.bor(bit.band(a , b) , c)"),
    ("x = a ^^ b & c | d", "x = bit.bor(bit.bxor(a , bit.band(b , c)) , d)"),
    ("x = a << 1 & b >> 2", "x = bit.band(bit.lshift(a , 1) , bit.rshift(b , 2))"),
    ("x = a .. b & c", "x = bit.band(a .. b , c)"),  # `..` binds tighter than the bit operators
    ("x = a & b == c", "x = bit.band(a , b) == c"),  # ... and comparison looser
    ("x = ~a + 1", "x = bit.bnot(a) + 1"),
    ("x = -~a", "x = -bit.bnot(a)"),
    ("x = !a == b", "x = not a == b"),
    ("x = !(a and b)", "x = not (a and b)"),
    ("x = + -a", "x = math.abs( -a)"),
    ("x = 2 ^ +a", "x = 2 ^ math.abs(a)"),
    ("t[f()] += 1", "t[f()] = t[f()] + ( 1)"),
    ("a.b['c'].d -= x * 2", "a.b['c'].d = a.b['c'].d - ( x * 2)"),
    ("t[\n  i\n] *= 2 + 1", "t[\n  i\n] = t[ i ] * ( 2 + 1)"),  # the copy of the target on the line of `*=`
    ("s ..= 'a' .. 'b'", "s = s .. ( 'a' .. 'b')"),
    ("local n += 1", "local n = n + ( 1)"),
    ("m <<= 2", "m = bit.lshift(m, ( 2))"),
    ("m ^^= k & 1", "m = bit.bxor(m, ( bit.band(k , 1)))"),
    ("if a != b then end", "if a ~= b then end"),
    ("local continue = 1 continue = continue + 1 f(continue)",
     "local continue = 1 continue = continue + 1 f(continue)"),
])
def test_rewrites_on_tokens_with_lua_53_precedence(source: str, lua: str) -> None:
    translation = translate(source)
    assert translation.text == lua
    assert translation.text.count("\n") == source.count("\n")


@pytest.mark.parametrize("text", [
    'print("a != b, x += 1, a & b, !x, a << 2")',
    "print('it\\'s', \"--\") -- a != b += 1",
    "s = [==[ a != b ]] += ]=] still ]==] -- !x",
    "--[==[ a += 1\n  b != c ]] ]=]\n]==] x = 1",
    "x = 0x1F + 1e-3 + .5 + 3. + 0xff",
    's = "\\"a != b\\" \\\n x += 1"',
])
def test_strings_comments_and_numbers_are_never_rewritten(text: str) -> None:
    assert rewrite_tokens(text, tokenize(text)) == Rewritten(text, {}, None, syntax_error=False)  # the rewriter itself
    assert translate(text).text == text
    sharp = text + "\nx += 1"  # with a SharpLua line after it, so translate() parses it too
    assert translate(sharp).text == text + "\nx = x + ( 1)"


def test_a_break_beside_continue_leaves_the_real_loop(tmp_path: Path) -> None:
    script = write(tmp_path, """
        nextbet = 0.01
        seen = {}
        for i = 1, 10 do
          if i == 2 then continue end
          if i == 5 then break end
          seen[#seen + 1] = i
        end
        k = 0
        while true do
          k = k + 1
          if k < 3 then continue end
          break
        end
        function dobet() end
    """)
    env = load(script, files_dir=tmp_path).runtime.env
    assert [env.seen[i] for i in range(1, 4)] == [1, 3, 4]
    assert env.seen[4] is None
    assert env.k == 3


# -- errors name the line of the user's file --------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("x = 1\ny = = 2\nt = {}\nt[1] += 1\n", r"^script\.lua:2: unexpected symbol near '='$"),
    ("t = {0}\nt[1] += 1\nif a != b then end\ny = = 2\n", r"^script\.lua:4: unexpected symbol near '='$"),
    ("t = {0}\nt[\n1\n] += (\n2\n)\nfoo(\n", r"^script\.lua:8: unexpected symbol near '<eof>'$"),
    ("for i = 1, 2 do\n  if i != 1 then continue end\nend\nlocal s = 'open\n", r"^script\.lua:4: unfinished string"),
    ("x = 1\ncontinue\n", r"^script\.lua:2: 'continue' outside a loop$"),
    ("function f()\n  for i = 1, 2 do\n    local g = function() continue end\n  end\nend\n",
     r"^script\.lua:3: 'continue' outside a loop$"),
    ("repeat\n  if x then continue end\nuntil true\n", r"^script\.lua:2: 'continue' inside repeat \.\.\. until"),
    ("x = 0\nx += 1\nx = x & 1\ny = nil + x\n", r"^script\.lua:4: attempt to perform arithmetic on a nil value$"),
    ("y = nil + 1\nx = 0\nx += 1\n", r"^script\.lua:1: attempt to perform arithmetic on a nil value$"),
])
def test_load_errors_name_the_users_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScriptLoadError, match=message):
        load(write(tmp_path, text), files_dir=tmp_path)


def test_runtime_errors_in_dobet_name_the_users_line(tmp_path: Path) -> None:
    script = write(tmp_path, "\n".join([
        "nextbet = 0.01",                       # 1
        "n = 0",                                # 2
        "function dobet()",                     # 3
        "  for i = 1, 3 do",                    # 4
        "    if i != 2 then continue end",      # 5
        "    n += 1",                           # 6
        "  end",                                # 7
        "  if n != 3 then",                     # 8
        "    nextbet += 0",                     # 9
        "  else",                               # 10
        "    nextbet = nextbet + missing.x",    # 11
        "  end",                                # 12
        "end",                                  # 13
    ]))
    strategy = load(script, files_dir=tmp_path)
    session, settled = play(strategy, bets=10)
    assert len(settled) == 3
    assert session.stop_reason is not None
    assert session.stop_reason.detail == "ScriptError: script.lua:11: attempt to index global 'missing' (a nil value)"


def test_an_error_on_the_rewritten_line_itself(tmp_path: Path) -> None:
    script = write(tmp_path, "nextbet = 0.01\nfunction dobet()\n  t = nil\n  t.x += 1\nend\n")
    strategy = load(script, files_dir=tmp_path)
    _session, settled = play(strategy, bets=1)
    with pytest.raises(ScriptError, match=r"^script\.lua:4: attempt to index global 't' \(a nil value\)$"):
        strategy.on_result(settled[0], _session)


# -- other dialects -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("function DoDiceBet(PreviousBet, Win, NextBet)\n  NextBet.Amount = 1\nend\n",
     "script.lua:1: this is a DiceBot 4 / Doormat script (function DoDiceBet); betbot runs DiceBot 3's programmer "
     "mode (dobet(), nextbet, chance, bethigh), not that dialect"),
    ("-- Gambler.Bot\n\nCalculateBet = function(a, b)\n  return a\nend\n",
     "script.lua:3: this is a Gambler.Bot 5 script (function CalculateBet); betbot runs DiceBot 3's programmer mode "
     "(dobet(), nextbet, chance, bethigh), not that dialect"),
    ("// C#\npublic void CalculateBet(DiceBet previous, bool win, PlaceDiceBet next) { char c = 'ab'; }\n",
     "script.lua:2: this is a Gambler.Bot 5 script (function CalculateBet); betbot runs DiceBot 3's programmer mode "
     "(dobet(), nextbet, chance, bethigh), not that dialect"),
])
def test_other_dialects_are_refused_by_their_entry_point(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScriptLoadError) as caught:
        load(write(tmp_path, text), files_dir=tmp_path)
    assert str(caught.value) == message


def test_an_entry_point_name_beside_dobet_is_dicebot_3(tmp_path: Path) -> None:
    script = write(tmp_path, "nextbet = 0.01\nfunction DoDiceBet() return 1 end\nfunction dobet() end\n"
                             "x = 'function CalculateBet'\n")
    assert load(script, files_dir=tmp_path).runtime.get("x") == "function CalculateBet"


def test_the_translation_says_what_it_rewrote_and_what_dicebot_functions_are_reached() -> None:
    source = "\n".join([
        "nextbet = 0.01",
        "t = {0} t[1] += 1 t[1] -= 1",
        "if a != b and !c then x = a & 1 end",
        "function dobet()",
        "  if profit > 1 then tip('me', 1) end",
        "  ching()",
        "  local x = {tip = 1} x.tip = 2",
        "end",
    ])
    translation = translate(source)
    assert translation.summary() == "2 compound assignments, 1 '!=', 1 '!', 1 bit operator"
    assert translation.reached() == (("tip", 5), ("ching", 6))
    assert translate("x = 1").summary() == "nothing (plain Lua 5.1)"


def test_windows_line_endings_keep_their_lines(tmp_path: Path) -> None:
    source = ("nextbet = 0.01\r\nfunction dobet()\r\n  if !win then nextbet *= 2 end -- a != b\r\nend\r\nend\r\n"
              "junk (\r\n")
    translation = translate(source)
    assert translation.text == ("nextbet = 0.01\r\nfunction dobet()\r\n  if not win then nextbet = nextbet * ( 2) end"
                                " -- a != b\r\nend\r\n\n\n")  # as many line breaks as the source
    assert translation.stray_line == 5
    script = write(tmp_path, source.replace("nextbet *= 2", "nextbet *= nil"))
    strategy = load(script, files_dir=tmp_path)
    session, _settled = play(strategy, bets=20)
    assert session.stop_reason is not None
    assert session.stop_reason.detail.startswith("ScriptError: script.lua:3: attempt to perform arithmetic")
