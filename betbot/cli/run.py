"""`betbot run`: play a strategy against the simulator (default) or DuckDice (--live)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import (
    FILE,
    GroupedCommand,
    SettingOption,
    campaign_options,
    collect_flags,
    concurrency_options,
    limit_options,
    live_options,
    notify_options,
    output_options,
    simulator_options,
    strategy_options,
)

if TYPE_CHECKING:
    from betbot.config.settings import Settings
    from betbot.lifecycle import ResumeRequest, RunOutcome
    from betbot.notify import Notifier

# Heavy modules (anyio, pydantic, rich, the engine) are imported when the command runs, never at import:
# `betbot run --help` must start in well under 0.15 s.

__all__ = ["run_command"]


_EPILOG = """\b
Settings come from --config FILE (TOML) < environment (BETBOT_<NAME>) < flags; `betbot config show`
prints the effective settings and where each came from.
Amount limits take an amount (5) or a percentage of the starting balance (10%).
Durations take a unit: 250ms, 30s, 5m, 1h30m (a bare 0 is fine).
Exit codes: 0 finished or stopped by a limit or a signal, 1 runtime error, 2 bad input,
3 bets of unknown outcome remain (reconcile at the next start)."""


@click.command("run", cls=GroupedCommand, epilog=_EPILOG)
@strategy_options
@limit_options
@concurrency_options
@simulator_options
@live_options
@output_options
@notify_options
@campaign_options
@click.option("--resume", "resume", cls=SettingOption, group="Session", env="", shows="a new session",
              is_flag=False, flag_value="newest", default=None, metavar="[SESSION]",
              help="Continue SESSION (default: the newest interrupted one, else start a new one): its unresolved "
                   "bets are reconciled first; strategy, parameters and limits come from the journal.")
@click.option("--preview/--no-preview", "preview", cls=SettingOption, group="Risk preview", shows="preview",
              default=None, help="Before the first bet, simulate this configuration over a few thousand sessions "
              "(fast rolls, well under a second) and print P(stop-loss), P(bust), the median and 5 % profit.")
@click.option("--max-ruin", cls=SettingOption, group="Risk preview", shows="none", default=None, metavar="P",
              help="Refuse to start (exit 2) when the preview's bust probability is above P (0..1, e.g. 0.01).")
@click.option("--config", "config", cls=SettingOption, group="Session", env="BETBOT_CONFIG", shows="none",
              type=FILE, envvar="BETBOT_CONFIG", help="TOML settings file (see config/betbot.example.toml).")
def run_command(config: Path | None, resume: str | None, **options: Any) -> None:
    """Play a betting strategy; simulated unless --live.

    \b
    Examples:
      betbot run --strategy martingale --max-bets 1000
      betbot run --parallel --max-concurrent 5 --sim-latency 50ms --sim-jitter 30ms --max-bets 500
      betbot run -s dalembert --stop-loss 10% --take-profit 5 --seed demo
    """
    from betbot.config.settings import SettingsError, load_settings  # noqa: PLC0415 - start-up time

    flags = collect_flags(options)
    try:
        settings = load_settings(flags, config, new_session=resume is None)
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    request = _resume_request(resume)
    _preflight(settings, request)
    code = _run(settings, api_key_from_cli="api_key" in flags, resume=request)
    sys.exit(code)


def _preflight(settings: Settings, resume: ResumeRequest | None) -> None:
    """Bad input the lifecycle would find only after opening (and so creating) the journal."""
    from betbot.atomicfile import unwritable  # noqa: PLC0415 - start-up time
    from betbot.journal import default_journal_path  # noqa: PLC0415 - start-up time

    # Files written during or after the run: a place they cannot go is found before the first bet.
    for flag, target in (("--summary-json", settings.summary_json), ("--heartbeat-file", settings.heartbeat_file)):
        if target is not None and (problem := unwritable(target)) is not None:
            raise BadInput(f"{flag} {target}: {problem}; choose a writable place")

    if isinstance(resume, int) and not settings.no_journal:
        path = settings.journal or default_journal_path()
        if not path.exists():
            raise BadInput(f"--resume {resume}: there is no journal at {path}, so no session to resume; pass "
                           "--journal with the file that holds it (`betbot sessions --journal FILE` lists them)")


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
    # Imported here, not at the top: start-up time (a command's modules load when it runs).
    import anyio  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415

    from betbot.backends.errors import DuckDiceError  # noqa: PLC0415
    from betbot.cli.journal import JournalFailure  # noqa: PLC0415
    from betbot.config.settings import SettingsError  # noqa: PLC0415
    from betbot.journal import JournalError  # noqa: PLC0415
    from betbot.journal.resume import ResumeError, ResumeFailure  # noqa: PLC0415
    from betbot.lifecycle import run_session  # noqa: PLC0415
    from betbot.notify import notices_for, notifier_for  # noqa: PLC0415
    from betbot.observe.logs import configure_logging  # noqa: PLC0415
    from betbot.observe.metrics import MetricsError  # noqa: PLC0415

    configure_logging(settings.log_format, settings.log_level)
    out = Console(file=sys.stdout)
    err = Console(file=sys.stderr)
    # One notifier for the process (Apprise loads only with a --notify URL); every session reports to it.
    notifier = notifier_for(settings)
    notices = notices_for(settings, notifier)

    async def main() -> RunOutcome:
        async with notifier.running():
            try:
                if settings.repeat or resume is not None:  # --resume continues a campaign, not just a session
                    from betbot.campaign import run_campaign  # noqa: PLC0415

                    return await run_campaign(settings, out=out, err=err, api_key_from_cli=api_key_from_cli,
                                              resume=resume, notices=notices, notifier=notifier)
                return await run_session(settings, out=out, err=err, api_key_from_cli=api_key_from_cli,
                                         resume=resume, notices=notices)
            except Exception as exc:
                _notify_error(notifier, exc)
                raise

    try:
        outcome = anyio.run(main)
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


def _notify_error(notifier: Notifier, exc: Exception) -> None:
    """The process is about to exit on a runtime error (bad input is said on the terminal, not sent)."""
    from betbot.config.settings import SettingsError  # noqa: PLC0415
    from betbot.journal.resume import ResumeError  # noqa: PLC0415
    from betbot.notify.events import error_notice  # noqa: PLC0415

    cause: BaseException = exc
    while isinstance(cause, BaseExceptionGroup):
        cause = cause.exceptions[0]
    if not isinstance(cause, SettingsError | ResumeError):
        notifier.notify(error_notice(f"{type(cause).__name__}: {cause}"))  # the notifier redacts it


def _first(group: BaseExceptionGroup[BaseException],
           kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    found: BaseException | None = group.split(kinds)[0]
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found
