"""Paint a `Chart` as inline SVG: for the HTML page, with no dependency and nothing fetched.

The plot frame sits inside a fixed viewBox (the page scales it); the painter maps the chart's coordinates
into it (log10 for a log axis), draws the grid at the chart's ticks, then the layers in order, then the
tick labels, the axis labels and a small legend. No xmlns: inline SVG in HTML needs none.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Final

from betbot.observe.report.charts import COLOURS, Axis, Band, Bars, Chart, Line

__all__ = ["HEIGHT", "WIDTH", "render_svg"]

WIDTH, HEIGHT = 960, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 110, 40, 14, 48
_PLACES: Final = 1  # of the coordinates: a tenth of a unit of the viewBox is below a pixel


def _scale(axis: Axis, begin: float, end: float) -> Callable[[float], float]:
    """Axis value -> viewBox coordinate, `axis.low` at `begin`, `axis.high` at `end`."""
    if axis.log:
        low, high = math.log10(axis.low), math.log10(axis.high)
        span = (high - low) or 1.0
        return lambda v: begin + (math.log10(max(v, axis.low)) - low) / span * (end - begin)
    span = (axis.high - axis.low) or 1.0
    return lambda v: begin + (v - axis.low) / span * (end - begin)


def _text(x: float, y: float, text: str, *, anchor: str = "middle", cls: str = "tick", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}"{extra}>'
            f"{html.escape(text)}</text>")


def _colour(style: str) -> tuple[str, float]:
    return COLOURS[style]


def render_svg(chart: Chart) -> str:
    """The chart as one `<svg>` element, `id="chart-<id>"`."""
    x_of = _scale(chart.x, _LEFT, WIDTH - _RIGHT)
    y_of = _scale(chart.y, HEIGHT - _BOTTOM, _TOP)
    bottom, right = HEIGHT - _BOTTOM, WIDTH - _RIGHT
    parts = [
        f'<svg id="chart-{chart.id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{html.escape(chart.title)}"><title>{html.escape(chart.title)}</title>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{right - _LEFT}" height="{bottom - _TOP}" class="frame"/>',
    ]
    for value, _ in chart.x.ticks:
        x = x_of(value)
        parts.append(f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
    for value, _ in chart.y.ticks:
        y = y_of(value)
        parts.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>')
    # The layers may not spill out of the frame: a nested svg clips what it holds, and its viewBox keeps the
    # outer coordinates (a clipPath would need a url() reference, which the page does without).
    inner = f'x="{_LEFT}" y="{_TOP}" width="{right - _LEFT}" height="{bottom - _TOP}"'
    parts.append(f'<svg {inner} viewBox="{_LEFT} {_TOP} {right - _LEFT} {bottom - _TOP}" class="plot">')
    for layer in chart.layers:
        colour, opacity = _colour(layer.style)
        if isinstance(layer, Line):
            points = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in zip(layer.xs, layer.ys, strict=True))
            dash = ' stroke-dasharray="5 4"' if layer.dashed else ""
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-opacity="{opacity}" '
                         f'stroke-width="1.3"{dash} class="{layer.style}"/>')
        elif isinstance(layer, Band):
            upper = [f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in zip(layer.xs, layer.highs, strict=True)]
            lower = [f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in zip(layer.xs, layer.lows, strict=True)]
            parts.append(f'<polygon points="{" ".join(upper + lower[::-1])}" fill="{colour}" '
                         f'fill-opacity="{opacity}" stroke="none" class="{layer.style}"/>')
        elif isinstance(layer, Bars):
            base = y_of(chart.y.low)
            for left, right_edge, height in zip(layer.lefts, layer.rights, layer.heights, strict=True):
                x0, x1, top = x_of(left), x_of(right_edge), y_of(height)
                parts.append(f'<rect x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0, 1.0):.1f}" '
                             f'height="{max(base - top, 0.0):.1f}" fill="{colour}" fill-opacity="{opacity}" '
                             f'class="{layer.style}"><title>{height:,.0f}</title></rect>')
    parts.append("</svg>")
    for value, label in chart.x.ticks:
        parts.append(_text(x_of(value), bottom + 16, label))
    for value, label in chart.y.ticks:
        parts.append(_text(_LEFT - 6, y_of(value) + 4, label, anchor="end"))
    parts.append(_text((_LEFT + right) / 2, HEIGHT - 8, chart.x.label, cls="label"))
    parts.append(_text(14, (_TOP + bottom) / 2, chart.y.label, cls="label",
                       extra=f' transform="rotate(-90 14 {(_TOP + bottom) / 2:.1f})"'))
    x = right - 8
    for style, name in reversed(chart.legend):
        colour, _ = _colour(style)
        width = 7.5 * len(name) + 28
        x -= width
        parts.append(f'<rect x="{x:.1f}" y="{_TOP + 6}" width="12" height="10" fill="{colour}"/>')
        parts.append(_text(x + 16, _TOP + 15, name, anchor="start", cls="legend"))
    parts.append("</svg>")
    return "".join(parts)
