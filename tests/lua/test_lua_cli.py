"""`betbot run --script` and `betbot script check`: exit codes, one-line errors, the session journaled as stopped."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from rich.console import Console

from betbot.config.settings import load_settings
from betbot.journal import Journal
from betbot.lifecycle import run_session
from tests.cli_support import BETBOT, ENV
from tests.lua_support import CORPUS, write


def _betbot(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BETBOT, *args], capture_output=True, text=True, timeout=60, env=env or ENV, check=False,
                          cwd=cwd)


ESCAPES = {
    "os.execute": ('os.execute("touch pwned")', "os.execute is not allowed in betbot's sandbox"),
    "io.open-tmp": ('assert(io.open("/tmp/betbot-lua-cli-test", "w"))', "/tmp/betbot-lua-cli-test: not allowed"),  # noqa: S108 - the escape tried
    "io.open-parent": ('assert(io.open("../x", "w"))', "../x: not allowed"),
    "require": ('require("socket")', "require is not allowed in betbot's sandbox"),
    "load": ('load("return 1")', "load is not allowed in betbot's sandbox"),
    "string.rep-bomb": ('local s = string.rep("x", 1e12)', "string.rep: a result of 1000000000000 bytes"),
    "endless-loop": ("while true do end", "instruction budget exhausted (200000 instructions"),
}


def _run(settings_flags: dict[str, Any]) -> str:
    settings = load_settings(settings_flags)
    err = io.StringIO()

    async def main() -> None:
        await run_session(settings, out=Console(file=io.StringIO()), err=Console(file=err))

    anyio.run(main)
    return err.getvalue()


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_an_escape_in_dobet_is_journaled_as_a_stopped_session(name: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    statement, expected = ESCAPES[name]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    script = write(work, f"nextbet = 0.01\nfunction dobet()\n  if bets == 3 then\n    {statement}\n  end\nend\n",
                   "escape.lua")
    journal_path = tmp_path / "journal.sqlite3"
    _run({"script": str(script), "journal": journal_path, "max_bets": 20, "preview": False, "dashboard": "off",
          "params": {"max_instructions": 200_000}})
    journal = Journal.open(journal_path, durable=False)
    try:
        [record] = journal.sessions()
        bets = list(journal.bets(record.id))
    finally:
        journal.close()
    assert record.strategy == "lua"
    assert record.params["script"] == str(script)
    assert record.stop_kind == "strategy_error"
    assert record.stop_reason is not None
    assert expected in record.stop_reason
    assert "escape.lua:4: " in record.stop_reason
    assert "\n" not in record.stop_reason
    assert len(bets) == 3
    assert sorted(path.name for path in work.iterdir()) == ["escape.lua"]
    assert not (tmp_path / "data").exists()  # the script never opened a file: not even its directory exists
    assert not Path("/tmp/betbot-lua-cli-test").exists()  # noqa: S108 - the escape tried


def test_a_load_error_is_exit_2_one_line_and_no_journal(tmp_path: Path) -> None:
    script = write(tmp_path, "nextbet = 0.01\nfunction dobet() end\nwhile true do end\n", "loop.lua")
    journal = tmp_path / "journal.sqlite3"
    result = _betbot("run", "--script", str(script), "--journal", str(journal), "-p", "max_instructions=200000")
    assert result.returncode == 2
    assert result.stderr == ("betbot: error: loop.lua:3: instruction budget exhausted (200000 instructions in one "
                             "call: an endless loop?)\n")
    assert result.stdout == ""
    assert not journal.exists()


def test_run_script_journals_a_sandbox_stop_without_a_traceback(tmp_path: Path) -> None:
    script = write(tmp_path, 'nextbet = 0.01\nfunction dobet()\n  if bets == 2 then os.execute("ls") end\nend\n',
                   "exec.lua")
    journal = tmp_path / "journal.sqlite3"
    result = _betbot("run", "--script", str(script), "--journal", str(journal), "--max-bets", "10", "--no-preview",
                     "--log-format", "json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "strategy_error: ScriptError: exec.lua:3: os.execute is not allowed in betbot's sandbox" in result.stderr
    opened = Journal.open(journal, durable=False)
    try:
        [record] = opened.sessions()
    finally:
        opened.close()
    assert record.stop_kind == "strategy_error"
    assert record.stop_reason == ("strategy_error: ScriptError: exec.lua:3: os.execute is not allowed in betbot's "
                                  "sandbox")


def test_script_check_shows_the_bets_a_script_would_make(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**ENV, "XDG_DATA_HOME": str(data)}
    result = _betbot("script", "check", str(CORPUS / "file-log.lua"), "--rows", "5", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "betbot: file-log.lua loaded; 100 simulated result(s), nothing bet (seed 'betbot/script-check')"
    assert lines[1].split() == ["bet", "amount", "chance", "side", "roll", "result", "profit", "balance"]
    assert lines[3].split()[:4] == ["1", "0.00000100", "49.50", "high"]
    assert "ok: the script played 100 result(s) without an error" in result.stdout
    assert not data.exists()  # a check writes the script's files to a throw-away directory


def test_script_check_reports_a_runtime_error_with_exit_2(tmp_path: Path) -> None:
    text = "nextbet = 0.01\nfunction dobet()\n  if bets == 7 then\n    nextbet = nil + 1\n  end\nend\n"
    script = write(tmp_path, text, "broken.lua")
    result = _betbot("script", "check", str(script))
    assert result.returncode == 2
    assert result.stderr == "betbot: error: broken.lua:4: attempt to perform arithmetic on a nil value\n"
    assert "7 (" in result.stdout  # the bets before the error are shown


@pytest.mark.parametrize(("text", "error"), [
    ("nextbet = = 1\n", "betbot: error: bad.lua:1: unexpected symbol near '='\n"),
    ("function DoDiceBet(PreviousBet, Win, NextBet) end\n",
     "betbot: error: bad.lua:1: this is a DiceBot 4 / Doormat script (function DoDiceBet); betbot runs DiceBot 3's "
     "programmer mode (dobet(), nextbet, chance, bethigh), not that dialect\n"),
])
def test_script_check_reports_a_load_error_with_exit_2(tmp_path: Path, text: str, error: str) -> None:
    result = _betbot("script", "check", str(write(tmp_path, text, "bad.lua")))
    assert result.returncode == 2
    assert result.stderr == error
