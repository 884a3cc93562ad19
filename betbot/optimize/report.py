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
from betbot.optimize.evaluate import Evaluator, Interrupted
from betbot.optimize.figures import Comparison, Constraints, Estimate, Objective, compare_paired
from betbot.optimize.search import Candidate, SearchOptions, SearchOutcome
from betbot.optimize.space import SearchSpace

__all__ = [
    "PRESET_FIELDS", "Summary", "comparison_line", "figure_text", "optimize_document", "rank", "ranking_table",
    "summarize", "write_preset",
]

MONEY_OBJECTIVES: Final = ("mean-profit", "median-profit")
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


def summarize(evaluator: Evaluator, space: SearchSpace, options: SearchOptions, outcome: SearchOutcome, *,
              strategy: str, rolls: str) -> Summary:
    """The ranking, the comparison of the best two on their common sessions (played again if a resumed study
    brought them in), and the constraints no candidate met."""
    objective = options.objective
    ranked = rank(outcome.candidates, objective)
    feasible = [c for c in ranked if c.feasible]
    comparison = None
    if len(feasible) >= 2:
        pair = [space.candidate(c.params) for c in feasible[:2]]
        columns = [evaluator.cached(params) for params in pair]
        try:
            if not evaluator.executor.aborted:
                columns = [evaluator.evaluate(params, options.sessions) for params in pair]
        except Interrupted:
            columns = [None, None]
        if columns[0] is not None and columns[1] is not None:
            comparison = compare_paired(columns[0], columns[1], objective)
    unmet = []
    complete = [c for c in outcome.candidates if c.complete]
    if complete:
        for name, flag in (("max_ruin", "--max-ruin"), ("max_drawdown", "--max-drawdown"),
                           ("min_bets", "--min-bets")):
            if name in complete[0].violations and all(c.violations[name] > 0 for c in complete):
                unmet.append(f"no candidate met {flag}: {_closest(complete, name)}")
        if not unmet and not feasible:
            unmet.append("no candidate met every constraint at once; loosen one of them")
    return Summary(strategy=strategy, objective=objective, constraints=options.constraints, seed=options.seed,
                   sessions=options.sessions, rolls=rolls, space=space.describe(), fixed=space.fixed, ranked=ranked,
                   pruned=[c for c in outcome.candidates if not c.complete], comparison=comparison, unmet=unmet,
                   sessions_played=evaluator.sessions_played,
                   sessions_unpruned=(len(outcome.candidates) - outcome.resumed) * options.sessions,
                   interrupted=outcome.interrupted)


def _closest(candidates: list[Candidate], name: str) -> str:
    if name == "max_ruin":
        return f"the lowest P(bust) was {min(c.figures.p_ruin.value for c in candidates):.2%}"
    if name == "max_drawdown":
        return f"the smallest 95 % drawdown was {_coins(Decimal(min(c.figures.drawdown_q95 for c in candidates)))}"
    return f"the longest sessions averaged {max(c.figures.mean_bets for c in candidates):,.1f} bets"


def figure_text(candidate: Candidate, objective: Objective) -> str:
    """The candidate's objective and its standard error, as the progress and the preset's title say it."""
    return _pm(candidate.figures.objective(objective), percent=objective not in MONEY_OBJECTIVES)


def _pm(estimate: Estimate, *, percent: bool) -> str:
    if percent:
        return f"{estimate.value * 100:.2f} ± {estimate.error * 100:.2f} %"
    return f"{estimate.value:.8f} ± {estimate.error:.8f}"


def ranking_table(summary: Summary, *, top: int) -> Table:
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
            figure_text(candidate, summary.objective),
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
