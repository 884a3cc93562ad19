"""What `betbot run` says before its first bet: bad limits are one line and exit 2 with nothing written,
JSON logs make every stderr line JSON, and -q/-v work after the command name too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_support import betbot


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return betbot(*args)


@pytest.mark.parametrize(("args", "says"), [
    (["--stop-loss", "10", "--balance", "5"],
     "betbot: error: invalid stop_loss (flag --stop-loss): 10.00000000 is more than the starting balance 5.00000000, "
     "so it could never stop the run; give at most the balance (or 100%)"),
    (["--max-bet", "0.001"],
     "betbot: error: the run would stop before its first bet (max_bet): --max-bet is below the strategy's first "
     "stake: raise --max-bet or lower the stake (-p base_bet=...) (nothing was bet or journaled)"),
    (["--max-bet", "0.001", "--no-preview"],
     "betbot: error: the run would stop before its first bet (max_bet): --max-bet is below the strategy's first "
     "stake: raise --max-bet or lower the stake (-p base_bet=...) (nothing was bet or journaled)"),
    (["--balance", "0.001"],
     "betbot: error: the run would stop before its first bet (insufficient_balance): the balance cannot cover "
     "the strategy's first stake: lower the stake (-p base_bet=...) or raise --balance (nothing was bet or "
     "journaled)"),
])
def test_limits_that_can_never_let_a_bet_or_a_stop_happen_are_bad_input(tmp_path: Path, args: list[str],
                                                                         says: str) -> None:
    journal = tmp_path / "j.sqlite3"
    result = run("run", "--max-bets", "10", "--journal", str(journal), *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == says
    assert result.stdout == ""
    assert not journal.exists()


def test_a_stop_loss_of_the_whole_balance_is_fine() -> None:
    result = run("run", "--max-bets", "5", "--stop-loss", "5", "--balance", "5", "--no-journal", "--no-preview")
    assert result.returncode == 0, result.stderr


def test_with_json_logs_every_stderr_line_is_json() -> None:
    result = run("run", "-s", "martingale", "--max-bets", "50", "--seed", "j", "--no-journal", "--log-format", "json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line)["event"] for line in result.stderr.splitlines()]  # raises on a plain line
    assert events[:3] == ["risk.preview", "session.announce", "session.start"]
    assert "session.end" in events


def test_quiet_works_after_the_command_name() -> None:
    loud = run("run", "--max-bets", "5", "--no-journal", "--no-preview", "--log-format", "json")
    quiet = run("run", "-q", "--max-bets", "5", "--no-journal", "--no-preview", "--log-format", "json")
    assert loud.returncode == quiet.returncode == 0, quiet.stderr
    assert "session.start" in loud.stderr
    assert quiet.stderr == ""  # warnings and errors only, and there are none


@pytest.mark.parametrize(("flags", "level"), [
    (["-v"], "debug"), (["-q"], "warning"), (["-qq"], "error"), (["-q", "-q"], "error"), (["-v", "-q"], "info"),
])
def test_verbosity_flags_after_the_command_set_the_log_level(flags: list[str], level: str) -> None:
    result = run("config", "show", *flags, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["log_level"] == {"value": level, "source": "flag"}


def test_the_commands_own_flags_count_on_top_of_betbots() -> None:
    result = run("-q", "config", "show", "-q", "--json")
    assert json.loads(result.stdout)["log_level"]["value"] == "error"


def test_resume_notes_are_json_lines_too(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    result = run("run", "--resume", "--journal", str(journal), "--max-bets", "5", "--no-preview", "--log-format",
                 "json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]  # raises on a plain line
    (note,) = [record for record in records if record["event"] == "session.resume_none"]
    assert note["message"] == f"no journal at {journal}: no interrupted session to resume; starting a new one"
