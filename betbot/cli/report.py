"""`betbot report`: a session's statistics and streak table in the terminal; with --html and --png, the five
charts (balance with drawdown, drawdown, profit per bet, streak lengths, stake) as a page and a picture.

The journal is opened read-only and never created: no journal, or no such session, is one line, exit 2.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from betbot.cli.journal import (
    JournalFailure,
    journal_option,
    newest_session,
    no_journal,
    no_session,
    no_sessions,
    open_journal,
    session_argument,
)
from betbot.cli.options import SettingOption
from betbot.cli.rows import row_progress
from betbot.journal import JournalError, UnknownSession, default_journal_path
from betbot.observe.report import PlotUnavailable, Report, XAxis, build_report, write_html, write_png

__all__ = ["report_command"]

_FILE = click.Path(dir_okay=False, path_type=Path)


def _check_target(path: Path | None, flag: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise click.BadParameter(f"the directory {path.parent} does not exist; create it first", param_hint=flag)


@click.command("report")
@session_argument
@click.option("--html", "html_path", type=_FILE, cls=SettingOption, env="", shows="none",
              help="Write a self-contained HTML page (no scripts, no links).")
@click.option("--png", "png_path", type=_FILE, cls=SettingOption, env="", shows="none",
              help="Write the charts as one PNG (needs matplotlib: the `report` extra).")
@click.option("--x-axis", "x_axis", type=click.Choice(("bets", "time")), default="bets", cls=SettingOption,
              env="", shows="bets", help="The x axis of the balance, drawdown and stake charts: bet number, or "
              "the time of day (UTC).")
@journal_option
def report_command(session_id: int | None, html_path: Path | None, png_path: Path | None, x_axis: XAxis,
                   journal_path: Path | None) -> None:
    """A session's statistics (by default the latest session), and its charts as HTML or PNG."""
    _check_target(html_path, "--html")
    _check_target(png_path, "--png")
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
            with row_progress("reading the bets", journal.session(session_id).journaled) as watch:
                report = build_report(journal, session_id, watch)
    except UnknownSession:
        raise no_session(session_id or 0, path) from None
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    table = Table(title=f"betbot report, journal {path}", show_header=False, title_justify="left",
                  box=box.SIMPLE, pad_edge=False)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for what, value in report.rows():
        table.add_row(what, value)
    console = Console()
    console.print(table)
    if report.bets:
        console.print(_streak_table(report))
    if html_path is None and png_path is None:
        click.echo("betbot: --html PATH or --png PATH draws the charts too", err=True)
    try:
        if html_path is not None:
            write_html(report, html_path, x_axis)
            click.echo(f"betbot: wrote {html_path}", err=True)
        if png_path is not None:
            write_png(report, png_path, x_axis)
            click.echo(f"betbot: wrote {png_path}", err=True)
    except PlotUnavailable as exc:
        raise JournalFailure(str(exc)) from None
    except OSError as exc:
        raise JournalFailure(f"cannot write the report: {exc.strerror or exc}") from None


_STREAK_ROWS = 20  # the longest streaks beyond these lengths are summed into one row


def _streak_table(report: Report) -> Table:
    """DiceBot's streak table: for each length, how many win streaks and loss streaks were that long."""
    table = Table(title="streaks by length", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("length", "win streaks", "loss streaks"):
        table.add_column(name, justify="right")
    rows = report.streak_table()
    shown, rest = rows[:_STREAK_ROWS], rows[_STREAK_ROWS:]
    for length, won, lost in shown:
        table.add_row(f"{length:,}", f"{won:,}", f"{lost:,}")
    if rest:
        table.add_row(f"{rest[0][0]:,}+", f"{sum(r[1] for r in rest):,}", f"{sum(r[2] for r in rest):,}")
    return table
