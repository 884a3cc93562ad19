"""`betbot sessions`, `betbot history` and `betbot export`: read the bet journal.

They open the journal read-only (a session that is running can go on writing it) and never create it.
A session id that is not in the journal is bad input (exit 2); a journal that cannot be read is an
error (exit 1). With no journal at the path (or one without sessions), `sessions` says so and lists
nothing (exit 0); the commands that show one session (`history`, `export`, `report`, `verify`) say so in
one line and exit 2. Values are spelled as `betbot.journal.formats` says (money with 8 places, rolls as
27.14, percentages as 51.20 %, latencies in ms to 2 places), the same in every command.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from betbot.cli.errors import BadInput
from betbot.cli.options import SettingOption
from betbot.cli.rows import row_progress
from betbot.journal import (
    BetRecord,
    BetStatus,
    Journal,
    JournalError,
    SessionRecord,
    UnknownSession,
    default_journal_path,
)
from betbot.journal.campaigns import CampaignRecord, campaign, session_campaigns
from betbot.journal.export import FORMATS, ExportFormat, export_session, export_to_file
from betbot.journal.formats import chance_text, latency_ms, latency_text, money, percent, roll_text
from betbot.journal.lease import Holder

__all__ = [
    "JournalFailure",
    "export_command",
    "history_command",
    "journal_option",
    "json_option",
    "newest_session",
    "no_journal",
    "no_session",
    "no_sessions",
    "open_journal",
    "register",
    "session_argument",
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
        cls=SettingOption, env="BETBOT_JOURNAL", shows="$XDG_DATA_HOME/betbot/journal.sqlite3",
        help="The journal file (SQLite).",
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


def no_journal(path: Path) -> BadInput:
    """A command that reads a session, and there is no journal file at all (nothing is created)."""
    return BadInput(f"no journal at {path}; pass --journal PATH (or set BETBOT_JOURNAL)")


def no_sessions(path: Path) -> BadInput:
    return BadInput(f"no sessions in the journal {path} yet (`betbot run` journals one)")


def json_option(func: _F) -> _F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (money as exact "
                        "decimal text).")(func)


def session_argument(func: _F) -> _F:
    """The SESSION argument of the commands that read one session: optional, the newest by default."""
    return click.argument("session_id", required=False, type=click.IntRange(min=1), metavar="[SESSION]")(func)


def newest_session(journal: Journal) -> int | None:
    """The id of the newest session in the journal, None when it has none."""
    records = journal.sessions()
    return records[-1].id if records else None


def _text(value: Decimal | None) -> str | None:
    """Money in JSON: fixed-point text with 8 places, as the export writes it."""
    return None if value is None else money(value)


@click.command("sessions")
@json_option
@journal_option
def sessions_command(journal_path: Path | None, as_json: bool) -> None:
    """List the journaled sessions, oldest first."""
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        if as_json:
            click.echo("[]")
            return
        click.echo(f"no sessions yet: there is no journal at {path}")
        return
    try:
        with journal:
            records = journal.sessions()
            # A session without an end is running now, or was interrupted: its lease tells which.
            runners = {record.id: journal.runner(record.id) for record in records if record.ended_at is None}
            in_campaign = session_campaigns(journal)
            campaigns = {cid: found for cid in set(in_campaign.values()) if (found := campaign(journal, cid))}
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    if as_json:
        click.echo(json.dumps([{**_session_json(record, runners.get(record.id)),
                                "campaign_id": in_campaign.get(record.id)} for record in records], indent=2))
        return
    if not records:
        click.echo(f"no sessions in the journal {path}")
        return
    table = Table(title=f"sessions in {path}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    columns: tuple[str, ...] = ("id", "started (UTC)", "strategy", "bets", "profit", "stopped by")
    if in_campaign:
        columns = ("campaign", *columns)
    for name in columns:
        table.add_column(name, justify="right" if name in ("id", "bets", "profit") else "left")
    last_of = {cid: max(sid for sid, c in in_campaign.items() if c == cid) for cid in campaigns}
    profits: dict[int, Decimal] = {}
    for record in records:
        profit = (f"{_money(record.summary['profit'])} {record.currency}"
                  if record.summary and "profit" in record.summary else "-")
        runner = runners.get(record.id)
        stopped = record.stop_kind or ("-" if record.finished else "[yellow]unfinished[/]")
        if runner is not None:
            stopped = f"[green]running[/]: {runner.describe()}"
        if record.unresolved:
            stopped += f", [bold red]{record.unresolved} unresolved[/]"
        backend = "" if record.backend == "simulator" else f" ({record.backend})"
        cells = [str(record.id), f"{record.started_at:%Y-%m-%d %H:%M}", record.strategy + backend,
                 f"{_settled(record):,}", profit, stopped]
        cid = in_campaign.get(record.id)
        if in_campaign:
            cells.insert(0, "" if cid is None else str(cid))
        table.add_row(*cells)
        if cid is not None and record.summary and "profit" in record.summary:
            profits[cid] = profits.get(cid, Decimal(0)) + Decimal(record.summary["profit"])
        if cid is not None and last_of.get(cid) == record.id:
            table.add_row(*_campaign_row(campaigns[cid], profits.get(cid, Decimal(0))), end_section=True)
    Console().print(table)


def _campaign_row(record: CampaignRecord, profit: Decimal) -> list[str]:
    """The line under a campaign's last session: its total, and how it ended (or that it is open)."""
    # The reason's head (`total stop-loss reached`); `--json` and the journal keep the whole sentence.
    reason = (record.stop_reason or "").partition(":")[0]
    state = f"ended: {reason}" if record.finished else "[yellow]open (--resume continues it)[/]"
    return [f"[bold]{record.id}[/]", "", "", "[bold]campaign[/]", "", f"[bold]{_money(profit)} {record.currency}[/]",
            state]


def _settled(record: SessionRecord) -> int:
    """The bets the session's summary counts (as `report` and the summary do): the journal's rows also hold
    bets left unknown or pending, shown apart as unresolved."""
    if record.summary and isinstance(record.summary.get("bets"), int):
        return int(record.summary["bets"])
    return record.journaled


def _session_json(record: SessionRecord, runner: Holder | None) -> dict[str, Any]:
    summary = record.summary or {}
    running = None
    if runner is not None:
        running = {"pid": runner.pid, "host": runner.host,
                   "since": None if runner.since is None else runner.since.isoformat()}
    return {
        "id": record.id, "started_at": record.started_at.isoformat(),
        "ended_at": None if record.ended_at is None else record.ended_at.isoformat(),
        "strategy": record.strategy, "backend": record.backend, "currency": record.currency,
        "starting_balance": _text(record.starting_balance), "bets": record.journaled,
        "profit": _text(Decimal(summary["profit"])) if "profit" in summary else None,
        "stop_kind": record.stop_kind, "stop_reason": record.stop_reason, "unresolved": record.unresolved,
        "running": running,
    }


def _bet_json(bet: BetRecord) -> dict[str, Any]:
    return {
        "seq": bet.seq, "decided_at": bet.decided_at.isoformat(), "amount": _text(bet.amount),
        "chance": chance_text(bet.chance), "bet": _side(bet), "roll": None if bet.roll is None else _roll(bet),
        "status": bet.status.value, "win": bet.win, "profit": _text(bet.profit),
        "balance_after": _text(bet.balance_after),
        "latency_ms": None if bet.latency_ms is None else latency_ms(bet.latency_ms),
        "refusal": bet.refusal,
    }


def _money(value: Decimal | str | None) -> str:
    """An amount for people: fixed-point, 8 places, as the export and the report write it."""
    return "-" if value is None else money(value)


def _roll(bet: BetRecord) -> str:
    return "-" if bet.roll is None else roll_text(bet.roll)


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
@session_argument
@click.option("--last", "-l", type=click.IntRange(min=1), default=50, show_default=True, metavar="INT",
              help="How many of the latest bets to show (`betbot export` streams them all).")
@click.option("--wins/--losses", "wins", default=None, cls=SettingOption, env="", shows="both",
              help="Only the wins, or only the losses.")
@json_option
@journal_option
def history_command(session_id: int | None, last: int, wins: bool | None, as_json: bool,
                    journal_path: Path | None) -> None:
    """Show the last bets of a session (by default the latest session)."""
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        raise no_journal(path)
    try:
        with journal:
            if session_id is None:
                session_id = newest_session(journal)
                if session_id is None:
                    raise no_sessions(path)
            session = journal.session(session_id)
            bets = list(journal.bets(session_id, last=last, wins=wins))
    except UnknownSession:
        raise no_session(session_id or 0, path) from None
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"session": session.id, "currency": session.currency,
                               "bets": [_bet_json(bet) for bet in bets]}, indent=2))
        return
    only = {None: "", True: " won", False: " lost"}[wins]
    title = (f"session {session.id}: {session.strategy} on {session.backend}, {session.currency}, "
             f"started {session.started_at:%Y-%m-%d %H:%M} UTC; the last {len(bets)}{only} bets")
    rows = [
        (str(bet.seq), f"{bet.decided_at:%H:%M:%S}", _money(bet.amount), percent(bet.chance), _side(bet),
         _roll(bet), _result(bet), _money(bet.profit), _money(bet.balance_after), latency_text(bet.latency_ms))
        for bet in bets
    ]
    Console().print(fitted_table(title, _HISTORY_COLUMNS, rows, left=("UTC", "bet", "result")))


# The columns of `history`, and the order in which a narrow terminal leaves them out (money never wraps).
_HISTORY_COLUMNS = ("seq", "UTC", "amount", "chance", "bet", "roll", "result", "profit", "balance", "ms")
_HISTORY_DROPPED_FIRST = ("ms", "UTC", "bet", "chance", "roll")
_UNBOUNDED = 10_000  # columns: measure a table as wide as it wants to be


def fitted_table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[str]], *, left: tuple[str, ...],
                 width: int | None = None, drop_order: tuple[str, ...] = _HISTORY_DROPPED_FIRST) -> Table:
    """A table that fits the terminal: no cell wraps (a money amount broken across two lines misleads); when
    the table is too wide, whole columns are left out, least useful first, and the title says which."""
    console = Console(width=width) if width is not None else Console()
    shown = list(columns)
    dropped: list[str] = []
    while True:
        table = Table(title=title + (f" ({', '.join(dropped)} left out at this width; --json has every field)"
                                     if dropped else ""),
                      title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        for name in shown:
            table.add_column(name, justify="left" if name in left else "right", no_wrap=True, overflow="ellipsis")
        for row in rows:
            table.add_row(*(cell for name, cell in zip(columns, row, strict=True) if name in shown))
        optional = [name for name in drop_order if name in shown]
        natural = console.measure(table, options=console.options.update_width(_UNBOUNDED)).maximum
        if not optional or natural <= console.width:
            return table
        dropped.append(optional[0])
        shown.remove(optional[0])


@click.command("export")
@session_argument
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="CSV with a header row, or JSON Lines (one object per bet).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file, which appears whole or not at all (default: stdout).")
@journal_option
def export_command(session_id: int | None, fmt: ExportFormat, output: Path | None,
                   journal_path: Path | None) -> None:
    """Stream every bet of a session (by default the latest) as CSV or JSON Lines; money as exact decimal text."""
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        raise no_journal(path)
    try:
        with journal:
            if session_id is None:
                session_id = newest_session(journal)
                if session_id is None:
                    raise no_sessions(path)
            with row_progress("exporting", journal.session(session_id).journaled,
                              show=output is not None or not sys.stdout.isatty()) as watch:
                if output is None:
                    export_session(journal, session_id, sys.stdout, fmt, watch)
                    return
                count = export_to_file(journal, session_id, output, fmt, watch)
                noun = "bet" if count == 1 else "bets"
                click.echo(f"betbot: exported {count:,} {noun} of session {session_id} to {output}", err=True)
    except UnknownSession:
        raise no_session(session_id or 0, path) from None
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
