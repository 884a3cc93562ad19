"""`betbot sessions`, `betbot history` and `betbot export`: read the bet journal.

They open the journal read-only (a session that is running can go on writing it) and never create it.
A session id that is not in the journal is bad input (exit 2); a journal that cannot be read is an
error (exit 1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from betbot.cli.errors import BadInput
from betbot.journal import BetRecord, BetStatus, Journal, JournalError, UnknownSession, default_journal_path
from betbot.journal.export import FORMATS, ExportFormat, export_session, export_to_file

__all__ = [
    "JournalFailure",
    "export_command",
    "history_command",
    "journal_option",
    "no_session",
    "open_journal",
    "register",
    "sessions_command",
]

_F = TypeVar("_F", bound=Callable[..., Any])


class JournalFailure(click.ClickException):
    """The journal cannot be read (or an export cannot be written): `betbot: error: ...`, exit code 1."""

    exit_code = 1


def register(group: click.Group) -> None:
    """Add `sessions`, `history` and `export` to a command group."""
    group.add_command(sessions_command)
    group.add_command(history_command)
    group.add_command(export_command)


def journal_option(func: _F) -> _F:
    return click.option(
        "--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path), envvar="BETBOT_JOURNAL",
        show_envvar=True, help="The journal file (default $XDG_DATA_HOME/betbot/journal.sqlite3).",
    )(func)


def open_journal(path: Path) -> Journal | None:
    """The journal at `path`, read-only; None if there is no file yet."""
    if not path.exists():
        return None
    try:
        return Journal.open(path, durable=False, readonly=True)
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None


def no_session(session_id: int, path: Path) -> BadInput:
    return BadInput(f"no session {session_id} in the journal {path} (`betbot sessions` lists them)")


@click.command("sessions")
@journal_option
def sessions_command(journal_path: Path | None) -> None:
    """List the journaled sessions, oldest first."""
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        click.echo(f"no sessions yet: there is no journal at {path}")
        return
    try:
        with journal:
            records = journal.sessions()
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    if not records:
        click.echo(f"no sessions in the journal {path}")
        return
    table = Table(title=f"sessions in {path}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for name in ("id", "started (UTC)", "strategy", "bets", "profit", "stopped by"):
        table.add_column(name, justify="right" if name in ("id", "bets", "profit") else "left")
    for record in records:
        profit = _money(record.summary["profit"]) if record.summary and "profit" in record.summary else "-"
        stopped = record.stop_kind or ("-" if record.finished else "[yellow]unfinished[/]")
        if record.unresolved:
            stopped += f", [bold red]{record.unresolved} unresolved[/]"
        backend = "" if record.backend == "simulator" else f" ({record.backend})"
        table.add_row(str(record.id), f"{record.started_at:%Y-%m-%d %H:%M}", record.strategy + backend,
                      str(record.journaled), f"{profit} {record.currency}", stopped)
    Console().print(table)


def _money(value: Decimal | str | None) -> str:
    """An amount for people: exact, without the trailing zeros of its 8 places (exports keep them)."""
    if value is None:
        return "-"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _roll(bet: BetRecord) -> str:
    return "-" if bet.roll is None else f"{bet.roll // 100}.{bet.roll % 100:02d}"


def _side(bet: BetRecord) -> str:
    if bet.range is None:
        return "high" if bet.high else "low"
    return f"{'in' if bet.range_in else 'out'} {bet.range[0]}-{bet.range[1]}"


def _result(bet: BetRecord) -> str:
    if bet.status is BetStatus.SETTLED:
        return "[green]won[/]" if bet.win else "[red]lost[/]"
    if bet.status is BetStatus.RECONCILED:
        return "did not run" if bet.profit is None else f"ran, {'won' if bet.win else 'lost'} (reconciled)"
    if bet.status is BetStatus.REFUSED:
        return f"refused: {bet.refusal}"
    return f"[bold red]{bet.status.value}[/]"


@click.command("history")
@click.argument("session_id", required=False, type=int, metavar="[SESSION]")
@click.option("--last", "-n", type=click.IntRange(min=1), default=50, show_default=True,
              help="How many of the latest bets to show (`betbot export` streams them all).")
@click.option("--wins/--losses", "wins", default=None, help="Only the wins, or only the losses.")
@journal_option
def history_command(session_id: int | None, last: int, wins: bool | None, journal_path: Path | None) -> None:
    """Show the last bets of a session (by default the latest session)."""
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        if session_id is not None:
            raise no_session(session_id, path)
        click.echo(f"no sessions yet: there is no journal at {path}")
        return
    try:
        with journal:
            if session_id is None:
                records = journal.sessions()
                if not records:
                    click.echo(f"no sessions in the journal {path}")
                    return
                session_id = records[-1].id
            session = journal.session(session_id)
            bets = list(journal.bets(session_id, last=last, wins=wins))
    except UnknownSession:
        raise no_session(session_id or 0, path) from None
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    only = {None: "", True: " won", False: " lost"}[wins]
    table = Table(
        title=f"session {session.id}: {session.strategy} on {session.backend}, {session.currency}, "
              f"started {session.started_at:%Y-%m-%d %H:%M} UTC; the last {len(bets)}{only} bets",
        title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
    )
    for name in ("seq", "UTC", "amount", "chance", "bet", "roll", "result", "profit", "balance", "ms"):
        table.add_column(name, justify="left" if name in ("UTC", "bet", "result") else "right")
    for bet in bets:
        table.add_row(
            str(bet.seq), f"{bet.decided_at:%H:%M:%S}", _money(bet.amount), f"{bet.chance}%", _side(bet),
            _roll(bet), _result(bet), _money(bet.profit), _money(bet.balance_after),
            "-" if bet.latency_ms is None else f"{bet.latency_ms:.0f}",
        )
    Console().print(table)


@click.command("export")
@click.argument("session_id", type=int, metavar="SESSION")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="CSV with a header row, or JSON Lines (one object per bet).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file, which appears whole or not at all (default: stdout).")
@journal_option
def export_command(session_id: int, fmt: ExportFormat, output: Path | None, journal_path: Path | None) -> None:
    """Stream every bet of a session as CSV or JSON Lines; money as exact decimal text."""
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        raise no_session(session_id, path)
    try:
        with journal:
            if output is None:
                export_session(journal, session_id, sys.stdout, fmt)
            else:
                count = export_to_file(journal, session_id, output, fmt)
                click.echo(f"betbot: exported {count} bets of session {session_id} to {output}", err=True)
    except UnknownSession:
        raise no_session(session_id, path) from None
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    except BrokenPipeError:
        _quiet_stdout()  # the reader went away (`| head`): stop without a traceback
        sys.exit(1)
    except OSError as exc:
        raise JournalFailure(f"cannot write the export {output or 'to stdout'}: {exc.strerror or exc}") from None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit cannot raise BrokenPipeError again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (an embedding or a test runner)
        pass
