"""The risk preview never fails a script that the run accepts (issue 14, item 3).

The preview (and `simulate`) play a script in batch mode, in a throw-away directory; a script that reads
its own files (a log it appends to, a state file from the last run) reads them through a copy of its
real directory, and the real files are never written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from betbot.strategies.lua import batch_mode
from tests.lua_support import load, play, write

READER = """
local f = assert(io.open("history.txt", "r"))  -- fails, as in DiceBot, when the file is not there
first = f:read("*l")
f:close()
nextbet = tonumber(first)
function dobet()
  local log = assert(io.open("history.txt", "a"))
  log:write("bet ", bets, "\\n")
  log:close()
  local again = assert(io.open("history.txt", "r"))
  lines = 0
  for _ in again:lines() do lines = lines + 1 end
  again:close()
end
"""


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def _history(data_home: Path) -> Path:
    directory = data_home / "betbot" / "scripts" / "reader"
    directory.mkdir(parents=True)
    path = directory / "history.txt"
    path.write_text("0.02\nfrom the last run\n")
    return path


def test_a_batch_run_reads_the_scripts_own_files_through_a_copy(tmp_path: Path, data_home: Path) -> None:
    script = write(tmp_path, READER, "reader.lua")
    with pytest.raises(Exception, match=r"reader\.lua:2: history\.txt: No such file or directory"):
        load(script)  # a fresh folder: the script fails as it would in DiceBot
    history = _history(data_home)
    assert load(script).runtime.files.directory == history.parent  # the run uses the real directory
    with batch_mode():
        strategy = load(script)
        assert strategy.runtime.get("first") == "0.02"
        play(strategy, bets=3)
        assert strategy.runtime.get("lines") == 5  # the copy: two lines from the last run, three appended
        again = load(script)  # the next simulated session sees the batch's copy, never the real file changed
        assert again.runtime.get("first") == "0.02"
    assert history.read_text() == "0.02\nfrom the last run\n"


def test_a_file_the_batch_writes_afresh_is_not_read_from_the_real_directory(tmp_path: Path, data_home: Path) -> None:
    history = _history(data_home)
    script = write(tmp_path, 'local f = assert(io.open("history.txt", "w"))\nf:write("new\\n")\nf:close()\n'
                             'f = assert(io.open("history.txt", "r"))\nseen = f:read("*a")\nf:close()\n'
                             "nextbet = 0.01\nfunction dobet() end\n", "reader.lua")
    with batch_mode():
        assert load(script).runtime.get("seen") == "new\n"
    assert history.read_text() == "0.02\nfrom the last run\n"


def test_run_with_its_preview_accepts_a_script_that_reads_its_log(tmp_path: Path, data_home: Path) -> None:
    history = _history(data_home)
    script = write(tmp_path, READER, "reader.lua")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}, "XDG_DATA_HOME": str(data_home)}
    result = subprocess.run([sys.executable, "-m", "betbot", "run", "--script", str(script), "--max-bets", "4",
                             "--dashboard", "off", "--journal", str(tmp_path / "journal.sqlite3")],
                            capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert '"event": "risk.preview"' in result.stderr  # the preview ran (stderr is not a terminal: JSON logs)
    assert history.read_text().splitlines() == ["0.02", "from the last run", "bet 1", "bet 2", "bet 3", "bet 4"]
