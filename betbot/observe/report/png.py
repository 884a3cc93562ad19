"""Paint the report's charts into one PNG with matplotlib (the optional `report` extra).

The same `Chart`s as the HTML page, one panel each: the balance, the drawdown and the stake across the
full width (they share the x axis), the profit and streak distributions side by side below. Ticks, labels,
ranges and colours all come from the charts; matplotlib only draws. Raises PlotUnavailable without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from betbot.atomicfile import atomic_write
from betbot.extras import install_hint
from betbot.observe.report.charts import COLOURS, Band, Bars, Chart, Line, XAxis, build_charts
from betbot.observe.report.stats import Report

__all__ = ["PNG_SIZE", "PlotUnavailable", "render_figure", "write_png"]

_INCHES: Final = (11.0, 15.0)
_DPI: Final = 100
PNG_SIZE: Final = (int(_INCHES[0] * _DPI), int(_INCHES[1] * _DPI))  # width, height in pixels


class PlotUnavailable(RuntimeError):
    """The PNG needs matplotlib, an optional extra."""


def _draw(axes: Any, chart: Chart) -> None:
    for layer in chart.layers:
        colour, alpha = COLOURS[layer.style]
        if isinstance(layer, Line):
            axes.plot(layer.xs, layer.ys, color=colour, alpha=alpha, linewidth=1.1,
                      linestyle="--" if layer.dashed else "-")
        elif isinstance(layer, Band):
            axes.fill_between(layer.xs, layer.lows, layer.highs, color=colour, alpha=alpha, linewidth=0)
        elif isinstance(layer, Bars):
            lefts, widths = layer.lefts, [r - left for left, r in zip(layer.lefts, layer.rights, strict=True)]
            base = chart.y.low
            axes.bar(lefts, [h - base for h in layer.heights], widths, bottom=base, align="edge", color=colour,
                     alpha=alpha, linewidth=0)
    if chart.y.log:
        axes.set_yscale("log")
    axes.set_xlim(chart.x.low, chart.x.high)
    axes.set_ylim(chart.y.low, chart.y.high)
    axes.set_xticks([t for t, _ in chart.x.ticks], [label for _, label in chart.x.ticks])
    axes.set_yticks([t for t, _ in chart.y.ticks], [label for _, label in chart.y.ticks])
    axes.minorticks_off()
    axes.grid(color="#e4e4e4", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.set_title(chart.title, loc="left", fontsize=11)
    axes.set_xlabel(chart.x.label, fontsize=9)
    axes.set_ylabel(chart.y.label, fontsize=9)
    axes.tick_params(labelsize=8)
    if chart.legend:
        handles = [_legend_patch(style) for style, _ in chart.legend]
        axes.legend(handles, [name for _, name in chart.legend], loc="upper right", fontsize=8, frameon=False)


def _legend_patch(style: str) -> Any:
    from matplotlib.patches import Patch  # noqa: PLC0415 - matplotlib is loaded only for a PNG

    colour, alpha = COLOURS[style]
    return Patch(color=colour, alpha=max(alpha, 0.5))


def render_figure(report: Report, x_axis: XAxis = "bets") -> Any:
    """The matplotlib Figure: five panels, in the charts' order. Raises PlotUnavailable without matplotlib."""
    try:
        import matplotlib as mpl  # noqa: PLC0415 - an optional extra, loaded only for a PNG

        mpl.use("Agg")  # no display needed
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError:
        raise PlotUnavailable(
            f"a PNG needs matplotlib: {install_hint('report', 'matplotlib')} (or use --html)"
        ) from None
    charts = build_charts(report, x_axis)
    by_id = {chart.id: chart for chart in charts}
    figure = Figure(figsize=_INCHES, dpi=_DPI)
    grid = figure.add_gridspec(4, 2, height_ratios=[1.3, 1, 1, 1.1])
    session = report.session
    figure.suptitle(f"betbot session {session.id}: {session.strategy} on {session.backend}, {session.currency}",
                    x=0.01, ha="left", fontsize=13)
    placement = {"balance": grid[0, :], "drawdown": grid[1, :], "stake": grid[2, :],
                 "profit": grid[3, 0], "streaks": grid[3, 1]}
    for chart_id, cell in placement.items():
        _draw(figure.add_subplot(cell), by_id[chart_id])
    figure.tight_layout(rect=(0, 0, 1, 0.98))  # the top 2 % for the title above the panels
    return figure


def write_png(report: Report, path: Path, x_axis: XAxis = "bets") -> None:
    """The charts as one PNG of PNG_SIZE pixels. Raises PlotUnavailable without matplotlib."""
    figure = render_figure(report, x_axis)
    with atomic_write(path, "wb", make_parents=False) as out:
        figure.savefig(out, format="png")
