"""What `optimize` says about its candidates: the ranking, the table, the --json document, the winner's preset.

The ranking holds the candidates played on every session: first those that meet every constraint, by the
objective (highest first; then the lower P(bust), then the earlier candidate), then those that do not, by how
far they miss. Pruned candidates are not ranked (their figures rest on fewer sessions); the document lists
them apart and the plot draws them hollow.

The preset is a betbot settings file (`betbot run --config FILE.toml`): the strategy, the winner's parameters
and every setting of the run that shapes the game (balance, limits, chance and rules), and in a comment the
`betbot simulate` line that reproduces the reported figures (the same seed and sessions).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Final

from rich.table import Table

from betbot.atomicfile import atomic_write
from betbot.config.settings import Settings
from betbot.optimize.figures import Comparison, Constraints, Estimate, Objective
from betbot.optimize.search import Candidate

__all__ = ["PRESET_FIELDS", "Summary", "optimize_document", "rank", "ranking_table", "write_preset"]

# The settings a preset carries: what decides the game and its limits (not the journal, logs or the key).
PRESET_FIELDS: Final = (
    "strategy", "currency", "balance", "chance", "high", "faucet", "game", "range_in", "range_at",
    "max_bets", "max_duration", "stop_loss", "take_profit", "trailing_stop", "max_losses", "max_wins", "max_bet",
    "min_balance", "reseed_every", "edge", "faucet_edge", "min_chance", "max_chance", "sim_latency",
)


def rank(candidates: Sequence[Candidate], objective: Objective) -> list[Candidate]:
    complete = [c for c in candidates if c.complete]

    def order(candidate: Candidate) -> tuple[Any, ...]:
        if candidate.feasible:
            return (0, -candidate.figures.objective(objective).value, candidate.figures.p_ruin.value,
                    candidate.number)
        missed = sum(v for v in candidate.violations.values() if v > 0)
        return (1, missed, -candidate.figures.objective(objective).value, candidate.number)

    return sorted(complete, key=order)


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything the table, the document and the preset say about one search."""

    strategy: str
    objective: Objective
    constraints: Constraints
    seed: str
    sessions: int
    rolls: str
    space: Mapping[str, str]
    fixed: Mapping[str, Any]
    ranked: list[Candidate]
    pruned: list[Candidate]
    comparison: Comparison | None
    unmet: list[str]  # constraints no candidate met
    sessions_played: int
    sessions_unpruned: int  # what every candidate on every session would have cost
    interrupted: bool


def _pm(estimate: Estimate, *, percent: bool) -> str:
    if percent:
        return f"{estimate.value * 100:.2f} ± {estimate.error * 100:.2f} %"
    return f"{estimate.value:.8f} ± {estimate.error:.8f}"


def ranking_table(summary: Summary, *, top: int) -> Table:
    percent = summary.objective not in ("mean-profit", "median-profit")
    table = Table(title=f"{summary.strategy}: {len(summary.ranked)} candidates on {summary.sessions:,} sessions "
                        f"each, by {summary.objective} (± one standard error)", title_justify="left")
    table.add_column("#", justify="right")
    names = list(summary.space)
    for name in names:
        table.add_column(name)
    table.add_column(summary.objective)
    target = summary.objective != "p-take-profit"  # else it is the objective's column already
    if target:
        table.add_column("P(take-profit)")
    table.add_column("P(bust)")
    table.add_column("mean profit")
    constrained = summary.constraints.given
    if constrained:
        table.add_column("constraints")
    for place, candidate in enumerate(summary.ranked[:top], start=1):
        figures = candidate.figures
        mean, error = figures.mean_profit_exact
        table.add_row(
            str(place), *(str(candidate.params.get(name)) for name in names),
            _pm(figures.objective(summary.objective), percent=percent),
            *([_pm(figures.p_take_profit, percent=True)] if target else []), _pm(figures.p_ruin, percent=True),
            f"{_coins(mean)} ± {_coins(error)}",
            *(["met" if candidate.feasible else "missed"] if constrained else []))
    return table


def _coins(satoshis: Decimal) -> str:
    from betbot.montecarlo.results import money_text  # noqa: PLC0415

    return money_text(satoshis)


def comparison_line(summary: Summary) -> str | None:
    comparison = summary.comparison
    if comparison is None:
        return None
    verdict = "better beyond the noise" if comparison.distinguishable else \
        "NOT distinguishable from the second (play either, or add --sessions)"
    if summary.objective == "median-profit":
        figure = f"sign test z = {comparison.z:.2f}"
    else:
        figure = f"difference {comparison.difference:+.6g} ± {comparison.error:.2g}, z = {comparison.z:.2f}"
    return f"the best is {verdict}: {figure} ({comparison.test})"


def optimize_document(summary: Summary) -> dict[str, Any]:
    """The --json document."""
    best = summary.ranked[0] if summary.ranked and summary.ranked[0].feasible else None
    comparison = summary.comparison
    return {
        "strategy": summary.strategy,
        "objective": summary.objective,
        "constraints": {"max_ruin": summary.constraints.max_ruin,
                        "max_drawdown": None if summary.constraints.max_drawdown is None else
                        _coins(Decimal(summary.constraints.max_drawdown)),
                        "min_bets": summary.constraints.min_bets},
        "unmet_constraints": summary.unmet,
        "seed": summary.seed,
        "sessions": summary.sessions,
        "rolls": summary.rolls,
        "space": dict(summary.space),
        "fixed": {name: str(value) for name, value in summary.fixed.items()},
        "best": None if best is None else _candidate(best, summary.objective, place=1),
        "comparison": None if comparison is None else {
            "difference": comparison.difference, "standard_error": comparison.error, "z": comparison.z,
            "distinguishable": comparison.distinguishable, "test": comparison.test},
        "ranking": [_candidate(c, summary.objective, place=k) for k, c in enumerate(summary.ranked, start=1)],
        "pruned": [_candidate(c, summary.objective, place=None) for c in summary.pruned],
        "sessions_played": summary.sessions_played,
        "sessions_without_pruning": summary.sessions_unpruned,
        "interrupted": summary.interrupted,
    }


def _candidate(candidate: Candidate, objective: Objective, *, place: int | None) -> dict[str, Any]:
    value = candidate.figures.objective(objective)
    return {"rank": place, "trial": candidate.number, "params": {k: str(v) for k, v in candidate.params.items()},
            "objective": {"value": value.value, "standard_error": value.error},
            "feasible": candidate.feasible, "violations": candidate.violations,
            "figures": candidate.figures.document()}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, Enum):
        value = value.value
    return json.dumps(str(value))


def write_preset(path: Path, settings: Settings, params: Mapping[str, Any], *, title: str,
                 reproduce: str) -> None:
    lines = [f"# {title}", "#", "# Written by `betbot optimize`. Run it:", f"#   betbot run --config {path}",
             "# Reproduce the figures it was chosen by:", f"#   {reproduce}", ""]
    defaults = Settings.model_fields
    for name in PRESET_FIELDS:
        value = getattr(settings, name)
        if value is None or (name != "strategy" and value == defaults[name].default and name != "balance"):
            continue
        lines.append(f"{name} = {_toml(value)}")
    lines += ["", "[params]"]
    lines += [f"{name} = {_toml(value)}" for name, value in params.items()]
    with atomic_write(path) as out:
        out.write("\n".join(lines) + "\n")
