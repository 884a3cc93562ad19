"""A session's statistics from the journal, in one pass over its bets, in memory bounded whatever their number.

Theory of operation. `summarize` reads the raw rows in seq order once. What it keeps:
- running sums and extremes (the figures of the summary table);
- the curve: for each of at most `MAX_BUCKETS` runs of consecutive bets that ran, the balance at its start
  and end, its low and high (in the order they came, so a spike survives the downsampling), the deepest
  drawdown below the running peak inside the run, the smallest and largest stake, and the times of its
  first and last bet. When the runs fill up, neighbours merge pairwise; every kept figure merges exactly;
- the streaks: how many win streaks and loss streaks of each length (a few distinct lengths);
- the profit per bet: an exact count of each distinct profit text while there are few of them (a
  progression repeats a handful of stakes), and, past `EXACT_PROFITS`, a histogram of fixed-width bins
  anchored at 0 whose width doubles whenever the bins would exceed `_BIN_SPAN` (the counts stay exact, the
  resolution halves).
Bets that did not run (refused, reconciled as not run, still unresolved) count apart and touch nothing else;
a refused bet does not break a streak.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from betbot.journal import BetStatus, Journal
from betbot.journal.export import RowWrapper, as_is
from betbot.journal.formats import latency_text, money, percent
from betbot.journal.records import SessionRecord, micros_to_datetime
from betbot.journal.schema import BET_COLUMNS

__all__ = [
    "EXACT_PROFITS",
    "MAX_BUCKETS",
    "REPORT_COLUMNS",
    "CurveRun",
    "ProfitCounts",
    "Report",
    "build_report",
    "summarize",
]

MAX_BUCKETS: Final = 2000
EXACT_PROFITS: Final = 4096  # distinct profit texts counted exactly
_BIN_SPAN: Final = 512  # at most this many bins between the lowest and the highest of the overflow histogram
ZERO = Decimal(0)


@dataclass(slots=True)
class CurveRun:
    """A run of consecutive bets that ran: what the charts draw of it."""

    start: int  # the bets that ran before this run of them
    first: Decimal
    low: Decimal
    high: Decimal
    last: Decimal
    first_micros: int
    last_micros: int
    stake_low: Decimal
    stake_high: Decimal
    drawdown: Decimal  # the deepest fall below the running peak (since the session's start) in the run
    count: int = 1
    low_first: bool = True  # the low came before the high

    def add(self, balance: Decimal, stake: Decimal, drawdown: Decimal, micros: int) -> None:
        if balance < self.low:
            self.low, self.low_first = balance, False
        if balance > self.high:
            self.high, self.low_first = balance, True
        if stake > self.stake_high:
            self.stake_high = stake
        elif stake < self.stake_low:
            self.stake_low = stake
        self.drawdown = max(self.drawdown, drawdown)
        self.last = balance
        self.last_micros = micros
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

    def micros_at(self, bet: float) -> float:
        """When bet number `bet` (of this run) was decided: exact at the ends, interpolated between."""
        if self.count == 1:
            return float(self.first_micros)
        share = (bet - (self.start + 1)) / (self.count - 1)
        return self.first_micros + share * (self.last_micros - self.first_micros)

    def merge(self, later: CurveRun) -> None:
        """Take in the run of bets just after this one. Exact: on a tie the earlier low or high stays."""
        low_here, high_here = self.low <= later.low, self.high >= later.high
        if low_here and high_here:
            low_first = self.low_first
        elif not low_here and not high_here:
            low_first = later.low_first
        else:
            low_first = low_here  # one in each run: the one here came first
        self.low, self.high = min(self.low, later.low), max(self.high, later.high)
        self.stake_low, self.stake_high = min(self.stake_low, later.stake_low), max(self.stake_high, later.stake_high)
        self.drawdown = max(self.drawdown, later.drawdown)
        self.low_first, self.last, self.count = low_first, later.last, self.count + later.count
        self.last_micros = later.last_micros


def _halve(curve: list[CurveRun]) -> list[CurveRun]:
    """Every two neighbouring runs of bets become one."""
    for first, second in zip(curve[::2], curve[1::2], strict=False):
        first.merge(second)
    return curve[::2]


@dataclass(slots=True)
class ProfitCounts:
    """How many bets made each profit: exact per distinct text, then (past EXACT_PROFITS of them) binned."""

    exact: dict[str, int] = field(default_factory=dict)
    width: float = 0.0  # of the overflow bins; 0 while there are none
    bins: dict[int, int] = field(default_factory=dict)  # bin k holds [k * width, (k + 1) * width)

    def overflow(self, value: float) -> None:
        """A profit not among the exact ones."""
        if not self.width:
            values = [float(text) for text in self.exact] + [value]
            self.width = _power_of_two(max(values) - min(values), _BIN_SPAN // 2)
        key = math.floor(value / self.width)
        bins = self.bins
        if key in bins:
            bins[key] += 1
            return
        bins[key] = 1
        while max(bins) - min(bins) > _BIN_SPAN:
            self.width *= 2
            merged: dict[int, int] = {}
            for k, n in bins.items():
                merged[k // 2] = merged.get(k // 2, 0) + n
            self.bins = bins = merged

    @property
    def total(self) -> int:
        return sum(self.exact.values()) + sum(self.bins.values())

    def histogram(self, most: int = 40) -> tuple[float, list[tuple[int, int]]]:
        """(width, [(bin k, bets in [k * width, (k + 1) * width))]) with at most about `most` bins between
        the lowest and the highest; the width is a power of two (a multiple of the overflow bins')."""
        values = [(float(text), n) for text, n in self.exact.items()]
        if not values and not self.bins:
            return 1.0, []
        low = min([v for v, _ in values] + [k * self.width for k in self.bins])
        high = max([v for v, _ in values] + [(k + 1) * self.width for k in self.bins])
        width = max(_power_of_two(high - low, most), self.width)
        counts: dict[int, int] = {}
        for value, n in values:
            key = math.floor(value / width)
            counts[key] = counts.get(key, 0) + n
        ratio = round(width / self.width) if self.width else 1
        for k, n in self.bins.items():
            counts[k // ratio] = counts.get(k // ratio, 0) + n
        return width, sorted(counts.items())


def _power_of_two(span: float, parts: int) -> float:
    """The smallest power of two that cuts `span` into at most `parts` pieces (2**-30 for a point)."""
    if span <= 0:
        return 2.0**-30
    return 2.0 ** math.ceil(math.log2(span / parts))


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
    peak_balance: Decimal = ZERO  # the balance the deepest drawdown fell from
    expected_wins: Decimal = ZERO  # the sum of the chances, for luck
    latency_ms_total: float = 0.0
    latency_count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    curve: list[CurveRun] = field(default_factory=list)
    win_streaks: dict[int, int] = field(default_factory=dict)  # length -> how many win streaks that long
    loss_streaks: dict[int, int] = field(default_factory=dict)
    profits: ProfitCounts = field(default_factory=ProfitCounts)

    @property
    def luck_percent(self) -> float | None:
        return None if not self.expected_wins else float(self.wins / self.expected_wins * 100)

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms_total / self.latency_count if self.latency_count else None

    def rows(self) -> list[tuple[str, str]]:
        """The statistics, for people (spelled as `betbot.journal.formats` says)."""
        cur = self.session.currency
        luck = self.luck_percent
        span = "-" if self.first_at is None or self.last_at is None else _duration(self.last_at - self.first_at)
        drawdown = f"{money(self.max_drawdown)} {cur}"
        if self.max_drawdown and self.peak_balance > 0:
            drawdown += f" ({percent(self.max_drawdown / self.peak_balance * 100)} of the peak)"
        return [
            ("session", f"{self.session.id}: {self.session.strategy} on {self.session.backend}"),
            ("stop reason", self.session.stop_reason or ("unfinished" if not self.session.finished else "-")),
            ("bets", f"{self.bets:,} ({self.wins:,} won, {self.losses:,} lost)"),
            ("refused / reconciled / unresolved", f"{self.refused:,} / {self.reconciled:,} / {self.unresolved:,}"),
            ("win rate", "-" if not self.bets else percent(Decimal(self.wins * 100) / self.bets)),
            ("luck", "-" if luck is None else percent(luck)),
            ("profit", f"{money(self.profit)} {cur}"),
            ("balance", f"{money(self.final_balance)} {cur} (started {money(self.session.starting_balance)})"),
            ("wagered", f"{money(self.wagered)} {cur}"),
            ("largest bet / win / loss",
             f"{money(self.largest_bet)} / {money(self.largest_win)} / {money(self.largest_loss)} {cur}"),
            ("longest streaks", f"{self.longest_win_streak} wins, {self.longest_loss_streak} losses"),
            ("max drawdown", drawdown),
            ("mean latency", latency_text(self.mean_latency_ms, unit=True)),
            ("first bet to last", span),
        ]

    def curve_points(self) -> list[tuple[float, Decimal]]:
        """The downsampled balance curve: (bets run so far, balance), from (0, the starting balance)."""
        return [(0.0, self.session.starting_balance), *(p for bucket in self.curve for p in bucket.points())]

    def streak_table(self) -> list[tuple[int, int, int]]:
        """DiceBot's streak table: (length, win streaks that long, loss streaks that long), for every length
        that occurred, shortest first."""
        lengths = sorted(set(self.win_streaks) | set(self.loss_streaks))
        return [(n, self.win_streaks.get(n, 0), self.loss_streaks.get(n, 0)) for n in lengths]


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds:.3f} s" if seconds < 60 else str(timedelta(seconds=round(seconds)))


# The columns the report reads: a third of a bet's row, and a third of the time SQLite takes to hand it over.
REPORT_COLUMNS: Final = ("decided_at", "status", "amount", "chance", "win", "profit", "latency_ms")


def build_report(journal: Journal, session_id: int, watch: RowWrapper = as_is) -> Report:
    """The report of one session (UnknownSession if there is none); `watch` wraps the rows on their way (a
    progress bar counts them)."""
    session = journal.session(session_id)
    rows = journal.bet_columns(session_id, REPORT_COLUMNS)
    return summarize(session, watch(rows), total=session.journaled, columns=REPORT_COLUMNS)


def summarize(session: SessionRecord, rows: Iterable[Sequence[Any]], *, total: int = 0,
              columns: Sequence[str] = BET_COLUMNS) -> Report:
    """One pass over the bets' raw rows in seq order, their values in the order of `columns` (which holds at
    least REPORT_COLUMNS).

    `total`, about how many rows there are, sizes the curve's runs of bets up front; if more come (or no
    `total` is given), neighbouring runs merge pairwise whenever there are `MAX_BUCKETS`, so the curve stays
    bounded whatever the count, and each run still holds its true low and high.

    Written for a million rows in seconds: raw rows, not BetRecords (building those costs more than the
    rest); locals, not attributes, in the loop; the texts of repeated amounts, chances and profits (most
    strategies repeat a few) turned into Decimals once; the chances summed and divided by 100 once."""
    at = {name: index for index, name in enumerate(columns)}
    i_decided, i_status, i_amount, i_chance = at["decided_at"], at["status"], at["amount"], at["chance"]
    i_win, i_profit, i_latency = at["win"], at["profit"], at["latency_ms"]
    start = session.starting_balance
    per_bucket = max(1, math.ceil(total / MAX_BUCKETS))
    curve: list[CurveRun] = []
    bucket: CurveRun | None = None
    in_bucket = 0
    bets = wins = refused = unresolved = reconciled = 0
    streak = longest_win = longest_loss = 0  # streak: > 0 wins in a row, < 0 losses in a row
    win_streaks: dict[int, int] = {}
    loss_streaks: dict[int, int] = {}
    profit = wagered = chances = peak = drawdown = peak_at_drawdown = ZERO
    largest_bet = largest_win = largest_loss = ZERO
    latency_total, latency_count = 0.0, 0
    first_micros = last_micros = None
    decimals: dict[str, Decimal] = {}
    profits = ProfitCounts()
    exact_profits = profits.exact
    # Plain strs: the rows hold those, and str == str is quicker than with an enum member.
    settled, refused_status = BetStatus.SETTLED.value, BetStatus.REFUSED.value
    unresolved_statuses = (BetStatus.PENDING.value, BetStatus.UNKNOWN.value)
    for row in rows:
        micros = row[i_decided]
        if first_micros is None:
            first_micros = micros
        last_micros = micros
        latency = row[i_latency]
        if latency is not None:
            latency_total += latency
            latency_count += 1
        status = row[i_status]
        if status != settled:
            if status == refused_status:
                refused += 1
                continue
            if status in unresolved_statuses:
                unresolved += 1
                continue
            reconciled += 1
        profit_text = row[i_profit]
        if profit_text is None:  # reconciled as not run
            continue
        bet_profit = decimals.get(profit_text)
        if bet_profit is None:
            bet_profit = _remember(decimals, profit_text)
        amount = decimals.get(row[i_amount])
        if amount is None:
            amount = _remember(decimals, row[i_amount])
        chance = decimals.get(row[i_chance])
        if chance is None:
            chance = _remember(decimals, row[i_chance])
        seen = exact_profits.get(profit_text)
        if seen is not None:
            exact_profits[profit_text] = seen + 1
        elif len(exact_profits) < EXACT_PROFITS:
            exact_profits[profit_text] = 1
        else:
            profits.overflow(float(bet_profit))
        win = row[i_win]
        if win is None:
            win = bet_profit >= 0
        bets += 1
        profit += bet_profit
        wagered += amount
        chances += chance
        largest_bet = max(largest_bet, amount)
        if win:
            wins += 1
            if streak > 0:
                streak += 1
            else:
                if streak:
                    loss_streaks[-streak] = loss_streaks.get(-streak, 0) + 1
                streak = 1
            longest_win = max(longest_win, streak)
            largest_win = max(largest_win, bet_profit)
            peak = max(peak, profit)
        else:
            if streak < 0:
                streak -= 1
            else:
                if streak:
                    win_streaks[streak] = win_streaks.get(streak, 0) + 1
                streak = -1
            longest_loss = max(longest_loss, -streak)
            largest_loss = max(largest_loss, amount)
        fall = peak - profit
        if fall > drawdown:
            drawdown, peak_at_drawdown = fall, peak
        balance = start + profit
        if in_bucket < per_bucket and bucket is not None:
            bucket.add(balance, amount, fall, micros)
            in_bucket += 1
        else:
            if len(curve) >= MAX_BUCKETS:  # every run is full here, so the merged ones are too
                curve = _halve(curve)
                per_bucket *= 2
            bucket = CurveRun(start=bets - 1, first=balance, low=balance, high=balance, last=balance,
                             first_micros=micros, last_micros=micros, stake_low=amount, stake_high=amount,
                             drawdown=fall)
            curve.append(bucket)
            in_bucket = 1
    if streak > 0:
        win_streaks[streak] = win_streaks.get(streak, 0) + 1
    elif streak < 0:
        loss_streaks[-streak] = loss_streaks.get(-streak, 0) + 1
    return Report(
        session=session, bets=bets, wins=wins, losses=bets - wins, refused=refused, unresolved=unresolved,
        reconciled=reconciled, profit=profit, wagered=wagered, final_balance=start + profit,
        largest_bet=largest_bet, largest_win=largest_win, largest_loss=largest_loss,
        longest_win_streak=longest_win, longest_loss_streak=longest_loss, max_drawdown=drawdown,
        peak_balance=start + peak_at_drawdown,
        expected_wins=chances / 100, latency_ms_total=latency_total, latency_count=latency_count,
        first_at=None if first_micros is None else micros_to_datetime(first_micros),
        last_at=None if last_micros is None else micros_to_datetime(last_micros),
        curve=curve, win_streaks=win_streaks, loss_streaks=loss_streaks, profits=profits,
    )


_DECIMALS_KEPT: Final = 4096  # distinct texts remembered: a progression's few stakes, not every balance


def _remember(decimals: dict[str, Decimal], text: str) -> Decimal:
    value = Decimal(text)
    if len(decimals) < _DECIMALS_KEPT:
        decimals[text] = value
    return value
