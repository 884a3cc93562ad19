"""`betbot config show`: the settings a `betbot run` with the same flags would use, and where each came from.

It takes every option `run` takes (the same declarations, from `betbot.cli.options`), loads the settings the
same way (TOML file < environment < flags) and prints one line per setting: its value and its source (flag,
env, file or default). The API key is shown only as set or unset.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import (
    FILE,
    GroupedCommand,
    SettingOption,
    campaign_options,
    collect_flags,
    concurrency_options,
    limit_options,
    live_options,
    notify_options,
    output_options,
    simulator_options,
    strategy_options,
)

__all__ = ["config_group"]

_SECRETS = frozenset({"api_key"})


@click.group("config")
def config_group() -> None:
    """The effective settings, and where each came from."""


@config_group.command("show", cls=GroupedCommand)
@strategy_options
@limit_options
@concurrency_options
@simulator_options
@live_options
@output_options
@notify_options
@campaign_options
@click.option("--config", "config", cls=SettingOption, group="Session", env="BETBOT_CONFIG", shows="none",
              type=FILE, envvar="BETBOT_CONFIG", help="TOML settings file (see config/betbot.example.toml).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {setting: {value, source}}.")
def show_command(config: Path | None, as_json: bool, **options: Any) -> None:
    """Print the settings `betbot run` would use with these flags, and where each came from.

    Sources, highest first: flag, env (BETBOT_<NAME>), file (--config), default. The API key is shown
    only as set or unset, a notification URL only by its scheme (and host, for a plain webhook).
    """
    from betbot.config.settings import (  # noqa: PLC0415 - start-up time
        SettingsError,
        is_duration,
        load_settings,
        setting_sources,
    )

    flags = collect_flags(options)
    try:
        settings = load_settings(flags, config)
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    sources = setting_sources(flags, config)
    values = {name: _shown(getattr(settings, name), secret=name in _SECRETS, duration=is_duration(name))
              for name in type(settings).model_fields}
    if settings.notify:  # a notification URL may hold a token: shown by its label only
        from betbot.notify.targets import target_label  # noqa: PLC0415

        values["notify"] = [target_label(url) for url in settings.notify]
    from betbot.config.paths import data_dir  # noqa: PLC0415

    if values.get("journal") is None and not settings.no_journal:
        values["journal"] = str(data_dir() / "journal.sqlite3")  # where the journal goes by default
    if values.get("min_bet_cache") is None:  # where a live run keeps them by default (as --help says)
        values["min_bet_cache"] = str(data_dir() / "min_bets.json")
    if as_json:
        click.echo(json.dumps({name: {"value": values[name], "source": sources[name]} for name in values},
                              indent=2))
        return
    click.echo(f"config file: {config if config is not None else 'none'}")
    width = max(len(name) for name in values)
    for name, value in values.items():
        text = "none" if value is None else value if isinstance(value, str) else json.dumps(value)
        click.echo(f"{name:<{width}}  {text:<24} ({sources[name]})")


def _shown(value: Any, *, secret: bool, duration: bool) -> Any:
    """A setting's value as JSON-ready data: exact text for amounts and durations, the key never."""
    if secret:
        return "set" if value is not None else "unset"
    if value is None or isinstance(value, bool | int | dict | list):
        return value
    if duration and isinstance(value, float):
        return f"{value * 1000:g}ms" if 0 < value < 1 else f"{value:g}s"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)  # paths, limits (10 or 10%), text
