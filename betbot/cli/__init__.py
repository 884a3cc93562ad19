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

from betbot.cli.errors import fail_usage
from betbot.cli.lazy import LazyCommand, LazyGroup

# Nothing heavy at import: `betbot --help` and `betbot health` must start in well under 0.15 s.

__all__ = ["COMMANDS", "LOG_LEVELS", "cli", "main"]

#: Every command: where it lives, and its first help line (`betbot --help` shows it without importing it).
#: Add a command with one line here; tests/cli/test_cli_conventions.py checks the line against the command.
COMMANDS: dict[str, LazyCommand] = {
    "run": LazyCommand("betbot.cli.run:run_command", "Play a betting strategy; simulated unless --live."),
    "strategies": LazyCommand("betbot.cli.strategies:strategies_group",
                              "List the strategies (built-in and from installed plug-ins) and the strategy files "
                              "betbot ships."),
    "sessions": LazyCommand("betbot.cli.journal:sessions_command", "List the journaled sessions, oldest first."),
    "history": LazyCommand("betbot.cli.journal:history_command",
                           "Show the last bets of a session (by default the latest session)."),
    "export": LazyCommand("betbot.cli.journal:export_command",
                          "Stream every bet of a session (by default the latest) as CSV or JSON Lines; money as "
                          "exact decimal text."),
    "report": LazyCommand("betbot.cli.report:report_command",
                          "A session's statistics (by default the latest session), and its charts as HTML or "
                          "PNG."),
    "account": LazyCommand("betbot.cli.live:account_command",
                           "The account: balances per currency and mode, time-limited events and wagering "
                           "bonuses, the seed pair."),
    "balance": LazyCommand("betbot.cli.live:balance_command",
                           "Show the account's balances per currency (GET /bot/user-info)."),
    "stats": LazyCommand("betbot.cli.live:stats_command",
                         "Show the site's bet count, profit and balances for one currency (GET /bot/stats/SYMBOL)."),
    "seed": LazyCommand("betbot.cli.live:seed_group", "The provably-fair seed pair."),
    "fake-server": LazyCommand("betbot.cli.live:fake_server_command",
                               "Serve a fake DuckDice API (no real money) for trying betbot and for tests."),
    "health": LazyCommand("betbot.cli.health:health_command",
                          "Check the heartbeat of a running betbot: exit 0 healthy, 1 unhealthy, with one line "
                          "saying why."),
    "config": LazyCommand("betbot.cli.config:config_group",
                          "The effective settings, and where each came from."),
    "simulate": LazyCommand("betbot.cli.simulate:simulate_command",
                            "Simulate many sessions of a strategy: risk of ruin, profit distribution, RTP."),
    "optimize": LazyCommand("betbot.cli.optimize:optimize_command",
                            "Search a strategy's parameters for the best chance of a target, or the best profit."),
    "compare": LazyCommand("betbot.cli.compare:compare_command",
                           "Rank the built-in strategies, the shipped presets and any scripts or plug-ins on the "
                           "same sessions."),
    "script": LazyCommand("betbot.cli.script:script_group", "Check a DiceBot Lua script before you run it."),
    "notify": LazyCommand("betbot.cli.notify:notify_group",
                          "Notifications: send a test to a notification URL (Apprise)."),
    "serve": LazyCommand("betbot.cli.serve:serve_command",
                         "Host sessions in one process, with a web console and an HTTP API (127.0.0.1:8765 by "
                         "default)."),
    "verify": LazyCommand("betbot.cli.verify:verify_command",
                          "Verify provably-fair rolls: print them from the seeds, check a seed's hash, or check "
                          "a session."),
}

LOG_LEVELS = ("debug", "info", "warning", "error")


def _safe(exc: BaseException) -> str:
    """An exception as one line, with any API key scrubbed (httpx errors carry URLs)."""
    from betbot.redact import redact  # noqa: PLC0415 - only on the error path

    return redact(f"{type(exc).__name__}: {exc}".replace("\n", " "))


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from betbot import __version__  # noqa: PLC0415 - reading the installed version costs ~10 ms

    click.echo(f"betbot {__version__}")
    ctx.exit()


@click.group(cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-V", "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.option("-v", "--verbose", count=True, help="More log lines: -v is --log-level debug.")
@click.option("-q", "--quiet", count=True, help="Fewer log lines: -q is --log-level warning, -qq error.")
@click.option("--no-color", is_flag=True, help="No colour codes in any output (as the NO_COLOR variable does).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int, no_color: bool) -> None:
    """betbot: an async betting bot for DuckDice, with a provably-fair simulator.

    Every run is simulated unless you pass --live (and a key). Start with:

        betbot run --strategy martingale --max-bets 1000

    \b
    Shell completion (bash; zsh_source and fish_source likewise):
        eval "$(_BETBOT_COMPLETE=bash_source betbot)"
    """
    ctx.ensure_object(dict)
    if no_color:  # rich's consoles and the log renderer all read it (no-color.org)
        os.environ["NO_COLOR"] = "1"
    if verbose or quiet:
        level = LOG_LEVELS.index("info") - verbose + quiet
        ctx.obj["log_level"] = LOG_LEVELS[min(max(level, 0), len(LOG_LEVELS) - 1)]


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
