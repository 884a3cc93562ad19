"""The results as a rich table (what `betbot simulate` prints on stdout)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

__all__ = ["results_table"]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f} %"


def _quantiles(values: dict[str, Any]) -> str:
    return "  ".join(f"{label} {'n/a' if value is None else value}" for label, value in values.items())


def results_table(report: dict[str, Any], *, title: str) -> Table:
    """The --json document as a two-column table, money in the currency, probabilities in percent."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("figure", style="bold")
    table.add_column("value", overflow="fold")
    mean = report["mean_profit"]
    if not report["sessions"]:  # interrupted before any session was in: no figure to show, not 0.00 %
        table.add_row("sessions", "0 (none finished: no figures)")
        table.add_row("seed", report["seed"])
        return table
    rows = [
        ("sessions", f"{report['sessions']:,}"),
        ("bets", f"{report['bets']:,}"),
        ("RTP (returned / wagered)", _percent(report["rtp"])),
        ("expected RTP", _percent(report["expected_rtp"])),
        ("P(ruin: stake not covered)", _percent(report["p_ruin"])),
        ("P(stop-loss)", _percent(report["p_stop_loss"])),
        ("P(take-profit)", _percent(report["p_take_profit"])),
        ("P(profit > 0)", _percent(report["p_profit"])),
        ("mean profit", f"{mean['mean']} ± {mean['standard_error']} (standard error)"),
        ("profit quantiles", _quantiles(report["profit_quantiles"])),
        ("max drawdown quantiles", _quantiles(report["max_drawdown_quantiles"])),
        ("session length (bets)", _quantiles(report["session_length_quantiles"])),
        ("longest loss streak", _quantiles(report["longest_loss_streak_quantiles"])),
        ("stop reasons", ", ".join(f"{kind} {count:,}" for kind, count in report["stop_reasons"].items())),
        ("rolls", report["rolls"]),
        ("seed", report["seed"]),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table
