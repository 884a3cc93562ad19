"""The dashboard, rendered to a recording rich Console: its final frame says what the summary says, money is
fixed-point, progress and ETA show toward the limit that binds, it uses the width it has, and log lines
written while it is up go above it rather than across it."""

from __future__ import annotations

import io
import re
import sys
from dataclasses import replace
from decimal import Decimal

import pytest
import structlog
from rich.console import Console

from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.config.settings import LogFormat
from betbot.core.models import StopKind, StopReason
from betbot.core.session import Limits
from betbot.engine.loop import Engine
from betbot.observe.display import Dashboard, binding, limit_progress, render
from betbot.observe.logs import configure_logging
from betbot.observe.summary import build_summary, elapsed_text, print_summary, summary_rows
from betbot.observe.view import RunView, view_of
from betbot.observe.watch import Watchers
from tests.helpers import Flat, make_game, make_session

EXPONENT = re.compile(r"\d[eE][-+]?\d")


def recording(width: int) -> Console:
    return Console(file=io.StringIO(), record=True, force_terminal=True, width=width, color_system=None)


def view(**changes: object) -> RunView:
    session = make_session()
    base = RunView(snapshot=session.snapshot(), elapsed=0.0, concurrency=5, buffered=0, backing_off=False,
                   backoff_remaining=0.0, backoff_reason="", backoff_trips=0, retries=0)
    return replace(base, **changes)  # type: ignore[arg-type]


def value_of(text: str, label: str) -> str:
    """The text after `label` on its line in a rendered frame or table (borders stripped)."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃|]", line) if cell.strip()]
        joined = "  ".join(cells)
        match = re.search(rf"(?:^|\s){re.escape(label)}\s{{2,}}(.+?)(?:\s{{2,}}|$)", joined)
        if match:
            return match.group(1).strip()
    raise AssertionError(f"no {label!r} in:\n{text}")


@pytest.mark.parametrize("width", [80, 160])
async def test_the_final_frame_says_what_the_summary_says(width: int) -> None:
    session = make_session(limits=Limits(max_bets=300))
    backend = SimulatorBackend(make_game(), LatencyModel(fixed=0.0005))
    engine = Engine(session=session, strategy=Flat(), backend=backend, max_concurrent=5)
    console = recording(width)
    watchers = Watchers(engine, console=console, log=None, limits=session.limits, show_dashboard=True,
                        heartbeat_file=None)
    async with watchers.running():
        assert watchers.dashboard is not None
        watchers.dashboard.draw()  # the first frame, before any bet
        first = console.export_text(clear=False)
        await engine.run()
    final = view_of(engine)
    summary = build_summary(final.snapshot, elapsed=final.elapsed, concurrency=final.concurrency,
                            strategy="flat", backend="simulator", seed_pairs=[])
    console.export_text(clear=True)
    watchers.finish(final, summary)
    frame = console.export_text()
    table = recording(width)
    print_summary(table, summary)
    printed = table.export_text()

    assert "+0.00000000 DOGE" in first  # profit before any bet: fixed-point, signed, never +0E-8
    for text in (first, frame, printed):
        assert not EXPONENT.search(text), text
    for label in ("profit", "wagered", "max drawdown", "luck"):
        assert value_of(frame, label) == value_of(printed, label) == dict(summary_rows(summary))[label]
    assert value_of(frame, "bets") == value_of(printed, "bets") == "300 (" + value_of(printed, "bets").split("(")[1]
    assert value_of(printed, "balance").startswith(value_of(frame, "balance"))
    assert f"{summary['bets_per_second']:,.1f}" == value_of(frame, "bets/s (average)")
    assert f"{summary['bets_per_second']:,.1f} bets/s" in value_of(printed, "speed")
    elapsed = elapsed_text(summary["elapsed_seconds"])
    assert f"elapsed {elapsed}" in frame
    assert value_of(printed, "speed").endswith(f"over {elapsed}")
    assert "stopped: max_bets: placed 300 of 300 bets" in frame
    assert "300 of 300 bets" in frame
    assert "Ctrl-C" not in frame  # the hint is for a running session
    assert max(len(line) for line in frame.splitlines()) <= width


def test_progress_and_eta_toward_the_binding_limit() -> None:
    snap = replace(view().snapshot, submitted=100, bets=98, in_flight=2, profit=Decimal("-2.50000000"),
                   balance=Decimal("97.50000000"))
    running = view(snapshot=snap, elapsed=10.0)
    limits = Limits(max_bets=500, max_duration=3600.0, stop_loss=Decimal("10.00000000"))
    found = {p.limit: p for p in limit_progress(running, limits, rate=100.0, session_elapsed=10.0)}
    assert found["max_bets"].fraction == pytest.approx(0.2)
    assert found["max_bets"].eta == pytest.approx(4.0)  # 400 bets to go at 100 bets/s
    assert found["max_duration"].eta == pytest.approx(3590.0)
    assert found["stop_loss"].fraction == pytest.approx(0.25)
    assert found["stop_loss"].text == "lost 2.50000000 of 10.00000000 DOGE"
    assert binding(list(found.values())) is found["max_bets"]  # 4 s beats an hour

    console = recording(80)
    console.print(render(running, limits, title="t", width=80, rate=100.0, elapsed=10.0, history=[Decimal(100)]))
    text = console.export_text()
    assert "elapsed 10.0 s, ETA 4 s (max_bets)" in text
    assert "100 of 500 bets" in text
    assert "10.0 s of 1:00:00" in text
    assert "lost 2.50000000 of 10.00000000 DOGE" in text
    assert "balance, last 0 s" in text or "balance, last 1 s" in text  # the sparkline says its window
    assert "Ctrl-C drains the bets in flight" in text  # the stop hint, in the dashboard itself


def test_the_duration_binds_when_it_comes_first_and_no_limit_says_so() -> None:
    running = view(snapshot=replace(view().snapshot, submitted=10), elapsed=50.0)
    found = limit_progress(running, Limits(max_bets=1_000_000, max_duration=60.0), rate=10.0, session_elapsed=50.0)
    first = binding(found)
    assert first is not None
    assert first.limit == "max_duration"
    assert first.eta == pytest.approx(10.0)
    console = recording(80)
    console.print(render(running, Limits(), title="t", width=80, rate=10.0, elapsed=50.0))
    assert "no limit: runs until stopped" in console.export_text()


def test_the_sparkline_is_labelled_with_its_window() -> None:
    history = [Decimal(100) + Decimal(i) / 100 for i in range(60)]
    console = recording(160)
    console.print(render(view(), Limits(), title="t", width=160, rate=1.0, elapsed=20.0, history=history))
    text = console.export_text()
    assert "balance, last 15 s" in text
    assert "100.00000000 .. 100.59000000" in text


@pytest.mark.parametrize("width", [80, 100, 140, 160])
def test_uses_the_width_it_has(width: int) -> None:
    console = recording(width)
    console.print(render(view(), Limits(max_bets=10), title="t", width=width, rate=0.0, elapsed=0.0))
    lines = console.export_text().splitlines()
    assert {len(line) for line in lines} == {width}  # the panel spans the terminal, no wider
    pairs_on_one_line = any("balance" in line and "profit" in line for line in lines)
    assert pairs_on_one_line is (width >= 130)  # two figures to a row where there is room


@pytest.mark.parametrize("width", [80, 100, 140])
def test_the_sparkline_fits_on_one_line_at_any_width(width: int) -> None:
    history = [Decimal(100) + Decimal(i) / 100 for i in range(60)]  # 15 s of frames: 60 values
    console = recording(width)
    console.print(render(view(), Limits(), title="t", width=width, rate=1.0, elapsed=20.0, history=history))
    lines = console.export_text().splitlines()
    (spark,) = [line for line in lines if "balance, last" in line]
    assert "▁" in spark  # the line itself, not its label alone
    assert "100.59000000" in spark or width < 100  # the range, where there is room for it
    assert all(len(line) <= width for line in lines)
    assert not any(line.strip("│ ").startswith(("▁", "▂", "█")) for line in lines)  # no spill-over line


@pytest.mark.parametrize("width", [80, 100, 140])
def test_the_panel_keeps_its_height_whatever_the_figures(width: int) -> None:
    """Long and short figures give the same number of lines: values are cut with a marker, never wrapped."""
    small = view()
    big = view(snapshot=replace(view().snapshot, bets=123_456_789, wins=61_728_394, losses=61_728_395,
                                submitted=123_456_790, in_flight=250, longest_win_streak=1234,
                                longest_loss_streak=5678), concurrency=256, buffered=255)
    heights = []
    for shown in (small, big):
        console = recording(width)
        console.print(render(shown, Limits(max_bets=1_000_000_000), title="t", width=width, rate=1.0, elapsed=1.0))
        heights.append(len(console.export_text().splitlines()))
    assert heights[0] == heights[1]


def test_the_bet_counts_say_which_is_settled_and_which_placed() -> None:
    snap = replace(view().snapshot, submitted=80, bets=79, wins=40, losses=39, in_flight=1)
    console = recording(100)
    console.print(render(view(snapshot=snap), Limits(max_bets=3000), title="t", width=100, rate=1.0, elapsed=1.0))
    text = console.export_text()
    assert "79 settled (40 won, 39 lost)" in text
    assert "80 of 3,000 bets placed" in text


def test_the_final_frame_highlights_the_limit_that_stopped_the_run() -> None:
    snap = replace(view().snapshot, submitted=40, bets=40, profit=Decimal("-10.00000000"),
                   balance=Decimal("90.00000000"),
                   stop_reason=StopReason(kind=StopKind.STOP_LOSS, detail="lost 10.00000000 DOGE"))
    limits = Limits(max_bets=3000, max_duration=3600.0, stop_loss=Decimal("10.00000000"))
    console = Console(file=io.StringIO(), record=True, force_terminal=True, width=120, color_system="standard")
    summary = build_summary(snap, elapsed=1.0, concurrency=1, strategy="flat", backend="simulator", seed_pairs=[])
    console.print(render(view(snapshot=snap, elapsed=1.0), limits, title="t", width=120, rate=40.0, elapsed=1.0,
                         summary=summary))
    styled = console.export_text(styles=True)
    lines = {name: next(line for line in styled.splitlines() if name in line)
             for name in ("stop_loss", "max_bets", "max_duration")}
    assert "\x1b[1;36mstop_loss" in lines["stop_loss"]  # bold cyan: the limit that stopped the run
    assert "\x1b[1;36m" not in lines["max_bets"]
    assert "\x1b[1;36m" not in lines["max_duration"]


def test_seeds_are_printed_whole_on_one_line_at_80_columns() -> None:
    session = make_session()
    seed_hash = "ab" * 32
    summary = build_summary(session.snapshot(), elapsed=1.0, concurrency=1, strategy="flat", backend="simulator",
                            seed_pairs=[{"server_seed_hash": seed_hash, "server_seed": "cd" * 32,
                                         "client_seed": "0fa6269307617b0e", "first_nonce": 0}])
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_summary(console, summary)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"server seed hash: {seed_hash}\n" in text  # soft-wrapped by the terminal, copied whole
    assert f"server seed: {'cd' * 32}\n" in text
    assert "profit             │ +0.00000000 DOGE" in text


def test_log_lines_go_above_the_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the dashboard is up, a log line is printed by rich's console (above the panel), not written to
    the stderr there was when logging was configured (behind rich's back, across the panel)."""
    stderr_at_configuration = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr_at_configuration)
    configure_logging(LogFormat.JSON, "info")
    try:
        screen = io.StringIO()  # what the dashboard's console draws on
        console = Console(file=screen, force_terminal=True, width=80, color_system=None)
        dashboard = Dashboard(console, view, limits=Limits(), title="t", clock=lambda: 0.0)
        with dashboard.live():
            dashboard.draw()
            structlog.get_logger("betbot").info("engine.draining", in_flight=5)
            dashboard.draw()
        assert sys.stderr is stderr_at_configuration
        structlog.get_logger("betbot").info("after.the.dashboard")
    finally:
        structlog.reset_defaults()
    drawn = screen.getvalue()
    assert '"event": "engine.draining"' in drawn
    line = next(line for line in drawn.splitlines() if "engine.draining" in line)
    assert "│" not in line  # a line of its own, not inside the panel
    assert "engine.draining" not in stderr_at_configuration.getvalue()
    assert "after.the.dashboard" in stderr_at_configuration.getvalue()  # and back to stderr afterwards
