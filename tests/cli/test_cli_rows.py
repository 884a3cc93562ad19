"""The progress bar of `report` and `export` over a session's rows: on a terminal only, rows unchanged."""

from __future__ import annotations

import io

from rich.console import Console

from betbot.cli.rows import STEP, row_progress


def test_on_a_terminal_the_rows_pass_through_a_bar() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    rows = [(i, f"row {i}") for i in range(3 * STEP + 5)]
    with row_progress("exporting", len(rows), console) as watch:
        seen = list(watch(iter(rows)))
    assert seen == rows
    assert "exporting" in screen.getvalue()


def test_off_a_terminal_or_when_told_not_to_nothing_is_drawn() -> None:
    rows = [(1,), (2,)] * STEP
    for console, show in ((Console(file=io.StringIO(), force_terminal=False), True),
                          (Console(file=io.StringIO(), force_terminal=True), False)):
        with row_progress("reading", len(rows), console, show=show) as watch:
            assert watch(rows) is rows  # untouched: not even a generator in the way
        assert console.file.getvalue() == ""  # type: ignore[attr-defined]
