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
from datetime import datetime, timedelta
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
    start: int  # the bets that ran before this run of them
    first: Decimal
    low: Decimal
    high: Decimal
    last: Decimal
    count: int = 1
    low_first: bool = True  # the low came before the high

    def add(self, balance: Decimal) -> None:
        if balance < self.low:
            self.low, self.low_first = balance, False
        if balance > self.high:
            self.high, self.low_first = balance, True
        self.last = balance
        self.count += 1

    def points(self) -> list[tuple[float, Decimal]]:
        """(bet number, balance) to draw, in the order they happened. The low and the high are placed
        between the first and the last bet: where exactly inside the run is not kept, their order is."""
        begin = float(self.start + 1)
        if self.count == 1:
            return [(begin, self.first)]
        end, third = float(self.start + self.count), (self.count - 1) / 3
        middle = [self.low, self.high] if self.low_first else [self.high, self.low]
        points = [(begin + third, middle[0]), (begin + 2 * third, middle[1])]
        # A low or high that is the run's first or last balance adds only a flat step; drop it.
        if points[-1][1] == self.last:
            points.pop()
        if points and points[0][1] == self.first:
            points.pop(0)
        return [(begin, self.first), *points, (end, self.last)]

    def merge(self, later: _Bucket) -> None:
        """Take in the run of bets just after this one. Exact: on a tie the earlier low or high stays."""
        low_here, high_here = self.low <= later.low, self.high >= later.high
        if low_here and high_here:
            low_first = self.low_first
        elif not low_here and not high_here:
            low_first = later.low_first
        else:
            low_first = low_here  # one in each run: the one here came first
        self.low, self.high = min(self.low, later.low), max(self.high, later.high)
        self.low_first, self.last, self.count = low_first, later.last, self.count + later.count


def _halve(curve: list[_Bucket]) -> list[_Bucket]:
    """Every two neighbouring runs of bets become one."""
    for first, second in zip(curve[::2], curve[1::2], strict=False):
        first.merge(second)
    return curve[::2]


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
        span = "-" if self.first_at is None or self.last_at is None else _duration(self.last_at - self.first_at)
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

    def curve_points(self) -> list[tuple[float, Decimal]]:
        """The downsampled balance curve: (bets run so far, balance), from (0, the starting balance)."""
        return [(0.0, self.session.starting_balance), *(p for bucket in self.curve for p in bucket.points())]


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds:.3f} s" if seconds < 60 else str(timedelta(seconds=round(seconds)))


def build_report(journal: Journal, session_id: int) -> Report:
    """The report of one session (UnknownSession if there is none)."""
    session = journal.session(session_id)
    return summarize(session, journal.bet_rows(session_id), total=session.journaled)


_COLUMN = {name: index for index, name in enumerate(BET_COLUMNS)}
_DECIDED, _STATUS, _AMOUNT, _CHANCE = _COLUMN["decided_at"], _COLUMN["status"], _COLUMN["amount"], _COLUMN["chance"]
_WIN, _PROFIT, _LATENCY = _COLUMN["win"], _COLUMN["profit"], _COLUMN["latency_ms"]


def summarize(session: SessionRecord, rows: Iterable[Sequence[Any]], *, total: int = 0) -> Report:
    """One pass over the bets' raw rows (`BET_COLUMNS` order) in seq order.

    `total`, about how many rows there are, sizes the curve's runs of bets up front; if more come (or no
    `total` is given), neighbouring runs merge pairwise whenever there are `MAX_BUCKETS`, so the curve stays
    bounded whatever the count, and each run still holds its true low and high.

    Written for a million rows in seconds: raw rows, not BetRecords (building those costs more than the
    rest); locals, not attributes, in the loop; the texts of repeated amounts, chances and profits (most
    strategies repeat a few) turned into Decimals once; the chances summed and divided by 100 once."""
    start = session.starting_balance
    per_bucket = max(1, math.ceil(total / MAX_BUCKETS))
    curve: list[_Bucket] = []
    in_bucket = 0
    bets = wins = refused = unresolved = reconciled = 0
    streak = longest_win = longest_loss = 0  # streak: > 0 wins in a row, < 0 losses in a row
    profit = wagered = chances = peak = drawdown = largest_bet = largest_win = largest_loss = ZERO
    latency_total, latency_count = 0.0, 0
    first_micros = last_micros = None
    decimals: dict[str, Decimal] = {}
    # Plain strs: the rows hold those, and str == str is quicker than with an enum member.
    settled, refused_status = BetStatus.SETTLED.value, BetStatus.REFUSED.value
    unresolved_statuses = (BetStatus.PENDING.value, BetStatus.UNKNOWN.value)
    for row in rows:
        if first_micros is None:
            first_micros = row[_DECIDED]
        last_micros = row[_DECIDED]
        latency = row[_LATENCY]
        if latency is not None:
            latency_total += latency
            latency_count += 1
        status = row[_STATUS]
        if status != settled:
            if status == refused_status:
                refused += 1
                continue
            if status in unresolved_statuses:
                unresolved += 1
                continue
            reconciled += 1
        profit_text = row[_PROFIT]
        if profit_text is None:  # reconciled as not run
            continue
        bet_profit = decimals.get(profit_text)
        if bet_profit is None:
            bet_profit = _remember(decimals, profit_text)
        amount = decimals.get(row[_AMOUNT])
        if amount is None:
            amount = _remember(decimals, row[_AMOUNT])
        chance = decimals.get(row[_CHANCE])
        if chance is None:
            chance = _remember(decimals, row[_CHANCE])
        win = row[_WIN]
        if win is None:
            win = bet_profit >= 0
        bets += 1
        profit += bet_profit
        wagered += amount
        chances += chance
        largest_bet = max(largest_bet, amount)
        if win:
            wins += 1
            streak = streak + 1 if streak > 0 else 1
            longest_win = max(longest_win, streak)
            largest_win = max(largest_win, bet_profit)
            peak = max(peak, profit)
        else:
            streak = streak - 1 if streak < 0 else -1
            longest_loss = max(longest_loss, -streak)
            largest_loss = max(largest_loss, amount)
            drawdown = max(drawdown, peak - profit)
        balance = start + profit
        if in_bucket < per_bucket and curve:
            curve[-1].add(balance)
            in_bucket += 1
        else:
            if len(curve) >= MAX_BUCKETS:  # every run is full here, so the merged ones are too
                curve = _halve(curve)
                per_bucket *= 2
            curve.append(_Bucket(start=bets - 1, first=balance, low=balance, high=balance, last=balance))
            in_bucket = 1
    return Report(
        session=session, bets=bets, wins=wins, losses=bets - wins, refused=refused, unresolved=unresolved,
        reconciled=reconciled, profit=profit, wagered=wagered, final_balance=start + profit,
        largest_bet=largest_bet, largest_win=largest_win, largest_loss=largest_loss,
        longest_win_streak=longest_win, longest_loss_streak=longest_loss, max_drawdown=drawdown,
        expected_wins=chances / 100, latency_ms_total=latency_total, latency_count=latency_count,
        first_at=None if first_micros is None else micros_to_datetime(first_micros),
        last_at=None if last_micros is None else micros_to_datetime(last_micros),
        curve=curve,
    )


_DECIMALS_KEPT: Final = 4096  # distinct texts remembered: a progression's few stakes, not every balance


def _remember(decimals: dict[str, Decimal], text: str) -> Decimal:
    value = Decimal(text)
    if len(decimals) < _DECIMALS_KEPT:
        decimals[text] = value
    return value


# -- HTML ----------------------------------------------------------------------------------------------
# The frame of the plot inside the picture; the left margin holds the balance labels.
_WIDTH, _HEIGHT = 960, 340
_LEFT, _RIGHT, _TOP, _BOTTOM = 170, 20, 20, 40


def _text(x: float, y: float, text: str, anchor: str = "end") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="axis">{html.escape(text)}</text>'


def _svg(points: Sequence[tuple[float, Decimal]], currency: str) -> str:
    """The balance curve as an inline SVG polyline: the low, the high and the starting balance labelled on
    the left, bet numbers below, the starting balance dashed. No xmlns: inline SVG in HTML needs none."""
    low, high = min(p[1] for p in points), max(p[1] for p in points)
    span = (high - low) or Decimal(1)
    last_x = max(points[-1][0], 1.0)
    inner_w, inner_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM

    def x_of(bet: float) -> float:
        return _LEFT + inner_w * bet / last_x

    def y_of(value: Decimal) -> float:
        return _TOP + float((high - value) / span) * inner_h

    line = " ".join(f"{x_of(x):.1f},{y_of(v):.1f}" for x, v in points)
    start_y, bottom = y_of(points[0][1]), _TOP + inner_h
    labels = [_text(_LEFT - 6, _TOP + 4, f"{high} {currency}"), _text(_LEFT - 6, bottom + 4, f"{low} {currency}")]
    if min(start_y - _TOP, bottom - start_y) > 14:  # else it would sit on the high or low label
        labels.append(_text(_LEFT - 6, start_y + 4, f"{points[0][1]} {currency}"))
    bets = int(last_x)
    labels += [_text(_LEFT, bottom + 18, "bet 0", "start"), _text(_WIDTH - _RIGHT, bottom + 18, f"bet {bets:,}")]
    if bets >= 4:
        labels.append(_text(x_of(bets // 2), bottom + 18, f"{bets // 2:,}", "middle"))
    return (
        f'<svg viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="balance curve">'
        f'<rect x="{_LEFT}" y="{_TOP}" width="{inner_w}" height="{inner_h}" class="frame"/>'
        f'<line x1="{_LEFT}" y1="{start_y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{start_y:.1f}" class="start"/>'
        f'<polyline points="{line}" class="curve"/>'
        + "".join(labels)
        + "</svg>"
    )


_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-top: 1rem; }
td { padding: 0.2rem 1rem 0.2rem 0; border-bottom: 1px solid #eee; }
td:first-child { font-weight: 600; }
svg { width: 100%; max-width: 960px; height: auto; }
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
    points = report.curve_points()
    figure = Figure(figsize=(9, 3.6), dpi=100)
    axes: Any = figure.add_subplot()
    axes.plot([x for x, _ in points], [float(v) for _, v in points], linewidth=1.0, color="#1f6feb")
    axes.axhline(float(points[0][1]), color="#999", linestyle="--", linewidth=0.8)
    session = report.session
    axes.set_title(f"session {session.id}: {session.strategy} on {session.backend}")
    axes.set_ylabel(session.currency)
    axes.set_xlabel("bets")
    axes.ticklabel_format(style="plain", useOffset=False)  # bet numbers and balances as written, no 1e6
    figure.tight_layout()
    with atomic_write(path, "wb", make_parents=False) as out:
        figure.savefig(out, format="png")
