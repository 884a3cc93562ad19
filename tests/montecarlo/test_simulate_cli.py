"""`betbot simulate` and the risk preview of `betbot run`, end to end in subprocesses."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from betbot.core.rolls import session_key
from betbot.montecarlo.results import REPORT_KEYS
from tests import montecarlo_plugin
from tests.cli_support import BETBOT, ENV, betbot

MARTINGALE = ["-s", "martingale", "--balance", "1", "--max-bets", "200", "--seed", "cli"]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return betbot(*args, env=env, timeout=timeout)


def marked_env(extra_path: Path | None = None) -> tuple[dict[str, str], str]:
    """An environment with a unique marker, inherited by every process the command starts."""
    mark = uuid.uuid4().hex
    env = {**ENV, "BETBOT_TEST_MARK": mark}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), *(p for p in sys.path if p)])
    return env, mark


def processes_marked(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"BETBOT_TEST_MARK={mark}".encode() in environ:
            found.append(int(entry.name))
    return found


def test_simulate_writes_exactly_the_json_keys_a_csv_row_per_session_and_a_table(tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    result = run("simulate", *MARTINGALE, "--sessions", "300", "--workers", "1", "--json", str(out_json),
                 "--csv", str(out_csv))
    assert result.returncode == 0, result.stderr
    report = json.loads(out_json.read_text())
    assert tuple(report) == REPORT_KEYS
    assert report["sessions"] == 300
    assert report["rolls"] == "fast"
    assert report["seed"] == "cli"
    assert isinstance(report["p_ruin"], float)
    assert report["profit_quantiles"]["50%"].count(".") == 1
    assert len(report["profit_quantiles"]["50%"].split(".")[1]) == 8
    rows = list(csv.reader(out_csv.read_text().splitlines()))
    assert rows[0][:4] == ["session", "bets", "wagered", "profit"]
    assert [int(row[0]) for row in rows[1:]] == list(range(300))
    assert "P(ruin" in result.stdout
    assert "fast rolls" in result.stderr
    assert "seed 'cli'" in result.stderr


def test_one_and_two_workers_write_the_same_results(tmp_path: Path) -> None:
    for workers in ("1", "2"):
        result = run("simulate", *MARTINGALE, "--sessions", "200", "--workers", workers,
                     "--rolls", "provably-fair", "--json", str(tmp_path / f"{workers}.json"),
                     "--csv", str(tmp_path / f"{workers}.csv"))
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "1.json").read_text() == (tmp_path / "2.json").read_text()
    assert (tmp_path / "1.csv").read_text() == (tmp_path / "2.csv").read_text()
    assert json.loads((tmp_path / "1.json").read_text())["rolls"] == "provably-fair"


@pytest.mark.parametrize(("args", "message"), [
    (["--sessions", "0"], "--sessions takes a whole number of 1 or more"),
    (["--workers", "many"], "--workers takes auto or a whole number"),
    (["--plot", "out.txt"], "must end in .png or .html"),
    (["-p", "multiplier=0.5"], "invalid parameter multiplier for strategy martingale"),
    (["--stop-loss", "lots"], "stop_loss"),
    (["--scheduler", "10.0.0.1:8786"], "--scheduler takes a Dask address"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out_json = tmp_path / "r.json"
    result = run("simulate", *MARTINGALE, "--json", str(out_json), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failing_session_is_named_exit_1_and_no_worker_outlives_the_run(tmp_path: Path) -> None:
    (tmp_path / "plugin").mkdir()
    env, mark = marked_env(montecarlo_plugin.install(tmp_path / "plugin"))
    explode_at = session_key("cli", 137)
    result = run("simulate", "-s", "explode", "-p", f"explode_at={explode_at}", "--max-bets", "50",
                 "--seed", "cli", "--sessions", "1000", "--workers", "2", "--json", str(tmp_path / "r.json"),
                 env=env)
    assert result.returncode == 1, result.stderr
    assert "session 137 failed: ValueError: boom in the chosen session" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r.json").exists()
    assert processes_marked(mark) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_the_workers_and_prints_what_was_done(tmp_path: Path, signum: int) -> None:
    env, mark = marked_env()
    process = subprocess.Popen([*BETBOT, "simulate", "-s", "fibonacci", "--max-bets", "200", "--seed", "cli",
                                "--sessions", "20000", "--workers", "2", "--csv", str(tmp_path / "r.csv")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    lines = []
    while True:  # the first progress line: the workers are running and results are coming back
        line = process.stderr.readline()
        assert line, "the simulation ended before it reported progress"
        lines.append(line)
        if line.startswith("betbot: simulated "):
            break
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(lines) + stderr
    # What was done: the sessions 0..k whose results are all in (results arrive in any order; a signal that
    # lands before session 0's chunk is back has nothing in order to show, and says so).
    said = " ".join(stdout.split())  # the table may fold the sentence at any width
    assert "interrupted: sessions 0.." in said or "interrupted before the first sessions were in" in said
    assert "the workers were stopped" in stderr
    assert processes_marked(mark) == []
    rows = list(csv.reader((tmp_path / "r.csv").read_text().splitlines()))
    assert [int(row[0]) for row in rows[1:]] == list(range(len(rows) - 1))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_mid_run_stops_between_sessions_with_consistent_results(tmp_path: Path, workers: str) -> None:
    # One worker runs the sessions in this very process, where a signal used to raise half-way through adding
    # a session's figures: "unreachable: the counts add up to count", exit 1. Now it waits for the chunk.
    env, mark = marked_env()
    report_path, rows_path = tmp_path / "r.json", tmp_path / "r.csv"
    process = subprocess.Popen([*BETBOT, "simulate", "-s", "fibonacci", "--max-bets", "200", "--seed", "term",
                                "--sessions", "200000", "--workers", workers, "--json", str(report_path),
                                "--csv", str(rows_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    lines = []
    while True:  # the first progress line: sessions are being played and absorbed
        line = process.stderr.readline()
        assert line, "the simulation ended before it reported progress"
        lines.append(line)
        if line.startswith("betbot: simulated "):
            break
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, "".join(lines) + stderr
    assert "unreachable" not in stderr
    assert "Traceback" not in stderr
    report = json.loads(report_path.read_text())
    rows = list(csv.reader(rows_path.read_text().splitlines()))[1:]
    sessions = report["sessions"]
    assert 0 < sessions < 200000  # stopped early, after what came back in order
    assert [int(row[0]) for row in rows] == list(range(sessions))  # every session in the report, in the rows
    assert sum(int(row[1]) for row in rows) == report["bets"]
    assert sum(report["stop_reasons"].values()) == sessions
    said = " ".join(stdout.split())
    assert f"interrupted: sessions 0..{sessions - 1} done" in said
    assert processes_marked(mark) == []


@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_plots_are_drawn(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"plot{suffix}"
    result = run("simulate", *MARTINGALE, "--sessions", "200", "--workers", "1", "--plot", str(target))
    assert result.returncode == 0, result.stderr
    data = target.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        text = data.decode()
        assert "<svg" in text
        assert "Balance paths" in text
        assert "p_ruin" in text


# -- the risk preview in `betbot run` ------------------------------------------------------------------
def test_run_previews_the_risk_and_records_it_in_the_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    result = run("run", "-s", "martingale", "--max-bets", "50", "--stop-loss", "10%", "--seed", "p",
                 "--journal", str(tmp_path / "j.sqlite3"), "--summary-json", str(summary), "--log-format", "json")
    assert result.returncode == 0, result.stderr
    # With JSON logs every line on stderr is JSON, the preview one of them.
    records = [json.loads(line) for line in result.stderr.splitlines()]
    (logged,) = [record for record in records if record["event"] == "risk.preview"]
    preview = json.loads(summary.read_text())["risk_preview"]
    assert {k: v for k, v in logged.items() if k in preview} == preview
    assert preview["sessions"] == 2000
    assert preview["max_bets"] == preview["horizon"] == 50
    assert preview["covers_horizon"]
    assert 0 <= preview["p_ruin"] <= 1
    assert preview["median_profit"].count(".") == 1
    with closing(sqlite3.connect(tmp_path / "j.sqlite3")) as journal:
        (journaled,) = journal.execute("SELECT summary FROM sessions").fetchone()
    assert json.loads(journaled)["risk_preview"] == preview


def test_no_preview_skips_it(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    result = run("run", "--max-bets", "5", "--no-preview", "--no-journal", "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr
    assert "risk preview" not in result.stderr
    assert "risk_preview" not in json.loads(summary.read_text())


def test_max_ruin_refuses_a_risky_run_before_anything_is_journaled(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    result = run("run", "-s", "martingale", "--balance", "0.5", "--max-bets", "100", "--max-ruin", "0.01",
                 "--journal", str(journal))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("betbot: error")]
    assert len(errors) == 1
    assert "above --max-ruin 1.0 %" in errors[0]
    assert not journal.exists()


def test_max_ruin_lets_a_safe_run_start(tmp_path: Path) -> None:
    result = run("run", "-s", "flat", "--max-bets", "20", "--max-ruin", "0.01", "--no-journal", "--log-format",
                 "console")
    assert result.returncode == 0, result.stderr
    assert "bust: none of 2,000" in result.stderr


def test_a_strategy_that_fails_in_the_preview_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    (tmp_path / "plugin").mkdir()
    env, _ = marked_env(montecarlo_plugin.install(tmp_path / "plugin"))
    journal = tmp_path / "j.sqlite3"
    result = run("run", "-s", "explode", "-p", f"explode_at={session_key('p', 5)}", "--seed", "p",
                 "--max-bets", "50", "--journal", str(journal), env=env)
    assert result.returncode == 2, result.stderr
    assert "the risk preview failed: session 5 failed: ValueError: boom in the chosen session" in result.stderr
    assert not journal.exists()


def test_the_kernel_and_the_generic_path_write_the_same_results(tmp_path: Path) -> None:
    outputs = []
    for choice in ("--kernel", "--no-kernel"):
        target = tmp_path / f"{choice}.json"
        result = run("simulate", *MARTINGALE, "--sessions", "300", "--workers", "1", "--stop-loss", "0.5",
                     choice, "--json", str(target))
        assert result.returncode == 0, result.stderr
        path = "the vectorised kernel" if choice == "--kernel" else "the generic path"
        assert f"on {path}" in result.stderr
        outputs.append(target.read_text())
    assert outputs[0] == outputs[1]
