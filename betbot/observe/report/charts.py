"""The report's five charts, described once as plain data that two painters draw: `svg` (the HTML page, no
dependency) and `png` (matplotlib). Everything a reader compares between the two — the series, the axis
ranges, the tick positions and their labels, the titles — is decided here, so the page and the picture
show the same thing; a painter only maps coordinates and colours.

Coordinates are floats (a plot is the one place money may be a float). The x axis of the curves is the bet
number or, with `x_axis="time"`, seconds since the first bet, labelled with the UTC wall-clock time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from betbot.journal.formats import money
from betbot.journal.records import micros_to_datetime
from betbot.observe.report.stats import CurveRun, Report

__all__ = ["CHART_IDS", "COLOURS", "Axis", "Band", "Bars", "Chart", "Line", "XAxis", "build_charts", "nice_ticks"]

XAxis = Literal["bets", "time"]
Style = Literal["balance", "start", "drawdown", "win", "loss", "stake", "stake_range"]

# One palette for both painters: colour and opacity per style.
COLOURS: Final[dict[str, tuple[str, float]]] = {
    "balance": ("#1f6feb", 1.0),
    "start": ("#888888", 1.0),
    "drawdown": ("#cf222e", 0.28),
    "win": ("#2da44e", 0.85),
    "loss": ("#cf222e", 0.85),
    "stake": ("#8250df", 1.0),
    "stake_range": ("#8250df", 0.25),
}
CHART_IDS: Final = ("balance", "drawdown", "profit", "streaks", "stake")


@dataclass(frozen=True, slots=True)
class Axis:
    label: str
    low: float
    high: float
    ticks: tuple[tuple[float, str], ...]
    log: bool = False  # log10 scale (counts)


@dataclass(frozen=True, slots=True)
class Line:
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    style: Style
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class Band:
    """The area between two curves over the same xs."""

    xs: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    style: Style


@dataclass(frozen=True, slots=True)
class Bars:
    lefts: tuple[float, ...]
    rights: tuple[float, ...]
    heights: tuple[float, ...]
    style: Style
    label: str = ""


Layer = Line | Band | Bars


@dataclass(frozen=True, slots=True)
class Chart:
    id: str  # one of CHART_IDS
    title: str
    caption: str
    x: Axis
    y: Axis
    layers: tuple[Layer, ...]
    legend: tuple[tuple[Style, str], ...] = ()


# -- ticks ---------------------------------------------------------------------------------------------
def nice_ticks(low: float, high: float, count: int = 6) -> tuple[float, list[float]]:
    """(step, ticks): round values (1, 2, 2.5 or 5 times a power of ten) inside [low, high], as close to
    `count` of them as those steps allow (on a tie, more)."""
    if not high > low:
        return 1.0, [low]
    power = 10.0 ** math.floor(math.log10((high - low) / count))
    best: tuple[float, list[float]] | None = None
    for multiple in (1, 2, 2.5, 5, 10, 20):
        step = multiple * power
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        ticks = [k * step for k in range(first, last + 1)]
        if best is None or abs(len(ticks) - count) < abs(len(best[1]) - count):
            best = (step, ticks)
    assert best is not None  # noqa: S101 - the loop ran
    return best


def _places(step: float) -> int:
    """Decimal places that tell ticks `step` apart (at most 8: money has no more)."""
    return next((places for places in range(8) if abs(round(step, places) - step) <= step * 1e-6), 8)


def _value_axis(label: str, low: float, high: float) -> Axis:
    """A linear axis over [low, high] with a little room on each side (none at a bound of 0: a drawdown
    reaches up to 0, a stake starts at it)."""
    if high <= low:  # a flat series: give it some room
        pad = abs(low) * 0.01 or 1.0
        low, high = low - pad, high + pad
    pad = (high - low) * 0.04
    low, high = (low if low == 0 else low - pad), (high if high == 0 else high + pad)
    step, ticks = nice_ticks(low, high)
    places = _places(step)
    return Axis(label, low, high, tuple((t, f"{t + 0.0:,.{places}f}") for t in ticks))


def _count_axis(label: str, highest: float) -> Axis:
    """A log10 count axis from 0.5 (a count of 1 still shows) to above the highest count."""
    top = max(1.0, highest) * 1.6
    ticks = []
    power = 1.0
    while power <= top:
        ticks.append((power, f"{power:,.0f}"))
        power *= 10
    return Axis(label, 0.5, top, tuple(ticks), log=True)


def _bet_axis(last: float) -> Axis:
    high = max(last, 1.0)
    step, ticks = nice_ticks(0.0, high)
    return Axis("bets", 0.0, high, tuple((t, f"{t:,.0f}") for t in ticks if step >= 1 or t.is_integer()))


_TIME_STEPS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _time_axis(report: Report, span: float) -> Axis:
    """Seconds since the first bet that ran, labelled with the UTC time of day (and the date past a day)."""
    origin = micros_to_datetime(report.curve[0].first_micros) if report.curve else None
    high = max(span, 1e-3)
    if origin is None:
        return Axis("time (UTC)", 0.0, high, ((0.0, "0 s"),))
    raw = high / 5
    if raw < 1:  # a sub-second session: seconds with decimals
        step, ticks = nice_ticks(0.0, high)
        return Axis(f"seconds after {origin:%H:%M:%S} UTC", 0.0, high,
                    tuple((t, f"{t:.{_places(step)}f} s") for t in ticks))
    step = next((s for s in _TIME_STEPS if s >= raw), 86400 * math.ceil(raw / 86400))
    # Ticks on round clock times: the first multiple of `step` seconds of the day at or after the start.
    into_day = origin.hour * 3600 + origin.minute * 60 + origin.second + origin.microsecond / 1e6
    offset = (math.ceil(into_day / step) * step - into_day) % step
    fmt = "%H:%M:%S" if step < 60 else "%H:%M"
    if span > 86400:
        fmt = "%m-%d %H:%M"
    labelled: list[tuple[float, str]] = []
    t = offset
    while t <= high + 1e-9:
        labelled.append((t, f"{origin + timedelta(seconds=t):{fmt}}"))
        t += step
    return Axis(f"time (UTC, {origin:%Y-%m-%d})", 0.0, high, tuple(labelled))


# -- the charts ----------------------------------------------------------------------------------------
def _x_of(report: Report, x_axis: XAxis) -> tuple[Axis, list[tuple[CurveRun | None, float, float]]]:
    """The x axis, and for each point of the balance curve: (its run, its bet number, its x)."""
    first = report.curve[0].first_micros if report.curve else 0
    points: list[tuple[CurveRun | None, float, float]] = [(None, 0.0, 0.0)]
    for bucket in report.curve:
        for bet, _ in bucket.points():
            x = bet if x_axis == "bets" else (bucket.micros_at(bet) - first) / 1e6
            points.append((bucket, bet, x))
    last = points[-1][2]
    return (_bet_axis(last) if x_axis == "bets" else _time_axis(report, last)), points


def build_charts(report: Report, x_axis: XAxis = "bets") -> list[Chart]:
    """The five charts, in CHART_IDS order."""
    currency = report.session.currency
    axis, placed = _x_of(report, x_axis)
    return [
        _balance_chart(report, axis, placed, currency),
        _drawdown_chart(report, axis, x_axis, currency),
        _profit_chart(report, currency),
        _streak_chart(report),
        _stake_chart(report, axis, x_axis, currency),
    ]


def _balance_chart(report: Report, axis: Axis, placed: list[tuple[CurveRun | None, float, float]],
                   currency: str) -> Chart:
    values = [float(v) for _, v in report.curve_points()]
    xs = tuple(x for _, _, x in placed)
    peaks, peak = [], -math.inf
    for value in values:
        peak = max(peak, value)
        peaks.append(peak)
    start = float(report.session.starting_balance)
    y = _value_axis(f"balance ({currency})", min(values), max(values))
    layers: list[Layer] = [
        Band(xs, tuple(values), tuple(peaks), "drawdown"),
        Line((axis.low, axis.high), (start, start), "start", dashed=True),
        Line(xs, tuple(values), "balance"),
    ]
    return Chart("balance", "Balance", "The balance after each bet; shaded: how far it stands below its "
                 "highest so far (the drawdown); dashed: the starting balance.", axis, y, tuple(layers),
                 legend=(("balance", "balance"), ("drawdown", "drawdown"), ("start", "start")))


def _run_xs(report: Report, bucket: CurveRun, x_axis: XAxis) -> tuple[float, float]:
    """Where a run of bets begins and ends on the x axis."""
    if x_axis == "bets":
        return float(bucket.start + 1), float(bucket.start + bucket.count)
    first = report.curve[0].first_micros
    return (bucket.first_micros - first) / 1e6, (bucket.last_micros - first) / 1e6


def _steps(report: Report, x_axis: XAxis, value: str) -> tuple[list[float], list[float]]:
    """A per-run figure as a step line: flat across each run (exact when a run is a single bet)."""
    xs, ys = [], []
    for bucket in report.curve:
        begin, end = _run_xs(report, bucket, x_axis)
        figure = float(getattr(bucket, value))
        xs += [begin, end]
        ys += [figure, figure]
    return xs, ys


def _drawdown_chart(report: Report, axis: Axis, x_axis: XAxis, currency: str) -> Chart:
    xs, falls = _steps(report, x_axis, "drawdown")
    xs, ys = [axis.low, *xs], [0.0, *(-f for f in falls)]
    y = _value_axis(f"below the peak ({currency})", min(ys), 0.0)
    caption = ("How far the balance stood below its highest so far (for a run of bets downsampled into one "
               f"step, its deepest point); the deepest of all: {money(report.max_drawdown)} {currency}.")
    return Chart("drawdown", "Drawdown", caption, axis, y,
                 (Band(tuple(xs), tuple(ys), tuple(0.0 for _ in ys), "drawdown"), Line(tuple(xs), tuple(ys), "loss")))


def _profit_chart(report: Report, currency: str) -> Chart:
    width, counts = report.profits.histogram()
    wins = [(k, n) for k, n in counts if k >= 0]
    losses = [(k, n) for k, n in counts if k < 0]
    highest = max((n for _, n in counts), default=1)
    lows = [k * width for k, _ in counts] or [-1.0]
    highs = [(k + 1) * width for k, _ in counts] or [1.0]
    x = _value_axis(f"profit of one bet ({currency})", min(lows), max(highs))
    signed: tuple[tuple[list[tuple[int, int]], Style], ...] = ((losses, "loss"), (wins, "win"))
    layers = tuple(
        Bars(tuple(k * width for k, _ in part), tuple((k + 1) * width for k, _ in part),
             tuple(float(n) for _, n in part), style)
        for part, style in signed if part
    )
    caption = (f"How many bets made each profit, in bins {width:.8g} {currency} wide; counts on a log scale "
               "(a single bet still shows).")
    return Chart("profit", "Profit per bet", caption, x, _count_axis("bets", highest), layers,
                 legend=(("loss", "lost"), ("win", "won")))


def _streak_chart(report: Report) -> Chart:
    longest = max(report.longest_win_streak, report.longest_loss_streak, 1)
    group = max(1, math.ceil(longest / 60))  # lengths per slot: at most about 60 slots
    slots: dict[int, list[int]] = {}
    for length, won, lost in report.streak_table():
        slot = slots.setdefault((length - 1) // group, [0, 0])
        slot[0] += won
        slot[1] += lost
    layers = []
    styles: tuple[tuple[int, Style], ...] = ((0, "win"), (1, "loss"))
    for index, style in styles:
        keys = [k for k, v in sorted(slots.items()) if v[index]]
        # Each slot [k * group + 1, (k + 1) * group] holds two bars side by side: wins left, losses right.
        lefts = tuple(k * group + 0.5 + index * group / 2 for k in keys)
        layers.append(Bars(lefts, tuple(left + group / 2 for left in lefts),
                           tuple(float(slots[k][index]) for k in keys), style))
    highest = max((max(v) for v in slots.values()), default=1)
    _, ticks = nice_ticks(1.0, float(longest), 8)
    x = Axis("streak length (bets in a row)", 0.5, (longest - 1) // group * group + group + 0.5,
             tuple((t, f"{t:,.0f}") for t in ticks if t >= 1 and t.is_integer()))
    grouped = "" if group == 1 else f" (lengths grouped by {group})"
    caption = (f"How many win streaks (green) and loss streaks (red) of each length{grouped}; counts on a log "
               f"scale. Longest: {report.longest_win_streak} wins, {report.longest_loss_streak} losses.")
    return Chart("streaks", "Streak lengths", caption, x, _count_axis("streaks", highest),
                 tuple(part for part in layers if part.lefts),
                 legend=(("win", "win streaks"), ("loss", "loss streaks")))


def _stake_chart(report: Report, axis: Axis, x_axis: XAxis, currency: str) -> Chart:
    xs, highs = _steps(report, x_axis, "stake_high")
    _, lows = _steps(report, x_axis, "stake_low")
    y = _value_axis(f"stake ({currency})", min([*lows, 0.0]), max([*highs, 0.0]))
    layers: tuple[Layer, ...] = ()
    if xs:
        layers = (Band(tuple(xs), tuple(lows), tuple(highs), "stake_range"), Line(tuple(xs), tuple(highs), "stake"))
    caption = ("The stake of each bet; where a run of bets is downsampled into one step, the line is its largest "
               "stake and the shaded band reaches down to its smallest.")
    return Chart("stake", "Stake", caption, axis, y, layers)
