"""`betbot compare`: every strategy on the same balance, limits and sessions, ranked; `simulate`'s charts for each.

The entries: the built-in strategies with their default parameters (those that need a parameter of their
own, like a script, are left out and said so), the TOML presets betbot ships (`strategies/*.toml`, their
game and parameters; their limits give way to this command's, so every entry plays under the same ones),
and any `--script FILE.lua` and `--plugin FILE.py:Class` given. Each is one `simulate` run (the same
driver, kernel, executors) on the same master seed, so session i of every entry rolls the same numbers.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import FILE, GroupedCommand, SettingOption, collect_flags, limit_options, simulator_options
from betbot.cli.simulate import DEFAULT_SESSION_BETS, make_executor, montecarlo_options, positive_int, uses_dask

if TYPE_CHECKING:
    from betbot.config.settings import Settings
    from betbot.montecarlo.executors import Executor
    from betbot.optimize.figures import Objective

__all__ = ["compare_command"]

_LIMIT_KEYS: Final = frozenset(("max_bets", "max_duration", "stop_loss", "take_profit", "trailing_stop", "max_losses",
                                "max_wins", "max_bet", "min_balance", "balance", "seed", "currency"))
FAN_SESSIONS: Final = 100  # sessions per entry whose balance path the page's fan chart draws


def _cmp(*decls: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(*decls, cls=SettingOption, group="Compare", env="", **kwargs)


@click.command("compare", cls=GroupedCommand, epilog="""\b
Every entry plays the same sessions (session i rolls from --seed and i alone). Exit codes: 0 done, 1 a
session or a worker failed, 2 bad input, 130 interrupted (the entries finished are shown).""")
@limit_options
@simulator_options
@click.option("--sessions", "-N", "sessions", cls=SettingOption, group="Monte Carlo", env="", default="1000",
              shows="1000", metavar="N", help="Sessions per entry.")
@montecarlo_options
@_cmp("--script", "scripts", multiple=True, type=FILE, default=(), shows="none",
      help="A DiceBot Lua script to compare too (repeat for several).")
@_cmp("--plugin", "plugins", multiple=True, metavar="FILE.py:Class", default=(), shows="none",
      help="A Python strategy class to compare too (repeat for several).")
@_cmp("--builtins/--no-builtins", "builtins", default=True, shows="builtins", help="Include the built-ins.")
@_cmp("--presets/--no-presets", "presets", default=True, shows="presets",
      help="Include the TOML presets betbot ships.")
@_cmp("--objective", type=click.Choice(["p-take-profit", "median-profit", "mean-profit", "p-profit",
                                        "sessions-survived"]), default=None,
      shows="p-take-profit with --take-profit, else median-profit", help="What to rank by.")
@_cmp("--json", "json_path", type=FILE, default=None, shows="none", help="Write the ranking as JSON here.")
@_cmp("--html", "html_path", type=FILE, default=None, shows="none",
      help="Write a page: the ranking, P(take-profit) against P(bust), and `simulate`'s charts for each entry.")
def compare_command(**options: Any) -> None:
    """Rank the built-in strategies, the shipped presets and any scripts or plug-ins on the same sessions.

    \b
    Examples:
      betbot compare --balance 10 --take-profit 5 --stop-loss 50% --max-bets 1000 --seed demo
      betbot compare --no-builtins --script mine.lua --plugin mine.py:Mine --html compare.html
    """
    from betbot.config.settings import SettingsError  # noqa: PLC0415

    sessions = positive_int(options.pop("sessions"), "--sessions")
    use_dask = uses_dask(options.pop("executor"), scheduler := options.pop("scheduler"))
    workers, rolls, kernel = options.pop("workers"), options.pop("rolls"), options.pop("kernel")
    json_path, html_path = options.pop("json_path"), options.pop("html_path")
    for flag, target in (("--json", json_path), ("--html", html_path)):
        if target is not None and target.is_dir():
            raise BadInput(f"{flag} {target} is a directory; name a file")
    if html_path is not None and html_path.suffix.lower() != ".html":
        raise BadInput(f"--html {html_path}: the file must end in .html")
    objective = options.pop("objective")
    scripts, plugins = options.pop("scripts"), options.pop("plugins")
    builtins, presets = options.pop("builtins"), options.pop("presets")
    flags = collect_flags(options)
    try:
        entries, skipped = _entries(flags, scripts=scripts, plugins=plugins, builtins=builtins, presets=presets)
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    if not entries:
        raise BadInput("nothing to compare: keep the built-ins or presets, or give --script / --plugin")
    first = entries[0].settings
    if objective is None:
        objective = "p-take-profit" if first.take_profit is not None else "median-profit"
    if objective == "p-take-profit" and first.take_profit is None:
        raise BadInput("--objective p-take-profit needs a target: give --take-profit")
    from betbot.montecarlo.plan import effective_workers, parse_workers  # noqa: PLC0415
    from betbot.montecarlo.spec import random_master_seed  # noqa: PLC0415

    try:
        requested = parse_workers(workers)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    seed = first.seed if first.seed is not None else random_master_seed()
    from betbot.montecarlo.executors import ExecutorError  # noqa: PLC0415

    try:
        executor = make_executor(effective_workers(requested, sessions), dask=use_dask, scheduler=scheduler)
    except ExecutorError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(_compare(entries, skipped, executor, sessions=sessions, seed=seed, rolls=rolls, kernel=kernel,
                      objective=objective, json_path=json_path, html_path=html_path))


@dataclass(frozen=True, slots=True)
class _Entry:
    label: str
    settings: Settings


def _entries(flags: dict[str, Any], *, scripts: tuple[Path, ...], plugins: tuple[str, ...], builtins: bool,
             presets: bool) -> tuple[list[_Entry], list[str]]:
    from betbot.config.settings import SettingsError, load_settings  # noqa: PLC0415
    from betbot.montecarlo.spec import SimulationSpec  # noqa: PLC0415
    from betbot.strategies.registry import BUILTIN_STRATEGIES  # noqa: PLC0415
    from betbot.strategies.shipped import shipped_dir  # noqa: PLC0415

    wanted: list[tuple[str, dict[str, Any], bool]] = []  # label, flags, whether a failure is the user's
    if builtins:
        wanted += [(name, {"strategy": name}, False) for name in BUILTIN_STRATEGIES if name != "lua"]
    folder = shipped_dir()
    if presets and folder is not None:
        for path in sorted(folder.glob("*.toml")):
            document = tomllib.loads(path.read_text(encoding="utf-8"))
            wanted.append((path.name, {k: v for k, v in document.items() if k not in _LIMIT_KEYS}, False))
    wanted += [(script.name, {"strategy": "lua", "params": {"script": str(script)}}, True) for script in scripts]
    wanted += [(plugin, {"strategy": plugin}, True) for plugin in plugins]
    entries, skipped = [], []
    for label, own, strict in wanted:
        try:
            settings = load_settings({**own, **flags})
            SimulationSpec.create(settings, sessions=1, master_seed="check")  # builds the strategy: bad params
        except SettingsError as exc:
            if strict:
                raise
            skipped.append(f"{label}: {exc}")
            continue
        entries.append(_Entry(label, settings))
    return entries, skipped


def _compare(entries: list[_Entry], skipped: list[str], executor: Executor, *, sessions: int, seed: str, rolls: str,
             kernel: bool, objective: Objective, json_path: Path | None, html_path: Path | None) -> int:

    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from betbot.atomicfile import atomic_write  # noqa: PLC0415
    from betbot.optimize.evaluate import KeptOpen  # noqa: PLC0415
    from betbot.optimize.report import figure_text, rank  # noqa: PLC0415

    # Not on a terminal (a file, a pipe): wide enough that the table's rows stay on one line each.
    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    err = Console(file=sys.stderr)
    for line in skipped:
        err.print(f"betbot: left out {line}", highlight=False, soft_wrap=True)
    err.print(f"betbot: comparing {len(entries)} strategies on the same {sessions:,} sessions, seed {seed!r}, "
              f"{executor.workers} worker(s)", highlight=False, soft_wrap=True)
    played, interrupted = _play(entries, KeptOpen(executor), err, sessions=sessions, seed=seed, rolls=rolls,
                                kernel=kernel, paths=min(FAN_SESSIONS, sessions) if html_path is not None else 0)
    by_number = {candidate.number: (entry, candidate, outcome) for entry, candidate, outcome in played}
    ranked = rank([candidate for _, candidate, _ in played], objective)
    table = Table(title=f"{len(ranked)} strategies on the same {sessions:,} sessions, by {objective} "
                        "(± one standard error)", title_justify="left")
    header = ["#", "strategy", objective, "P(take-profit)", "P(bust)", "mean profit", "expected RTP"]
    for name in header:
        table.add_column(name)
    rows = []
    for place, candidate in enumerate(ranked, start=1):
        entry, _, outcome = by_number[candidate.number]
        mean = outcome.aggregates.report(rolls=rolls, seed=seed)["mean_profit"]
        rtp = outcome.aggregates.expected_rtp
        row = [str(place), entry.label,
               figure_text(candidate, objective),
               f"{candidate.figures.p_take_profit.value:.2%}", f"{candidate.figures.p_ruin.value:.2%}",
               f"{mean['mean']} ± {mean['standard_error']}", "n/a" if rtp is None else f"{rtp:.4%}"]
        rows.append(row)
        table.add_row(*row)
    out.print(table)
    if json_path is not None:
        document = {"objective": objective, "sessions": sessions, "seed": seed, "rolls": rolls,
                    "left_out": skipped, "interrupted": interrupted,
                    "ranking": [{"rank": k, "strategy": by_number[c.number][0].label,
                                 "settings_strategy": by_number[c.number][0].settings.strategy,
                                 "figures": c.figures.document(),
                                 "simulate": by_number[c.number][2].aggregates.report(rolls=rolls, seed=seed)}
                                for k, c in enumerate(ranked, start=1)]}
        with atomic_write(json_path) as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
    if html_path is not None:
        _page(html_path, header, rows, ranked, by_number, sessions=sessions, seed=seed)
    if interrupted:
        err.print("betbot: interrupted; the strategies finished are shown", highlight=False)
        return 130
    return 0


def _play(entries: list[_Entry], pool: Any, err: Any, *, sessions: int, seed: str, rolls: str, kernel: bool,
          paths: int) -> tuple[list[tuple[_Entry, Any, Any]], bool]:
    """Each entry's `simulate` on the same sessions, one after another on one pool of workers; Ctrl-C stops
    after the entry in progress (a second one at once)."""
    import dataclasses  # noqa: PLC0415

    from betbot.cli.stopping import StopFlag  # noqa: PLC0415
    from betbot.core.rolls import RollSource  # noqa: PLC0415
    from betbot.montecarlo.driver import simulate  # noqa: PLC0415
    from betbot.montecarlo.executors import ExecutorError  # noqa: PLC0415
    from betbot.montecarlo.generic import SessionFailure  # noqa: PLC0415
    from betbot.montecarlo.results import SessionResult  # noqa: PLC0415
    from betbot.montecarlo.spec import SimulationSpec  # noqa: PLC0415
    from betbot.optimize.figures import Columns, figures_of  # noqa: PLC0415
    from betbot.optimize.search import Candidate  # noqa: PLC0415

    played: list[tuple[_Entry, Any, Any]] = []
    with StopFlag().installed() as stop:
        try:
            for number, entry in enumerate(entries):
                if stop():
                    return played, True
                cap = None if entry.settings.max_bets is not None else DEFAULT_SESSION_BETS
                spec = SimulationSpec.create(entry.settings, sessions=sessions, master_seed=seed,
                                             rolls=RollSource(rolls), max_bets_cap=cap, use_kernel=kernel)
                results: list[SessionResult] = []
                outcome = simulate(dataclasses.replace(spec, paths=paths), pool, on_result=results.append)
                if outcome.interrupted:
                    return played, True
                columns = Columns()
                columns.extend(results)
                played.append((entry, Candidate(number, {"strategy": entry.label}, figures_of(columns), True, {}),
                               outcome))
                err.print(f"betbot: {entry.label}: {outcome.aggregates.sessions:,} sessions, "
                          f"{outcome.elapsed:.1f} s", highlight=False, soft_wrap=True)
        except (SessionFailure, ExecutorError) as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            pool.shutdown()
    return played, False


def _page(path: Path, header: list[str], rows: list[list[str]], ranked: list[Any], by_number: dict[int, Any], *,
          sessions: int, seed: str) -> None:
    import html  # noqa: PLC0415

    from betbot.atomicfile import atomic_write  # noqa: PLC0415
    from betbot.montecarlo.plots import figure_svg, html_page, html_table, simulation_svg  # noqa: PLC0415
    from betbot.optimize.plot import tradeoff_figure  # noqa: PLC0415

    title = f"betbot compare: {len(ranked)} strategies, {sessions:,} sessions each, seed {seed}"
    parts = [html_table(header, rows),
             figure_svg(tradeoff_figure(ranked, None, title="P(take-profit) against P(bust)",
                                        labels={c.number: by_number[c.number][0].label for c in ranked}))]
    for candidate in ranked:
        entry, _, outcome = by_number[candidate.number]
        parts.append(f"<h2>{html.escape(entry.label)}</h2>")
        parts.append(simulation_svg(outcome.aggregates, outcome.paths, title=entry.label,
                                    currency=entry.settings.currency))
    with atomic_write(path) as out:
        out.write(html_page(title, "".join(parts)))
