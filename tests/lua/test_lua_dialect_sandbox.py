"""SharpLua's constructs open no path around the sandbox: every escape refused today stays refused when
it is reached through `!`, the bit operators, compound assignments or `continue` (tests/lua/test_lua_sandbox.py
has the escapes), and the rewriter only ever adds `not`, `bit.*`, `math.abs`, `repeat`/`until`/`break`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from betbot.core.models import StopKind
from betbot.strategies.lua import ScriptLoadError
from betbot.strategies.lua.dialect import translate
from tests.lua.test_lua_sandbox import BUDGET, _escapes, _ids
from tests.lua_support import load, play, write

# Each escape statement inside SharpLua constructs, in place of `@@`.
WRAPPERS = {
    "bang": "if !(1 != 2) then else @@ end",
    "bits": "local m = (1 << 3 | 1) & 15 ; if ~m & 1 == 0 then @@ end",
    "compound": "local t = {0} ; t[1] += 1 ; t[1] ..= 'x' ; @@",
    "continue": "for i = 1, 2 do if i == 1 then continue end @@ end",
    "unary-plus": "if +(-1) == 1 then @@ end",
}


def _pairs() -> list[tuple[str, str]]:
    """Every escape, each through one wrapper (taken in turn, so every wrapper carries several)."""
    wrappers = sorted(WRAPPERS)
    return [(name, wrappers[k % len(wrappers)]) for k, name in enumerate(_ids())]


@pytest.mark.parametrize(("name", "wrapper"), _pairs())
def test_an_escape_through_sharplua_is_still_refused_at_load(name: str, wrapper: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    statement, expected = next((s, e) for n, s, e in _escapes(outside) if n == name)
    text = ("nextbet = 0.01\nfunction dobet() end\n"
            + WRAPPERS[wrapper].replace("@@", statement))
    assert translate(text).rewrites  # the escape really is reached through rewritten code
    with pytest.raises(ScriptLoadError) as caught:
        load(write(tmp_path, text), files_dir=tmp_path / "files", max_instructions=BUDGET, max_memory_mb=8)
    message = str(caught.value)
    assert message.startswith("script.lua:3: " if "not enough memory" not in expected else "script.lua: ")
    assert expected in message
    assert "\n" not in message
    assert not list(outside.iterdir())


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_an_escape_through_sharplua_in_dobet_stops_the_session(wrapper: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    statement = 'os.execute("touch ' + str(outside / "pwned") + '")'
    text = ("nextbet = 0.01\nfunction dobet()\n  if bets == 2 then "
            + WRAPPERS[wrapper].replace("@@", statement) + " end\nend\n")
    session, settled = play(load(write(tmp_path, text), files_dir=tmp_path / "files"), bets=10)
    assert len(settled) == 2
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STRATEGY_ERROR
    assert session.stop_reason.detail == "ScriptError: script.lua:3: os.execute is not allowed in betbot's sandbox"
    assert not list(outside.iterdir())


def test_the_rewriter_adds_only_harmless_names() -> None:
    source = "\n".join(w.replace("@@", "x = 1") for w in WRAPPERS.values())
    source += "\nwhile a do if b then continue end break end"
    added = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", translate(source).text)) - set(
        re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", source))
    assert added == {"not", "bit.band", "bit.bor", "bit.lshift", "bit.bnot", "math.abs", "repeat", "until", "true",
                     "false", "__betbot_break1"}
