"""How the CLI reports a user's mistake: one line on stderr, exit code 2."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

__all__ = ["BadInput", "fail_usage"]


class BadInput(click.UsageError):
    """A bad flag, setting or parameter; the message already names the field and the fix."""


def fail_usage(exc: click.UsageError) -> NoReturn:
    command = exc.ctx.command_path if exc.ctx is not None else "betbot"
    message = exc.format_message().replace("\n", " ")
    hint = "" if isinstance(exc, BadInput) else f" (see `{command} --help`)"
    sys.stderr.write(f"betbot: error: {message}{hint}\n")
    sys.exit(2)
