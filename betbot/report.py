"""A session's report from the journal: its statistics and its balance curve, as a table, a self-contained
HTML page (inline SVG, no script, nothing fetched) and, with the optional matplotlib, a PNG.

One pass over the bets in seq order, in constant memory whatever their number: the statistics are running
sums, and the curve keeps, for each of at most `MAX_BUCKETS` runs of consecutive bets, the balance at its
start and end and its low and high (in the order they came), so a spike survives the downsampling.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from betbot.atomicfile import atomic_write
from betbot.journal import BetStatus, Journal
from betbot.journal.records import SessionRecord, micros_to_datetime
from betbot.journal.schema import BET_COLUMNS

__all__ = ["MAX_BUCKETS", "PlotUnavailable", "Report", "build_report", "write_html", "write_png"]

MAX_BUCKETS: Final = 2000
ZERO = Decimal(0)


class PlotUnavailable(RuntimeError):
    """The PNG needs matplotlib, an optional extra."""


@dataclass(slots=True)
class _Bucket:
    first: Decimal
    low: Decimal
    high: Decimal
    last: Decimal
    low_first: bool = True  # the low came before the high

    def add(self, balance: Decimal) -> None:
        if balance < self.low:
            self.low, self.low_first = balance, False
        if balance > self.high:
            self.high, self.low_first = balance, True
        self.last = balance

    def points(self) -> list[Decimal]:
        """The balances to draw, in the order they happened."""
        middle = [self.low, self.high] if self.low_first else [self.high, self.low]
        return [self.first, *middle, self.last]


@dataclass(slots=True, kw_only=True)
class Report:
    session: SessionRecord
    bets: int = 0  # bets that ran (settled, or reconciled as run)
    wins: int = 0
    losses: int = 0
    refused: int = 0
    unresolved: int = 0  # pending or unknown
    reconciled: int = 0
    profit: Decimal = ZERO
    wagered: Decimal = ZERO
    final_balance: Decimal = ZERO
    largest_bet: Decimal = ZERO
    largest_win: Decimal = ZERO
    largest_loss: Decimal = ZERO
    longest_win_streak: int = 0
    longest_loss_streak: int = 0
    max_drawdown: Decimal = ZERO
    expected_wins: Decimal = ZERO  # the sum of the chances, for luck
    latency_ms_total: float = 0.0
    latency_count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    curve: list[_Bucket] = field(default_factory=list)

    @property
    def luck_percent(self) -> float | None:
        return None if not self.expected_wins else float(self.wins / self.expected_wins * 100)

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms_total / self.latency_count if self.latency_count else None

    def rows(self) -> list[tuple[str, str]]:
        """The statistics, for people."""
        cur = self.session.currency
        luck, latency = self.luck_percent, self.mean_latency_ms
        span = "-" if self.first_at is None or self.last_at is None else f"{self.last_at - self.first_at}"
        return [
            ("session", f"{self.session.id}: {self.session.strategy} on {self.session.backend}"),
            ("stop reason", self.session.stop_reason or ("unfinished" if not self.session.finished else "-")),
            ("bets", f"{self.bets} ({self.wins} won, {self.losses} lost)"),
            ("refused / reconciled / unresolved", f"{self.refused} / {self.reconciled} / {self.unresolved}"),
            ("win rate", "-" if not self.bets else f"{self.wins / self.bets:.2%}"),
            ("luck", "-" if luck is None else f"{luck:.2f} %"),
            ("profit", f"{self.profit} {cur}"),
            ("balance", f"{self.final_balance} {cur} (started {self.session.starting_balance})"),
            ("wagered", f"{self.wagered} {cur}"),
            ("largest bet / win / loss", f"{self.largest_bet} / {self.largest_win} / {self.largest_loss} {cur}"),
            ("longest streaks", f"{self.longest_win_streak} wins, {self.longest_loss_streak} losses"),
            ("max drawdown", f"{self.max_drawdown} {cur}"),
            ("mean latency", "-" if latency is None else f"{latency:.1f} ms"),
            ("first bet to last", span),
        ]

    def curve_points(self) -> list[Decimal]:
        return [self.session.starting_balance] + [p for bucket in self.curve for p in bucket.points()]


def build_report(journal: Journal, session_id: int) -> Report:
    """The report of one session (UnknownSession if there is none)."""
    session = journal.session(session_id)
    return summarize(session, journal.bet_rows(session_id), total=session.journaled)


_COLUMN = {name: index for index, name in enumerate(BET_COLUMNS)}
_DECIDED, _STATUS, _AMOUNT, _CHANCE = _COLUMN["decided_at"], _COLUMN["status"], _COLUMN["amount"], _COLUMN["chance"]
_WIN, _PROFIT, _LATENCY = _COLUMN["win"], _COLUMN["profit"], _COLUMN["latency_ms"]


def summarize(session: SessionRecord, rows: Iterable[Sequence[Any]], *, total: int) -> Report:
    """One pass over the bets' raw rows (`BET_COLUMNS` order) in seq order; `total` (an upper bound of their
    number) sizes the curve's buckets. Raw rows, not BetRecords: a million of those take seconds to build."""
    report = Report(session=session, final_balance=session.starting_balance)
    per_bucket = max(1, math.ceil(total / MAX_BUCKETS))
    in_bucket = 0
    streak = 0
    peak_profit = ZERO
    first_micros = last_micros = None
    for row in rows:
        if first_micros is None:
            first_micros = row[_DECIDED]
        last_micros = row[_DECIDED]
        latency = row[_LATENCY]
        if latency is not None:
            report.latency_ms_total += latency
            report.latency_count += 1
        status = row[_STATUS]
        if status == BetStatus.REFUSED:
            report.refused += 1
            continue
        if status in (BetStatus.PENDING, BetStatus.UNKNOWN):
            report.unresolved += 1
            continue
        if status == BetStatus.RECONCILED:
            report.reconciled += 1
        if row[_PROFIT] is None:  # reconciled as not run
            continue
        profit, amount = Decimal(row[_PROFIT]), Decimal(row[_AMOUNT])
        win = bool(row[_WIN]) if row[_WIN] is not None else profit >= 0
        report.bets += 1
        report.profit += profit
        report.wagered += amount
        report.expected_wins += Decimal(row[_CHANCE]) / 100
        report.largest_bet = max(report.largest_bet, amount)
        if win:
            report.wins += 1
            streak = streak + 1 if streak > 0 else 1
            report.longest_win_streak = max(report.longest_win_streak, streak)
            report.largest_win = max(report.largest_win, profit)
            peak_profit = max(peak_profit, report.profit)
        else:
            report.losses += 1
            streak = streak - 1 if streak < 0 else -1
            report.longest_loss_streak = max(report.longest_loss_streak, -streak)
            report.largest_loss = max(report.largest_loss, amount)
            report.max_drawdown = max(report.max_drawdown, peak_profit - report.profit)
        balance = session.starting_balance + report.profit
        report.final_balance = balance
        if in_bucket == 0 or in_bucket >= per_bucket:
            report.curve.append(_Bucket(first=balance, low=balance, high=balance, last=balance))
            in_bucket = 0
        else:
            report.curve[-1].add(balance)
        in_bucket += 1
    if first_micros is not None and last_micros is not None:
        report.first_at, report.last_at = micros_to_datetime(first_micros), micros_to_datetime(last_micros)
    return report


# -- HTML ----------------------------------------------------------------------------------------------
_WIDTH, _HEIGHT, _PAD = 900, 320, 48


def _svg(points: Sequence[Decimal], currency: str) -> str:
    """The balance curve as an inline SVG polyline, with its low, high and start marked on the axis."""
    low, high = min(points), max(points)
    span = (high - low) or Decimal(1)
    steps = max(1, len(points) - 1)
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD

    def xy(index: int, value: Decimal) -> str:
        x = _PAD + inner_w * index / steps
        y = _PAD + float((high - value) / span) * inner_h
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(i, value) for i, value in enumerate(points))
    start_y = xy(0, points[0]).split(",")[1]
    labels = [
        f'<text x="4" y="{_PAD + 4}" class="axis">{html.escape(f"{high} {currency}")}</text>',
        f'<text x="4" y="{_HEIGHT - _PAD + 4}" class="axis">{html.escape(f"{low} {currency}")}</text>',
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="balance curve">'
        f'<rect x="{_PAD}" y="{_PAD}" width="{inner_w}" height="{inner_h}" class="frame"/>'
        f'<line x1="{_PAD}" y1="{start_y}" x2="{_WIDTH - _PAD}" y2="{start_y}" class="start"/>'
        f'<polyline points="{line}" class="curve"/>'
        + "".join(labels)
        + "</svg>"
    )


_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-top: 1rem; }
td { padding: 0.2rem 1rem 0.2rem 0; border-bottom: 1px solid #eee; }
td:first-child { font-weight: 600; }
svg { width: 100%; max-width: 900px; height: auto; }
.frame { fill: #fafafa; stroke: #ccc; }
.start { stroke: #999; stroke-dasharray: 4 4; }
.curve { fill: none; stroke: #1f6feb; stroke-width: 1.2; }
.axis { font-size: 12px; fill: #555; }
"""


def render_html(report: Report) -> str:
    session = report.session
    title = f"betbot session {session.id}: {session.strategy} on {session.backend}, {session.currency}"
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in report.rows())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Balance after each bet, started {html.escape(f'{session.started_at:%Y-%m-%d %H:%M} UTC')}; "
        "the dashed line is the starting balance.</p>"
        f"{_svg(report.curve_points(), session.currency)}<table>{rows}</table></body></html>\n"
    )


def write_html(report: Report, path: Path) -> None:
    with atomic_write(path, make_parents=False) as out:
        out.write(render_html(report))


# -- PNG -------------------------------------------------------------------------------------------------
def write_png(report: Report, path: Path) -> None:
    """The balance curve as a PNG. Raises PlotUnavailable without matplotlib."""
    try:
        import matplotlib as mpl  # noqa: PLC0415 - an optional extra, loaded only for a PNG

        mpl.use("Agg")  # no display needed
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError:
        raise PlotUnavailable(
            "a PNG needs matplotlib: pip install 'betbot-duckdice[report]' (or use --html)"
        ) from None
    points = [float(p) for p in report.curve_points()]
    figure = Figure(figsize=(9, 3.6), dpi=100)
    axes: Any = figure.add_subplot()
    axes.plot(range(len(points)), points, linewidth=1.0, color="#1f6feb")
    axes.axhline(points[0], color="#999", linestyle="--", linewidth=0.8)
    session = report.session
    axes.set_title(f"session {session.id}: {session.strategy} on {session.backend}")
    axes.set_ylabel(session.currency)
    axes.set_xticks([])
    figure.tight_layout()
    with atomic_write(path, "wb", make_parents=False) as out:
        figure.savefig(out, format="png")
