"""The budgeted pattern matcher (patterns.lua) answers as Lua 5.1's C matcher does.

The sandbox sends a string.find/match/gmatch/gsub call to patterns.lua when the pattern's worst case over
that string is too large for one uninterruptible C call; a script must not see the difference. Hypothesis
generates patterns from every construct of Lua 5.1's patterns (classes, sets, the four quantifiers,
anchors, captures, position captures, back-references, %b, %f) and subjects over a small alphabet, and
each call is made on both matchers: the same results, or an error from both.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betbot.strategies.lua.runtime import LuaRuntimeConfig, ScriptRuntime

ITEMS = [".", "a", "b", "%a", "%d", "%s", "%w", "%p", "%.", "%%", "[ab]", "[^a]", "[a-c]", "[%d%s]", "[]a]", "[^]]",
         "%A", "%S", "x", " ", "1"]
QUANTIFIERS = ["", "", "*", "+", "-", "?"]
SUBJECT = st.text(alphabet="ab1 .()x%]", max_size=14)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts: list[str] = []
    open_captures = 0
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            parts.append(draw(st.sampled_from(ITEMS)) + draw(st.sampled_from(QUANTIFIERS)))
        elif kind == 6:
            parts.append("(")
            open_captures += 1
        elif kind == 7 and open_captures:
            parts.append(")")
            open_captures -= 1
        elif kind == 8:
            parts.append(draw(st.sampled_from(["()", "%b()", "%f[%w]", "%f[%s]", "%1"])))
        else:
            parts.append(draw(st.sampled_from(["(", ")", "%", "[a", "%b"])))  # malformed: both must refuse
    text = "".join(parts) + ")" * draw(st.integers(0, open_captures))
    return draw(st.sampled_from(["", "^"])) + text + draw(st.sampled_from(["", "$"]))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> ScriptRuntime:
    # Called from Python directly, not through the sandbox's guard: the budget is never reset between the
    # calls, so it is set out of reach here.
    config = LuaRuntimeConfig(name="p.lua", files_dir=Path(tmp_path_factory.mktemp("files")), rng_seed=1,
                              currency="DOGE", balance=1.0, edge=Decimal(1), epoch=0.0,
                              max_instructions=2_000_000_000, max_seconds=1e9, max_wall_seconds=1e9)
    return ScriptRuntime(config, lambda _text: None)


def _both(runtime: ScriptRuntime, name: str, *args: Any) -> tuple[Any, Any]:
    """(C's answer, the budgeted matcher's answer): a tuple of results, or "error"."""
    lua_globals = runtime.lua.globals()
    packer = lua_globals.loadstring("return function(f, ...) return { n = select('#', ...), pcall(f, ...) } end")()
    answers = []
    for fn in (getattr(lua_globals.string, name), getattr(runtime.control.patterns(), name)):
        packed = packer(fn, *args)
        values = [packed[i] for i in range(1, len(packed) + 1)]
        answers.append(tuple(values[1:]) if values and values[0] else "error")
    return answers[0], answers[1]


def _gmatch_all(runtime: ScriptRuntime, fn_name: str, s: str, p: str) -> Any:
    collect = runtime.lua.globals().loadstring("""
        return function(gmatch, s, p)
          local out = {}
          local ok, err = pcall(function()
            for a, b in gmatch(s, p) do
              out[#out + 1] = tostring(a) .. "|" .. tostring(b)
              if #out > 50 then break end
            end
          end)
          if not ok then return "error" end
          return table.concat(out, ",")
        end""")()
    fn = runtime.lua.globals().string.gmatch if fn_name == "c" else runtime.control.patterns().gmatch
    return collect(fn, s, p)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(s=SUBJECT, p=patterns(), init=st.sampled_from([None, 1, 2, -3, 0, 20]))
def test_find_and_match_answer_as_c_does(runtime: ScriptRuntime, s: str, p: str, init: int | None) -> None:
    for name in ("find", "match"):
        c, budgeted = _both(runtime, name, s, p, init)
        assert budgeted == c, (name, s, p, init)


@pytest.mark.parametrize(("s", "p"), [("", "()%1"), ("ab", "()%1"), ("aa", "()a%1"), ("aa", "(a)%1")])
def test_a_back_reference_to_a_position_capture_never_matches_as_in_c(runtime: ScriptRuntime, s: str, p: str) -> None:
    # Found by the property test above: the budgeted matcher took a position capture's length (-2) for a
    # length and answered find('', '()%1') with 1, -2, 1 where C answers nil.
    for name in ("find", "match", "gsub"):
        c, budgeted = _both(runtime, name, s, p, *(["<%0>"] if name == "gsub" else []))
        assert budgeted == c, (name, s, p)


@SETTINGS
@given(s=SUBJECT, p=patterns())
def test_gmatch_answers_as_c_does(runtime: ScriptRuntime, s: str, p: str) -> None:
    assert _gmatch_all(runtime, "lua", s, p) == _gmatch_all(runtime, "c", s, p), (s, p)


@SETTINGS
@given(s=SUBJECT, p=patterns(), repl=st.sampled_from(["<%0>", "%1", "x%%y", "%2", "", "%"]),
       limit=st.sampled_from([None, 0, 1, 2]))
def test_gsub_answers_as_c_does(runtime: ScriptRuntime, s: str, p: str, repl: str, limit: int | None) -> None:
    c, budgeted = _both(runtime, "gsub", s, p, repl, limit)
    assert budgeted == c, (s, p, repl, limit)


def test_gsub_with_a_function_or_a_table_answers_as_c_does(runtime: ScriptRuntime) -> None:
    run = runtime.lua.globals().loadstring("""
        local c, budgeted = ...
        local out = {}
        for _, gsub in ipairs({ c, budgeted }) do
          local a = gsub("hello world from lua", "(%w+)", function(w)
            if w == "from" then return nil end
            return w:upper()
          end)
          local b = gsub("$name is $age", "%$(%w+)", { name = "bob", age = 42 })
          local d = gsub("abc", "()", "%1")
          out[#out + 1] = a .. "/" .. b .. "/" .. d
        end
        return out[1], out[2]""")
    c, budgeted = run(runtime.lua.globals().string.gsub, runtime.control.patterns().gsub)
    assert c == budgeted == "HELLO WORLD from LUA/bob is 42/1a2b3c4"


def test_a_script_gets_the_same_answers_on_either_path(tmp_path: Path) -> None:
    # The same calls over a long subject (the budgeted path) and a short one (C's), answers compared.
    config = LuaRuntimeConfig(name="p.lua", files_dir=tmp_path, rng_seed=1, currency="DOGE", balance=1.0,
                              edge=Decimal(1), epoch=0.0)
    runtime = ScriptRuntime(config, lambda _text: None)
    assert runtime.load("""
        nextbet = 0.01
        function dobet() end
        local long = string.rep("k=v;", 5000) .. "x=42;"
        a1, a2 = long:match("(%w+)=(%d+);$")
        n = select(2, long:gsub("(%w)=(%w)", "%2=%1"))
        first, last = long:find("(%w+)=(%w+);x")
    """) is None
    assert (runtime.get("a1"), runtime.get("a2")) == ("x", "42")
    assert runtime.get("n") == 5001
    assert runtime.get("first") == 19997
    assert runtime.get("last") == 20001
