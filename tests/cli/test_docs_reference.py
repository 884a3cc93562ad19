"""The documentation's reference pages are generated from the code (docs/hooks/reference.py): every command,
every setting and every JSON key is on them, so they cannot drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import click

from betbot.cli import cli
from betbot.config.settings import Settings
from betbot.montecarlo.preview import PREVIEW_KEYS
from betbot.montecarlo.results import REPORT_KEYS
from betbot.observe.summary import SUMMARY_KEYS

ROOT = Path(__file__).resolve().parents[2]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("betbot_docs_reference", ROOT / "docs" / "hooks" / "reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_page_holds_every_commands_help() -> None:
    page = _hook().cli_reference()
    ctx = click.Context(cli, info_name="betbot")
    for name in cli.list_commands(ctx):
        assert f"## betbot {name}\n" in page
    assert "## betbot strategies show\n" in page  # subcommands too
    assert "--max-bets INT" in page  # the options as --help shows them
    assert "[env var: BETBOT_MAX_BETS; default: none]" in " ".join(page.split())


def test_the_settings_page_has_a_row_for_every_field_with_its_flag_and_env_var() -> None:
    page = _hook().settings_reference()
    rows = [line for line in page.splitlines()[2:] if line.startswith("|")]
    assert len(rows) == len(Settings.model_fields)
    for name in Settings.model_fields:
        assert f"| `{name}`<br>`BETBOT_{name.upper()}` |" in page
    assert "| `max_bets`<br>`BETBOT_MAX_BETS` | `--max-bets` | integer | none |" in page
    assert "`30s`" in page  # drain_timeout's default, as a duration


def test_the_json_page_lists_exactly_the_keys_the_code_writes() -> None:
    page = _hook().json_reference()
    for key in (*SUMMARY_KEYS, *REPORT_KEYS, *PREVIEW_KEYS):
        assert f"`{key}`" in page


def test_the_hook_replaces_each_marker() -> None:
    hook = _hook()
    page = hook.on_page_markdown("a\n<!-- betbot:settings -->\nb\n<!-- betbot:json -->\n")
    assert "<!-- betbot:" not in page
    assert "| `strategy`<br>`BETBOT_STRATEGY` |" in page
