"""The session settings as click options, declared once and shared by `betbot run` and `betbot simulate`.

Theory of operation: every option that sets a field of `betbot.config.settings.Settings` is declared here,
once, in the group it is shown under in `--help` (strategy, limits, concurrency, simulator, live, output).
Its click default is always None, so a flag that is not given leaves the field to the config file and the
environment (TOML < env `BETBOT_<NAME>` < flags); the value is passed on as text and parsed exactly once, by
Settings (so a bad value gets the same one-line error wherever it came from). The help shows what Settings
would use, `[env var: BETBOT_<NAME>; default: …]`, from the `shows=` text written beside each declaration:
the help never imports pydantic (start-up), and a test keeps those texts equal to the model's defaults.

To add a setting's flag: add one `opt(...)` line to the right group below (type one of the metavar types,
`shows=` the default as help text), and the field to Settings. `collect_flags` turns the parsed options into
the flags dictionary that `load_settings` takes.

This module must stay light: click and the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from betbot.cli.errors import BadInput

__all__ = [
    "AMOUNT",
    "AMOUNT_OR_PCT",
    "DURATION",
    "FILE",
    "GROUP_ORDER",
    "HOST_PORT",
    "INT",
    "NAME",
    "NUMBER",
    "PERCENT",
    "RATE",
    "SYMBOL",
    "TEXT",
    "URL",
    "GroupedCommand",
    "OptionGroup",
    "SettingOption",
    "SettingText",
    "campaign_options",
    "collect_flags",
    "complete_strategy",
    "concurrency_options",
    "limit_options",
    "live_options",
    "notify_options",
    "opt",
    "output_options",
    "parse_params",
    "setting_env",
    "simulator_options",
    "strategy_options",
]

ENV_PREFIX = "BETBOT_"
_F = TypeVar("_F", bound=Callable[..., Any])


if TYPE_CHECKING:
    _ParamType = click.ParamType[Any, Any]  # generic in click 8.2+, a plain class before
else:
    _ParamType = click.ParamType


class SettingText(_ParamType):
    """A setting's value, passed on as text: Settings parses it. The name is the metavar shown in --help."""

    def __init__(self, name: str) -> None:
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return self.name


INT = SettingText("INT")
NUMBER = SettingText("NUMBER")
AMOUNT = SettingText("AMOUNT")
AMOUNT_OR_PCT = SettingText("AMOUNT|PCT%")
PERCENT = SettingText("PCT")
DURATION = SettingText("DURATION")
RATE = SettingText("BETS/S")
URL = SettingText("URL")
HOST_PORT = SettingText("HOST:PORT")
NAME = SettingText("NAME")
SYMBOL = SettingText("SYMBOL")
TEXT = SettingText("TEXT")  # only for settings that are free text (a seed)
FILE = click.Path(dir_okay=False, path_type=Path)


def setting_env(name: str) -> str:
    """The environment variable pydantic-settings reads for a field."""
    return f"{ENV_PREFIX}{name.upper()}"


class SettingOption(click.Option):
    """An option that sets a Settings field: shows its env var and the model's default, reads neither.

    click must not read the environment itself (that would turn an env value into a flag and beat the
    config file's value at the wrong level, or the other way round); Settings does.
    """

    def __init__(self, *args: Any, group: str = "Other", shows: str | None = None,
                 env: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = group
        self.shows = shows
        self.setting_env = env if env is not None else setting_env(self.name or "")

    def get_help_extra(self, ctx: click.Context) -> Any:  # click's OptionHelpExtra, a TypedDict
        extra = super().get_help_extra(ctx)
        if self.setting_env:
            extra["envvars"] = (self.setting_env,)
        if self.shows is not None:
            extra["default"] = self.shows
        return extra


@dataclass(frozen=True, slots=True)
class _Declaration:
    decls: tuple[str, ...]
    kwargs: Mapping[str, Any]


def opt(*decls: str, **kwargs: Any) -> _Declaration:
    """One option of a group: click.option's arguments plus `shows=` (default text) and `env=`."""
    kwargs.setdefault("default", None)
    return _Declaration(decls, kwargs)


@dataclass(frozen=True, slots=True)
class OptionGroup:
    """Options shown together under one heading of --help; apply it as a decorator."""

    title: str
    options: Sequence[_Declaration] = field(default_factory=tuple)

    def __call__(self, func: _F) -> _F:
        for declaration in reversed(self.options):  # decorators apply bottom-up: keep the listed order
            func = click.option(*declaration.decls, cls=SettingOption, group=self.title,
                                **declaration.kwargs)(func)
        return func


def complete_strategy(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion after -s: the strategy names (built-in and installed plug-ins), read from the entry
    points alone (nothing is imported, so completing stays quick)."""
    from importlib.metadata import entry_points  # noqa: PLC0415 - only when a shell asks

    names = {point.name for point in entry_points(group="betbot.strategies")}
    return sorted(name for name in names if name.startswith(incomplete))


strategy_options = OptionGroup("Strategy", (
    opt("--strategy", "-s", type=NAME, shows="flat", shell_complete=complete_strategy,
        help="Strategy to play (`betbot strategies` lists them), or a Python file's class: FILE.py:ClassName."),
    opt("--script", type=FILE, shows="none",
        help="A DiceBot programmer-mode Lua script to play, unmodified and sandboxed (short for --strategy lua "
             "-p script=FILE; `betbot script check FILE` tries it first)."),
    opt("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", default=(), env="BETBOT_PARAMS",
        shows="the strategy's", help="A strategy parameter; repeat for several (`betbot strategies show NAME`). "
        "The env var takes a JSON object."),
    opt("--currency", type=SYMBOL, shows="DOGE", help="Currency symbol."),
    opt("--chance", type=PERCENT, shows="the strategy's",
        help="Win chance in percent (0.01 steps), within --min-chance..--max-chance."),
    opt("--high/--low", "high", shows="the strategy's", help="Bet high or low (strategies that take it)."),
    opt("--faucet/--main", "faucet", shows="main", help="Bet from the faucet balance, or the main one."),
    opt("--game", type=click.Choice(["dice", "range"]), shows="dice",
        help="Original Dice (high/low), or Range Dice: every chance the strategy picks becomes a window of rolls."),
    opt("--range-in/--range-out", "range_in", shows="range-in",
        help="Range Dice: win when the roll falls inside the window, or outside it."),
    opt("--reseed-every", type=INT, shows="never",
        help="Rotate the seed pair after every N bets: the bets in flight drain first, and the old server "
             "seed is revealed (journaled, and in the summary) so every bet can be verified."),
    opt("--range-at", metavar="ROLL|random", shows="0",
        help="Range Dice: the window's lowest roll (0..9999), or random: a new place for every bet, from the "
             "session's seed."),
))

limit_options = OptionGroup("Limits", (
    opt("--max-bets", type=INT, shows="none", help="Place exactly this many bets, then stop."),
    opt("--max-duration", type=DURATION, shows="none",
        help="No new bet after this long (e.g. 30m); bets in flight are drained."),
    opt("--stop-loss", type=AMOUNT_OR_PCT, shows="none",
        help="Never lose more than this amount, or this % of the starting balance (at most 100%), even with "
             "every bet in flight lost."),
    opt("--take-profit", type=AMOUNT_OR_PCT, shows="none", help="Stop once the profit reaches this."),
    opt("--trailing-stop", type=AMOUNT_OR_PCT, shows="none",
        help="Stop once the profit falls this far below its peak."),
    opt("--max-losses", type=INT, shows="none", help="Stop after this many losses in a row."),
    opt("--max-wins", type=INT, shows="none", help="Stop after this many wins in a row."),
    opt("--max-bet", type=AMOUNT, shows="none", help="Stop rather than place a stake above this."),
    opt("--min-balance", type=AMOUNT, shows="none",
        help="Never risk the balance below this (must be below the starting balance)."),
    opt("--no-loss-limit", is_flag=True, shows="off",
        help="Live: bet without --stop-loss or --min-balance (a new live session needs one of them, or this)."),
))

concurrency_options = OptionGroup("Concurrency", (
    opt("--parallel/--sequential", "parallel", shows="sequential",
        help="Run up to --max-concurrent bets at once, or one at a time."),
    opt("--max-concurrent", "-n", type=SettingText("N|auto"), shows="5",
        help="Bets in flight at most (1-256); implies --parallel. Capped by what the strategy tolerates, "
             "and printed at start. auto: paced from the replies: Little's law toward --max-rate when given, "
             "then +1 a round while the site keeps up, cut on a 429, a challenge or replies slowing past "
             "their baseline; never above --auto-cap. The live read timeout then follows the reply times."),
    opt("--auto-cap", type=INT, shows="32", help="With -n auto: never more bets in flight than this (1-256)."),
    opt("--drain-timeout", type=DURATION, shows="30s",
        help="On a stop or the first SIGINT/SIGTERM, wait this long for the bets in flight; a second signal "
             "stops at once."),
))

simulator_options = OptionGroup("Simulator", (
    opt("--balance", type=AMOUNT, shows="100", help="Simulated starting balance."),
    opt("--seed", type=TEXT, shows="random",
        help="Derive the simulator's seed pair from this text, so the run replays exactly."),
    opt("--first-nonce", type=INT, shows="0", help="Nonce of the first bet of a seed pair."),
    opt("--sim-latency", type=DURATION, shows="0s", help="Simulated reply latency, with a unit (50ms, 1s)."),
    opt("--sim-jitter", type=DURATION, shows="0s",
        help="Extra random latency, uniform in [0, jitter), with a unit: replies arrive out of order."),
    opt("--edge", type=PERCENT, shows="1", help="House edge in percent on the main balance."),
    opt("--faucet-edge", type=PERCENT, shows="3", help="House edge in percent on the faucet balance."),
    opt("--min-chance", type=PERCENT, shows="0.01", help="Lowest win chance the site accepts, in percent."),
    opt("--max-chance", type=PERCENT, shows="98", help="Highest win chance the site accepts, in percent."),
))

live_options = OptionGroup("Live", (
    opt("--live/--simulate", "live", shows="simulate", help="Bet real money on DuckDice (needs a key)."),
    opt("--api-key-file", type=FILE, shows="none",
        help="File holding the API key (or the Docker secret betbot_api_key)."),
    opt("--api-key", metavar="KEY", shows="none", help="The API key itself: visible to other users in the "
        "process list, so prefer --api-key-file or the env var."),
    opt("--base-url", type=URL, shows="https://duckdice.io/api", help="DuckDice API base URL."),
    opt("--max-rate", type=RATE, shows="none", help="At most this many bets per second."),
    opt("--below-min-bet", type=click.Choice(["raise", "stop"]), shows="stop",
        help="A stake below the site's minimum bet (learned from its refusals, never by probing) is raised "
             "to it, or the session stops."),
    opt("--after-reconcile", type=click.Choice(["continue", "stop"]), shows="continue",
        help="After bets of unknown outcome are reconciled with the site's books and they balance, go on or "
             "stop (books that do not balance always stop)."),
    opt("--tle", metavar="HASH", shows="none",
        help="Join every bet to this time-limited event (its hash from `betbot balance`/user-info)."),
    opt("--wagering-bonus", metavar="HASH", shows="none",
        help="Count every bet toward this wagering bonus (its hash from the site's user-info)."),
    opt("--min-bet-cache", type=FILE, shows="$XDG_DATA_HOME/betbot/min_bets.json",
        help="Where the minimum bets learned from the site are kept."),
))

output_options = OptionGroup("Output", (
    opt("--journal", type=FILE, shows="$XDG_DATA_HOME/betbot/journal.sqlite3", help="The bet journal (SQLite)."),
    opt("--no-journal", is_flag=True, shows="off", help="Keep no journal (a dry run leaves no trace; no --resume)."),
    opt("--metrics-addr", type=HOST_PORT, shows="none",
        help="Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9108)."),
    opt("--metrics-linger", type=DURATION, shows="0s",
        help="After the run, keep serving the final metrics this long (e.g. 30s), so a scrape catches the "
             "end; a signal ends the wait."),
    opt("--heartbeat-file", type=FILE, shows="none",
        help="Write a heartbeat here every 5 s, for `betbot health` (Docker's HEALTHCHECK)."),
    opt("--summary-json", type=FILE, shows="none", help="Also write the end-of-session summary as JSON here."),
    opt("--log-format", type=click.Choice(["auto", "console", "json"]), shows="auto",
        help="Logs on stderr: auto is console on a terminal, JSON otherwise."),
    opt("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), shows="info",
        help="Log level (-v / -q set it too)."),
    # Also here, not only on `betbot` itself: `betbot run -q` is where people type it.
    opt("-v", "--verbose", "verbose", count=True, default=0, env="", help="More log lines: -v is --log-level debug."),
    opt("-q", "--quiet", "quiet", count=True, default=0, env="",
        help="Fewer log lines: -q is --log-level warning, -qq error."),
    opt("--dashboard", type=click.Choice(["auto", "on", "off"]), shows="auto",
        help="Live dashboard on stderr (auto: when it is a terminal)."),
))

notify_options = OptionGroup("Notifications", (
    opt("--notify", "notify", type=URL, multiple=True, default=(), shows="[]",
        help="Send notifications to this Apprise URL (ntfy://topic, tgram://TOKEN/CHAT, discord://..., "
             "mailto://..., json://HOST/PATH ...); repeat for several. A URL is a secret: never logged whole. "
             "The env var takes URLs separated by spaces."),
    opt("--notify-on", "notify_on", type=SettingText("EVENTS"), multiple=True, default=(), shows="all",
        help="Which events to send, comma-separated: stopped, take-profit, unresolved, backoff, drawdown, "
             "digest, campaign, error (or all)."),
    opt("--notify-drawdown", type=AMOUNT_OR_PCT, shows="none",
        help="Notify when the balance falls this far below its peak (an amount, or % of the starting balance)."),
    opt("--notify-every", type=DURATION, shows="none", help="Send a digest of the running session this often "
        "(e.g. 6h)."),
    opt("--notify-backoff", type=DURATION, shows="300s",
        help="Notify when the site holds betting back (rate limit, challenge) longer than this."),
))

campaign_options = OptionGroup("Campaign", (
    opt("--repeat/--no-repeat", "repeat", shows="no-repeat",
        help="When a session ends by take-profit or stop-loss, start a new one after --pause-between: a "
             "campaign, journaled with its sessions; --resume continues it."),
    opt("--pause-between", type=DURATION, shows="60s", help="The pause between two sessions of a campaign."),
    opt("--new-seed-each", is_flag=True, shows="off", help="A new seed pair for every session of a campaign."),
    opt("--total-stop-loss", type=AMOUNT_OR_PCT, shows="none",
        help="The campaign never loses more than this over all its sessions (an amount, or % of its starting "
             "balance): each session's stop-loss is tightened to what remains, exposure included."),
    opt("--daily-stop-loss", type=AMOUNT_OR_PCT, shows="none",
        help="The campaign never loses more than this in one UTC day; once reached it waits for the next day "
             "(a session never runs past UTC midnight)."),
    opt("--total-take-profit", type=AMOUNT_OR_PCT, shows="none",
        help="The campaign ends once its profit over all sessions reaches this."),
    opt("--max-sessions", type=INT, shows="none", help="The campaign ends after this many sessions."),
))

#: The order of the headings in --help; options of other groups come after, "Other options" last.
GROUP_ORDER = ("Strategy", "Limits", "Concurrency", "Simulator", "Live", "Output", "Notifications", "Campaign",
               "Session")


class GroupedCommand(click.Command):
    """A command whose --help lists its options under headings (click has no option groups)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                groups.setdefault(getattr(param, "group", "Other"), []).append(record)
        extra = sorted(t for t in groups if t not in GROUP_ORDER and t != "Other")
        titles = [t for t in GROUP_ORDER if t in groups] + extra + (["Other"] if "Other" in groups else [])
        for title in titles:
            with formatter.section(f"{title} options"):
                formatter.write_dl(groups[title])


def parse_params(values: Sequence[str]) -> dict[str, Any]:
    """`--param name=value` pairs as a dict; lists and integers as JSON, anything else as text."""
    params: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--param {item!r} must look like name=value, e.g. --param multiplier=2")
        try:  # lists and numbers as JSON (sequence=[1,2,3]); anything else as text for the model to parse
            value: Any = json.loads(raw)
            if isinstance(value, float):
                value = raw  # never let a float near an amount: the model parses the text
        except (json.JSONDecodeError, ValueError):  # ValueError: an integer too long to convert
            value = raw
        params[name.strip().replace("-", "_")] = value
    return params


def collect_flags(options: Mapping[str, Any]) -> dict[str, Any]:
    """The settings given as flags (the others are left to the environment and the config file).

    `betbot -v`/`-q` (kept on the root context) and the command's own -v/-q count as a --log-level flag
    unless --log-level is given.
    """
    options = dict(options)
    louder, quieter = options.pop("verbose", 0) or 0, options.pop("quiet", 0) or 0
    flags = {name: value for name, value in options.items() if value is not None and value != ()}
    ctx = click.get_current_context(silent=True)
    verbosity = (ctx.find_root().obj or {}).get("log_level") if ctx is not None else None
    if louder or quieter:  # the command's own -v/-q count on top of `betbot -v/-q`
        from betbot.cli import LOG_LEVELS  # noqa: PLC0415 - the package is loaded: this is a lookup

        level = LOG_LEVELS.index(verbosity or "info") - louder + quieter
        verbosity = LOG_LEVELS[min(max(level, 0), len(LOG_LEVELS) - 1)]
    if verbosity is not None and "log_level" in options and "log_level" not in flags:
        flags["log_level"] = verbosity
    if "max_concurrent" in flags and "parallel" not in flags:
        flags["parallel"] = True
    for name in ("notify", "notify_on"):  # repeated flags: a list for Settings to check
        if name in flags:
            flags[name] = list(flags[name])
    if "params" in flags:
        flags["params"] = parse_params(flags["params"])
    return flags
