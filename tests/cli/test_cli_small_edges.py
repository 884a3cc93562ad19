"""Small rough edges of the command line: completion of strategy names, range errors that name the range,
`config show` agreeing with --help, a script's simulate title, thousands separators."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from betbot.config.paths import data_dir
from betbot.config.settings import SettingsError, load_settings
from tests.cli_support import BETBOT, ENV

ROOT = Path(__file__).resolve().parents[2]


def test_shell_completion_offers_strategy_names_after_s() -> None:
    env = {**ENV, "COMP_WORDS": "betbot run -s mar", "COMP_CWORD": "3", "_BETBOT_COMPLETE": "bash_complete"}
    result = subprocess.run(BETBOT, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.stdout.split() == ["plain,martingale"]


@pytest.mark.parametrize(("flags", "says"), [
    ({"max_concurrent": "0"}, "invalid max_concurrent (flag --max-concurrent): 0 is out of range; give a value from "
                              "1 to 256"),
    ({"max_bets": "0"}, "invalid max_bets (flag --max-bets): 0 is out of range; give a value 1 or more"),
    ({"max_rate": "0"}, "invalid max_rate (flag --max-rate): 0 is out of range; give a value above 0"),
])
def test_a_value_out_of_range_names_the_range(flags: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(flags)
    assert str(caught.value) == says


def test_config_show_and_help_agree_on_the_min_bet_cache() -> None:
    shown = subprocess.run([*BETBOT, "config", "show", "--json"], capture_output=True, text=True, env=ENV,
                           timeout=60, check=False)
    value = json.loads(shown.stdout)["min_bet_cache"]["value"]
    assert value == str(data_dir() / "min_bets.json")
    helped = subprocess.run([*BETBOT, "run", "--help"], capture_output=True, text=True, env=ENV, timeout=60,
                            check=False)
    assert "$XDG_DATA_HOME/betbot/min_bets.json" in " ".join(helped.stdout.split())


def test_simulate_titles_a_script_run_by_its_file() -> None:
    result = subprocess.run([*BETBOT, "simulate", "--script", str(ROOT / "strategies" / "martingale.lua"),
                             "--sessions", "5", "--max-bets", "20", "--seed", "t"],
                            capture_output=True, text=True, env=ENV, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith("martingale.lua: 5 sessions")
    assert "sessions of martingale.lua from" in result.stderr
