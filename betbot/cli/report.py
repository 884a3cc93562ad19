"""`betbot report`: a session's statistics, and its balance curve as HTML and PNG."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from betbot.cli.journal import JournalFailure, journal_option, no_session, open_journal
from betbot.journal import JournalError, UnknownSession, default_journal_path
from betbot.observe.report import PlotUnavailable, build_report, write_html, write_png

__all__ = ["report_command"]

_FILE = click.Path(dir_okay=False, path_type=Path)


def _check_target(path: Path | None, flag: str) -> None:
    if path is not None and not path.parent.is_dir():
        raise click.BadParameter(f"the directory {path.parent} does not exist; create it first", param_hint=flag)


@click.command("report")
@click.argument("session_id", required=False, type=int, metavar="[SESSION]")
@click.option("--html", "html_path", type=_FILE, help="Write a self-contained HTML page (no scripts, no links).")
@click.option("--png", "png_path", type=_FILE, help="Write the balance curve as a PNG (needs matplotlib).")
@journal_option
def report_command(session_id: int | None, html_path: Path | None, png_path: Path | None,
                   journal_path: Path | None) -> None:
    """A session's statistics (by default the latest session), and its balance curve as HTML or PNG."""
    _check_target(html_path, "--html")
    _check_target(png_path, "--png")
    path = journal_path or default_journal_path()
    journal = open_journal(path)
    if journal is None:
        raise no_session(session_id or 1, path)
    try:
        with journal:
            if session_id is None:
                records = journal.sessions()
                if not records:
                    raise no_session(1, path)
                session_id = records[-1].id
            report = build_report(journal, session_id)
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
    Console().print(table)
    if html_path is None and png_path is None:
        click.echo("betbot: --html PATH or --png PATH draws the balance curve too", err=True)
    try:
        if html_path is not None:
            write_html(report, html_path)
            click.echo(f"betbot: wrote {html_path}", err=True)
        if png_path is not None:
            write_png(report, png_path)
            click.echo(f"betbot: wrote {png_path}", err=True)
    except PlotUnavailable as exc:
        raise JournalFailure(str(exc)) from None
    except OSError as exc:
        raise JournalFailure(f"cannot write the report: {exc.strerror or exc}") from None
