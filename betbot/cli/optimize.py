"""`betbot optimize`: search a strategy's parameters for the best configuration, on `simulate`'s machinery.

The strategy, limit and simulator flags are `simulate`'s (and `run`'s); `-p NAME=lo..hi` (or a,b,c) makes a
parameter searched, any other `-p` stays fixed (`betbot.optimize.space`). The work is `betbot.optimize`'s.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import (
    FILE,
    GroupedCommand,
    SettingOption,
    collect_flags,
    limit_options,
    simulator_options,
    strategy_options,
)
from betbot.cli.simulate import DEFAULT_SESSION_BETS, make_executor, montecarlo_options, positive_int, uses_dask
from betbot.cli.stopping import StopFlag

if TYPE_CHECKING:
    from rich.console import Console

    from betbot.config.settings import Settings
    from betbot.optimize.figures import Constraints, Objective
    from betbot.optimize.search import Candidate, SearchOptions
    from betbot.optimize.space import SearchSpace

__all__ = ["StopFlag", "optimize_command"]

_EPILOG = """\b
-p NAME=lo..hi searches a range (lo..hi:log on a log scale, lo..hi:int whole numbers), -p NAME=a,b,c a
choice; any other -p is fixed. A Lua script's parameters are its top-level lines `name = number`.
Every candidate plays the same sessions (session i rolls from --seed and i alone): differences between
candidates are the parameters', not luck. The search is the same for any --workers or executor.
Ctrl-C stops after the candidate in progress and reports what was found (a second Ctrl-C stops at once).
Exit codes: 0 done, 1 a session or a worker failed, 2 bad input or no candidate met the constraints,
130 interrupted (what was found is shown and written)."""


def _opt(*decls: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(*decls, cls=SettingOption, group="Search", env="", **kwargs)


def _mc(*decls: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(*decls, cls=SettingOption, group="Monte Carlo", env="", **kwargs)


@click.command("optimize", cls=GroupedCommand, epilog=_EPILOG)
@strategy_options
@limit_options
@simulator_options
@_mc("--sessions", "-N", "sessions", default="1000", shows="1000", metavar="N",
     help="Sessions each candidate that survives the pruning plays (the weaker ones stop at a third, a ninth...).")
@montecarlo_options
@_opt("--objective", type=click.Choice(["p-take-profit", "median-profit", "mean-profit", "p-profit",
                                        "sessions-survived"]), default=None,
      shows="p-take-profit with --take-profit, else median-profit", help="What to maximise.")
@_opt("--max-ruin", metavar="PCT%", default=None, shows="none",
      help="Only candidates whose P(bust) is at most this (bust: the stop-loss, the minimum balance, or a stake "
           "the balance no longer covers).")
@_opt("--max-drawdown", metavar="AMOUNT|PCT%", default=None, shows="none",
      help="Only candidates whose largest drawdown stays within this in 95 % of sessions.")
@_opt("--min-bets", metavar="N", default=None, shows="none",
      help="Only candidates whose sessions last at least N bets on average.")
@_opt("--trials", "-t", default="100", shows="100", metavar="N", help="Candidates to evaluate.")
@_opt("--grid", is_flag=True, default=False, shows="off",
      help="Every combination of the values (--grid-points per decimal range; every whole number; every choice).")
@_opt("--grid-points", default="5", shows="5", metavar="N", help="Values per decimal range with --grid.")
@_opt("--prune/--no-prune", "prune", default=True, shows="prune",
      help="Successive halving: stop a candidate early on a third of the sessions when it is not in the top third.")
@_opt("--study", metavar="NAME", default=None, shows="none",
      help="Keep the search in SQLite beside the journal (studies.sqlite3) under this name; the same NAME "
           "resumes it.")
@_opt("--space", "space_path", type=FILE, default=None, shows="none",
      help="A TOML file with a [space] table of -p specs (multiplier = \"1.5..4\", on_loss = [\"multiply\", "
           "\"add\"]).")
@_opt("--top", default="10", shows="10", metavar="N", help="Rows of the ranking to print.")
@_opt("--json", "json_path", type=FILE, default=None, shows="none", help="Write the ranking as JSON here.")
@_opt("--plot", "plot_path", type=FILE, default=None, shows="none",
      help="Draw P(take-profit) against P(bust), the Pareto front marked: out.png or out.html.")
@_opt("--write-preset", "preset_path", type=FILE, default=None, shows="none",
      help="Write the winner as a settings file for `betbot run --config FILE.toml`.")
@click.option("--config", "config", cls=SettingOption, group="Session", env="BETBOT_CONFIG", shows="none",
              type=FILE, envvar="BETBOT_CONFIG", help="TOML settings file (see config/betbot.example.toml).")
def optimize_command(config: Path | None, **options: Any) -> None:
    """Search a strategy's parameters for the best chance of a target, or the best profit.

    \b
    Examples:
      betbot optimize -s martingale --balance 10 --take-profit 5 --stop-loss 50% --max-bets 500 \\
          -p multiplier=1.5..4 -p base_bet=0.001..0.1:log --max-ruin 5% --seed demo
      betbot optimize -s advanced --take-profit 10% -p on_loss=multiply,add -p every_nth_loss=1..5:int
      betbot optimize -s flat --take-profit 10 -p base_bet=0.5,1,2,5 --grid --write-preset best.toml
    """
    import importlib.util  # noqa: PLC0415

    from betbot.config.settings import SettingsError  # noqa: PLC0415 - start-up time
    from betbot.montecarlo.plots import check_plot_target  # noqa: PLC0415
    from betbot.optimize.space import SpaceError  # noqa: PLC0415

    if importlib.util.find_spec("optuna") is None:
        raise click.ClickException("betbot optimize needs Optuna: pip install 'betbot-duckdice[optimize]'")
    sessions = positive_int(options.pop("sessions"), "--sessions")
    trials = positive_int(options.pop("trials"), "--trials")
    grid_points = positive_int(options.pop("grid_points"), "--grid-points")
    top = positive_int(options.pop("top"), "--top")
    use_dask = uses_dask(options.pop("executor"), scheduler := options.pop("scheduler"))
    workers, rolls, kernel = options.pop("workers"), options.pop("rolls"), options.pop("kernel")
    out_paths = {flag: options.pop(name) for flag, name in
                 (("--json", "json_path"), ("--plot", "plot_path"), ("--write-preset", "preset_path"))}
    for flag, target in out_paths.items():
        if target is not None and target.is_dir():
            raise BadInput(f"{flag} {target} is a directory; name a file")
    plot_path = out_paths["--plot"]
    if plot_path is not None and (problem := check_plot_target(plot_path)) is not None:
        raise BadInput(problem)
    search = {name: options.pop(name) for name in ("objective", "max_ruin", "max_drawdown", "min_bets", "grid",
                                                     "prune", "study", "space_path")}
    try:
        setup = _setup(config, options, search, sessions=sessions, trials=trials, grid_points=grid_points,
                       rolls=rolls, kernel=kernel)
    except (SettingsError, SpaceError) as exc:
        raise BadInput(str(exc)) from None
    sys.exit(_optimize(setup, workers=workers, dask=use_dask, scheduler=scheduler, top=top, json_path=out_paths[
        "--json"], plot_path=plot_path, preset_path=out_paths["--write-preset"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Setup:
    """The validated search: settings, space, objective, constraints, options."""

    settings: Settings
    config: Path | None
    space: SearchSpace
    objective: Objective
    constraints: Constraints
    options: SearchOptions
    cap: int | None
    rolls: str
    kernel: bool
    seed: str


def _split_flags(values: tuple[str, ...]) -> list[tuple[str, str]]:
    items = []
    for item in values:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--param {item!r} must look like name=value or name=lo..hi, e.g. -p multiplier=1.5..4")
        items.append((name.strip(), spec))
    return items


def _setup(config: Path | None, options: dict[str, Any], search: dict[str, Any], *, sessions: int, trials: int,
           grid_points: int, rolls: str, kernel: bool) -> _Setup:
    from betbot.config.paths import data_dir  # noqa: PLC0415
    from betbot.config.units import parse_amount_or_percent  # noqa: PLC0415
    from betbot.core.money import to_satoshis  # noqa: PLC0415
    from betbot.montecarlo.spec import random_master_seed  # noqa: PLC0415
    from betbot.optimize.search import SearchOptions  # noqa: PLC0415
    from betbot.optimize.space import (  # noqa: PLC0415
        SpaceError,
        load_space_file,
    )

    items = _split_flags(options.pop("params") or ())
    if search["space_path"] is not None:
        items = load_space_file(search["space_path"]) + items
    settings, space = _space(items, options, config)
    objective: Objective = search["objective"] or (
        "p-take-profit" if settings.take_profit is not None else "median-profit")
    if objective == "p-take-profit" and settings.take_profit is None:
        raise SpaceError("--objective p-take-profit needs a target: give --take-profit")
    constraints = _constraints(search, settings.balance, parse_amount_or_percent, to_satoshis)
    seed = settings.seed if settings.seed is not None else random_master_seed()
    cap = None if settings.max_bets is not None else DEFAULT_SESSION_BETS
    storage = None
    if search["study"] is not None:
        storage = (settings.journal.parent if settings.journal is not None else data_dir()) / "studies.sqlite3"
        storage.parent.mkdir(parents=True, exist_ok=True)
    record = {"strategy": settings.strategy, "space": space.describe(), "fixed": dict(space.fixed),
              "objective": objective, "constraints": constraints, "sessions": sessions, "seed": seed,
              "balance": settings.balance, "limits": [getattr(settings, n) for n in _LIMITS], "rolls": rolls,
              "grid": search["grid"], "prune": search["prune"], "script": _script_digest(settings)}
    search_options = SearchOptions(objective=objective, constraints=constraints, sessions=sessions, trials=trials,
                                   seed=seed, grid=search["grid"], grid_points=grid_points, prune=search["prune"],
                                   study=search["study"], storage=storage, setup=record)
    return _Setup(settings=settings, config=config, space=space, objective=objective, constraints=constraints,
                  options=search_options, cap=cap, rolls=rolls, kernel=kernel, seed=seed)


def _script_digest(settings: Settings) -> str | None:
    import hashlib  # noqa: PLC0415

    script = settings.params.get("script") if settings.strategy == "lua" else None
    return None if script is None else hashlib.sha256(Path(script).read_bytes()).hexdigest()


def _fmt(items: Any) -> tuple[str, ...]:
    return tuple(f"{name}={value}" for name, value in items)


def _space(items: list[tuple[str, str]], options: dict[str, Any], config: Path | None
           ) -> tuple[Settings, SearchSpace]:
    """The settings with the fixed -p, and the search space checked against the strategy's model."""
    from betbot.config.build import build_strategy, game_rules, strategy_context  # noqa: PLC0415
    from betbot.config.settings import SettingsError, load_settings  # noqa: PLC0415
    from betbot.optimize.space import SearchSpace, SpaceError, looks_searched, split_params  # noqa: PLC0415
    from betbot.strategies.registry import StrategyNotFound, load_strategy  # noqa: PLC0415

    # The strategy is known only once the settings are loaded: first with the fixed -p, and without any
    # when those are a script's own (they are not the lua strategy's).
    try:
        base = load_settings(collect_flags({**options, "params": _fmt((n, v) for n, v in items
                                                                      if not looks_searched(v))}), config)
    except SettingsError:
        base = load_settings(collect_flags({**options, "params": ()}), config)
    try:
        model = load_strategy(base.strategy).Params
    except StrategyNotFound as exc:
        raise SettingsError(str(exc)) from None
    render = None
    if base.strategy == "lua":
        own = [(n, v) for n, v in items if n.strip().replace("-", "_") in model.model_fields]
        searched_own, fixed = split_params(own, model, "lua")
        if searched_own:
            raise SpaceError(f"-p {searched_own[0].name}: a setting of the Lua runner, not of the script; give "
                             "it one value")
        script = _script_parameters(Path(base.params["script"]))
        dimensions, script_fixed = split_params(
            [item for item in items if item not in own], script.model(), f"script {script.script.name}",
            listed="its top-level lines `name = number`")
    else:
        dimensions, fixed = split_params(items, model, base.strategy)
    if not dimensions:
        raise SpaceError("nothing to search: give at least one parameter as a range or a choice, e.g. "
                         "-p base_bet=0.01..1:log or -p on_loss=multiply,add")
    for name, flag in (("chance", "--chance"), ("high", "--high/--low")):
        if getattr(base, name) is not None and any(d.name == name for d in dimensions):
            raise SpaceError(f"-p {name} is searched; drop {flag}")
    flags = collect_flags({**options, "params": _fmt(fixed.items())})
    settings = load_settings(flags, config)
    if base.strategy == "lua":
        runner = dict(settings.params)

        def render(values: Mapping[str, Any]) -> dict[str, Any]:
            return {**runner, "script": str(script.variant({**script_fixed, **values}))}

    space = SearchSpace(tuple(dimensions), dict(settings.params) if render is None else script_fixed, render)

    def build(params: dict[str, Any]) -> None:
        candidate = load_settings({**flags, "params": params}, config)
        build_strategy(candidate, strategy_context(candidate, candidate.balance, game_rules(candidate)))

    space.check(build)
    return settings, space


def _script_parameters(script: Path) -> Any:
    """The script's parameters; its variants go to a directory of this run's, removed at exit."""
    import atexit  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from betbot.optimize.script_params import ScriptParameters  # noqa: PLC0415
    from betbot.optimize.space import SpaceError  # noqa: PLC0415

    folder = Path(tempfile.mkdtemp(prefix="betbot-optimize-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    found = ScriptParameters(script, folder)
    if not found.defaults:
        raise SpaceError(f"script {script.name} sets no parameter at its top: optimize searches the numbers of "
                         "its top-level lines `name = number` (basebet = 0.000001)")
    return found


_LIMITS = ("max_bets", "max_duration", "stop_loss", "take_profit", "trailing_stop", "max_losses", "max_wins",
           "max_bet", "min_balance")


def _constraints(search: dict[str, Any], balance: Any, parse: Callable[[str], Any],
                 satoshis: Callable[[Any], int]) -> Constraints:
    from betbot.optimize.figures import Constraints  # noqa: PLC0415
    from betbot.optimize.space import SpaceError  # noqa: PLC0415

    max_ruin = None
    if search["max_ruin"] is not None:
        text = str(search["max_ruin"]).strip()
        try:
            value = float(text.removesuffix("%"))
        except ValueError:
            value = -1.0
        if not text.endswith("%") or not 0 <= value <= 100:
            raise SpaceError(f"--max-ruin takes a percentage from 0% to 100%, like 1%, not {text!r}")
        max_ruin = value / 100
    max_drawdown = None
    if search["max_drawdown"] is not None:
        try:
            max_drawdown = satoshis(parse(str(search["max_drawdown"])).resolve(balance))
        except ValueError as exc:
            raise SpaceError(f"--max-drawdown: {exc}") from None
    min_bets = None if search["min_bets"] is None else positive_int(search["min_bets"], "--min-bets")
    return Constraints(max_ruin=max_ruin, max_drawdown=max_drawdown, min_bets=min_bets)


def _optimize(setup: _Setup, *, workers: str, dask: bool, scheduler: str | None, top: int,
              json_path: Path | None, plot_path: Path | None, preset_path: Path | None) -> int:
    from rich.console import Console  # noqa: PLC0415

    from betbot.atomicfile import atomic_write  # noqa: PLC0415
    from betbot.core.rolls import RollSource  # noqa: PLC0415
    from betbot.montecarlo.executors import ExecutorError  # noqa: PLC0415
    from betbot.montecarlo.generic import SessionFailure  # noqa: PLC0415
    from betbot.montecarlo.plan import effective_workers, parse_workers  # noqa: PLC0415
    from betbot.optimize.evaluate import Evaluator, KeptOpen  # noqa: PLC0415
    from betbot.optimize.report import (  # noqa: PLC0415
        comparison_line,
        figure_text,
        optimize_document,
        ranking_table,
        summarize,
        write_preset,
    )
    from betbot.optimize.search import StudyMismatch, run_search  # noqa: PLC0415

    # Not on a terminal (a file, a pipe): wide enough that the table's rows stay on one line each.
    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    err = Console(file=sys.stderr)
    try:
        requested = parse_workers(workers)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    settings, options = setup.settings, setup.options
    try:
        executor = KeptOpen(make_executor(effective_workers(requested, options.sessions), dask=dask,
                                          scheduler=scheduler))
    except ExecutorError as exc:
        raise click.ClickException(str(exc)) from None
    evaluator = Evaluator(settings=settings, master_seed=setup.seed, executor=executor, max_bets_cap=setup.cap,
                          rolls=RollSource(setup.rolls), use_kernel=setup.kernel)
    first = evaluator.spec(setup.space.candidate(setup.space.first()), 1)
    path = "the vectorised kernel" if evaluator.on_kernel(first) else "the generic path"
    cap_note = f", sessions capped at {setup.cap:,} bets (no --max-bets)" if setup.cap else ""
    err.print(f"betbot: optimizing {settings.strategy} over {', '.join(setup.space.describe())} for "
              f"{setup.objective}: {options.trials} candidates x up to {options.sessions:,} sessions on {path}, "
              f"seed {setup.seed!r}, {executor.workers} worker(s) {executor.name}{cap_note}",
              highlight=False, soft_wrap=True)
    progress = _Progress(err, options.trials, setup.objective)
    try:
        with StopFlag().installed() as stop:
            outcome = run_search(evaluator, setup.space, options, stop=stop, progress=progress)
            summary = summarize(evaluator, setup.space, setup.options, outcome, strategy=settings.strategy,
                                rolls=setup.rolls)
    except StudyMismatch as exc:
        executor.shutdown()
        raise BadInput(str(exc)) from None
    except SessionFailure as exc:
        raise click.ClickException(f"{exc} (after stopping every worker)") from None
    except ExecutorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        executor.shutdown()
    out.print(ranking_table(summary, top=top))
    if (line := comparison_line(summary)) is not None:
        err.print(f"betbot: {line}", highlight=False, soft_wrap=True)
    saved = 1 - summary.sessions_played / summary.sessions_unpruned if summary.sessions_unpruned else 0.0
    err.print(f"betbot: {summary.sessions_played:,} sessions played in {evaluator.seconds:.1f} s of simulation; "
              f"every candidate on every session would have been {summary.sessions_unpruned:,} (pruning and "
              f"the cache saved {saved:.0%})", highlight=False, soft_wrap=True)
    for line in summary.unmet:
        err.print(f"betbot: {line}", highlight=False, soft_wrap=True)
    document = optimize_document(summary)
    if json_path is not None:
        with atomic_write(json_path) as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
    best = summary.ranked[0] if summary.ranked and summary.ranked[0].feasible else None
    if plot_path is not None:
        _plot(plot_path, summary, best, top=top)
    if preset_path is not None and best is not None:
        params = setup.space.candidate(best.params)
        if settings.strategy == "lua":  # the winner's variant of the script, beside the preset that names it
            script = preset_path.with_suffix(".lua")
            with atomic_write(script) as handle:
                handle.write(Path(params["script"]).read_text(encoding="utf-8"))
            params["script"] = str(script.resolve())
        reproduce = _reproduce_line(preset_path, setup)
        write_preset(preset_path, settings, params, title=f"{settings.strategy} chosen by betbot optimize for "
                     f"{setup.objective}: {figure_text(best, setup.objective)}", reproduce=reproduce)
        err.print(f"betbot: the winner is in {preset_path}; reproduce its figures with: {reproduce}",
                  highlight=False, soft_wrap=True)
    if outcome.interrupted:
        err.print("betbot: interrupted; the candidates finished are shown", highlight=False)
        return 130
    if summary.ranked and best is None:
        return 2
    return 0


def _reproduce_line(preset: Path, setup: _Setup) -> str:
    rolls = "" if setup.rolls == "fast" else f" --rolls {setup.rolls}"
    return f"betbot simulate --config {preset} --sessions {setup.options.sessions} --seed {setup.seed}{rolls}"


def _plot(path: Path, summary: Any, best: Any, *, top: int) -> None:
    from betbot.optimize.plot import write_tradeoff_plot  # noqa: PLC0415
    from betbot.optimize.report import figure_text  # noqa: PLC0415

    names = list(summary.space)
    header = ["#", *names, summary.objective, "P(take-profit)", "P(bust)", "sessions"]
    rows = [[str(k), *(str(c.params.get(n)) for n in names), figure_text(c, summary.objective),
             f"{c.figures.p_take_profit.value:.2%}", f"{c.figures.p_ruin.value:.2%}", str(c.figures.sessions)]
            for k, c in enumerate(summary.ranked[:top], start=1)]
    title = f"{summary.strategy}: P(take-profit) against P(bust), seed {summary.seed}"
    write_tradeoff_plot(path, [*summary.ranked, *summary.pruned], best, title=title, rows=rows, header=header,
                        max_ruin=summary.constraints.max_ruin)


class _Progress:
    """A line per candidate on stderr: what it scored, and the best so far."""

    def __init__(self, console: Console, total: int, objective: Objective) -> None:
        self._console = console
        self._total = total
        self._objective = objective
        self._best: Candidate | None = None

    def __call__(self, done: int, candidate: Candidate) -> None:
        from betbot.optimize.report import figure_text  # noqa: PLC0415

        if candidate.complete and candidate.feasible and (
                self._best is None or candidate.figures.objective(self._objective).value >
                self._best.figures.objective(self._objective).value):
            self._best = candidate
        params = " ".join(f"{k}={v}" for k, v in candidate.params.items())
        state = "" if candidate.complete else f" (pruned at {candidate.figures.sessions:,} sessions)"
        missed = [name for name, value in candidate.violations.items() if value > 0]
        if missed:
            state += f" (misses {', '.join('--' + name.replace('_', '-') for name in missed)})"
        best = "none yet" if self._best is None else \
            f"#{self._best.number} {figure_text(self._best, self._objective)}"
        self._console.print(f"betbot: candidate {done}/{self._total}: {params}: "
                            f"{figure_text(candidate, self._objective)}{state}; best so far {best}",
                            highlight=False, soft_wrap=True)
