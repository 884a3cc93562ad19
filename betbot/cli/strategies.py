"""`betbot strategies`: list the strategies and the shipped strategy files, show one, or print a file's path."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from betbot.cli.errors import BadInput
from betbot.strategies.registry import StrategyNotFound, available_strategies, load_strategy
from betbot.strategies.shipped import find_shipped, shipped_dir, shipped_files

__all__ = ["strategies_group"]


def _lag(value: int | None) -> str:
    return "any" if value is None else str(value)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when it lies below it."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


@click.group("strategies", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
def strategies_group(ctx: click.Context, as_json: bool) -> None:
    """List the strategies (built-in and from installed plug-ins) and the strategy files betbot ships."""
    if ctx.invoked_subcommand is not None:
        return
    if as_json:
        _print_json()
        return
    console = Console()
    table = Table(title="strategies (--strategy NAME)", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("bets in flight", justify="right")
    table.add_column("what it does")
    for name in available_strategies():
        cls = load_strategy(name)
        table.add_row(name, _lag(cls.max_in_flight), cls.summary)
    console.print(table)
    directory = shipped_dir()
    files = shipped_files(directory)
    if directory is None or not files:
        return
    listing = Table(title=f"strategy files in {_shown(directory)} (copy and edit them)", title_justify="left")
    listing.add_column("file", style="bold", no_wrap=True)
    listing.add_column("kind")
    listing.add_column("what it does")
    for shipped in files:
        listing.add_row(shipped.path.name, shipped.kind, shipped.summary)
    console.print(listing)
    console.print("run one: betbot run --script FILE.lua | --config FILE.toml | --strategy FILE.py:ClassName "
                  "(`betbot strategies path FILE` prints where it is)", highlight=False, soft_wrap=True)


def _print_json() -> None:
    strategies = []
    for name in available_strategies():
        cls = load_strategy(name)
        strategies.append({"name": name, "max_in_flight": cls.max_in_flight, "summary": cls.summary})
    directory = shipped_dir()
    files = [{"file": shipped.path.name, "kind": shipped.kind, "summary": shipped.summary, "path": str(shipped.path)}
             for shipped in (shipped_files(directory) if directory is not None else [])]
    click.echo(json.dumps({"strategies": strategies, "files": files}, indent=2))


def _jsonable(value: object) -> object:
    """A parameter default for JSON: numbers and text as text (a Decimal stays exact), None and bools as is."""
    return value if value is None or isinstance(value, bool) else str(value)


@strategies_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def show_strategy(name: str, as_json: bool) -> None:
    """Describe one strategy and its parameters (pass them with --param NAME=VALUE)."""
    try:
        cls = load_strategy(name)
    except StrategyNotFound as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        params = [{"name": field_name, "default": _jsonable(field.get_default(call_default_factory=True)),
                   "description": field.description or ""}
                  for field_name, field in cls.Params.model_fields.items()]
        click.echo(json.dumps({"name": cls.name, "summary": cls.summary, "max_in_flight": cls.max_in_flight,
                               "params": params}, indent=2))
        return
    console = Console()
    console.print(f"[bold]{cls.name}[/bold]: {cls.summary}")
    doc = inspect.cleandoc(cls.__doc__ or "")
    if doc:
        console.print(doc, highlight=False)
    console.print(f"bets in flight it tolerates when deciding: {_lag(cls.max_in_flight)}")
    table = Table(title="parameters", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("default")
    table.add_column("description")
    for field_name, field in cls.Params.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = f"[{', '.join(map(str, default))}]" if isinstance(default, list) else str(default)
        table.add_row(field_name, shown, field.description or "")
    console.print(table)


@strategies_group.command("path")
@click.argument("name", required=False)
def strategy_path(name: str | None) -> None:
    """Print where the shipped strategy files are, or the full path of one (e.g. hunter-1pct.toml).

    \b
    Example: betbot run --config "$(betbot strategies path hunter-1pct.toml)"
    """
    directory = shipped_dir()
    if directory is None:
        raise BadInput("this betbot has no strategy files (neither installed with it nor in a clone)")
    if name is None:
        click.echo(str(directory))
        return
    found = find_shipped(name)
    if found is None:
        names = ", ".join(shipped.path.name for shipped in shipped_files(directory))
        raise BadInput(f"no strategy file {name!r} in {directory}; there are: {names}")
    click.echo(str(found))
