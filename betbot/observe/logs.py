"""Logging: structlog, configured once. One processor chain; only the renderer differs
(console on a terminal, JSON lines otherwise). Logs go to stderr; stdout is for results.

The last processor before rendering redacts secrets (`betbot.redact`): a line of defence for the API
key behind the rule that it is never put into an event in the first place.

Log lines to stderr are written to whatever `sys.stderr` is at the moment of writing, not to the one there
was at configuration: while the dashboard is on screen, rich's `Live` puts a proxy there that prints each
line above the dashboard, instead of across it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO

import structlog

from betbot.config.settings import LogFormat
from betbot.redact import install_logging_filters, redact_processor

__all__ = ["colors_wanted", "configure_logging", "console_rendering", "get_logger"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _CurrentStderr:
    """Writes to `sys.stderr` as it is at each write (see the module's docstring)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_console_rendering = False


def console_rendering() -> bool:
    """Whether log lines are rendered for a person (console) rather than for a machine (JSON)."""
    return _console_rendering


def colors_wanted(out: Any) -> bool:
    """Colour codes in console lines: never with NO_COLOR (no-color.org; `betbot --no-color` sets it), always
    with FORCE_COLOR, else on a terminal. rich's consoles follow the same two variables by themselves."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(out.isatty())


def configure_logging(fmt: LogFormat = LogFormat.AUTO, level: str = "info", stream: TextIO | None = None) -> None:
    global _console_rendering  # noqa: PLW0603 - configured once per process, like structlog itself
    out: Any = stream or _CurrentStderr()
    console = fmt is LogFormat.CONSOLE or (fmt is LogFormat.AUTO and out.isatty())
    _console_rendering = console
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if not console else structlog.dev.set_exc_info,
    ]
    processors.append(redact_processor)
    processors.append(structlog.dev.ConsoleRenderer(colors=colors_wanted(out)) if console
                      else structlog.processors.JSONRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    install_logging_filters()  # httpx and uvicorn log through the standard library


def get_logger(name: str = "betbot") -> Any:
    return structlog.get_logger(name)
