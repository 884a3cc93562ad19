"""What a person watching sees: a rich live dashboard on a terminal, progress lines otherwise.

The dashboard reads the session's snapshot a few times a second from its own task; it never
touches session state, and costs the hot path nothing.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

import anyio
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from betbot.engine.loop import Engine

__all__ = ["dashboard", "progress_lines", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[Decimal]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        return _BARS[3] * len(values)
    top = len(_BARS) - 1
    return "".join(_BARS[int((v - low) / span * top)] for v in values)


class _Rate:
    """Bets per second over the last few samples (a rate: float is fine)."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=8)

    def update(self, now: float, bets: int) -> float:
        self._samples.append((now, bets))
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def _render(engine: Engine, history: deque[Decimal], rate: float) -> Panel:
    snap = engine.session.snapshot()
    cur = snap.currency
    table = Table.grid(padding=(0, 2))
    for _ in range(4):
        table.add_column()
    profit_style = "green" if snap.profit >= 0 else "red"
    table.add_row("balance", f"{snap.balance} {cur}", "profit", Text(f"{snap.profit:+} {cur}", style=profit_style))
    table.add_row("bets", f"{snap.bets:,}", "bets/s", f"{rate:,.0f}")
    table.add_row("wins / losses", f"{snap.wins:,} / {snap.losses:,}", "wagered", f"{snap.wagered} {cur}")
    streak = f"+{snap.streak}" if snap.streak > 0 else str(snap.streak)
    table.add_row("streak", streak, "longest", f"{snap.longest_win_streak} W / {snap.longest_loss_streak} L")
    table.add_row("in flight", f"{snap.in_flight} of {engine.concurrency}", "reorder buffer", str(engine.buffer.depth))
    table.add_row("exposure", f"{snap.exposure} {cur}", "max drawdown", f"{snap.max_drawdown} {cur}")
    if engine.backoff.active:
        table.add_row("BACKING OFF", f"{engine.backoff.remaining:.1f}s", "why", engine.backoff.reason)
    lines: list[Any] = [table, Text(sparkline(list(history)), style="cyan")]
    if snap.stop_reason is not None:
        lines.append(Text(f"stopping: {snap.stop_reason}", style="yellow"))
    return Panel(Group(*lines), title=f"betbot · {engine.strategy.name} · {engine.backend.name}")


async def dashboard(engine: Engine, console: Console, refresh: float = 0.25) -> None:
    """Runs until cancelled; the caller cancels it when the engine finishes."""
    history: deque[Decimal] = deque(maxlen=60)
    rate = _Rate()
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while True:
            snap_bets = engine.session.bets
            history.append(engine.session.balance)
            live.update(_render(engine, history, rate.update(engine.clock(), snap_bets)), refresh=True)
            await anyio.sleep(refresh)


async def progress_lines(engine: Engine, log: Any, every: float = 10.0) -> None:
    """Without a terminal: one structured progress event every `every` seconds."""
    rate = _Rate()
    rate.update(engine.clock(), 0)
    while True:
        await anyio.sleep(every)
        snap = engine.session.snapshot()
        log.info(
            "progress", bets=snap.bets, balance=str(snap.balance), profit=str(snap.profit),
            in_flight=snap.in_flight, bets_per_second=round(rate.update(engine.clock(), snap.bets), 1),
            backing_off=engine.backoff.active,
        )
