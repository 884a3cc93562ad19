"""`betbot strategies`: list the strategies, or show one with its parameter table."""

from __future__ import annotations

import inspect

import click
from rich.console import Console
from rich.table import Table

from betbot.cli.errors import BadInput
from betbot.strategies.registry import StrategyNotFound, available_strategies, load_strategy

__all__ = ["strategies_group"]


def _lag(value: int | None) -> str:
    return "any" if value is None else str(value)


@click.group("strategies", invoke_without_command=True)
@click.pass_context
def strategies_group(ctx: click.Context) -> None:
    """List the strategies (built-in and from installed plug-ins)."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title="strategies", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("bets in flight", justify="right")
    table.add_column("what it does")
    for name in available_strategies():
        cls = load_strategy(name)
        table.add_row(name, _lag(cls.max_in_flight), cls.summary)
    Console().print(table)


@strategies_group.command("show")
@click.argument("name")
def show_strategy(name: str) -> None:
    """Describe one strategy and its parameters (pass them with --param NAME=VALUE)."""
    try:
        cls = load_strategy(name)
    except StrategyNotFound as exc:
        raise BadInput(str(exc)) from None
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
        table.add_row(field_name, str(default), field.description or "")
    console.print(table)
