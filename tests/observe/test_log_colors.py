"""Colour in console log lines follows NO_COLOR (and `betbot --no-color`) and FORCE_COLOR."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import structlog

from betbot.config.settings import LogFormat
from betbot.observe.logs import configure_logging, get_logger


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def logged(stream: io.StringIO) -> str:
    configure_logging(LogFormat.CONSOLE, "info", stream=stream)
    try:
        get_logger().info("session.start", strategy="flat")
    finally:
        structlog.reset_defaults()
    return stream.getvalue()


def test_a_terminal_gets_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\x1b[" in logged(Terminal())


def test_no_color_means_none_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")  # NO_COLOR wins
    text = logged(Terminal())
    assert "session.start" in text
    assert "\x1b[" not in text


def test_force_color_colours_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in logged(io.StringIO())


def test_the_no_color_flag_reaches_the_log_lines() -> None:
    code = ("import os, sys; os.environ.pop('NO_COLOR', None); os.environ['FORCE_COLOR'] = '1'; "
            "from betbot.cli import main; main()")
    args = ["--max-bets", "3", "--no-journal", "--no-preview", "--log-format", "console", "--dashboard", "off"]
    plain = subprocess.run([sys.executable, "-c", code, "--no-color", "run", *args], capture_output=True, text=True,
                           timeout=120, check=False)
    coloured = subprocess.run([sys.executable, "-c", code, "run", *args], capture_output=True, text=True,
                              timeout=120, check=False)
    assert plain.returncode == coloured.returncode == 0, plain.stderr
    assert "session.end" in plain.stderr
    assert "\x1b[" not in plain.stderr
    assert "\x1b[" in coloured.stderr
