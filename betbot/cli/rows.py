"""A progress bar over a stream of journal rows, for the commands that read a whole session (`report`,
`export`): a million bets take seconds, and a terminal should see them move.

Only on a terminal (stderr): a pipe or a log gets nothing. The bar is updated every `STEP` rows, so it costs
the loop one comparison a row; it is transient, leaving the screen as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from betbot.journal.export import RowWrapper, as_is

__all__ = ["STEP", "row_progress"]

STEP: Final = 8192  # rows between two updates of the bar
_Row = TypeVar("_Row")


@contextmanager
def row_progress(what: str, total: int, console: Console | None = None, *, show: bool = True) -> Iterator[RowWrapper]:
    """Yields a wrapper for the row iterable: it counts the rows through a bar on a terminal, else does nothing
    (nor when `show` is false: rows written to the same terminal would run through the bar)."""
    err = console or Console(stderr=True)
    if not show or not err.is_terminal or total < STEP:
        yield as_is
        return
    progress = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TextColumn("bets"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True,
                        redirect_stdout=False, redirect_stderr=False)  # stdout may be the export itself
    task = progress.add_task(what, total=total)

    def counted(rows: Iterable[_Row]) -> Iterator[_Row]:
        done = 0
        for row in rows:
            yield row
            done += 1
            if done % STEP == 0:
                progress.update(task, completed=done)
        progress.update(task, completed=done)

    with progress:
        yield counted


