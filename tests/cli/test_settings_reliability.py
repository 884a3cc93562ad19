"""Issue 19, settings and outputs found by an outside reliability pass: each is bad input, refused before the
first bet in one line with exit 2, and leaves nothing behind (no journal, so no unfinished session to resume)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from betbot.atomicfile import unwritable
from betbot.config.settings import SettingsError, load_settings
from betbot.config.units import parse_duration
from tests.cli_support import betbot as run_betbot


def betbot(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_betbot(*args, env={"XDG_DATA_HOME": str(tmp_path / "data"), **(env or {})}, timeout=60, cwd=tmp_path)


CASES = [
    pytest.param(["run", "--max-bets", "5"], {"BETBOT_PARAMS": "{bad"},
                 ("invalid params (environment BETBOT_PARAMS): not valid JSON", "BETBOT_PARAMS='{"), id="params-env"),
    pytest.param(["run", "--max-bets", "5"], {"BETBOT_JOURNAL": ""},
                 ("invalid journal (environment BETBOT_JOURNAL): is empty",), id="journal-env-empty"),
    pytest.param(["run", "--config", "latency.toml"], {},
                 ("invalid sim_latency (config latency.toml)", "longer than 366 days"), id="toml-latency-1e308"),
    pytest.param(["run", "--max-bets", "5", "--summary-json", "a-file/summary.json"], {},
                 ("--summary-json a-file/summary.json: a-file is not a directory",), id="summary-json"),
    pytest.param(["run", "--max-bets", "5", "--heartbeat-file", "a-file/beat.json"], {},
                 ("--heartbeat-file a-file/beat.json: a-file is not a directory",), id="heartbeat-file"),
    pytest.param(["simulate", "--sessions", "5", "--max-bets", "5", "--json", "a-file/out.json"], {},
                 ("--json a-file/out.json: a-file is not a directory",), id="simulate-json"),
    pytest.param(["simulate", "--sessions", "5", "--max-bets", "5", "--plot", "a-file/out.png"], {},
                 ("--plot a-file/out.png", "not a directory"), id="simulate-plot"),
]


@pytest.mark.parametrize(("args", "env", "needles"), CASES)
def test_refused_before_the_first_bet_in_one_line(tmp_path: Path, args: list[str], env: dict[str, str],
                                                  needles: tuple[str, ...]) -> None:
    (tmp_path / "latency.toml").write_text("sim_latency = 1e308\nmax_bets = 2\n")
    (tmp_path / "a-file").write_text("a file, where a directory was meant")
    before = sorted(path.name for path in tmp_path.iterdir())
    result = betbot(tmp_path, *args, env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("betbot: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    # No journal (so no unfinished session row a later --resume would find), no output file, nothing.
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_a_duration_has_one_rule_whatever_its_source(tmp_path: Path) -> None:
    for text in ("1e308", 1e308, "367d", 367 * 86400.0):
        with pytest.raises(ValueError, match="longer than 366 days"):
            parse_duration(text)
    assert parse_duration("366d") == 366 * 86400
    config = tmp_path / "c.toml"
    config.write_text("sim_latency = 61\n")
    with pytest.raises(SettingsError, match=r"invalid sim_latency \(config .*\): 61 s is more than"):
        load_settings({}, config)
    with pytest.raises(SettingsError, match=r"invalid sim_latency \(flag --sim-latency\): 61 s is more than"):
        load_settings({"sim_latency": "61s"})
    assert load_settings({"sim_latency": "60s"}).sim_latency == 60


def test_unwritable_names_what_is_wrong_and_creates_nothing(tmp_path: Path) -> None:
    assert unwritable(tmp_path / "new" / "deeper" / "out.json") is None
    assert unwritable(tmp_path / "out.json") is None
    assert unwritable(tmp_path) == f"{tmp_path} is a directory; name a file"
    (tmp_path / "f").write_text("")
    assert unwritable(tmp_path / "f" / "x" / "out.json") == f"{tmp_path / 'f'} is not a directory"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["f"]  # the probes left nothing
