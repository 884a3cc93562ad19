"""Strategies in files: `--strategy FILE.py:Class` (good, and every bad case as one line, exit 2), the shipped
`strategies/` directory (`betbot strategies` lists it, its TOML presets run, the plug-in example runs and
resumes), and the wheel that carries it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.config.build import build_strategy, game_rules, strategy_context
from betbot.config.settings import load_settings
from betbot.core.models import BetRequest
from betbot.core.strategy import Strategy
from betbot.journal import Journal
from betbot.strategies.registry import StrategyFileError, load_strategy
from betbot.strategies.shipped import find_shipped, shipped_dir, shipped_files, summary_of
from tests.cli_support import ENV as CLEAN_ENV
from tests.strategies.test_strategies import FakeView, amounts, play, step

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ROOT / "strategies"
PLUGIN = STRATEGIES / "example_plugin.py"
ENV = CLEAN_ENV | {"COLUMNS": "200"}
PRESETS = sorted(STRATEGIES.glob("*.toml"))


def betbot(*args: str, cwd: Path = ROOT, bytecode: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"} if bytecode else ENV
    return subprocess.run([sys.executable, "-m", "betbot", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120, check=False)


# --- FILE.py:ClassName --------------------------------------------------------------------------------------


def test_the_plugin_example_loads_and_plays() -> None:
    cls = load_strategy(f"{PLUGIN}:StreakStrike")
    assert cls.name == "streak-strike"
    strategy = cls.from_options({"base_bet": "1", "streak": 2, "strike": "5", "target_profit": "100"},
                                strategy_context(load_settings({}), Decimal(100), game_rules(load_settings({}))))
    assert play(strategy, "LLLW LW") == amounts("1 1 5 5 1 1")
    assert isinstance(strategy.next_bet(FakeView()), BetRequest)


def test_the_plugin_example_runs_from_the_command_line(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    result = betbot("run", "--strategy", "strategies/example_plugin.py:StreakStrike", "-p", "streak=3",
                    "--max-bets", "300", "--seed", "plugin", "--journal", str(tmp_path / "j.sqlite3"),
                    "--dashboard", "off", "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(summary.read_text())
    assert data["strategy"] == "streak-strike"
    assert data["bets"] > 0
    # The journal names the file by its absolute path, so the session can be resumed from anywhere.
    with Journal.open(tmp_path / "j.sqlite3", durable=False, readonly=True) as journal:
        [session] = journal.sessions()
    assert session.strategy == f"{PLUGIN}:StreakStrike"
    assert load_strategy(session.strategy).name == "streak-strike"  # what --resume loads, from any directory


BAD_FILES = {
    "syntax.py": ("def broken(:\n    pass\n", "line 1: syntax error"),
    "raises.py": ("import math\n\nx = 1\nraise RuntimeError('no luck today')\n", "line 4: RuntimeError: no luck today"),
    "imports.py": ("import betbot\nimport no_such_module_for_betbot\n", "line 2: ModuleNotFoundError"),
    "notstrategy.py": ("class Fancy:\n    pass\n", "is not a betbot Strategy subclass"),
    "abstract.py": ("from betbot.core.strategy import Strategy\n\nclass Fancy(Strategy):\n    name = 'x'\n",
                    "does not implement next_bet"),
}


@pytest.mark.parametrize("filename", sorted(BAD_FILES))
def test_a_bad_file_is_one_line_exit_2(tmp_path: Path, filename: str) -> None:
    source, expected = BAD_FILES[filename]
    (tmp_path / filename).write_text(source)
    result = betbot("run", "--strategy", f"{filename}:Fancy", "--max-bets", "1", "--no-journal", cwd=tmp_path,
                    bytecode=True)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert filename in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]  # nothing written, not even __pycache__


@pytest.mark.parametrize(("spec", "expected"), [
    ("missing.py:Anything", "strategy file missing.py does not exist"),
    ("strategies/example_plugin.py:NoSuchClass", "has no class NoSuchClass; it defines StreakStrike"),
    ("strategies/example_plugin.py", "name the class too, as path/to/file.py:ClassName"),
    ("strategies/example_plugin.py:StreakStrikeParams", "is not a betbot Strategy subclass"),
])
def test_a_bad_spec_is_one_line_exit_2(spec: str, expected: str) -> None:
    result = betbot("run", "--strategy", spec, "--max-bets", "1", "--no-journal")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_a_bad_parameter_of_a_file_strategy_names_it() -> None:
    result = betbot("run", "--strategy", "strategies/example_plugin.py:StreakStrike", "-p", "streak=0",
                    "--max-bets", "1", "--no-journal")
    assert result.returncode == 2
    assert "streak" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_file_errors_are_strategy_not_found() -> None:
    with pytest.raises(StrategyFileError, match="does not exist"):
        load_strategy("nowhere/at/all.py:X")


# --- The shipped directory ---------------------------------------------------------------------------------


def test_the_clone_directory_is_found_and_summarised() -> None:
    assert shipped_dir() in (STRATEGIES, ROOT / "betbot" / "_strategies")
    files = {shipped.path.name: shipped for shipped in shipped_files(STRATEGIES)}
    assert "example_plugin.py" in files
    assert len(PRESETS) >= 4
    for preset in PRESETS:
        assert files[preset.name].summary, preset
        assert files[preset.name].command.startswith("betbot run --config ")
    assert files["example_plugin.py"].command.endswith("example_plugin.py:StreakStrike")
    assert summary_of(PLUGIN).startswith("Python plug-in example")
    assert find_shipped("hunter-1pct") == shipped_dir() / "hunter-1pct.toml"  # type: ignore[operator]
    assert find_shipped("../pyproject.toml") is None


def test_betbot_strategies_lists_the_builtins_and_the_files() -> None:
    result = betbot("strategies")
    assert result.returncode == 0, result.stderr
    for name in ("martingale", "advanced", "preset-list", "hunter", "kelly", "percent-of-balance"):
        assert name in result.stdout
    for path in [*PRESETS, PLUGIN, *STRATEGIES.glob("*.lua")]:
        assert path.name in result.stdout, path.name
    assert summary_of(PRESETS[0])[:30] in result.stdout.replace("\n", " ")


def test_betbot_strategies_path() -> None:
    result = betbot("strategies", "path", "hunter-1pct.toml")
    assert result.returncode == 0
    assert Path(result.stdout.strip()).is_file()
    missing = betbot("strategies", "path", "nope.toml")
    assert missing.returncode == 2
    assert "hunter-1pct.toml" in missing.stderr


@pytest.mark.parametrize("preset", PRESETS, ids=[p.name for p in PRESETS])
def test_every_toml_preset_is_a_valid_settings_file(preset: Path) -> None:
    settings = load_settings({}, preset)
    strategy = build_strategy(settings, strategy_context(settings, Decimal(100), game_rules(settings)))
    assert isinstance(strategy.next_bet(FakeView()), BetRequest)


def test_a_toml_preset_runs(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    result = betbot("run", "--config", "strategies/advanced-martingale-zigzag.toml", "--max-bets", "200",
                    "--seed", "preset", "--no-journal", "--dashboard", "off", "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(summary.read_text())
    assert data["strategy"] == "advanced"
    assert 0 < data["bets"] <= 200


@pytest.mark.slow
def test_the_wheel_carries_the_strategy_files(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in [*PRESETS, PLUGIN]:
        assert f"betbot/_strategies/{path.name}" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, timeout=600)
    code = "from betbot.strategies.shipped import shipped_dir; print(shipped_dir())"
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                           env={**ENV, "PYTHONPATH": str(target)}).stdout.strip()
    assert where == str(target / "betbot" / "_strategies")


def test_the_worked_example_of_the_base_class_runs(tmp_path: Path) -> None:
    doc = inspect.cleandoc(Strategy.__doc__ or "")
    example = doc.split("::\n", 1)[1].split("\n\n`strategies/example_plugin.py`", 1)[0]
    header = ("from pydantic import Field\nfrom betbot.core.models import Settled\n"
              "from betbot.core.strategy import Decision, DiceParams, SessionView, StopStrategy, Strategy, "
              "StrategyContext, StrategyParams\n\n")
    (tmp_path / "mine.py").write_text(header + textwrap.dedent(example))
    cls = load_strategy(f"{tmp_path / 'mine.py'}:TwoLosses")
    strategy = cls.from_options({"base_bet": "1", "wins_to_stop": 2}, strategy_context(
        load_settings({}), Decimal(100), game_rules(load_settings({}))))
    view = FakeView()
    assert play(strategy, "LLL", view=view) == amounts("1 1 2")
    assert play(strategy, "W", view=view) == amounts("2")
    assert step(strategy, view, True)[1] is not None  # the second win stops


def test_every_shipped_summary_is_a_whole_sentence() -> None:
    """`betbot strategies` never cuts a summary mid-sentence, even when its comment wraps over lines."""
    for shipped in shipped_files():
        assert shipped.summary.endswith((".", "...")), (shipped.path.name, shipped.summary)
    ansi = next(s for s in shipped_files() if s.path.name == "ansi-print.lua")
    assert ansi.summary == "Coloured output with ANSI escape codes, as many public scripts print it."


def test_a_summary_joins_a_wrapped_comment_and_stops_before_the_example(tmp_path: Path) -> None:
    script = tmp_path / "wrapped.lua"
    script.write_text("-- A long first sentence that the author\n-- wrapped over two lines. And a second one.\n"
                      "--   betbot run --script wrapped.lua\nnextbet = 1\n")
    assert summary_of(script) == "A long first sentence that the author wrapped over two lines."
    preset = tmp_path / "p.toml"
    preset.write_text("# One line only, no full stop\n\nstrategy = 'flat'\n")
    assert summary_of(preset) == "One line only, no full stop"
