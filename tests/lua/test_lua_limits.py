"""A script can never hang betbot or fill its disk (issue 14, item 7).

Every Lua call is bounded, whatever it runs inside: an xpcall message handler that loops, a backtracking
pattern inside one C call, a loop inside the sandbox's own functions. Each case ends within its (tiny)
budget with one line naming the script's own line; as a `betbot run` subprocess a SIGTERM stops a
script that spins; the script directory's total is capped; what a script prints or raises carries no
terminal control sequence.
"""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from betbot.core.models import StopKind
from betbot.journal import Journal
from betbot.strategies.lua import ScriptLoadError
from betbot.strategies.lua.runtime import LuaRuntimeConfig, ScriptRuntime, strip_controls
from tests.cli_support import BETBOT, ENV
from tests.lua_support import load, play, write

BUDGET = 100_000

HANGS = {
    "xpcall-handler-loop": 'xpcall(function() error("x") end, function() while true do end end)',
    "xpcall-both-loop": "xpcall(function() while true do end end, function() while true do end end)",
    "pcall-in-xpcall-handler": "xpcall(error, function() while true do pcall(error) end end)",
    "find-a*a*a*b": "string.rep('a', 5000):find('a*a*a*b')",
    "find-lazy-12": "('a'):rep(20000):find(('a-'):rep(12) .. 'b')",
    "match-anchored": "('a'):rep(3000):match('^(a*)(a*)(a*)b')",
    "gsub-callback-loop": "('abc'):gsub('%w', function() while true do end end)",
    "sort-comparator-loop": "table.sort({ 3, 2, 1 }, function() while true do end end)",
    "tostring-metamethod-loop": "tostring(setmetatable({}, { __tostring = function() while true do end end }))",
    "rep-in-a-loop": "while true do local s = ('x'):rep(3) end",
    "split-in-a-loop": "while true do string.split('a b c', ' ') end",
    "coroutine-loop": "coroutine.wrap(function() while true do end end)()",
    "error-object-tostring-loop": "error(setmetatable({}, { __tostring = function() while true do end end }))",
    "print-tostring-loop": "print(setmetatable({}, { __tostring = function() while true do end end }))",
    "pcall-error-object-loop": "pcall(error, setmetatable({}, { __tostring = function() while true do end end }))"
                               " while true do end",
}


def _lua(tmp_path: Path, text: str, **kwargs: Any) -> Any:
    return load(write(tmp_path, text), files_dir=tmp_path / "files", **kwargs)


@pytest.mark.parametrize("name", sorted(HANGS))
def test_each_hang_ends_within_its_budget_naming_the_scripts_line(name: str, tmp_path: Path) -> None:
    text = f"nextbet = 0.01\nfunction dobet()\n  if bets == 2 then\n    {HANGS[name]}\n  end\nend\n"
    strategy = _lua(tmp_path, text, max_instructions=BUDGET)
    session, settled = play(strategy, bets=10)
    assert len(settled) == 2
    reason = session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.STRATEGY_ERROR
    assert reason.detail.startswith("ScriptError: script.lua:4: ")
    assert "prelude" not in reason.detail
    assert "\n" not in reason.detail
    assert "budget exhausted" in reason.detail


@pytest.mark.parametrize("name", sorted(HANGS))
def test_each_hang_at_the_top_level_is_a_one_line_load_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(ScriptLoadError) as caught:
        _lua(tmp_path, f"nextbet = 0.01\nfunction dobet() end\n{HANGS[name]}\n", max_instructions=BUDGET)
    assert str(caught.value).startswith("script.lua:3: ")
    assert "prelude" not in str(caught.value)


@pytest.mark.parametrize(("pattern", "subject"), [
    ("[^\n]+", "line\n" * 20000),  # one quantifier at the end never backtracks: C's matcher, over 100 kB
    ("(%d+)%.(%d+)", "3.25"),
    ("(%w+)=(%w+)", "a=1, b=2"),
    ("%a+", "word " * 2000),
    ("(%d+),(%d+)", "12,34\n" * 3000),  # two quantifiers over 18 kB: the budgeted matcher, same answer
])
def test_ordinary_patterns_still_match(pattern: str, subject: str, tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() end\n"
                              "function count(s, p) local n = 0 for _ in s:gmatch(p) do n = n + 1 end return n end\n")
    count = strategy.runtime.env.count
    expected = {"[^\n]+": 20000, "(%d+)%.(%d+)": 1, "(%w+)=(%w+)": 2, "%a+": 2000, "(%d+),(%d+)": 3000}[pattern]
    assert count(subject, pattern) == expected


def _runtime(tmp_path: Path, **caps: Any) -> ScriptRuntime:
    config = LuaRuntimeConfig(name="script.lua", files_dir=tmp_path / "files", rng_seed=1, currency="DOGE",
                              balance=100.0, edge=Decimal(1), epoch=1_700_000_000.0, **caps)
    return ScriptRuntime(config, lambda _text: None)


def test_the_wall_clock_budget_stops_a_call_the_cpu_budget_would_let_run(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, max_instructions=2_000_000_000, max_seconds=600.0, max_wall_seconds=0.0)
    error = runtime.load("nextbet = 0.01\nfunction dobet() end\nwhile true do end\n")
    assert error == "script.lua:3: time budget exhausted (0 s of wall-clock time in one call)"


def test_the_directory_total_is_capped_and_the_script_fails_in_one_line(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, dir_cap=20_000)
    error = runtime.load("""nextbet = 0.01
function dobet() end
for i = 1, 50 do
  local f = assert(io.open("part" .. i .. ".txt", "w"))
  f:write(string.rep("x", 1000))
  f:close()
end
""")
    files = tmp_path / "files"
    assert error == (f"script.lua:5: the script's files would pass the 20000-byte cap of its directory ({files}); "
                     "delete old files there or write less")
    assert sum(path.stat().st_size for path in files.iterdir()) <= 20_000
    assert len(list(files.iterdir())) == 21  # 20 whole files, and the one whose write was refused (empty)


def test_files_already_in_the_directory_count_and_deleting_frees_room(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "old.txt").write_text("y" * 15_000)
    runtime = _runtime(tmp_path, dir_cap=20_000)
    assert runtime.load("""nextbet = 0.01
function dobet() end
local f = assert(io.open("new.txt", "w"))
ok, err = pcall(f.write, f, string.rep("x", 6000))
f:close()
assert(os.remove("old.txt"))
f = assert(io.open("new.txt", "a"))
f:write(string.rep("x", 6000))
f:close()
""") is None
    assert runtime.get("ok") is False
    assert "cap of its directory" in runtime.get("err")
    assert (files / "new.txt").stat().st_size == 6000


@pytest.mark.parametrize(("raw", "clean"), [
    ("\x1b]0;title\x07after", "after"),  # OSC: the window title
    ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ST-terminated
    ("\x1b[31mred\x1b[0m", "red"),  # CSI colours
    ("\x1b[2J\x1b[Hclear", "clear"),  # CSI erase and home
    ("a\rb\x08c\x07d", "abcd"),  # C0 controls
    ("\x9b31mx\x9dy", "31mxy"),  # C1 controls are dropped one by one
    ("\x1bPq#0;2;0;0;0\x1b\\z", "z"),  # DCS (sixel)
    ("tab\tand\nnewline", "tab\tand\nnewline"),  # kept
    ("\x1bc reset", " reset"),
])
def test_terminal_control_sequences_are_stripped(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean


def test_what_a_script_prints_or_raises_carries_no_control_sequence(tmp_path: Path) -> None:
    printed: list[str] = []
    strategy = _lua(tmp_path, "nextbet = 0.01\nprint('\\27]0;pwned\\7hi \\27[2Jthere\\r')\n"
                              "function dobet() error('\\27]52;c;Y2xpcA==\\7boom') end\n", printer=printed.append)
    assert printed == ["hi there"]
    session = play(strategy, bets=3)[0]
    assert session.stop_reason is not None
    assert session.stop_reason.detail == "ScriptError: script.lua:3: boom"


# -- as a `betbot run` subprocess -------------------------------------------------------------------------
def _spawn(script: Path, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**ENV, "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.Popen([*BETBOT, "run", "--script", str(script), "--no-preview", "--dashboard", "off",
                             "--log-format", "json", "--journal", str(tmp_path / "journal.sqlite3"), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_bets(process: subprocess.Popen[str]) -> None:
    """Block until the script has seen its first result (its print, in the JSON log on stderr)."""
    assert process.stderr is not None
    for line in process.stderr:
        if '"script.print"' in line:
            return
    pytest.fail("the run ended before it started betting")


def test_a_hang_in_a_run_ends_in_one_line_within_its_budget(tmp_path: Path) -> None:
    script = write(tmp_path, f"nextbet = 0.01\nfunction dobet()\n  {HANGS['find-lazy-12']}\n  "
                             f"{HANGS['xpcall-handler-loop']}\nend\n", "hang.lua")
    result = subprocess.run([*BETBOT, "run", "--script", str(script), "--no-preview", "--dashboard", "off",
                             "--journal", str(tmp_path / "journal.sqlite3"), "--max-bets", "5"],
                            capture_output=True, text=True, timeout=120, check=False,
                            env={**ENV, "XDG_DATA_HOME": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "strategy_error: ScriptError: hang.lua:3: " in result.stderr
    assert "budget exhausted" in result.stderr


@pytest.mark.parametrize("signals", [1, 2])
def test_sigterm_stops_a_run_while_its_script_spins(signals: int, tmp_path: Path) -> None:
    # Each dobet spins for about 2 million instructions (well inside the budget): the process is in Lua
    # nearly all the time, and a SIGTERM (or two) must still end it with the session journaled.
    script = write(tmp_path, "nextbet = 0.01\nfunction dobet()\n  if bets == 1 then print('betting') end\n"
                             "  local x = 0\n  for i = 1, 2000000 do x = x + i end\nend\n", "spin.lua")
    process = _spawn(script, tmp_path, "--summary-json", str(tmp_path / "summary.json"))
    try:
        _wait_for_bets(process)
        for _ in range(signals):
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode in (0, 130, 143), process.returncode
    journal = Journal.open(tmp_path / "journal.sqlite3", durable=False)
    try:
        [record] = journal.sessions()
    finally:
        journal.close()
    assert record.stop_kind == "signal"
    if signals == 1:
        assert json.loads((tmp_path / "summary.json").read_text())["stop_kind"] == "signal"


def test_a_currency_switch_to_a_control_sequence_is_named_without_it(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() currency = '\\27]0;x\\7btc' end\n")
    session = play(strategy, bets=3)[0]
    assert session.stop_reason is not None
    assert "switched currency to btc;" in session.stop_reason.detail
    assert "\x1b" not in session.stop_reason.detail


def test_a_huge_error_message_is_cut_to_one_short_line(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet() error(string.rep('x', 100000)) end\n")
    session = play(strategy, bets=3)[0]
    assert session.stop_reason is not None
    detail = session.stop_reason.detail
    assert detail.startswith("ScriptError: script.lua:2: xxx")
    assert detail.endswith("… (99514 more characters)")  # "script.lua:2: " + 100,000 x, cut at 500
    assert len(detail) < 600
