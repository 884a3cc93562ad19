"""The report as one self-contained HTML page: the statistics, the five charts as inline SVG, and the
streak table. No script, no stylesheet or font or image fetched: it opens from a file, offline, in any
browser (and prints). Needs nothing beyond the standard library.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

from betbot.atomicfile import atomic_write
from betbot.observe.report.charts import XAxis, build_charts
from betbot.observe.report.stats import Report
from betbot.observe.report.svg import render_svg

__all__ = ["render_html", "write_html"]

_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin: 1.8rem 0 0.3rem; }
table { border-collapse: collapse; }
td, th { padding: 0.2rem 1.2rem 0.2rem 0; border-bottom: 1px solid #eee; text-align: left; }
.stats td:first-child { font-weight: 600; }
.streaks td, .streaks th { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0; } figcaption { color: #555; font-size: 0.9rem; margin: 0.2rem 0 0.4rem; }
figure > svg { width: 100%; height: auto; display: block; }
.frame { fill: #fcfcfc; stroke: #bbb; } .grid { stroke: #e4e4e4; stroke-width: 1; }
.tick { font-size: 12px; fill: #555; } .label { font-size: 13px; fill: #333; } .legend { font-size: 12px; fill: #333; }
"""


def _streak_table(report: Report) -> str:
    rows = "".join(f"<tr><td>{length:,}</td><td>{won:,}</td><td>{lost:,}</td></tr>"
                   for length, won, lost in report.streak_table())
    if not rows:
        return "<p>No bets ran, so there are no streaks.</p>"
    return ('<table class="streaks" id="streak-table"><thead><tr><th>length</th><th>win streaks</th>'
            f"<th>loss streaks</th></tr></thead><tbody>{rows}</tbody></table>")


def render_html(report: Report, x_axis: XAxis = "bets") -> str:
    session = report.session
    title = f"betbot session {session.id}: {session.strategy} on {session.backend}, {session.currency}"
    stats = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in report.rows())
    figures = "".join(
        f'<h2 id="{chart.id}">{html.escape(chart.title)}</h2><figure>{render_svg(chart)}'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
        for chart in build_charts(report, x_axis)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Started {html.escape(f'{session.started_at:%Y-%m-%d %H:%M} UTC')}; money in "
        f"{html.escape(session.currency)}.</p>"
        f'<table class="stats">{stats}</table>{figures}'
        f'<h2 id="streaks-table">Streaks by length</h2>'
        "<p>For each streak length, how many streaks of wins and of losses were exactly that long.</p>"
        f"{_streak_table(report)}</body></html>\n"
    )


def write_html(report: Report, path: Path, x_axis: XAxis = "bets") -> None:
    with atomic_write(path, make_parents=False) as out:
        out.write(render_html(report, x_axis))
