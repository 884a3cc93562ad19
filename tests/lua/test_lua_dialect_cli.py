"""`betbot script check` on a SharpLua script: what was rewritten, the DiceBot functions reached, `--lua`."""

from __future__ import annotations

from pathlib import Path

from tests.lua.test_lua_cli import _betbot
from tests.lua_support import write

SCRIPT = """nextbet = 0.01
chance = 49.5
function dobet()
  if !win then nextbet *= 2 else nextbet = 0.01 end
  if profit > 10 then tip("me", 1) end
  for i = 1, 3 do if i != 2 then continue end end
end
end
"""


def test_script_check_says_what_it_rewrote_and_what_betbot_runs_differently(tmp_path: Path) -> None:
    result = _betbot("script", "check", "--results", "5", str(write(tmp_path, SCRIPT, "sharp.lua")))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "betbot: sharp.lua loaded; 5 simulated result(s), nothing bet (seed 'betbot/script-check')"
    assert lines[1] == ("SharpLua rewritten into Lua 5.1: 1 compound assignment, 1 '!=', 1 '!', 1 'continue', "
                        "1 stray top-level end")
    assert lines[2] == "a stray top-level end at line 8: the rest of the file is ignored, as DiceBot ignores it"
    assert lines[3].startswith("calls tip() (line 5), which betbot runs differently: skipped with a warning")
    assert "Lua 5.1 that betbot runs" not in result.stdout


def test_script_check_lua_prints_the_text_betbot_runs_with_the_users_line_numbers(tmp_path: Path) -> None:
    result = _betbot("script", "check", "--lua", "--results", "3", str(write(tmp_path, SCRIPT, "sharp.lua")))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Lua 5.1 that betbot runs (numbered with the lines of sharp.lua):"
    assert lines[1:9] == [
        "1 | nextbet = 0.01",
        "2 | chance = 49.5",
        "3 | function dobet()",
        "4 |   if not win then nextbet = nextbet * ( 2) else nextbet = 0.01 end",
        '5 |   if profit > 10 then tip("me", 1) end',
        "6 |   for i = 1, 3 do repeat if i ~= 2 then do break end end until true end",
        "7 | end",
        "8 | ",
    ]
    assert lines[9].startswith("betbot: sharp.lua loaded; 3 simulated result(s)")


def test_script_check_lua_still_prints_a_script_lua_cannot_compile(tmp_path: Path) -> None:
    result = _betbot("script", "check", "--lua", str(write(tmp_path, "x += 1\ny = = 2\n", "bad.lua")))
    assert result.returncode == 2
    assert result.stdout.splitlines()[1:3] == ["1 | x = x + ( 1)", "2 | y = = 2"]
    assert result.stderr == "betbot: error: bad.lua:2: unexpected symbol near '='\n"


def test_plain_lua_says_nothing_about_the_dialect(tmp_path: Path) -> None:
    plain = write(tmp_path, "nextbet = 0.01\nfunction dobet() end\n")
    result = _betbot("script", "check", "--results", "2", str(plain))
    assert result.returncode == 0, result.stderr
    assert "SharpLua" not in result.stdout
    assert "calls " not in result.stdout
