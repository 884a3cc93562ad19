"""A session's report from the journal: its statistics, five charts (balance with its drawdown shaded,
drawdown, profit per bet, streak lengths, stake) and DiceBot's streak table, as a terminal table, a
self-contained HTML page and, with the optional matplotlib, a PNG.

- `stats`: one pass over the bets, in bounded memory (a million bets in a few seconds) -> `Report`.
- `charts`: what to draw, as plain data (series, axes, ticks, labels), decided once for both painters.
- `svg` + `page`: the HTML page, inline SVG, standard library only, nothing fetched.
- `png`: the same charts painted by matplotlib, loaded only when a PNG is asked for.
One chart description and two painters, rather than one renderer: the HTML must work without matplotlib,
and drawing SVG is a hundred lines where rasterising it would be a dependency.
"""

from betbot.observe.report.charts import CHART_IDS, XAxis, build_charts
from betbot.observe.report.page import render_html, write_html
from betbot.observe.report.png import PNG_SIZE, PlotUnavailable, render_figure, write_png
from betbot.observe.report.stats import MAX_BUCKETS, Report, build_report, summarize

__all__ = [
    "CHART_IDS",
    "MAX_BUCKETS",
    "PNG_SIZE",
    "PlotUnavailable",
    "Report",
    "XAxis",
    "build_charts",
    "build_report",
    "render_figure",
    "render_html",
    "summarize",
    "write_html",
    "write_png",
]
