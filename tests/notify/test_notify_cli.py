"""Notifications end to end, in subprocesses: a run tells a local target it stopped, an error exit is sent,
`betbot notify test`, and Apprise is never loaded without a URL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import ENV, run
from tests.cli.test_startup import loaded_after
from tests.notify_target import HungTarget, Target

SIM = ("--strategy", "flat", "--max-bets", "30", "--seed", "notify", "--no-preview", "--dashboard", "off")


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


def test_a_run_tells_the_target_it_stopped_with_its_figures(target: Target, tmp_path: Path) -> None:
    url = target.url("hook-secret-path-123")
    result = run("run", *SIM, "--journal", str(tmp_path / "j.db"), "--notify", url, "--notify-on", "stopped,error",
                 "--summary-json", str(tmp_path / "s.json"))
    assert result.returncode == 0, result.stderr
    [body] = target.wait_for(1)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert body["title"].startswith("betbot: session 1 stopped")
    assert "stopped: max_bets" in body["message"]
    assert f"30 bets ({summary['wins']} won" in body["message"]
    assert "hook-secret-path-123" not in result.stderr + result.stdout


def test_an_error_exit_is_sent(target: Target, tmp_path: Path) -> None:
    journal = tmp_path / "not-a-journal.db"
    journal.write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)  # a broken database
    result = run("run", *SIM, "--journal", str(journal), "--notify", target.url())
    assert result.returncode == 1, result.stderr
    [body] = target.wait_for(1)
    assert body["title"] == "betbot exited on an error"
    assert "JournalError" in body["message"]


def test_bad_input_is_not_sent_it_is_said_on_the_terminal(target: Target) -> None:
    result = run("run", *SIM, "--no-journal", "--notify", target.url(), "--max-bets", "0")
    assert result.returncode == 2
    assert target.bodies == []


def test_notify_test_sends_and_says_so_by_label(target: Target) -> None:
    result = run("notify", "test", target.url("token-abcdef"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"#1 json://127.0.0.1:{target.port}/***: sent"
    [body] = target.wait_for(1)
    assert body["title"] == "betbot: test notification"


def test_notify_test_of_a_target_that_never_answers_fails_in_its_timeout() -> None:
    hung = HungTarget()
    try:
        result = run("notify", "test", hung.url(), "--timeout", "300ms")
    finally:
        hung.close()
    assert result.returncode == 1
    assert "FAILED" in result.stdout


def test_notify_test_without_a_url_says_where_to_put_one() -> None:
    result = run("notify", "test")
    assert result.returncode == 2
    assert "no notification URL" in result.stderr


def test_config_show_names_a_url_without_its_token() -> None:
    result = run("config", "show", "--json", "--notify", "tgram://123456:SECRETtoken/42")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["notify"]["value"] == ["tgram://***"]
    assert "SECRETtoken" not in result.stdout


@pytest.mark.parametrize("args", [["notify", "--help"], ["notify", "test", "--help"]])
def test_notify_help_imports_nothing_heavy(args: list[str]) -> None:
    assert loaded_after(*args) == []


_PROBE = """
import sys
from betbot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("\\nAPPRISE " + str("apprise" in sys.modules) + "\\n")
"""


def test_a_run_without_a_url_never_loads_apprise() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE, "run", *SIM, "--no-journal"], capture_output=True,
                            text=True, env=ENV, timeout=60, check=False)
    assert result.stderr.rpartition("APPRISE ")[2].strip() == "False", result.stderr
