"""What a person watching sees: a rich live dashboard on a terminal, progress lines otherwise.

Theory of operation. The dashboard reads the run through `view_of` (a frozen `RunView`) a few times a second
from its own task; it never touches session state and costs the hot path nothing. The caller opens it
(`Dashboard.live()`) around the run, runs `Dashboard.run` as a task, and after the engine has returned draws
the final frame from the very snapshot the summary is built from (`Dashboard.finish`): the last thing on
screen agrees with the summary below it, figure for figure, because both are formatted by
`betbot.observe.summary`'s helpers.

While the dashboard is up, rich's `Live` redirects `sys.stderr`, and the logs write to whatever `sys.stderr`
is (`betbot.observe.logs`): log lines appear above the panel rather than across it.

Progress: each limit that can end the run gets a bar (bets placed of max_bets, time of max_duration, the
loss of the stop-loss, the way to take-profit or down to min-balance). The binding one is the first that
will be reached: the earlier ETA of bets and duration (a rate, so a float), else the fullest bar.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import anyio
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from betbot.core.money import money_text
from betbot.core.session import Limits
from betbot.observe.summary import elapsed_text, rate_text, streaks_text, summary_rows
from betbot.observe.view import RunView

__all__ = ["SPARK_WINDOW", "Dashboard", "Progress", "limit_progress", "progress_lines", "render", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"
REFRESH: Final = 0.25  # seconds between frames
SPARK_WINDOW: Final = 15.0  # seconds of balance the sparkline shows
_WIDE: Final = 130  # from this many columns, figures go two pairs to a row (each pair has room for its widest text)
_FRAME: Final = 4  # the panel's border and padding, in columns
STOP_HINT: Final = "Ctrl-C drains the bets in flight and stops; a second Ctrl-C stops at once"


def sparkline(values: list[Decimal]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        return _BARS[3] * len(values)
    top = len(_BARS) - 1
    return "".join(_BARS[int((v - low) / span * top)] for v in values)


def eta_text(seconds: float) -> str:
    """Time to go: whole seconds are precise enough for an estimate."""
    if seconds < 1:
        return "< 1 s"
    return f"{seconds:.0f} s" if seconds < 60 else elapsed_text(seconds)


class _Rate:
    """Bets per second over the last few samples (a rate: float is fine)."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=8)

    def update(self, now: float, bets: int) -> float:
        self._samples.append((now, bets))
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the run is toward one limit."""

    limit: str  # max_bets, max_duration, stop_loss, take_profit, min_balance
    fraction: float  # 0..1
    text: str
    eta: float | None  # seconds until it is reached, when that can be told


def limit_progress(view: RunView, limits: Limits, *, rate: float, session_elapsed: float) -> list[Progress]:
    """Progress toward each limit that is set; `session_elapsed` counts from the session's first start
    (as max_duration does), `rate` is bets per second now."""
    snap = view.snapshot
    cur = snap.currency
    found: list[Progress] = []
    if limits.max_bets is not None:
        done = min(snap.submitted, limits.max_bets)
        left = limits.max_bets - done
        eta = 0.0 if left == 0 else (left / rate if rate > 0 else None)
        found.append(Progress("max_bets", done / limits.max_bets, f"{done:,} of {limits.max_bets:,} bets placed", eta))
    if limits.max_duration is not None:
        spent = min(session_elapsed, limits.max_duration)
        found.append(Progress("max_duration", spent / limits.max_duration if limits.max_duration else 1.0,
                              f"{elapsed_text(spent)} of {elapsed_text(limits.max_duration)}",
                              limits.max_duration - spent))
    if limits.stop_loss is not None and limits.stop_loss > 0:
        lost = max(-snap.profit, Decimal(0))
        found.append(Progress("stop_loss", float(min(lost / limits.stop_loss, Decimal(1))),
                              f"lost {money_text(lost)} of {money_text(limits.stop_loss)} {cur}", None))
    if limits.take_profit is not None and limits.take_profit > 0:
        won = max(snap.profit, Decimal(0))
        found.append(Progress("take_profit", float(min(won / limits.take_profit, Decimal(1))),
                              f"won {money_text(won)} of {money_text(limits.take_profit)} {cur}", None))
    if limits.min_balance is not None and snap.starting_balance > limits.min_balance:
        room = snap.starting_balance - limits.min_balance
        used = min(max(snap.starting_balance - snap.balance, Decimal(0)), room)
        found.append(Progress("min_balance", float(used / room),
                              f"balance {money_text(snap.balance)}, floor {money_text(limits.min_balance)} {cur}",
                              None))
    return found


def binding(progress: list[Progress]) -> Progress | None:
    """The limit that will end the run first, as far as can be told."""
    timed = [p for p in progress if p.eta is not None]
    if timed:
        return min(timed, key=lambda p: p.eta if p.eta is not None else 0.0)
    return max(progress, key=lambda p: p.fraction, default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Frame:
    """What one frame shows besides the view: figures that differ between live frames and the final one."""

    rate: float | None  # bets per second: the current rate live, the average in the final frame
    rate_label: str
    elapsed: float
    history: list[Decimal]
    final: bool = False


def render(view: RunView, limits: Limits, *, title: str, width: int, rate: float | None, elapsed: float,
           session_elapsed: float | None = None, history: list[Decimal] | None = None,
           summary: dict[str, Any] | None = None) -> Panel:
    """One frame. With `summary`: the final frame, whose figures are the summary's own texts."""
    frame = _Frame(rate=rate, rate_label="bets/s" if summary is None else "bets/s (average)",
                   elapsed=elapsed, history=history or [], final=summary is not None)
    return _panel(view, limits, frame, title=title, width=width,
                  session_elapsed=elapsed if session_elapsed is None else session_elapsed, summary=summary)


def _figures(view: RunView, frame: _Frame, summary: dict[str, Any] | None) -> list[tuple[str, RenderableType]]:
    snap = view.snapshot
    cur = snap.currency
    if summary is not None:
        texts = dict(summary_rows(summary))
        bets, profit, wagered = texts["bets"], texts["profit"], texts["wagered"]
        drawdown, luck = texts["max drawdown"], texts["luck"]
        balance = f"{summary['balance']} {cur}"
        streaks = texts["longest streaks"]
    else:
        bets = f"{snap.bets:,} settled ({snap.wins:,} won, {snap.losses:,} lost)"
        profit = f"{money_text(snap.profit, sign=True)} {cur}"
        wagered = f"{money_text(snap.wagered)} {cur}"
        drawdown = f"{money_text(snap.max_drawdown)} {cur}"
        luck = "-" if snap.luck is None else f"{snap.luck:.2f} %"
        balance = f"{money_text(snap.balance)} {cur}"
        streaks = streaks_text(snap.longest_win_streak, snap.longest_loss_streak)
    streak = f"+{snap.streak}" if snap.streak > 0 else str(snap.streak)
    rate = rate_text(frame.rate) if frame.final else ("-" if frame.rate is None else f"{frame.rate:,.0f}")
    return [
        ("balance", balance),
        ("profit", Text(profit, style="green" if snap.profit >= 0 else "red")),
        ("bets", bets),
        (frame.rate_label, rate),
        ("wagered", wagered),
        ("luck", luck),
        ("streak", f"{streak} now; longest {streaks}"),
        ("max drawdown", drawdown),
        ("in flight", f"{snap.in_flight} of {_in_flight_limit(view)}, {view.buffered} waiting to be released in order"),
        *([("concurrency", f"auto: {view.in_flight_limit} now (cap {view.concurrency}), last change: "
                           f"{view.pace_reason}")] if view.in_flight_limit is not None else []),
        ("exposure", f"{money_text(snap.exposure)} {cur}"),
        *([("back-offs", f"{view.backoff_trips:,} ({view.retries:,} bets sent again)")]
          if view.backoff_trips or view.retries else []),
        *([("site's rate", f"{view.learned_rate:,.1f} bets/s, learned from its 429s")]
          if view.learned_rate is not None else []),
    ]


def _in_flight_limit(view: RunView) -> int:
    """The fixed concurrency, or `-n auto`'s current limit (its cap and last change have a row of their own:
    in one row they were cut at 80 columns)."""
    return view.concurrency if view.in_flight_limit is None else view.in_flight_limit


def _figure_table(figures: list[tuple[str, RenderableType]], width: int) -> Table:
    pairs = 2 if width >= _WIDE else 1
    table = Table.grid(padding=(0, 2), expand=True)
    for _ in range(pairs):
        table.add_column(style="bold", no_wrap=True)
        # A value never wraps (the panel's height would jump from frame to frame): cut, with a marker.
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    for start in range(0, len(figures), pairs):
        cells: list[RenderableType] = []
        for label, value in figures[start:start + pairs]:
            cells.extend((label, value))
        table.add_row(*cells)
    return table


def _progress(view: RunView, limits: Limits, frame: _Frame, session_elapsed: float) -> Group:
    """The time line (elapsed, and the ETA of the binding limit), then a bar per limit."""
    rate = frame.rate or 0.0
    found = limit_progress(view, limits, rate=rate, session_elapsed=session_elapsed)
    first = _stopped_by(found, view) or binding(found)
    timing = Text.assemble(("elapsed ", "bold"), elapsed_text(frame.elapsed))
    if first is not None and not frame.final:
        if first.eta is not None:
            timing.append_text(Text.assemble(", ", ("ETA ", "bold"), f"{eta_text(first.eta)} ({first.limit})"))
        else:
            timing.append(f", {first.limit} nearest")
    elif first is None and not frame.final:
        timing.append(", no limit: runs until stopped")
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    table.add_column(no_wrap=True)
    for item in found:  # the limit that stopped the run, or binds first, stands out; the others are dim
        style = "cyan" if item is first else "bright_black"
        label = Text(item.limit, style="bold cyan" if item is first else "dim")
        table.add_row(label, ProgressBar(total=1.0, completed=item.fraction, complete_style=style,
                                         finished_style=style), f"{item.fraction:4.0%}  {item.text}")
    return Group(timing, table) if found else Group(timing)


def _stopped_by(found: list[Progress], view: RunView) -> Progress | None:
    """The bar of the limit that stopped the run, if a bar's limit did."""
    reason = view.snapshot.stop_reason
    kind = reason.kind.value if reason is not None else None
    return next((item for item in found if item.limit == kind), None)


def _spark(history: list[Decimal], width: int) -> Text:
    """The balance sparkline, as many of the latest values as fit on one line of the panel."""
    low, high = min(history), max(history)
    span = f"  {money_text(low)} .. {money_text(high)}"
    room = width - _FRAME - len("balance, last 15 s ")
    if room - len(span) < 10:
        span = ""  # a narrow terminal: the line itself says more than the range
    shown = history[-max(1, room - len(span)):]
    seconds = min(len(shown) * REFRESH, SPARK_WINDOW)
    return Text.assemble(("balance, last ", "bold"), (f"{seconds:.0f} s ", "bold"), (sparkline(shown), "cyan"), span)


def _panel(view: RunView, limits: Limits, frame: _Frame, *, title: str, width: int, session_elapsed: float,
           summary: dict[str, Any] | None) -> Panel:
    snap = view.snapshot
    lines: list[RenderableType] = [_figure_table(_figures(view, frame, summary), width),
                                   _progress(view, limits, frame, session_elapsed)]
    if frame.history:
        lines.append(_spark(frame.history, width))
    if view.backing_off and not frame.final:
        lines.append(Text(f"BACKING OFF {view.backoff_remaining:.1f} s: {view.backoff_reason}", style="bold yellow"))
    if snap.stop_reason is not None:
        what = "stopped" if frame.final else "stopping"
        lines.append(Text(f"{what}: {snap.stop_reason}", style="yellow"))
        if not frame.final and snap.in_flight:
            bets = "1 bet" if snap.in_flight == 1 else f"{snap.in_flight} bets"
            lines.append(Text(f"draining {bets} in flight; a second Ctrl-C stops at once",
                              style="dim"))
    elif not frame.final:
        lines.append(Text(STOP_HINT, style="dim"))
    return Panel(Group(*lines), title=title, title_align="left", width=width)


@contextmanager
def _no_echo() -> Iterator[None]:
    """The terminal does not echo keys (Ctrl-C's `^C` above all) while the dashboard is drawn: an echo moves
    the cursor behind rich's back, and the next redraw would leave a torn copy of the panel above itself."""
    try:
        import termios  # noqa: PLC0415 - POSIX only
    except ImportError:
        yield
        return
    try:
        fd = sys.stdin.fileno()
        # Only in the foreground: a background process changing the terminal is stopped by SIGTTOU.
        foreground = os.tcgetpgrp(fd) == os.getpgrp()
        before = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError, AttributeError):  # no terminal on stdin
        yield
        return
    if not foreground:
        yield
        return
    quiet = list(before)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


class Dashboard:
    """The live dashboard of one run on `console` (a terminal)."""

    def __init__(self, console: Console, look: Callable[[], RunView], *, limits: Limits, title: str,
                 clock: Callable[[], float], session_offset: float = 0.0, refresh: float = REFRESH) -> None:
        self.console = console
        self._look = look
        self.limits = limits
        self.title = title
        self._clock = clock
        self._offset = session_offset  # seconds the session had run before this run (a resume)
        self.refresh = refresh
        self._history: deque[Decimal] = deque(maxlen=max(1, round(SPARK_WINDOW / refresh)))
        self._rate = _Rate()
        self._live: Live | None = None
        self.frames = 0

    @contextmanager
    def live(self) -> Iterator[Dashboard]:
        """The dashboard on screen; stderr (and so the logs) goes above it meanwhile."""
        live = Live(console=self.console, auto_refresh=False, transient=True, redirect_stderr=True,
                    redirect_stdout=False, vertical_overflow="visible")
        with _no_echo(), live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None

    def frame(self) -> Panel:
        view = self._look()
        self._history.append(view.snapshot.balance)
        rate = self._rate.update(self._clock(), view.snapshot.bets)
        return render(view, self.limits, title=self.title, width=self.console.width, rate=rate,
                      elapsed=view.elapsed, session_elapsed=self._offset + view.elapsed, history=list(self._history))

    def draw(self) -> None:
        if self._live is not None:
            self._live.update(self.frame(), refresh=True)
            self.frames += 1

    async def run(self) -> None:
        """Redraw every `refresh` seconds until cancelled."""
        while True:
            self.draw()
            await anyio.sleep(self.refresh)

    def finish(self, view: RunView, summary: dict[str, Any]) -> Panel:
        """The final frame, from the snapshot the summary was built from, with the summary's figures."""
        self._history.append(view.snapshot.balance)  # the sparkline ends where the session did
        panel = render(view, self.limits, title=self.title, width=self.console.width,
                       rate=summary["bets_per_second"], elapsed=summary["elapsed_seconds"],
                       session_elapsed=self._offset + summary["elapsed_seconds"], history=list(self._history),
                       summary=summary)
        if self._live is not None:
            self._live.update(panel, refresh=True)
            self.frames += 1
        return panel


async def progress_lines(look: Callable[[], RunView], clock: Callable[[], float], log: Any,
                         every: float = 10.0) -> None:
    """Without a terminal: one structured progress event every `every` seconds."""
    rate = _Rate()
    rate.update(clock(), look().snapshot.bets)
    while True:
        await anyio.sleep(every)
        view = look()
        snap = view.snapshot
        log.info(
            "progress", bets=snap.bets, balance=money_text(snap.balance), profit=money_text(snap.profit),
            in_flight=snap.in_flight, bets_per_second=round(rate.update(clock(), snap.bets), 1),
            backing_off=view.backing_off,
        )
