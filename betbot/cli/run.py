"""`betbot run`: play a strategy against the simulator (default) or DuckDice (--live)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import click
from rich.console import Console

from betbot.backends.duckdice import DuckDiceError
from betbot.cli.errors import BadInput
from betbot.cli.journal import JournalFailure
from betbot.config.settings import Settings, SettingsError, load_settings
from betbot.journal import JournalError
from betbot.journal.resume import ResumeError, ResumeFailure
from betbot.lifecycle import ResumeRequest, run_session
from betbot.observe.logs import configure_logging
from betbot.observe.metrics import MetricsError

__all__ = ["run_command"]


def _params(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--param {item!r} must look like name=value, e.g. --param multiplier=2")
        try:  # lists and numbers as JSON (sequence=[1,2,3]); anything else as text for the model to parse
            value: Any = json.loads(raw)
            if isinstance(value, float):
                value = raw  # never let a float near an amount: the model parses the text
        except json.JSONDecodeError:
            value = raw
        params[name.strip().replace("-", "_")] = value
    return params


_EPILOG = """\b
Settings come from --config FILE (TOML) < environment (BETBOT_<NAME>) < flags.
Amount limits take an amount (5) or a percentage of the starting balance (10%).
Durations take seconds (90) or units (250ms, 30s, 5m, 1h30m).
Exit codes: 0 finished or stopped by a limit or a signal, 1 runtime error, 2 bad input,
3 bets of unknown outcome remain (reconcile at the next start)."""


@click.command("run", epilog=_EPILOG)
@click.option("--strategy", "-s", help="Strategy to play (default flat; `betbot strategies` lists them).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A strategy parameter; repeat for several (`betbot strategies show NAME`).")
@click.option("--currency", help="Currency symbol (default DOGE).")
@click.option("--balance", help="Simulated starting balance (default 100).")
@click.option("--chance", help="Win chance in percent, for strategies that take one (0.01 steps).")
@click.option("--high/--low", "high", default=None, help="Bet high or low (strategies that take it).")
@click.option("--max-bets", help="Place exactly this many bets, then stop.")
@click.option("--max-duration", help="No new bet after this long (e.g. 30m); bets in flight are drained.")
@click.option("--stop-loss", help="Never lose more than this, even with every bet in flight lost.")
@click.option("--take-profit", help="Stop once the profit reaches this.")
@click.option("--trailing-stop", help="Stop once the profit falls this far below its peak.")
@click.option("--max-losses", help="Stop after this many losses in a row.")
@click.option("--max-wins", help="Stop after this many wins in a row.")
@click.option("--max-bet", help="Stop rather than place a stake above this.")
@click.option("--min-balance", help="Never risk the balance below this.")
@click.option("--parallel/--sequential", default=None,
              help="Run up to --max-concurrent bets at once (default: one at a time).")
@click.option("--max-concurrent", "-n", help="Bets in flight at most (default 5); implies --parallel. "
              "The effective value is capped by what the strategy tolerates, and printed at start.")
@click.option("--drain-timeout", help="On a stop or the first SIGINT/SIGTERM, wait this long for the bets "
              "in flight (default 30s); a second signal stops at once.")
@click.option("--seed", help="Derive the simulator's seed pair from this text, so the run replays exactly.")
@click.option("--first-nonce", help="Nonce of the first bet of a seed pair (default 0).")
@click.option("--sim-latency", help="Simulated reply latency (e.g. 50ms; default 0).")
@click.option("--sim-jitter", help="Extra random latency, uniform in [0, jitter): replies arrive out of order.")
@click.option("--edge", help="House edge in percent (default 1).")
@click.option("--live/--simulate", "live", default=None, help="Bet real money on DuckDice (needs a key).")
@click.option("--api-key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the API key (also BETBOT_API_KEY, or the Docker secret betbot_api_key).")
@click.option("--api-key", help="The API key itself: visible to other users in the process list, so prefer "
              "--api-key-file or BETBOT_API_KEY.")
@click.option("--base-url", help="DuckDice API base URL (default https://duckdice.io/api).")
@click.option("--max-rate", help="Live: at most this many bets per second.")
@click.option("--below-min-bet", type=click.Choice(["raise", "stop"]),
              help="Live: a stake below the site's minimum bet (learned from its refusals, never by probing) "
              "is raised to it, or the session stops (default stop).")
@click.option("--after-reconcile", type=click.Choice(["continue", "stop"]),
              help="Live: after bets of unknown outcome are reconciled with the site's books and they balance, "
              "go on or stop (default continue; books that do not balance always stop).")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path),
              help="The bet journal (SQLite; default $XDG_DATA_HOME/betbot/journal.sqlite3).")
@click.option("--no-journal", is_flag=True, default=None, help="Keep no journal (dry runs only make sense).")
@click.option("--resume", "resume", is_flag=False, flag_value="newest", default=None, metavar="[SESSION]",
              help="Continue SESSION (default: the newest interrupted one, else start a new one): its unresolved "
                   "bets are reconciled first; strategy, parameters and limits come from the journal.")
@click.option("--metrics-addr", metavar="HOST:PORT",
              help="Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9108).")
@click.option("--heartbeat-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a heartbeat here every 5 s, for `betbot health` (Docker's HEALTHCHECK).")
@click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the end-of-session summary as JSON to this file.")
@click.option("--log-format", type=click.Choice(["auto", "console", "json"]),
              help="Logs on stderr: console on a terminal, JSON otherwise (default auto).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="Default info.")
@click.option("--dashboard", type=click.Choice(["auto", "on", "off"]),
              help="Live dashboard on stderr (auto: when it is a terminal).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), envvar="BETBOT_CONFIG",
              help="TOML settings file (see config/betbot.example.toml).")
def run_command(params: tuple[str, ...], config: Path | None, resume: str | None, **options: Any) -> None:
    """Play a betting strategy; simulated unless --live.

    \b
    Examples:
      betbot run --strategy martingale --max-bets 1000
      betbot run --parallel --max-concurrent 5 --sim-latency 50ms --sim-jitter 30ms --max-bets 500
      betbot run -s dalembert --stop-loss 10% --take-profit 5 --seed demo
    """
    flags = {name: value for name, value in options.items() if value is not None}
    if "max_concurrent" in flags and "parallel" not in flags:
        flags["parallel"] = True
    if params:
        flags["params"] = _params(params)
    try:
        settings = load_settings(flags, config)
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    code = _run(settings, api_key_from_cli="api_key" in flags, resume=_resume_request(resume))
    sys.exit(code)


def _resume_request(value: str | None) -> ResumeRequest | None:
    if value is None:
        return None
    if value == "newest":
        return "newest"
    try:
        session_id = int(value)
    except ValueError:
        raise BadInput(f"--resume takes a session id (`betbot sessions` lists them), not {value!r}") from None
    if session_id < 1:
        raise BadInput(f"--resume takes a session id of 1 or more, not {session_id}")
    return session_id


def _run(settings: Settings, *, api_key_from_cli: bool, resume: ResumeRequest | None) -> int:
    configure_logging(settings.log_format, settings.log_level)
    out = Console(file=sys.stdout)
    err = Console(file=sys.stderr)
    try:
        outcome = anyio.run(lambda: run_session(settings, out=out, err=err, api_key_from_cli=api_key_from_cli,
                                                resume=resume))
    except (SettingsError, ResumeError) as exc:
        raise BadInput(str(exc)) from None
    except DuckDiceError as exc:  # its message is already redacted
        raise click.ClickException(str(exc)) from None
    except (JournalError, ResumeFailure) as exc:
        raise JournalFailure(str(exc)) from None
    except MetricsError as exc:
        raise click.ClickException(str(exc)) from None
    except BaseExceptionGroup as group:  # from the engine's task group
        journal_error = _first(group, (JournalError, ResumeFailure))
        if journal_error is None:
            raise
        raise JournalFailure(str(journal_error)) from None
    return outcome.exit_code


def _first(group: BaseExceptionGroup[BaseException], kinds: tuple[type[Exception], ...]) -> BaseException | None:
    found: BaseException | None = group.split(kinds)[0]
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found
