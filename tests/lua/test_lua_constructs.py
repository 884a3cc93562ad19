"""What real DiceBot scripts do (docs/dicebot-scripts.md, "What real scripts do"), one construct per test."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from betbot.core.models import StopKind
from betbot.core.strategy import StrategyContext
from betbot.strategies.lua import LuaParams, LuaStrategy
from tests.lua_support import CORPUS, load, play, write

EPOCH = 1_700_000_000.0


def test_an_os_clock_busy_wait_costs_no_wall_time(tmp_path: Path) -> None:
    # The busy-wait's cost is counted in reads of the clock (a count, not a stopwatch): the virtual clock
    # ends a wait of any length after a bounded number of reads, so it costs no wall time whatever the load.
    counting = "local real_clock = os.clock\nreads = 0\nos.clock = function() reads = reads + 1 " \
        "return real_clock() end\n"
    wrapper = """
stamps, most = {}, 0
local inner = dobet
function dobet()
  local before = reads
  inner()
  if reads - before > most then most = reads - before end
  stamps[#stamps + 1] = os.clock()
end
"""
    text = counting + (CORPUS / "busywait-sleep.lua").read_text() + wrapper
    strategy = load(write(tmp_path, text), files_dir=tmp_path)
    _session, settled = play(strategy, bets=200)
    assert len(settled) == 200
    env = strategy.runtime.env
    stamps = env.stamps
    waited = stamps[200] - stamps[1]
    assert waited >= 199 * 0.75  # each dobet really waited 0.75 s of the script's clock...
    assert waited <= 199 * 0.75 * 1.06  # ...overshooting by at most 5 %...
    assert env.most <= 400  # ...in a few hundred reads of the clock per wait, not a spin of 0.75 s each


def test_an_os_time_busy_wait_ends_as_quickly(tmp_path: Path) -> None:
    script = write(tmp_path, """
        nextbet = 0.01
        function dobet()
          local t = os.time()
          while os.time() - t < 3 do end  -- three seconds, at os.time's one-second resolution
          waited = os.time() - t
        end
    """)
    strategy = load(script, files_dir=tmp_path, max_instructions=100_000)
    session, settled = play(strategy, bets=50)
    assert len(settled) == 50
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert strategy.runtime.get("waited") == 3


def test_file_logging_with_rotation_stays_in_the_scripts_directory(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data_home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.chdir(tmp_path)
    strategy = load(CORPUS / "file-log.lua", epoch=EPOCH)  # files under the data directory, as in a run
    _session, settled = play(strategy, bets=250)
    assert len(settled) == 250
    directory = data_home / "betbot" / "scripts" / "file-log"
    everything = {path.relative_to(tmp_path) for path in tmp_path.rglob("*")}
    assert everything == {Path("data"), Path("data/betbot"), Path("data/betbot/scripts"),
                          Path("data/betbot/scripts/file-log"), Path("data/betbot/scripts/file-log/bets.log"),
                          Path("data/betbot/scripts/file-log/bets.1.log")}
    rotated = (directory / "bets.1.log").read_text().splitlines()
    current = (directory / "bets.log").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in rotated] == list(range(101, 201))
    assert [int(line.split(",")[0]) for line in current] == list(range(201, 251))
    first = current[0].split(",")
    result = settled[200]
    assert float(first[1]) == result.number / 100
    assert first[2] == str(result.win).lower()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first[5])


def test_last_bet_date_fields(tmp_path: Path) -> None:
    script = write(tmp_path, """
        nextbet = 0.01
        function dobet()
          local d = lastBet.date
          stamp = string.format("%04d-%02d-%02d %02d:%02d:%02d", d.year, d.month, d.day, d.hour, d.minute, d.second)
          same = d.Year == d.year and lastbet.Date.Minute == d.min and d.second == d.sec
        end
    """)
    strategy = load(script, files_dir=tmp_path, epoch=EPOCH)
    play(strategy, bets=1)
    env = strategy.runtime.env
    assert env.stamp == datetime.fromtimestamp(EPOCH).strftime("%Y-%m-%d %H:%M:%S")  # noqa: DTZ006 - Lua's local time
    assert env.same is True


def test_ansi_prints_reach_the_printer_and_the_log_stripped(tmp_path: Path) -> None:
    printed: list[str] = []
    strategy = load(CORPUS / "ansi-print.lua", printer=printed.append, files_dir=tmp_path)
    session, _settled = play(strategy, bets=300)
    # Colours, like every terminal control sequence, never leave the sandbox: the printer gets the text.
    assert re.fullmatch(r"#1 (WIN |LOSS) \d+\.\d\d profit -?\d\.\d{8}", printed[0])
    assert printed[-1] == "target reached"
    assert session.stop_reason is not None
    assert session.stop_reason.detail == "the script called stop()"
    context = StrategyContext(currency="DOGE", starting_balance=Decimal(100))
    logged = LuaStrategy(LuaParams(script=CORPUS / "ansi-print.lua"), context, files_dir=tmp_path)  # prints to the log
    with capture_logs() as logs:
        play(logged, bets=3)
    texts = [entry["text"] for entry in logs if entry["event"] == "script.print"]
    assert len(texts) == 3
    assert all("\x1b" not in text for text in texts)
    assert texts[0].startswith("#1 ")


def test_a_tip_guarded_by_an_off_setting_runs_and_reached_is_skipped(tmp_path: Path) -> None:
    source = (CORPUS / "tip-guarded.lua").read_text()
    session, settled = play(load(CORPUS / "tip-guarded.lua", files_dir=tmp_path), bets=300)
    assert len(settled) == 300
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS

    switched_on = write(tmp_path, source.replace("autotip   = false", "autotip   = true"), "tip-guarded.lua")
    line = next(number for number, text in enumerate(source.splitlines(), start=1) if "tip(tipto" in text)
    strategy = load(switched_on, files_dir=tmp_path)
    with capture_logs() as logs:
        session, settled = play(strategy, bets=300)
    assert len(settled) == 300  # reached, the tip is skipped and the script goes on
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    skipped = strategy.summary_notes()["script_skipped"]
    assert list(skipped) == ["tip"]
    assert skipped["tip"]["calls"] >= 1
    warnings = [entry["detail"] for entry in logs if entry["event"] == "script.skipped"]
    assert len(warnings) == skipped["tip"]["calls"]
    assert warnings[0].startswith(f"tip-guarded.lua:{line}: tip(")
