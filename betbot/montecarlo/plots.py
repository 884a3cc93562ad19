"""Pictures of a simulation: the final-profit histogram, a fan chart of balance paths, the drawdowns.

`--plot out.png` draws them with matplotlib; `--plot out.html` embeds the same figure as SVG in one
self-contained page (no script, no network). The histograms come from the aggregates' sketches (bounded
whatever the number of sessions); the fan chart from the balance paths of the first sessions (a uniform
sample: sessions are independent and identically distributed), sampled at fixed bet indices, with the
5-95 % and 25-75 % bands and the median at every index (a session that has ended stays at its final
balance).
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from betbot.atomicfile import atomic_write
from betbot.extras import install_hint
from betbot.montecarlo.generic import BalancePath
from betbot.montecarlo.results import SATOSHIS_PER_COIN, Aggregates
from betbot.montecarlo.sketch import ValueSketch

__all__ = [
    "PLOT_SUFFIXES", "check_plot_target", "fan_bands", "figure_svg", "html_page", "html_table", "simulation_svg",
    "write_figure", "write_plot",
]

PLOT_SUFFIXES = (".png", ".html")
_BANDS = (5, 25, 50, 75, 95)


def check_plot_target(path: Path) -> str | None:
    """Why `--plot path` cannot be drawn (before anything runs), or None."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        return f"--plot {path}: the file must end in .png or .html"
    try:
        import matplotlib  # noqa: F401, PLC0415 - only to say early that it is missing
    except ImportError:
        return f"--plot needs matplotlib: {install_hint('report', 'matplotlib')}"
    return None


def fan_bands(paths: Sequence[BalancePath]) -> tuple[list[int], dict[int, list[float]]]:
    """The bet indices of the fan chart and, per percentile in 5/25/50/75/95, the balance (coins) there."""
    import numpy as np  # noqa: PLC0415 - a plot dependency

    if not paths:
        return [], {}
    stride = max(path.stride for path in paths)
    horizon = max(path.bets for path in paths)
    points = horizon // stride + 1
    grid = np.empty((len(paths), points), dtype=np.float64)
    for row, path in enumerate(paths):
        step = stride // path.stride
        samples = path.balances[::step][:points]
        grid[row, : len(samples)] = samples
        grid[row, len(samples):] = path.final
    grid /= SATOSHIS_PER_COIN
    bands = np.percentile(grid, _BANDS, axis=0)
    return [i * stride for i in range(points)], {q: bands[k].tolist() for k, q in enumerate(_BANDS)}


def _weighted(sketch: ValueSketch) -> tuple[list[float], list[int]]:
    values, counts = [], []
    for value, count in sketch.items():
        values.append(value / SATOSHIS_PER_COIN)
        counts.append(count)
    return values, counts


def _figure(aggregates: Aggregates, paths: Sequence[BalancePath], *, title: str, currency: str) -> Any:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(10, 11), layout="constrained")
    figure.suptitle(title)
    profit_axes, fan_axes, drawdown_axes = figure.subplots(3, 1)

    values, counts = _weighted(aggregates.profits)
    if values:
        profit_axes.hist(values, bins=min(60, max(1, len(values))), weights=counts, color="#4c72b0")
        profit_axes.axvline(0, color="black", linewidth=0.8)
    profit_axes.set_title("Final profit per session")
    profit_axes.set_xlabel(f"profit ({currency})")
    profit_axes.set_ylabel("sessions")

    bets, bands = fan_bands(paths)
    if bets:
        fan_axes.fill_between(bets, bands[5], bands[95], color="#dd8452", alpha=0.25, label="5-95 %")
        fan_axes.fill_between(bets, bands[25], bands[75], color="#dd8452", alpha=0.45, label="25-75 %")
        fan_axes.plot(bets, bands[50], color="#8c3b0c", linewidth=1.5, label="median")
        fan_axes.legend(loc="best")
    fan_axes.set_title(f"Balance paths ({len(paths):,} sessions sampled)")
    fan_axes.set_xlabel("bets")
    fan_axes.set_ylabel(f"balance ({currency})")

    values, counts = _weighted(aggregates.drawdowns)
    if values:
        drawdown_axes.hist(values, bins=min(60, max(1, len(values))), weights=counts, color="#55a868")
    drawdown_axes.set_title("Largest drawdown per session (peak profit to trough)")
    drawdown_axes.set_xlabel(f"max drawdown ({currency})")
    drawdown_axes.set_ylabel("sessions")
    return figure


def write_plot(path: Path, aggregates: Aggregates, paths: Sequence[BalancePath], *, title: str,
               currency: str, report: dict[str, Any]) -> None:
    """The figure as PNG or as a self-contained HTML page (by the file's suffix), written atomically."""
    figure = _figure(aggregates, paths, title=title, currency=currency)
    rows = "".join(f"<tr><th>{html.escape(key)}</th><td>{html.escape(_cell(value))}</td></tr>"
                   for key, value in report.items())
    write_figure(path, figure, title=title, table=f"<table>{rows}</table>")


def simulation_svg(aggregates: Aggregates, paths: Sequence[BalancePath], *, title: str, currency: str) -> str:
    """The charts of `write_plot` as an inline SVG element (for pages that show several runs)."""
    return figure_svg(_figure(aggregates, paths, title=title, currency=currency))


def figure_svg(figure: Any) -> str:
    svg = io.StringIO()
    figure.savefig(svg, format="svg")
    return _strip_xml_header(svg.getvalue())


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_page(title: str, body: str) -> str:
    """One self-contained page (no script, no network) around already escaped HTML."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em;max-width:64em}}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:left;vertical-align:top}svg{max-width:100%;height:auto}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def write_figure(path: Path, figure: Any, *, title: str, table: str) -> None:
    """A matplotlib figure as PNG, or as an HTML page with `table` (HTML) above it, by the file's suffix."""
    if path.suffix.lower() == ".png":
        with atomic_write(path, "wb") as out:
            figure.savefig(out, format="png", dpi=110)
        return
    with atomic_write(path) as out:
        out.write(html_page(title, table + figure_svg(figure)))


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_cell(item)}" for key, item in value.items())
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _strip_xml_header(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
