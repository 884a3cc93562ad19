"""The CLI's conventions, checked over every command: typed metavars, env vars and defaults in --help (in sync
with Settings), one meaning per short flag, a flag for every setting, lazy command loading, -v/-q/-V,
`--json` on the listing commands, `betbot config show`, and units where a bare number would be ambiguous."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from betbot.cli import COMMANDS, cli
from betbot.cli.options import SettingOption, SettingText
from betbot.config.settings import Settings, is_duration

# Command modules other engineers own; their options' defaults are theirs to show.
OTHERS = {"betbot.cli.verify", "betbot.cli.script", "betbot.cli.simulate"}
# Free text settings, where TEXT is the honest metavar.
FREE_TEXT = {"--seed", "--client-seed"}
# Settings whose None default means "computed at run time", and how the help says so.
COMPUTED_DEFAULTS = {
    "params": "the strategy's",
    "chance": "the strategy's",
    "high": "the strategy's",
    "seed": "random",
    "journal": "$XDG_DATA_HOME/betbot/journal.sqlite3",
    "min_bet_cache": "$XDG_DATA_HOME/betbot/min_bets.json",
    "reseed_every": "never",
    "notify_on": "all",  # every event: the list is long, its name says it
}
DURATIONS = {name for name in Settings.model_fields if is_duration(name)}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})}, prog_name="betbot")


def every_command() -> Iterator[tuple[str, click.Command, click.Context]]:
    """(path, command, context) for every command and subcommand, importing each lazily loaded module."""

    def walk(command: click.Command, path: str, ctx: click.Context) -> Iterator[tuple[str, click.Command,
                                                                                   click.Context]]:
        yield path, command, ctx
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name} does not load"
                yield from walk(sub, f"{path} {name}", click.Context(sub, info_name=name, parent=ctx))

    yield from walk(cli, "betbot", click.Context(cli, info_name="betbot"))


ALL_COMMANDS = list(every_command())


def options_of(command: click.Command, ctx: click.Context) -> list[click.Option]:
    return [param for param in command.get_params(ctx) if isinstance(param, click.Option)]


def help_record(option: click.Option, ctx: click.Context) -> tuple[str, str]:
    record = option.get_help_record(ctx)
    assert record is not None
    return record


def run_command() -> tuple[click.Command, click.Context]:
    [(_, command, ctx)] = [(p, c, x) for p, c, x in ALL_COMMANDS if p == "betbot run"]
    return command, ctx


@pytest.mark.parametrize(("path", "command", "ctx"), ALL_COMMANDS, ids=[p for p, _, _ in ALL_COMMANDS])
def test_every_help_runs_and_shows_no_untyped_option(path: str, command: click.Command, ctx: click.Context) -> None:
    result = invoke(*path.split()[1:], "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: betbot" in result.output
    for option in options_of(command, ctx):
        spec, _ = help_record(option, ctx)
        if "TEXT" in spec:
            assert set(option.opts) & FREE_TEXT, f"{path}: {spec} shows TEXT; give it a typed metavar"
        assert "INTEGER" not in spec, f"{path}: {spec}: say INT, or what the number is"
        assert "FLOAT" not in spec, f"{path}: {spec}: say what the number is"
        _, text = help_record(option, ctx)
        if isinstance(option.envvar, str):  # an env var click reads is one the help names
            assert f"env var: {option.envvar}" in text, f"{path}: {spec} hides its env var"
        takes_value = not (option.is_flag and not option.secondary_opts) and not option.count
        if takes_value and command.callback is not None and command.callback.__module__ not in OTHERS:
            assert "default: " in text, f"{path}: {spec} does not show its default"


@pytest.mark.parametrize("path", ["betbot run", "betbot config show", "betbot simulate"])
def test_setting_options_show_their_env_var_and_default(path: str) -> None:
    matching = [(c, x) for p, c, x in ALL_COMMANDS if p == path]
    assert len(matching) == 1, f"{path} is not registered once but {len(matching)} times"
    [(command, ctx)] = matching
    fields = Settings.model_fields
    for option in options_of(command, ctx):
        if option.name in ("help", "config") or option.name not in fields:
            continue
        _, text = help_record(option, ctx)
        env = "BETBOT_PARAMS" if option.name == "params" else f"BETBOT_{option.name.upper()}"
        assert f"env var: {env}" in text, f"{path} {option.opts[0]} does not show {env}"
        assert "default: " in text, f"{path} {option.opts[0]} does not show its default"
        # An env var shown is one pydantic-settings reads: a Settings field (or the config file's).
        for shown in re.findall(r"env var: (BETBOT_\w+)", text):
            assert shown.removeprefix("BETBOT_").lower() in fields, shown


def expected_default(option: click.Option, name: str) -> str:
    """The help text Settings' default should have: computed here from the model, not from the help."""
    if name in COMPUTED_DEFAULTS:
        return COMPUTED_DEFAULTS[name]
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    if isinstance(default, bool):
        if option.secondary_opts:  # --parallel/--sequential: the flag that is in force
            return (option.opts if default else option.secondary_opts)[0].lstrip("-")
        return "on" if default else "off"
    if default is None:
        return "none"
    if name in DURATIONS:
        return f"{default:g}s"
    if isinstance(default, Enum):
        return str(default.value)
    if isinstance(default, Decimal):
        return f"{default:f}"
    return str(default)


def test_help_defaults_match_the_settings_model() -> None:
    command, ctx = run_command()
    checked = 0
    for option in options_of(command, ctx):
        if isinstance(option, SettingOption) and option.name in Settings.model_fields:
            assert option.shows == expected_default(option, option.name), option.opts[0]
            checked += 1
    assert checked >= 40


def test_every_setting_has_a_flag_in_run() -> None:
    command, ctx = run_command()
    names = {option.name for option in options_of(command, ctx)}
    assert set(Settings.model_fields) - names == set()


def test_setting_flags_leave_the_environment_to_settings() -> None:
    # click must not read BETBOT_<NAME> itself: an env value would pose as a flag and beat the config file
    # at the wrong level (only --config, which is not a setting, is read by click).
    command, ctx = run_command()
    for option in options_of(command, ctx):
        if option.name in Settings.model_fields:
            assert option.envvar is None, option.opts[0]
            assert option.default in (None, ()), option.opts[0]
    for option in options_of(command, ctx):
        if isinstance(option.type, SettingText):
            assert option.type.convert("10%", option, ctx) == "10%"  # parsed once, by Settings


def test_one_meaning_per_short_flag() -> None:
    meanings: dict[str, set[str]] = {}
    for _, command, ctx in ALL_COMMANDS:
        for option in options_of(command, ctx):
            longs = sorted(opt for opt in option.opts if opt.startswith("--"))
            for short in (opt for opt in option.opts if not opt.startswith("--")):
                meanings.setdefault(short, set()).add(longs[0] if longs else short)
    assert {short: longs for short, longs in meanings.items() if len(longs) > 1} == {}
    assert meanings["-n"] == {"--max-concurrent"}
    assert meanings["-l"] == {"--last"}


def test_the_command_list_needs_no_import_and_matches_each_command() -> None:
    for name, lazy in COMMANDS.items():
        module, _, attribute = lazy.target.partition(":")
        command = getattr(__import__(module, fromlist=[attribute]), attribute)
        assert lazy.summary == command.get_short_help_str(limit=200), name
    listed = invoke("--help").output
    for name in COMMANDS:
        assert re.search(rf"^  {re.escape(name)}\s", listed, re.MULTILINE), name


def test_run_help_groups_its_options() -> None:
    text = invoke("run", "--help").output
    flat = " ".join(text.split())
    headings = [line.strip() for line in text.splitlines() if line.endswith(" options:")]
    assert headings[:6] == ["Strategy options:", "Limits options:", "Concurrency options:", "Simulator options:",
                            "Live options:", "Output options:"]
    assert "--stop-loss AMOUNT|PCT%" in flat
    assert "--sim-latency DURATION" in flat
    assert "--max-bets INT" in flat
    assert "[env var: BETBOT_MAX_CONCURRENT; default: 5]" in flat


def test_version_and_verbosity() -> None:
    from betbot import __version__  # noqa: PLC0415

    for flag in ("-V", "--version"):
        result = invoke(flag)
        assert result.exit_code == 0
        assert result.output == f"betbot {__version__}\n"
    levels = {args: json.loads(invoke(*args, "config", "show", "--json").output)["log_level"]
              for args in [(), ("-v",), ("-q",), ("-qq",), ("-v", "--quiet", "--quiet")]}
    assert levels[()] == {"value": "info", "source": "default"}
    assert levels[("-v",)] == {"value": "debug", "source": "flag"}
    assert levels[("-q",)]["value"] == "warning"
    assert levels[("-qq",)]["value"] == "error"
    assert levels[("-v", "--quiet", "--quiet")]["value"] == "warning"
    explicit = json.loads(invoke("-v", "config", "show", "--json", "--log-level", "error").output)
    assert explicit["log_level"]["value"] == "error"  # --log-level beats -v


def test_config_show_says_where_each_setting_came_from(tmp_path: Path) -> None:
    config = tmp_path / "betbot.toml"
    config.write_text('strategy = "dalembert"\nmax_bets = 7\nsim_latency = "20ms"\n')
    key = "LEAKCANARY-config-show-0123456789"
    env = {"BETBOT_MAX_BETS": "9", "BETBOT_API_KEY": key}
    result = invoke("config", "show", "--config", str(config), "--balance", "60", "--json", env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["strategy"] == {"value": "dalembert", "source": "file"}
    assert shown["max_bets"] == {"value": 9, "source": "env"}  # the environment beats the file
    assert shown["balance"] == {"value": "60.00000000", "source": "flag"}
    assert shown["sim_latency"] == {"value": "20ms", "source": "file"}
    assert shown["currency"] == {"value": "DOGE", "source": "default"}
    assert shown["api_key"] == {"value": "set", "source": "env"}
    assert set(shown) == set(Settings.model_fields)
    table = invoke("config", "show", "--config", str(config), env=env)
    assert table.exit_code == 0
    assert re.search(r"^max_bets\s+9\s+\(env\)$", table.output, re.MULTILINE)
    assert re.search(r"^api_key\s+set\s+\(env\)$", table.output, re.MULTILINE)
    assert key not in table.output + result.output
    assert json.loads(invoke("config", "show", "--json").output)["api_key"]["value"] == "unset"


def test_config_show_rejects_what_run_rejects() -> None:
    result = invoke("config", "show", "--max-bets", "0")
    assert result.exit_code == 2
    assert "max_bets" in result.output


@pytest.mark.parametrize(("flag", "value"), [("--sim-latency", "50"), ("--sim-jitter", "3"),
                                             ("--drain-timeout", "30"), ("--max-duration", "90")])
def test_a_duration_needs_a_unit(flag: str, value: str) -> None:
    assert flag.removeprefix("--").replace("-", "_") in DURATIONS
    result = invoke("config", "show", flag, value)
    assert result.exit_code == 2
    assert f"'{value}' has no unit: write {value}ms or {value}s" in result.output
    assert invoke("config", "show", flag, "0").exit_code == 0  # zero is zero in any unit
    assert invoke("config", "show", flag, f"{value}ms").exit_code == 0


def test_a_duration_from_the_environment_needs_a_unit_and_a_toml_number_is_seconds(tmp_path: Path) -> None:
    assert invoke("config", "show", env={"BETBOT_SIM_LATENCY": "50"}).exit_code == 2
    config = tmp_path / "betbot.toml"
    config.write_text("drain_timeout = 12\n")
    shown = json.loads(invoke("config", "show", "--config", str(config), "--json").output)
    assert shown["drain_timeout"] == {"value": "12s", "source": "file"}


def test_durations_of_other_commands_need_a_unit_too(tmp_path: Path) -> None:
    health = invoke("health", "--heartbeat-file", str(tmp_path / "beat.json"), "--max-age", "90")
    assert health.exit_code == 2
    assert "'90' has no unit" in health.output
    fake = invoke("fake-server", "--latency", "50")
    assert fake.exit_code == 2
    assert "invalid --latency: '50' has no unit" in fake.output


def test_strategies_json() -> None:
    listed = json.loads(invoke("strategies", "--json").output)["strategies"]
    names = [entry["name"] for entry in listed]
    assert "martingale" in names
    assert "flat" in names
    martingale = next(entry for entry in listed if entry["name"] == "martingale")
    assert martingale["max_in_flight"] == 1
    shown = json.loads(invoke("strategies", "show", "martingale", "--json").output)
    params = {param["name"]: param for param in shown["params"]}
    assert params["base_bet"]["default"] == "0.01"
    assert "multiplier" in params


def journal_with_two_sessions(tmp_path: Path) -> Path:
    from betbot.core.models import StopKind, StopReason  # noqa: PLC0415
    from betbot.journal import Journal  # noqa: PLC0415

    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, durable=False) as journal:
        first = journal.start_session(strategy="flat", params={}, limits={}, backend="simulator",
                                      currency="DOGE", starting_balance=Decimal(100))
        journal.finish_session(first, StopReason(kind=StopKind.MAX_BETS, detail="placed 0 of 0 bets"),
                               {"bets": 0, "profit": "-0.5"})
        journal.start_session(strategy="martingale", params={}, limits={}, backend="simulator",
                              currency="DOGE", starting_balance=Decimal(50))
    return path


def test_sessions_and_history_json(tmp_path: Path) -> None:
    path = journal_with_two_sessions(tmp_path)
    sessions = json.loads(invoke("sessions", "--json", "--journal", str(path)).output)
    assert [(s["id"], s["strategy"]) for s in sessions] == [(1, "flat"), (2, "martingale")]
    assert sessions[0]["profit"] == "-0.50000000"
    assert sessions[1]["starting_balance"] == "50.00000000"
    history = json.loads(invoke("history", "--json", "--journal", str(path)).output)
    assert history == {"session": 2, "currency": "DOGE", "bets": []}
    missing = tmp_path / "none.sqlite3"
    assert json.loads(invoke("sessions", "--json", "--journal", str(missing)).output) == []
    invoke("history", "--json", "--journal", str(missing))
    assert not missing.exists()  # reading never creates a journal


def test_export_defaults_to_the_newest_session(tmp_path: Path) -> None:
    path = journal_with_two_sessions(tmp_path)
    result = invoke("export", "--journal", str(path), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    empty = tmp_path / "empty.sqlite3"
    from betbot.journal import Journal  # noqa: PLC0415

    Journal.open(empty, durable=False).close()
    none = invoke("export", "--journal", str(empty))
    assert none.exit_code == 2
    assert "no sessions in the journal" in none.output


def test_history_last_is_l_and_n_is_not_a_history_flag(tmp_path: Path) -> None:
    path = journal_with_two_sessions(tmp_path)
    assert invoke("history", "-l", "3", "--journal", str(path)).exit_code == 0
    assert invoke("history", "-n", "3", "--journal", str(path)).exit_code == 2


def test_shell_completion_script() -> None:
    result = invoke(env={"_BETBOT_COMPLETE": "bash_source"})
    assert result.exit_code == 0
    assert "_betbot_completion" in result.output
    words = CliRunner().invoke(cli, [], prog_name="betbot",
                               env={"_BETBOT_COMPLETE": "bash_complete", "COMP_WORDS": "betbot run --max-c",
                                    "COMP_CWORD": "2"})
    assert "--max-concurrent" in words.output


def test_balance_and_stats_json_against_the_fake_site() -> None:
    from betbot.testing.fakeserver import FakeServerConfig, serve_fake_in_thread  # noqa: PLC0415

    key = "LEAKCANARY-json-listing-0123456789"
    config = FakeServerConfig(api_key=key, balances={"DOGE": Decimal("12.5"), "BTC": Decimal("0.001")})
    with serve_fake_in_thread(config) as base_url:
        env = {"BETBOT_API_KEY": key}
        balance = invoke("balance", "--json", "--base-url", base_url, env=env)
        only = invoke("balance", "--json", "--currency", "btc", "--base-url", base_url, env=env)
        stats = invoke("stats", "--json", "--base-url", base_url, env=env)  # --currency defaults to DOGE
    assert balance.exit_code == 0, balance.output
    rows = {row["currency"]: row for row in json.loads(balance.output)["balances"]}
    assert rows["DOGE"]["main"] == "12.50000000"
    assert rows["BTC"]["main"] == "0.00100000"
    assert [row["currency"] for row in json.loads(only.output)["balances"]] == ["BTC"]
    assert stats.exit_code == 0, stats.output
    site = json.loads(stats.output)
    assert site["currency"] == "DOGE"
    assert site["bets"] == 0
    assert site["balance"] == "12.50000000"
    assert key not in balance.output + only.output + stats.output


def test_the_live_commands_default_url_is_the_backends() -> None:
    from betbot.backends.duckdice import DEFAULT_BASE_URL  # noqa: PLC0415
    from betbot.cli.live import DEFAULT_BASE_URL as SHOWN  # noqa: PLC0415

    assert SHOWN == DEFAULT_BASE_URL
    assert expected_default(next(o for o in options_of(*run_command()) if o.name == "base_url"), "base_url") \
        == DEFAULT_BASE_URL
