"""MkDocs hook: the CLI and settings reference pages, generated from the code at every build.

A page that holds the marker `<!-- betbot:cli -->` gets every command's `--help` (click renders it, from
the same objects `betbot` runs); `<!-- betbot:settings -->` gets one row per field of the pydantic
`Settings` model (its TOML key, environment variable, type, default and description); `<!-- betbot:json -->`
the stable key lists of the JSON documents. Nothing is written by hand, so the reference cannot drift from
the code; `mkdocs build --strict` fails if betbot cannot be imported.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from typing import Any

import click

MARKERS = ("<!-- betbot:cli -->", "<!-- betbot:settings -->", "<!-- betbot:json -->")
HELP_WIDTH = 80  # narrower than a terminal's `--help` (100), so a page shows it without scrolling


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command, click.Context]]:
    """Every command under the group, depth first, with the context its help is rendered in."""
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx, max_content_width=HELP_WIDTH,
                            terminal_width=HELP_WIDTH)
        found.append((sub.command_path, command, sub))
        if isinstance(command, click.Group):
            found.extend(_commands(command, sub))
    return found


def cli_reference() -> str:
    from betbot.cli import cli  # noqa: PLC0415 - the hook imports betbot only when a page asks

    root = click.Context(cli, info_name="betbot", max_content_width=HELP_WIDTH, terminal_width=HELP_WIDTH)
    parts = ["## betbot", "", "```text", cli.get_help(root), "```", ""]
    for path, command, ctx in _commands(cli, root):  # type: ignore[arg-type]
        parts += [f"## {path}", "", "```text", command.get_help(ctx), "```", ""]
    return "\n".join(parts)


_TYPE_NAMES = {"str": "text", "Decimal": "amount", "AmountOrPercent": "amount or %", "float": "number",
               "int": "integer", "bool": "true/false", "Path": "path", "dict": "table", "NoneType": "none",
               "SecretStr": "secret text"}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        return " or ".join(_type_name(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    if origin is typing.Literal:
        return " / ".join(f"`{arg}`" for arg in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(f"`{member.value}`" for member in annotation)
    name = getattr(origin or annotation, "__name__", str(annotation))
    return _TYPE_NAMES.get(name, name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(field: Any, duration: bool) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if duration:
        return f"`{value:g}s`" if value else "`0`"
    if hasattr(value, "value") and not isinstance(value, (int, float)):  # an enum
        value = value.value
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value in ({}, []):
        return "empty"
    return f"`{value}`"


def settings_reference() -> str:
    from betbot.cli.options import setting_env  # noqa: PLC0415
    from betbot.cli.run import run_command  # noqa: PLC0415
    from betbot.config.settings import Settings, is_duration  # noqa: PLC0415

    flags = {param.name: " / ".join(f"`{flag}`" for flag in [*param.opts, *param.secondary_opts])
             for param in run_command.params if isinstance(param, click.Option)}
    rows = ["| setting (TOML key) and environment variable | flag of `betbot run` | type | default | what it does |",
            "|---|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        kind = "duration" if is_duration(name) else _type_name(field.annotation)
        rows.append(f"| `{name}`<br>`{setting_env(name)}` | {flags.get(name, '')} | {_cell(kind)} | "
                    f"{_cell(_default(field, is_duration(name)))} | {_cell(field.description or '')} |")
    return "\n".join(rows)


def json_reference() -> str:
    from betbot.montecarlo.preview import PREVIEW_KEYS  # noqa: PLC0415
    from betbot.montecarlo.results import REPORT_KEYS  # noqa: PLC0415
    from betbot.observe.summary import SUMMARY_KEYS  # noqa: PLC0415

    def keys(names: tuple[str, ...]) -> str:
        return ", ".join(f"`{name}`" for name in names)

    return "\n".join([
        "| document | its keys, in this order |", "|---|---|",
        f"| `--summary-json` (and the summary journaled with each session) | {keys(SUMMARY_KEYS)}, and "
        "`concurrency_auto` under `-n auto`, `risk_preview` when the preview ran |",
        f"| `risk_preview`, and the `risk.preview` JSON log line | {keys(PREVIEW_KEYS)} |",
        f"| `betbot simulate --json` | {keys(REPORT_KEYS)} |",
    ])


_GENERATORS = {"cli": cli_reference, "settings": settings_reference, "json": json_reference}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs' hook: replace each marker with what it names."""
    return re.sub(r"<!-- betbot:(\w+) -->", lambda match: _GENERATORS[match.group(1)](), markdown)
