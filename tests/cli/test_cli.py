"""The CLI end to end, in subprocesses: a whole simulated run, SIGTERM drains, bad input is one line."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.observe.summary import SUMMARY_KEYS
from tests.cli_support import BETBOT, ENV, betbot


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return betbot(*args, env=env, timeout=timeout)


def test_simulated_run_to_completion(tmp_path: Path) -> None:
    summary_path = tmp_path / "out" / "summary.json"
    result = run("run", "--strategy", "martingale", "--parallel", "--max-concurrent", "5", "--max-bets", "300",
                 "--seed", "cli-test", "--sim-latency", "1ms", "--sim-jitter", "1ms",
                 "--summary-json", str(summary_path), "--log-format", "json")
    assert result.returncode == 0, result.stderr
    assert "betbot session summary" in result.stdout
    assert "max_bets: placed 300 of 300 bets" in result.stdout
    summary = json.loads(summary_path.read_text())
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["bets"] == 300
    assert summary["stop_kind"] == "max_bets"
    assert summary["concurrency"] == 1  # a martingale must see each result first
    assert summary["wins"] + summary["losses"] == 300
    # The revealed server seed is the one whose hash was shown at the start.
    assert hashlib.sha256(summary["server_seed"].encode()).hexdigest() == summary["server_seed_hash"]
    assert summary["server_seed_hash"] in result.stderr
    # Every line on stderr is JSON when stderr is not a terminal (the risk preview and the start-up notes too).
    events = [json.loads(line)["event"] for line in result.stderr.splitlines()]
    assert events[:3] == ["risk.preview", "session.announce", "session.start"]
    assert "session.end" in events


def test_same_seed_replays_exactly(tmp_path: Path) -> None:
    summaries = []
    for n in ("1", "8"):
        path = tmp_path / f"s{n}.json"
        result = run("run", "--strategy", "flat", "--max-concurrent", n, "--max-bets", "200", "--seed", "replay",
                     "--sim-latency", "1ms", "--sim-jitter", "2ms", "--summary-json", str(path))
        assert result.returncode == 0, result.stderr
        summaries.append(json.loads(path.read_text()))
    keep = ("bets", "wins", "profit", "balance", "server_seed", "longest_loss_streak")
    first, second = ({k: s[k] for k in keep} for s in summaries)
    assert first == second
    assert summaries[1]["concurrency"] == 8


def _wait_for_event(proc: subprocess.Popen[str], event: str) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:  # no sleeps, no races: the process says when it got there
        if line.startswith("{") and json.loads(line)["event"] == event:
            return
    proc.kill()
    pytest.fail(f"never saw {event}: {proc.communicate()}")


def _start_long_run(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*BETBOT, "run", "--strategy", "flat", "--parallel", "--max-concurrent", "5", "--log-format", "json",
         "--summary-json", str(tmp_path / "summary.json"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )
    _wait_for_event(proc, "session.running")  # the engine handles signals from here on
    return proc


def test_sigterm_drains_prints_summary_and_exits_0(tmp_path: Path) -> None:
    proc = _start_long_run(tmp_path, "--sim-latency", "200ms", "--sim-jitter", "50ms")
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "betbot session summary" in stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_kind"] == "signal"
    assert summary["unresolved_bets"] == 0
    assert summary["bets"] >= 1  # the bets in flight at the signal were drained and counted


def test_second_sigterm_cancels_the_drain(tmp_path: Path) -> None:
    # Replies take a minute: only a second signal can end this run quickly.
    proc = _start_long_run(tmp_path, "--sim-latency", "60s", "--drain-timeout", "120s")
    proc.send_signal(signal.SIGTERM)
    # Two signals sent back to back may merge into one: send the second once the first is handled.
    _wait_for_event(proc, "engine.draining")
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 3  # bets of unknown outcome remain
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stop_kind"] == "signal"
    assert summary["unresolved_bets"] == 5
    assert summary["bets"] == 0
    assert "UNRESOLVED" in stdout


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--max-bets", "0"], "max_bets"),
        (["--max-bets", "ten"], "max_bets"),
        (["--stop-loss", "-5"], "stop_loss"),
        (["--stop-loss", "abc%"], "stop_loss"),
        (["--balance", "1.123456789"], "balance"),
        (["--max-concurrent", "0"], "max_concurrent"),
        (["--max-duration", "soon"], "max_duration"),
        (["--chance", "120", "--strategy", "martingale"], "chance"),
        (["--strategy", "martingel"], "martingale"),
        (["--param", "multiplier=1", "--strategy", "martingale"], "multiplier"),
        (["--param", "nonsense"], "--param"),
        (["--param", "bogus=1"], "bogus"),
        (["--no-such-flag"], "--no-such-flag"),
        (["--config", "/nonexistent/betbot.toml"], "/nonexistent/betbot.toml"),
    ],
)
def test_bad_flags_are_one_line_exit_2(args: list[str], names: str) -> None:
    result = run("run", "--max-bets", "1", *args) if "--max-bets" not in args else run("run", *args)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("betbot: error: ")
    assert names in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("max_bets = 0\n", "max_bets"),
        ("stop_loss = \"lots\"\n", "stop_loss"),
        ("unknown_option = 1\n", "unknown_option"),
        ("max_bets = [\n", "not valid TOML"),
        ("strategy = 1\n", "strategy"),
        ("[params]\nbase_bet = \"-1\"\n", "base_bet"),
    ],
)
def test_bad_config_values_are_one_line_exit_2(tmp_path: Path, content: str, names: str) -> None:
    config = tmp_path / "betbot.toml"
    config.write_text(content)
    result = run("run", "--config", str(config))
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert names in lines[0]
    assert str(config) in lines[0] or "parameter" in lines[0]


def test_bad_environment_value_names_the_variable() -> None:
    result = run("run", env={**ENV, "BETBOT_MAX_BETS": "many"})
    assert result.returncode == 2
    assert "BETBOT_MAX_BETS" in result.stderr


def test_config_file_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "betbot.toml"
    config.write_text('strategy = "dalembert"\nmax_bets = 7\nbalance = "50"\n[params]\nbase_bet = "0.02"\n')
    summary = tmp_path / "s.json"
    env = {**ENV, "BETBOT_MAX_BETS": "9"}
    result = run("run", "--config", str(config), "--balance", "60", "--summary-json", str(summary), env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(summary.read_text())
    assert data["strategy"] == "dalembert"  # from the file
    assert data["bets"] == 9  # the environment beats the file
    assert data["starting_balance"] == "60.00000000"  # a flag beats both
    assert Decimal(data["largest_bet"]) >= Decimal("0.02")  # the file's parameter reached the strategy


def test_strategies_list_and_show() -> None:
    listed = run("strategies")
    assert listed.returncode == 0
    for name in ("flat", "martingale", "labouchere", "oscars-grind", "one-three-two-six"):
        assert name in listed.stdout
    shown = run("strategies", "show", "martingale")
    assert shown.returncode == 0
    assert "multiplier" in shown.stdout
    assert "max_multiplies" in shown.stdout
    missing = run("strategies", "show", "nope")
    assert missing.returncode == 2
    assert missing.stderr.startswith("betbot: error: unknown strategy 'nope'")


def test_help_explains_run() -> None:
    result = run("run", "--help")
    assert result.returncode == 0
    for flag in ("--max-concurrent", "--stop-loss", "--sim-latency", "--summary-json", "Exit codes"):
        assert flag in result.stdout


def test_the_example_config_runs_and_names_every_setting(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "config" / "betbot.example.toml"
    text = example.read_text()
    from betbot.config.settings import Settings  # noqa: PLC0415 - only this test needs the model

    missing = [name for name in Settings.model_fields
               if f"\n{name} =" not in text and f"\n# {name} =" not in text and f"\n[{name}]" not in text]
    assert missing == []
    result = run("run", "--config", str(example), "--max-bets", "3", "--journal", str(tmp_path / "j.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert "max_bets: placed 3 of 3 bets" in result.stdout
