"""The trade-off plot of a search: every candidate a point at (P(bust), P(take-profit)), the Pareto front drawn.

`betbot.montecarlo.plots`' conventions: matplotlib (Agg) into a `Figure`, `--plot out.png` or `out.html`
(the same figure as SVG in one self-contained page with the ranking, no script, no network), written
atomically. Candidates played on every session are filled points with one-standard-error bars; pruned ones
hollow (their figures rest on fewer sessions); the winner is ringed. The front joins the complete candidates
that no other complete candidate beats on both axes (a higher chance of the target at no more risk of bust).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from betbot.montecarlo.plots import html_table, write_figure
from betbot.optimize.search import Candidate

__all__ = ["pareto_front", "tradeoff_figure", "write_tradeoff_plot"]


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The complete candidates not dominated on (lower P(bust), higher P(take-profit)), by P(bust)."""
    points = sorted((c for c in candidates if c.complete),
                    key=lambda c: (c.figures.p_ruin.value, -c.figures.p_take_profit.value, c.number))
    front: list[Candidate] = []
    for candidate in points:
        if not front or candidate.figures.p_take_profit.value > front[-1].figures.p_take_profit.value:
            front.append(candidate)
    return front


def tradeoff_figure(candidates: Sequence[Candidate], best: Candidate | None, *, title: str,
                    labels: Mapping[int, str] | None = None, max_ruin: float | None = None) -> Any:
    """The figure; `labels` names points by candidate number (`compare` names its strategies); `max_ruin`
    draws the --max-ruin limit."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(9, 6.5), layout="constrained")
    axes = figure.subplots()
    complete = [c for c in candidates if c.complete]
    pruned = [c for c in candidates if not c.complete]
    if pruned:
        axes.scatter([c.figures.p_ruin.value * 100 for c in pruned],
                     [c.figures.p_take_profit.value * 100 for c in pruned], facecolors="none",
                     edgecolors="#999999", s=22, label=f"pruned ({len(pruned)}, fewer sessions)")
    if complete:
        axes.errorbar([c.figures.p_ruin.value * 100 for c in complete],
                      [c.figures.p_take_profit.value * 100 for c in complete],
                      xerr=[c.figures.p_ruin.error * 100 for c in complete],
                      yerr=[c.figures.p_take_profit.error * 100 for c in complete],
                      fmt="o", color="#4c72b0", ecolor="#4c72b055", markersize=4,
                      label=f"played on every session ({len(complete)})")
        front = pareto_front(complete)
        axes.step([c.figures.p_ruin.value * 100 for c in front], [c.figures.p_take_profit.value * 100 for c in front],
                  where="post", color="#dd8452", linewidth=1.8, label="Pareto front")
    for candidate in candidates if labels else ():
        if labels is not None and candidate.number in labels:
            axes.annotate(labels[candidate.number], (candidate.figures.p_ruin.value * 100,
                                                     candidate.figures.p_take_profit.value * 100),
                          textcoords="offset points", xytext=(4, 4), fontsize=7)
    if max_ruin is not None:
        axes.axvline(max_ruin * 100, color="#c44e52", linestyle="--", linewidth=1, label="--max-ruin")
    if best is not None:
        axes.scatter([best.figures.p_ruin.value * 100], [best.figures.p_take_profit.value * 100], s=160,
                     facecolors="none", edgecolors="#c44e52", linewidths=2, label="best", zorder=5)
    axes.set_title(title)
    axes.set_xlabel("P(bust) %: the stop-loss, the minimum balance, or a stake the balance no longer covers")
    axes.set_ylabel("P(take-profit) %")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return figure


def write_tradeoff_plot(path: Path, candidates: Sequence[Candidate], best: Candidate | None, *, title: str,
                        rows: Sequence[Sequence[str]], header: Sequence[str], max_ruin: float | None = None) -> None:
    """The plot as PNG, or as an HTML page with the ranking table above it (by the file's suffix)."""
    write_figure(path, tradeoff_figure(candidates, best, title=title, max_ruin=max_ruin), title=title,
                 table=html_table(header, rows))
