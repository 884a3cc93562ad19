"""`betbot simulate`: many sessions of one configuration, the distribution of outcomes, reproducibly.

The strategy, parameter and limit flags are `betbot run`'s own (`betbot.cli.options`), parsed by the same
Settings; the rest of the work is `betbot.montecarlo`'s.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Callable
from contextlib import ExitStack
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
from betbot.cli.stopping import StopFlag

if TYPE_CHECKING:
    from betbot.config.settings import Settings
    from betbot.montecarlo.executors import Executor

__all__ = ["DEFAULT_SESSION_BETS", "make_executor", "montecarlo_options", "positive_int", "simulate_command",
           "uses_dask"]

DEFAULT_SESSION_BETS = 10_000  # a session with no bound on its length is capped here (said in the output)
# The first sessions record their balance path for --plot's fan chart. They play on the generic path (the
# kernel keeps no path), so fewer of them when the kernel plays the rest.
FAN_CHART_SESSIONS = 1_000
FAN_CHART_SESSIONS_KERNEL = 200

_EPILOG = """\b
Session i's rolls derive from (--seed, i) alone: the results are identical for any --workers and executor.
Money in --json is decimal text with 8 places; probabilities are numbers in [0, 1].
Dask: start `dask scheduler` and `dask worker tcp://HOST:8786` on each machine (betbot installed there
too), then pass --scheduler tcp://HOST:8786. Without --scheduler, --executor dask starts a local cluster.
Exit codes: 0 done, 1 a session or a worker failed, 2 bad input, 130 interrupted (what was done is shown)."""


def _sim(*decls: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option of `simulate` alone (not a setting: no env var, not in the config file)."""
    return click.option(*decls, cls=SettingOption, group="Monte Carlo", env="", **kwargs)


def montecarlo_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Where and how the sessions run (`simulate`, `optimize` and `compare` alike)."""
    for option in reversed((
        _sim("--workers", "-w", default="auto", shows="auto", metavar="auto|K",
             help="Worker processes (auto: one per available CPU); with Dask, the local cluster's workers."),
        _sim("--rolls", type=click.Choice(["fast", "provably-fair"]), default="fast", shows="fast",
             help="fast: a counter-based generator (the same game, far cheaper); provably-fair: the site's "
                  "SHA-512 roll, exactly what `betbot run` rolls."),
        _sim("--executor", type=click.Choice(["local", "dask"]), default=None, shows="local",
             help="Local worker processes, or a dask.distributed cluster (implied by --scheduler)."),
        _sim("--scheduler", metavar="tcp://HOST:PORT", default=None, shows="none",
             help="A running Dask scheduler to send the sessions to."),
        _sim("--kernel/--no-kernel", "kernel", default=True, shows="kernel",
             help="Play the sessions of flat betting and the advanced family on the vectorised kernel (the "
                  "same results, far faster); --no-kernel plays every session on the generic path."),
    )):
        func = option(func)
    return func


@click.command("simulate", cls=GroupedCommand, epilog=_EPILOG)
@strategy_options
@limit_options
@simulator_options
@_sim("--sessions", "-N", "sessions", default="1000", shows="1000", metavar="N", help="Sessions to simulate.")
@montecarlo_options
@_sim("--json", "json_path", type=FILE, default=None, shows="none", help="Write the results as JSON here.")
@_sim("--csv", "csv_path", type=FILE, default=None, shows="none", help="Write one row per session here.")
@_sim("--plot", "plot_path", type=FILE, default=None, shows="none",
      help="Draw the profit histogram, a fan chart of balance paths and the drawdowns: out.png or out.html.")
@click.option("--config", "config", cls=SettingOption, group="Session", env="BETBOT_CONFIG", shows="none",
              type=FILE, envvar="BETBOT_CONFIG", help="TOML settings file (see config/betbot.example.toml).")
def simulate_command(config: Path | None, **options: Any) -> None:
    """Simulate many sessions of a strategy: risk of ruin, profit distribution, RTP.

    \b
    Examples:
      betbot simulate -s martingale --balance 10 --max-bets 500 --sessions 10000 --seed demo
      betbot simulate -s flat --stop-loss 20% --take-profit 10 --json out.json --plot out.png
      betbot simulate -s dalembert --sessions 100000 --scheduler tcp://10.0.0.5:8786
    """
    from betbot.montecarlo.plan import effective_workers, parse_workers  # noqa: PLC0415 - start-up time
    from betbot.montecarlo.workers import start_early  # noqa: PLC0415

    sessions, workers, rolls = options.pop("sessions"), options.pop("workers"), options.pop("rolls")
    executor, scheduler, kernel = options.pop("executor"), options.pop("scheduler"), options.pop("kernel")
    json_path, csv_path, plot_path = options.pop("json_path"), options.pop("csv_path"), options.pop("plot_path")
    count = positive_int(sessions, "--sessions")
    try:
        requested = parse_workers(workers)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    use_dask = uses_dask(executor, scheduler)
    if not use_dask and effective_workers(requested, count) > 1:
        start_early()  # the workers' imports run on the other core while this process reads its settings

    from betbot.atomicfile import unwritable  # noqa: PLC0415 - start-up time
    from betbot.config.settings import SettingsError, load_settings  # noqa: PLC0415 - start-up time
    from betbot.core.rolls import RollSource  # noqa: PLC0415
    from betbot.montecarlo.chunk import uses_kernel  # noqa: PLC0415
    from betbot.montecarlo.plots import check_plot_target  # noqa: PLC0415
    from betbot.montecarlo.spec import SimulationSpec, random_master_seed  # noqa: PLC0415
    for flag, target in (("--json", json_path), ("--csv", csv_path), ("--plot", plot_path)):
        if target is not None and target.is_dir():
            raise BadInput(f"{flag} {target} is a directory; name a file")
        if target is not None and (problem := unwritable(target)) is not None:  # found now, not after the run
            raise BadInput(f"{flag} {target}: {problem}; choose a writable place")
    if plot_path is not None and (problem := check_plot_target(plot_path)) is not None:
        raise BadInput(problem)
    flags = collect_flags(options)
    try:
        settings = load_settings(flags, config)
        master_seed = settings.seed if settings.seed is not None else random_master_seed()
        cap = None if settings.max_bets is not None else DEFAULT_SESSION_BETS
        spec = SimulationSpec.create(settings, sessions=count, master_seed=master_seed, rolls=RollSource(rolls),
                                     max_bets_cap=cap, use_kernel=kernel)
        if plot_path is not None:
            fan = FAN_CHART_SESSIONS_KERNEL if uses_kernel(spec) else FAN_CHART_SESSIONS
            spec = dataclasses.replace(spec, paths=min(fan, count))
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    sys.exit(_simulate(spec, settings, workers=effective_workers(requested, count), dask=use_dask,
                       scheduler=scheduler, json_path=json_path, csv_path=csv_path, plot_path=plot_path,
                       capped=cap))


def uses_dask(executor: str | None, scheduler: str | None) -> bool:
    """Whether --executor/--scheduler send the sessions to Dask (BadInput when they disagree)."""
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise BadInput(f"--scheduler takes a Dask address like tcp://HOST:8786, not {scheduler!r}")
    if executor == "local" and scheduler is not None:
        raise BadInput("--scheduler sends the sessions to Dask; drop --executor local")
    return executor == "dask" or scheduler is not None


def positive_int(text: str, flag: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise BadInput(f"{flag} takes a whole number of 1 or more, not {text!r}") from None
    if value < 1:
        raise BadInput(f"{flag} takes a whole number of 1 or more, not {value}")
    return value


def make_executor(workers: int, *, dask: bool, scheduler: str | None) -> Executor:
    from betbot.montecarlo.executors import DaskExecutor, InProcessExecutor, ProcessExecutor  # noqa: PLC0415

    if dask:
        return DaskExecutor(scheduler=scheduler, workers=workers)
    return InProcessExecutor() if workers == 1 else ProcessExecutor(workers)


def _simulate(spec: Any, settings: Settings, *, workers: int, dask: bool, scheduler: str | None,
              json_path: Path | None, csv_path: Path | None, plot_path: Path | None, capped: int | None) -> int:
    from rich.console import Console  # noqa: PLC0415

    from betbot.atomicfile import atomic_write  # noqa: PLC0415
    from betbot.montecarlo.chunk import uses_kernel  # noqa: PLC0415
    from betbot.montecarlo.driver import simulate  # noqa: PLC0415
    from betbot.montecarlo.executors import ExecutorError  # noqa: PLC0415
    from betbot.montecarlo.generic import SessionFailure  # noqa: PLC0415
    from betbot.montecarlo.plots import write_plot  # noqa: PLC0415
    from betbot.montecarlo.progress import progress_for  # noqa: PLC0415
    from betbot.montecarlo.results import CSV_HEADER  # noqa: PLC0415
    from betbot.montecarlo.table import results_table  # noqa: PLC0415

    out = Console(file=sys.stdout)
    err = Console(file=sys.stderr)
    try:
        executor = make_executor(workers, dask=dask, scheduler=scheduler)
    except ExecutorError as exc:
        raise click.ClickException(str(exc)) from None
    where = (f"Dask at {getattr(executor, 'address', scheduler)} ({executor.workers} worker threads)" if dask
             else "in this process" if executor.workers == 1 else f"{executor.workers} worker processes")
    cap_note = f", sessions capped at {capped:,} bets (no --max-bets)" if capped else ""
    path = "the vectorised kernel" if uses_kernel(spec) else "the generic path (the session machine)"
    err.print(f"betbot: simulating {spec.sessions:,} sessions of {_played(settings)} from {settings.balance} "
              f"{settings.currency} on {path}, {spec.rolls.value} rolls, seed {spec.master_seed!r}, {where}{cap_note}",
              highlight=False, soft_wrap=True)
    if settings.max_duration is not None and settings.sim_latency == 0:
        err.print("betbot: note: --max-duration counts simulated time (--sim-latency per bet); with no latency "
                  "it never fires", highlight=False, soft_wrap=True)
    try:
        with ExitStack() as stack:
            on_result = None
            if csv_path is not None:
                writer = csv.writer(stack.enter_context(atomic_write(csv_path)))
                writer.writerow(CSV_HEADER)

                def on_result(result: Any) -> None:
                    writer.writerow(result.csv_row())

            with progress_for(spec.sessions, err) as progress, _stop_between_chunks().installed() as stop:
                outcome = simulate(spec, executor, progress=progress, on_result=on_result, stop=stop)
    except SessionFailure as exc:
        raise click.ClickException(f"{exc} (after stopping every worker; nothing was written)") from None
    except ExecutorError as exc:
        raise click.ClickException(f"{exc} (nothing was written)") from None
    aggregates = outcome.aggregates
    report = aggregates.report(rolls=spec.rolls.value, seed=spec.master_seed)
    done = ""
    if outcome.interrupted:
        done = (f" (interrupted: sessions 0..{aggregates.sessions - 1} done)" if aggregates.sessions
                else " (interrupted before the first sessions were in)")
    title = f"{_played(settings)}: {aggregates.sessions:,} sessions, {spec.rolls.value} rolls{done}"
    out.print(results_table(report, title=title))
    rate = aggregates.bets / outcome.elapsed if outcome.elapsed > 0 else 0.0
    err.print(f"betbot: {aggregates.bets:,} bets in {outcome.elapsed:.2f} s ({rate:,.0f} bets/s); the edge is "
              f"expected to take {_money(aggregates.expected_loss())} {settings.currency} per session",
              highlight=False, soft_wrap=True)
    if json_path is not None:
        with atomic_write(json_path) as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
    if plot_path is not None:
        write_plot(plot_path, aggregates, outcome.paths, title=title, currency=settings.currency, report=report)
    if outcome.interrupted:
        err.print("betbot: interrupted; the workers were stopped", highlight=False)
        return 130
    return 0


def _stop_between_chunks() -> StopFlag:
    """Ctrl-C or SIGTERM, once or more: the run stops between chunks (within about a second), the workers are
    stopped and what was done is printed. Never an exception raised into the aggregates half-way through a
    session's figures: that left them inconsistent, and the run failed instead of showing what was done."""
    return StopFlag(second_stops_at_once=False)


def _played(settings: Settings) -> str:
    """What the sessions play, as a title: a script's file name rather than `lua`."""
    script = settings.script or settings.params.get("script")
    return Path(str(script)).name if settings.strategy == "lua" and script else settings.strategy


def _money(satoshis: Any) -> str:
    from betbot.montecarlo.results import money_text  # noqa: PLC0415

    return money_text(satoshis)
