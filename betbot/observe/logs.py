"""Logging: structlog, configured once. One processor chain; only the renderer differs
(console on a terminal, JSON lines otherwise). Logs go to stderr; stdout is for results.

The last processor before rendering redacts secrets (`betbot.redact`): a line of defence for the API
key behind the rule that it is never put into an event in the first place.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from betbot.config.settings import LogFormat
from betbot.redact import install_logging_filters, redact_processor

__all__ = ["configure_logging", "get_logger"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(fmt: LogFormat = LogFormat.AUTO, level: str = "info", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    console = fmt is LogFormat.CONSOLE or (fmt is LogFormat.AUTO and out.isatty())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if not console else structlog.dev.set_exc_info,
    ]
    processors.append(redact_processor)
    processors.append(structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    install_logging_filters()  # httpx and uvicorn log through the standard library


def get_logger(name: str = "betbot") -> Any:
    return structlog.get_logger(name)
