"""The `betbot` command line: a thin adapter over the library (uvicorn's shape).

Exit codes: 0 the session finished or was stopped by a limit or a signal; 1 a runtime error (a backend
that cannot be reached, a journal that cannot be written); 2 bad input (a flag, a setting, a config
file, a strategy parameter); 3 the session ended with bets of unknown outcome that need reconciling;
130 interrupted before a session started.
"""

from __future__ import annotations

import os
import sys

import click

from betbot import __version__
from betbot.cli.errors import fail_usage
from betbot.cli.health import health_command
from betbot.cli.journal import register as register_journal_commands
from betbot.cli.live import register as register_live_commands
from betbot.cli.report import report_command
from betbot.cli.run import run_command
from betbot.cli.strategies import strategies_group
from betbot.redact import redact

__all__ = ["cli", "main"]


def _safe(exc: BaseException) -> str:
    """An exception as one line, with any API key scrubbed (httpx errors carry URLs)."""
    return redact(f"{type(exc).__name__}: {exc}".replace("\n", " "))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="betbot")
def cli() -> None:
    """betbot: an async betting bot for DuckDice, with a provably-fair simulator.

    Every run is simulated unless you pass --live (and a key). Start with:

        betbot run --strategy martingale --max-bets 1000
    """


cli.add_command(run_command)
cli.add_command(strategies_group)
register_live_commands(cli)
register_journal_commands(cli)
cli.add_command(report_command)
cli.add_command(health_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: usage errors become one line on stderr and exit code 2, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="betbot", standalone_mode=False)
    except click.exceptions.Abort:
        sys.stderr.write("betbot: interrupted\n")
        sys.exit(130)
    except click.UsageError as exc:
        fail_usage(exc)
    except click.ClickException as exc:
        sys.stderr.write(f"betbot: error: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("BETBOT_DEBUG"):
            raise
        sys.stderr.write(f"betbot: unexpected error: {_safe(exc)} (set BETBOT_DEBUG=1 for a traceback)\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
