"""The sandbox of docs/dicebot-scripts.md: refused calls, confined files, budgets, a memory cap.

Each escape is tried at the top level (a load error: one line, exit code 2) and inside dobet() (a
STRATEGY_ERROR stop naming the file and line); in both cases nothing is created outside the script's
directory and no Python traceback appears.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from betbot.core.models import StopKind
from betbot.strategies.lua import ScriptLoadError
from tests.lua_support import load, play, write

# A small budget keeps the endless loops fast; the default is 10,000,000 instructions per call.
BUDGET = 200_000


def _escapes(outside: Path) -> list[tuple[str, str, str]]:
    """(id, Lua statement, what the error says) for every escape tried."""
    return [
        ("os.execute", 'os.execute("touch ' + str(outside / "pwned") + '")', "os.execute is not allowed"),
        ("os.exit", "os.exit(1)", "os.exit is not allowed"),
        ("os.getenv", 'os.getenv("HOME")', "os.getenv is not allowed"),
        ("io.open-absolute", 'assert(io.open("' + str(outside / "x.txt") + '", "w"))',
         "x.txt: not allowed (betbot's sandbox takes plain file names"),
        ("io.open-tmp", 'assert(io.open("/tmp/betbot-lua-sandbox-test", "w"))', "/tmp/betbot-lua-sandbox-test: not"),  # noqa: S108 - the escape tried
        ("io.open-parent", 'assert(io.open("../x", "w"))', "../x: not allowed"),
        ("io.popen", 'io.popen("ls")', "io.popen is not allowed"),
        ("os.rename-out", 'assert(os.rename("a", "../a"))', "../a: not allowed"),
        ("require", 'require("os")', "require is not allowed"),
        ("load", 'load("x = 1")', "load is not allowed"),
        ("loadstring", 'loadstring("x = 1")', "loadstring is not allowed"),
        ("dofile", 'dofile("/etc/passwd")', "dofile is not allowed"),
        ("debug", "debug.sethook()", "debug.sethook is not allowed"),
        ("package", "package.loadlib('x', 'y')", "package.loadlib is not allowed"),
        ("getfenv", "getfenv(0).x = 1", "getfenv is not allowed"),
        ("string.dump", "string.dump(print)", "string.dump is not allowed"),
        ("string.rep-bomb", 'local s = string.rep("x", 2^40)', "string.rep: a result of 1099511627776 bytes"),
        ("method-rep-bomb", 'local s = ("xy"):rep(1e12)', "string.rep: a result of"),
        ("concat-bomb", 'local s = "x" while true do s = s .. s end', "not enough memory (the sandbox's 8 MiB cap"),
        ("table-bomb", 'local t = {} local i = 0 while true do i = i + 1 t[i] = string.rep("x", 4096) .. i end',
         "not enough memory (the sandbox's 8 MiB cap"),
        ("endless-loop", "while true do end", "instruction budget exhausted (200000 instructions"),
        ("pcall-loop", "while true do pcall(function() while true do end end) end", "instruction budget exhausted"),
        ("coroutine-loop", "coroutine.wrap(function() while true do end end)()", "instruction budget exhausted"),
        ("xpcall-handler-loop", 'xpcall(function() error("x") end, function() while true do end end)',
         "instruction budget exhausted"),
        ("xpcall-budget-handler-loop", "xpcall(function() while true do end end, function() while true do end end)",
         "instruction budget exhausted"),
        ("find-backtracking", "string.rep('a', 5000):find('a*a*a*b')", "instruction budget exhausted"),
        ("lazy-backtracking", "('a'):rep(20000):find(('a-'):rep(12) .. 'b')", "instruction budget exhausted"),
        ("gmatch-backtracking", "for x in ('a'):rep(30000):gmatch('a+a+b') do end", "instruction budget exhausted"),
        ("gsub-backtracking", "local s = ('a'):rep(30000):gsub('a*a*b', '')", "instruction budget exhausted"),
        ("getHistoryByQuery", "getHistoryByQuery('select 1')", "getHistoryByQuery() is not supported by betbot"),
        ("runsim", "runsim(1, 100)", "runsim() is not supported by betbot"),
    ]


def _ids(tmp: Path = Path("/nonexistent")) -> list[str]:
    return [name for name, _, _ in _escapes(tmp)]


def _snapshot(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize("name", _ids())
def test_an_escape_at_the_top_level_is_a_one_line_load_error(name: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    statement, expected = next((s, e) for n, s, e in _escapes(outside) if n == name)
    script = write(tmp_path, f"nextbet = 0.01\nfunction dobet() end\n{statement}\n")
    before = _snapshot(tmp_path)
    with pytest.raises(ScriptLoadError) as caught:
        load(script, files_dir=tmp_path / "sandbox", max_instructions=BUDGET, max_memory_mb=8)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(("script.lua:3: ", "script.lua: not enough memory"))
    assert "\n" not in message
    assert "Traceback" not in message
    assert _snapshot(tmp_path) == before  # nothing created anywhere (not even the sandbox directory)
    assert not Path("/tmp/betbot-lua-sandbox-test").exists()  # noqa: S108 - the escape tried


@pytest.mark.parametrize("name", _ids())
def test_an_escape_in_dobet_stops_the_session_with_the_line(name: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    statement, expected = next((s, e) for n, s, e in _escapes(outside) if n == name)
    script = write(tmp_path, f"nextbet = 0.01\nfunction dobet()\n  if bets == 3 then\n    {statement}\n  end\nend\n")
    strategy = load(script, files_dir=tmp_path / "sandbox", max_instructions=BUDGET, max_memory_mb=8)
    before = _snapshot(tmp_path)
    session, settled = play(strategy, bets=10)
    assert len(settled) == 3
    reason = session.stop_reason
    assert reason is not None
    assert reason.kind is StopKind.STRATEGY_ERROR
    assert expected in reason.detail
    assert "script.lua:4: " in reason.detail or "script.lua: not enough memory" in reason.detail
    assert "\n" not in reason.detail
    assert "Traceback" not in reason.detail
    assert _snapshot(tmp_path) == before
    assert not (outside / "pwned").exists()


def test_a_refused_open_fails_the_way_lua_does(tmp_path: Path) -> None:
    """nil plus a message, so a script that checks the result carries on."""
    script = write(tmp_path, """
        nextbet = 0.01
        function dobet() end
        f, err = io.open("../escape.txt", "w")
        g, gerr = io.open("missing.txt", "r")
        ok, rerr = os.remove("nothing-here")
    """)
    env = load(script, files_dir=tmp_path / "sandbox").runtime.env
    assert env.f is None
    assert "../escape.txt: not allowed" in env.err
    assert env.g is None
    assert env.gerr.startswith("missing.txt: No such file")
    assert env.ok is None
    assert env.rerr == "nothing-here: No such file or directory"
    assert not (tmp_path / "escape.txt").exists()


def test_the_file_size_cap(tmp_path: Path) -> None:
    script = write(tmp_path, """
        nextbet = 0.01
        function dobet() end
        local f = assert(io.open("big.txt", "w"))
        local chunk = string.rep("x", 1024 * 1024)
        for i = 1, 4 do assert(f:write(chunk)) end
        written, err = f:write("one byte too many")
        f:close()
    """)
    env = load(script, files_dir=tmp_path / "sandbox").runtime.env
    assert env.written is None
    assert "file size cap" in env.err
    assert (tmp_path / "sandbox" / "big.txt").stat().st_size == 4 * 1024 * 1024


def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    target = tmp_path / "secret.txt"
    target.write_text("secret")
    (sandbox / "link.txt").symlink_to(target)
    script = write(tmp_path, 'nextbet = 0.01\nfunction dobet() end\nf, err = io.open("link.txt", "r")\n')
    env = load(script, files_dir=sandbox).runtime.env
    assert env.f is None
    assert "symbolic link" in env.err


def test_the_budget_is_fresh_for_every_call(tmp_path: Path) -> None:
    """Work that fits one call's budget never adds up across calls."""
    text = "nextbet = 0.01\nfunction dobet()\n  local n = 0\n  for i = 1, 20000 do n = n + i end\nend\n"
    script = write(tmp_path, text)
    session, settled = play(load(script, files_dir=tmp_path, max_instructions=BUDGET), bets=100)
    assert len(settled) == 100
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS


@pytest.mark.parametrize("where", ["top level", "dobet"])
def test_a_bomb_of_small_tables_hits_the_memory_cap(where: str, tmp_path: Path) -> None:
    """Many small allocations fill the cap with nothing left over to compile or collect with."""
    bomb = "local t = {} while true do t[#t + 1] = {} end"
    text = (f"nextbet = 0.01\nfunction dobet() end\n{bomb}\n" if where == "top level"
            else f"nextbet = 0.01\nfunction dobet()\n  {bomb}\nend\n")
    script = write(tmp_path, text)
    expected = "script.lua: not enough memory (the sandbox's 8 MiB cap: an allocation without bound?)"
    if where == "top level":
        with pytest.raises(ScriptLoadError) as caught:
            load(script, files_dir=tmp_path, max_memory_mb=8, max_instructions=50_000_000)
        assert str(caught.value) == expected
        return
    session, settled = play(load(script, files_dir=tmp_path, max_memory_mb=8, max_instructions=50_000_000), bets=5)
    assert len(settled) == 1
    assert session.stop_reason is not None
    assert session.stop_reason.detail == f"ScriptError: {expected}"


def test_open_files_are_capped_and_dropped_handles_collected(tmp_path: Path) -> None:
    script = write(tmp_path, """
        nextbet = 0.01
        function dobet() end
        kept = {}
        for i = 1, 16 do kept[i] = assert(io.open("f" .. i, "w")) end
        extra, err = io.open("f17", "w")
        kept = nil
        again = io.open("f18", "w") ~= nil  -- the collector closed the dropped ones
    """)
    env = load(script, files_dir=tmp_path / "sandbox").runtime.env
    assert env.extra is None
    assert "too many open files" in env.err
    assert env.again is True
