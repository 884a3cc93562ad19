"""The search: Optuna proposes candidates, successive halving stops the poor ones early, betbot evaluates.

Why Optuna. It is well kept and widely used, its TPE sampler handles ranges, log ranges, whole numbers and
choices in one space with dependencies between them, its successive-halving pruner is the textbook way to
spend sessions on the promising candidates, and its studies live in SQLite (`--study NAME`: resumable,
inspectable with Optuna's own tools). The alternatives were a hand-written grid or random search (no
learning, no pruning), scikit-optimize (unmaintained), Nevergrad and Hyperopt (no pruning built in).

Theory of operation. Trials run one after another (`ask`, evaluate, `tell`); the parallelism is inside an
evaluation, across sessions (`evaluate.py`). So the sequence of candidates depends only on the sampler's
seed (derived from --seed) and on the values told back, which depend only on the candidates and the seed:
the search is the same for any worker count or executor. A candidate is played on the rungs
    r, 3r, 9r, ..., N sessions   (r the smallest that leaves at least MIN_RUNG sessions, at most 3 halvings)
reporting its objective after each; the pruner (reduction factor 3) stops it at a rung where it is not in
the top third of the candidates that reached that rung. The value reported is the objective when the
constraints are met, and far below every feasible value otherwise (ordered by how far they are broken), so
an infeasible candidate is pruned and the sampler learns to avoid it.

Ctrl-C sets a flag (`stop`), checked before each candidate and each rung: the candidates finished are kept;
the one in progress is dropped (told FAIL, so a resumed study does not count it).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from betbot.optimize.evaluate import Evaluator, Interrupted
from betbot.optimize.figures import Columns, Constraints, Estimate, Figures, Objective, figures_of
from betbot.optimize.space import Dimension, SearchSpace, candidate_key

__all__ = ["MIN_RUNG", "Candidate", "SearchOptions", "SearchOutcome", "StudyMismatch", "run_search", "rungs"]

MIN_RUNG: Final = 200
MAX_HALVINGS: Final = 3
REDUCTION: Final = 3
INFEASIBLE: Final = -1e9  # below any objective value (shares are in [0, 1]; money in coins is far smaller)


class StudyMismatch(ValueError):
    """`--study NAME` names a study made for another search: one line saying what differs."""


def rungs(sessions: int, *, prune: bool = True) -> list[int]:
    """The session counts a candidate is evaluated at: r, 3r, 9r, ... then `sessions`."""
    if not prune:
        return [sessions]
    halvings = 0
    while halvings < MAX_HALVINGS and sessions / REDUCTION ** (halvings + 1) >= MIN_RUNG:
        halvings += 1
    first = math.ceil(sessions / REDUCTION**halvings)
    return [first * REDUCTION**k for k in range(halvings)] + [sessions]


@dataclass(frozen=True, slots=True)
class SearchOptions:
    objective: Objective
    constraints: Constraints
    sessions: int
    trials: int
    seed: str
    grid: bool = False
    grid_points: int = 5
    prune: bool = True
    study: str | None = None
    storage: Path | None = None
    setup: Mapping[str, Any] = field(default_factory=dict)  # what a resumed study must have been made for


@dataclass(slots=True)
class Candidate:
    number: int
    params: dict[str, Any]  # the searched values only
    figures: Figures
    complete: bool  # played on every session (False: pruned after `figures.sessions`)
    violations: dict[str, float]

    @property
    def feasible(self) -> bool:
        return all(value <= 0 for value in self.violations.values())


@dataclass(slots=True)
class SearchOutcome:
    candidates: list[Candidate] = field(default_factory=list)
    interrupted: bool = False
    resumed: int = 0  # candidates a resumed study brought in


Progress = Callable[[int, Candidate], None]


def _seed_int(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(f"betbot/optimize/{seed}".encode()).digest()[:4], "big")


def _reported(value: float, violations: Mapping[str, float]) -> float:
    broken = sum(v for v in violations.values() if v > 0)
    return value if broken == 0 else INFEASIBLE * (1 + broken)


def run_search(evaluator: Evaluator, space: SearchSpace, options: SearchOptions, *,
               stop: Callable[[], bool] = lambda: False, progress: Progress | None = None) -> SearchOutcome:
    """Evaluate up to `options.trials` candidates (every grid point with --grid, at most trials of them)."""
    import optuna  # noqa: PLC0415 - only `betbot optimize` pays for it

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = _seed_int(options.seed)
    trials = options.trials
    grid = None
    if options.grid:
        # Every point enqueued in a fixed order (Optuna's GridSampler stops the study itself, which the
        # ask-and-tell loop cannot take); the sampler never draws.
        grid = {d.name: d.grid(options.grid_points) for d in space.dimensions}
        points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
        trials = min(trials, len(points))
        sampler: Any = optuna.samplers.RandomSampler(seed=seed)
    else:
        points = []
        with warnings.catch_warnings():  # multivariate TPE is marked experimental; it models the parameters jointly
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    steps = rungs(options.sessions, prune=options.prune)
    pruner: Any = (optuna.pruners.SuccessiveHalvingPruner(min_resource=steps[0], reduction_factor=REDUCTION)
                   if len(steps) > 1 else optuna.pruners.NopPruner())
    storage = None if options.storage is None else f"sqlite:///{options.storage}"
    study = optuna.create_study(study_name=options.study, storage=storage, sampler=sampler, pruner=pruner,
                                direction="maximize", load_if_exists=options.study is not None)
    outcome = SearchOutcome()
    _check_setup(study, options)
    for past in study.get_trials(deepcopy=False):
        if past.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) and \
                "figures" in past.user_attrs:
            outcome.candidates.append(_restored(past))
    outcome.resumed = len(outcome.candidates)
    done = {candidate_key(t.user_attrs.get("params") or t.system_attrs.get("fixed_params") or {})
            for t in study.get_trials(deepcopy=False)}  # a resumed grid study: its points played or queued
    for point in points:
        if candidate_key(point) not in done:
            study.enqueue_trial(point)
    while len(outcome.candidates) < trials:
        if stop():
            outcome.interrupted = True
            break
        trial = study.ask()
        values = {d.name: _suggest(trial, d, grid) for d in space.dimensions}
        params = space.candidate(values)
        trial.set_user_attr("params", values)
        try:
            candidate = _play(trial, evaluator, params, values, steps=steps, options=options, stop=stop)
        except Interrupted:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            outcome.interrupted = True
            break
        if candidate is None:  # stopped between rungs
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            outcome.interrupted = True
            break
        last = _reported(candidate.figures.objective(options.objective).value, candidate.violations)
        trial.set_user_attr("figures", _stored(candidate.figures))
        trial.set_user_attr("violations", candidate.violations)
        if candidate.complete:
            study.tell(trial, last)
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        outcome.candidates.append(candidate)
        if progress is not None:
            progress(len(outcome.candidates), candidate)
    return outcome


def _suggest(trial: Any, dimension: Dimension, grid: Mapping[str, list[str | int]] | None) -> str | int:
    if grid is not None:  # the grid's values are candidates' values already
        value: str | int = trial.suggest_categorical(dimension.name, grid[dimension.name])
        return value
    if dimension.kind == "choice":
        return dimension.value(trial.suggest_categorical(dimension.name, list(dimension.choices)))
    low, high = dimension.bounds()
    if dimension.kind == "int":
        return dimension.value(trial.suggest_int(dimension.name, int(low), int(high), log=dimension.log))
    return dimension.value(trial.suggest_float(dimension.name, float(low), float(high), log=dimension.log))


def _play(trial: Any, evaluator: Evaluator, params: dict[str, Any], values: dict[str, Any], *, steps: list[int],
          options: SearchOptions, stop: Callable[[], bool]) -> Candidate | None:
    """The candidate through the rungs until it is pruned or complete; None if stopped between rungs."""
    columns: Columns | None = None
    for rung, sessions in enumerate(steps):
        if rung and stop():
            return None
        columns = evaluator.evaluate(params, sessions)
        figures = figures_of(columns)
        violations = options.constraints.violations(figures)
        if rung == len(steps) - 1:
            return Candidate(trial.number, values, figures, True, violations)
        trial.report(_reported(figures.objective(options.objective).value, violations), sessions)
        if trial.should_prune():
            return Candidate(trial.number, values, figures, False, violations)
    raise AssertionError("unreachable: the last rung returns")  # pragma: no cover


# -- a study in SQLite: what it was made for, and its candidates brought back -------------------------------
def _check_setup(study: Any, options: SearchOptions) -> None:
    recorded = study.user_attrs.get("setup")
    wanted = {key: str(value) for key, value in options.setup.items()}
    if recorded is None:
        study.set_user_attr("setup", wanted)
        return
    for key in sorted(set(recorded) | set(wanted)):
        if recorded.get(key) != wanted.get(key):
            raise StudyMismatch(
                f"--study {options.study} was made with {key} {recorded.get(key)!r}, not {wanted.get(key)!r}; "
                "give the same search to resume it, or a new --study name")


_STORED_SHARES: Final = ("p_take_profit", "p_profit", "p_ruin")


def _stored(figures: Figures) -> dict[str, Any]:
    document: dict[str, Any] = {name: [getattr(figures, name).value, getattr(figures, name).error]
                                for name in _STORED_SHARES}
    mean, error = figures.mean_profit_exact
    median, median_error = figures.median_profit_exact
    document.update(sessions=figures.sessions, mean_profit=[str(mean), str(error)],
                    median_profit=[str(median), str(median_error)],
                    drawdown_q95=figures.drawdown_q95, mean_bets=figures.mean_bets)
    return document


def _restored(trial: Any) -> Candidate:
    stored = trial.user_attrs["figures"]
    shares = {name: Estimate(*stored[name]) for name in _STORED_SHARES}
    mean, error = stored["mean_profit"]
    median, median_error = stored["median_profit"]
    figures = Figures(sessions=stored["sessions"], mean_profit_exact=(Decimal(mean), Decimal(error)),
                      median_profit_exact=(Decimal(median), Decimal(median_error)),
                      drawdown_q95=stored["drawdown_q95"], mean_bets=stored["mean_bets"], **shares)
    return Candidate(trial.number, dict(trial.user_attrs["params"]), figures,
                     trial.state.name == "COMPLETE", dict(trial.user_attrs.get("violations", {})))

