"""Settings: one validated model, filled from a TOML file < the environment (BETBOT_...) < flags.

Every field is documented here once; `config/betbot.example.toml` mirrors it and `betbot run --help`
uses the same words. Errors become one line that names the setting, where it came from, and the fix.
"""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
import typing
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as SourceError

from betbot.config.units import AmountOrPercent, parse_amount_or_percent, parse_duration, parse_host_port
from betbot.core.money import AmountError, parse_amount

__all__ = ["NOTIFY_EVENTS", "LogFormat", "Settings", "SettingsError", "is_duration", "load_settings",
           "setting_sources"]

ENV_PREFIX = "BETBOT_"
SIM_LATENCY_MAX = 60.0  # seconds: a simulated reply slower than this is a mistake (1e308 would never come)


def _amount(value: Any) -> Any:
    if isinstance(value, float):
        value = str(value)  # TOML has no decimal type; its floats are read back through their text
    if isinstance(value, str | int | Decimal):
        try:
            return parse_amount(value, "amount")
        except AmountError as exc:
            raise ValueError(str(exc)) from None
    return value


def _limit(value: Any) -> Any:
    if value is None or isinstance(value, AmountOrPercent):
        return value
    return parse_amount_or_percent(str(value) if isinstance(value, float | int) else value)


def _duration(value: Any) -> Any:
    # Text (a flag, the environment, a TOML string) needs a unit: `--sim-latency 50` is ambiguous. A TOML
    # number is seconds, as documented in the example config.
    return None if value is None else parse_duration(value, require_unit=isinstance(value, str))


#: What `--notify-on` may pick (betbot.notify.events.NoticeKind has one member for each, and `test`).
NOTIFY_EVENTS = ("stopped", "take-profit", "unresolved", "backoff", "drawdown", "digest", "campaign", "error")
_URL_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S")
# Several URLs in one string (the environment): split at whitespace, or at a comma that starts another URL.
_URL_SPLIT = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def _text_list(value: Any, split: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("is not a JSON list; give a JSON list or the items separated by spaces") from None
        return [item for item in split.split(text) if item]
    if isinstance(value, tuple):
        return list(value)
    return value


def _urls(value: Any) -> Any:
    urls = _text_list(value, _URL_SPLIT)
    if isinstance(urls, list):
        for index, url in enumerate(urls):
            # The message never repeats the URL: it may hold a token.
            if not isinstance(url, str) or not _URL_SHAPE.match(url.strip()):
                raise ValueError(f"URL #{index + 1} is not SCHEME://..., e.g. ntfy://my-topic or "
                                 "json://127.0.0.1:8000/hook (Apprise's URLs: https://github.com/caronc/apprise/wiki)")
        return [url.strip() for url in urls]
    return urls


def _events(value: Any) -> Any:
    separators = re.compile(r"[\s,]+")
    names = _text_list(value, separators)
    if isinstance(names, list):
        picked: list[str] = []
        # `--notify-on stopped,error` (repeatable): each item may hold several names.
        for name in (part.lower() for given in names for part in separators.split(str(given)) if part):
            if name == "all":
                picked.extend(NOTIFY_EVENTS)
            elif name in NOTIFY_EVENTS:
                picked.append(name)
            else:
                raise ValueError(f"unknown event {name!r}; choose from all, {', '.join(NOTIFY_EVENTS)}")
        return list(dict.fromkeys(picked))
    return names


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Limit = Annotated[AmountOrPercent | None, BeforeValidator(_limit)]
Duration = Annotated[float, BeforeValidator(_duration)]
OptionalDuration = Annotated[float | None, BeforeValidator(_duration)]


class LogFormat(StrEnum):
    AUTO = "auto"
    CONSOLE = "console"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # What to play.
    strategy: str = Field(default="flat", description="strategy name (`betbot strategies` lists them)")
    params: dict[str, Any] = Field(default_factory=dict, description="the strategy's parameters")
    script: Path | None = Field(default=None, description="a DiceBot Lua script to play: short for strategy lua "
                                                         "with params.script (`betbot script check` tries one)")
    currency: str = Field(default="DOGE", min_length=2, max_length=10, pattern=r"^[A-Za-z0-9]+$",
                          description="currency symbol")
    chance: Decimal | None = Field(default=None, description="win chance in percent, for strategies that take one")
    high: bool | None = Field(default=None, description="bet high (true) or low (false)")
    faucet: bool = Field(default=False, description="bet from the faucet balance")
    game: Literal["dice", "range"] = Field(
        default="dice", description="dice (Original Dice, high/low) or range (Range Dice: the chance as a window)")
    range_in: bool = Field(default=True, description="range: win inside the window (true) or outside it (false)")
    range_at: int | Literal["random"] = Field(
        default=0, description="range: the window's lowest roll (0..9999), or random (a new place every bet)")

    # Limits (None: no limit).
    max_bets: int | None = Field(default=None, ge=1, description="place exactly this many bets, then stop")
    max_duration: OptionalDuration = Field(default=None, description="no new bet after this long (e.g. 30m)")
    stop_loss: Limit = Field(default=None, description="never lose more than this (amount or % of balance)")
    take_profit: Limit = Field(default=None, description="stop once the profit reaches this")
    trailing_stop: Limit = Field(default=None, description="stop once the profit falls this far below its peak")
    max_losses: int | None = Field(default=None, ge=1, description="stop after this many losses in a row")
    max_wins: int | None = Field(default=None, ge=1, description="stop after this many wins in a row")
    max_bet: Amount | None = Field(default=None, gt=0, description="refuse any stake above this")
    min_balance: Amount | None = Field(default=None, description="never risk the balance below this")
    no_loss_limit: bool = Field(default=False, description="live: bet without a stop-loss or a minimum balance")
    reseed_every: int | None = Field(default=None, ge=1,
                                     description="rotate the seed pair after every N bets (the old server seed "
                                                 "is revealed)")

    # The risk preview: a quick Monte Carlo of this configuration before the first bet.
    preview: bool = Field(default=True, description="simulate the configuration before the first bet and show its risk")
    max_ruin: float | None = Field(default=None, ge=0, le=1,
                                  description="refuse to start when the preview's bust probability is above this")

    # Concurrency and lifecycle.
    parallel: bool = Field(default=False, description="run several bets at once")
    max_concurrent: Annotated[int, Field(ge=1, le=256)] | Literal["auto"] = Field(
        default=5, description="bets in flight with --parallel, or auto: paced from the replies (Little's law "
                               "toward --max-rate, AIMD on 429s, challenges and rising latency)")
    auto_cap: int = Field(default=32, ge=1, le=256,
                          description="with max_concurrent = auto: never more bets in flight than this")
    drain_timeout: Duration = Field(default=30.0, description="on stop, wait this long for bets in flight")

    # The simulator (the default backend).
    balance: Amount = Field(default=Decimal(100), gt=0, description="simulated starting balance")
    seed: str | None = Field(default=None, description="derive the simulator's seed pair from this text")
    first_nonce: int = Field(default=0, ge=0, description="nonce of the first bet of a seed pair")
    sim_latency: Duration = Field(default=0.0, description="simulated reply latency (e.g. 50ms)")
    sim_jitter: Duration = Field(default=0.0, description="extra random latency, uniform in [0, jitter)")
    edge: Decimal = Field(default=Decimal(1), ge=0, lt=100, description="house edge in percent, main balance")
    faucet_edge: Decimal = Field(default=Decimal(3), ge=0, lt=100, description="house edge on the faucet")
    min_chance: Decimal = Field(default=Decimal("0.01"), gt=0, description="lowest chance the site accepts")
    max_chance: Decimal = Field(default=Decimal(98), lt=100, description="highest chance the site accepts")

    # Live betting (opt-in).
    live: bool = Field(default=False, description="bet real money on DuckDice")
    base_url: str = Field(default="https://duckdice.io/api", description="DuckDice API base URL")
    api_key: SecretStr | None = Field(default=None, description="DuckDice Bot API key")
    api_key_file: Path | None = Field(default=None, description="file holding the API key")
    max_rate: float | None = Field(default=None, gt=0, description="at most this many bets per second")
    below_min_bet: Literal["raise", "stop"] = Field(
        default="stop", description="a stake below the site's minimum: raise it to the minimum, or stop")
    after_reconcile: Literal["continue", "stop"] = Field(
        default="continue", description="after unknown outcomes are reconciled and the books balance")
    min_bet_cache: Path | None = Field(default=None, description="where learned minimum bets are kept")
    tle: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                            description="live: the hash of the time-limited event (TLE) every bet joins; "
                                        "auto: the account's one active event")
    wagering_bonus: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                       description="live: the hash of the wagering bonus every bet counts toward")

    # The journal.
    journal: Path | None = Field(default=None, description="the bet journal (default: the user's data directory)")
    no_journal: bool = Field(default=False, description="keep no journal (a dry run leaves no trace; no --resume)")

    # Output.
    metrics_addr: str | None = Field(default=None, description="serve Prometheus metrics on HOST:PORT")
    metrics_linger: Duration = Field(default=0.0, description="after the run, keep serving the metrics this long")
    heartbeat_file: Path | None = Field(default=None, description="write a heartbeat here for `betbot health`")
    summary_json: Path | None = Field(default=None, description="write the end-of-session summary here as JSON")
    log_format: LogFormat = Field(default=LogFormat.AUTO, description="auto: console on a terminal, else JSON")
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", description="log level")
    dashboard: Literal["auto", "on", "off"] = Field(default="auto", description="live dashboard on a terminal")

    # An empty path (`BETBOT_JOURNAL=`) would mean the current directory: refused, not guessed.
    @field_validator("script", "api_key_file", "min_bet_cache", "journal", "heartbeat_file", "summary_json",
                     mode="before")
    @classmethod
    def _path_given(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty; give a file path, or leave the setting out")
        return value

    @field_validator("sim_latency", "sim_jitter")
    @classmethod
    def _simulated_latency(cls, value: float) -> float:
        if value > SIM_LATENCY_MAX:
            raise ValueError(f"{value:g} s is more than a simulated reply may take ({SIM_LATENCY_MAX:g} s); "
                             "give milliseconds, e.g. 50ms")
        return value

    # Notifications (Apprise URLs; nothing is sent, and Apprise is not even loaded, without one).
    notify: Annotated[list[str], NoDecode, BeforeValidator(_urls)] = Field(
        default_factory=list, description="notification URLs (Apprise): ntfy://topic, tgram://token/chat, "
                                          "json://host/path ...; a URL is a secret, never logged whole")
    notify_on: Annotated[list[str], NoDecode, BeforeValidator(_events)] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS), description=f"events to notify: all, {', '.join(NOTIFY_EVENTS)}")
    notify_drawdown: Limit = Field(default=None, description="notify when the balance falls this far below its "
                                                             "peak (amount, or % of the starting balance)")
    notify_every: OptionalDuration = Field(default=None, description="send a digest this often (e.g. 6h)")
    notify_backoff: Duration = Field(default=300.0, description="notify when the site holds betting back longer")

    # Campaigns: sessions one after another under one budget.
    repeat: bool = Field(default=False, description="when a session ends by take-profit or stop-loss, start "
                                                    "another (a campaign)")
    pause_between: Duration = Field(default=60.0, description="campaign: the pause between two sessions")
    new_seed_each: bool = Field(default=False, description="campaign: a new seed pair for every session")
    total_stop_loss: Limit = Field(default=None, description="campaign: never lose more than this over all its "
                                                             "sessions (amount, or % of its starting balance)")
    daily_stop_loss: Limit = Field(default=None, description="campaign: never lose more than this in one UTC day")
    total_take_profit: Limit = Field(default=None, description="campaign: end once its profit reaches this")
    max_sessions: int | None = Field(default=None, ge=1, description="campaign: at most this many sessions")

    @field_validator("metrics_addr")
    @classmethod
    def _metrics_addr(cls, value: str | None) -> str | None:
        if value is not None:
            parse_host_port(value)  # its ValueError says what is wrong
        return value

    @field_validator("range_at", mode="before")
    @classmethod
    def _range_at(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() != "random":
            try:
                value = int(value)
            except ValueError:
                raise ValueError("must be a roll 0..9999 or random") from None
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 9999:
            raise ValueError("must be a roll 0..9999 or random")
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("script")
    @classmethod
    def _script_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if info.data.get("strategy", "lua") not in ("lua", "flat"):  # flat: the default, i.e. not chosen
            raise ValueError(f"a script plays the lua strategy, not {info.data['strategy']}; drop one of the two")
        path = value.expanduser()
        if not path.is_file():
            raise ValueError(f"no such file: {value} (give the path of a DiceBot .lua script)")
        return path.absolute()

    @model_validator(mode="after")
    def _script_is_lua(self) -> Settings:
        # `script = FILE` is sugar for `strategy = "lua"` with `params.script = FILE` (the journal keeps those).
        if self.script is not None:
            self.strategy = "lua"
            self.params = {**self.params, "script": str(self.script)}
        return self

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("chance", mode="before")
    @classmethod
    def _chance_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, float) else value

    @field_validator("max_concurrent", mode="before")
    @classmethod
    def _auto_text(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if isinstance(value, str) and not value.strip().lstrip("+").isdigit():
            raise ValueError("must be a number of bets 1-256, or auto")
        return value

    @model_validator(mode="after")
    def _auto_is_parallel(self) -> Settings:
        # `max_concurrent = "auto"` in a file or the environment means parallel unless --sequential says not.
        if self.max_concurrent == "auto" and "parallel" not in self.model_fields_set:
            self.parallel = True
        return self

    @property
    def auto_concurrency(self) -> bool:
        """`-n auto`: the engine paces the bets in flight, up to `concurrency`."""
        return self.parallel and self.max_concurrent == "auto"

    @property
    def concurrency(self) -> int:
        """What the user asked for: --max-concurrent with --parallel (auto: its cap), else one bet at a time."""
        if not self.parallel:
            return 1
        return self.auto_cap if self.max_concurrent == "auto" else self.max_concurrent


def is_duration(field: str) -> bool:
    """Whether a Settings field holds seconds, written with a unit (250ms, 30s, 5m)."""
    return any(getattr(meta, "func", None) is _duration for meta in Settings.model_fields[field].metadata)


class SettingsError(ValueError):
    """A bad setting, as one line that names it, where it came from, and what would fix it."""


_FLAG_NAMES = {"params": "--param", "high": "--high/--low"}


def _origin(field: str, flags: dict[str, Any], config: Path | None) -> str:
    if field in flags:
        return f"flag {_FLAG_NAMES.get(field, '--' + field.replace('_', '-'))}"
    env = f"{ENV_PREFIX}{field.upper()}"
    import os  # noqa: PLC0415 - only on the error path

    if env in os.environ:
        return f"environment {env}"
    return f"config {config}" if config is not None else "default"


def setting_sources(flags: dict[str, Any], config: Path | None = None,
                    environ: dict[str, str] | None = None) -> dict[str, str]:
    """Where each field's effective value comes from: "flag", "env", "file" or "default" (highest wins)."""
    import os  # noqa: PLC0415 - only `betbot config show` asks

    env_names = {name.upper() for name in (os.environ if environ is None else environ)}
    in_file: set[str] = set()
    if config is not None and config.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):  # load_settings says it
            in_file = set(tomllib.loads(config.read_text(encoding="utf-8")))
    sources = {}
    for field in Settings.model_fields:
        if field in flags:
            sources[field] = "flag"
        elif f"{ENV_PREFIX}{field.upper()}" in env_names:
            sources[field] = "env"
        elif field in in_file:
            sources[field] = "file"
        else:
            sources[field] = "default"
    return sources


def load_settings(flags: dict[str, Any], config: Path | None = None, *, new_session: bool = True) -> Settings:
    """Settings from the config file, the environment and the given flags (highest first: flags).

    `new_session`: the settings start a new session (not a resume), so a simulated run's starting balance
    is the `balance` setting and limits can be checked against it.
    """
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"config file {config} does not exist; pass an existing TOML file to --config")
        try:
            tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {config} is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"config file {config} cannot be read: {exc}") from None

    class _Sourced(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            if config is None:
                return (init_settings, env_settings)
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config))

    try:
        loaded = _Sourced(**flags)
    except SourceError as exc:  # the environment's text of a structured setting (BETBOT_PARAMS) is not JSON
        raise SettingsError(_source_error(exc, flags, config)) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        # A union's member appears in the location ("max_concurrent.constrained-int"): not a name a user wrote.
        field = ".".join(str(part) for part in error["loc"]
                         if isinstance(part, int) or part.isidentifier()) or "settings"
        top = str(error["loc"][0]) if error["loc"] else field
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] in _BOUND_ERRORS and top in Settings.model_fields:
            message = f"{error.get('input')} is out of range; {_allowed_range(top)}"
        if error["type"] == "extra_forbidden":
            raise SettingsError(
                f"unknown setting {field!r} in {_origin(top, flags, config)}; see config/betbot.example.toml"
            ) from None
        raise SettingsError(f"invalid {field} ({_origin(top, flags, config)}): {message}") from None
    for field, message in _conflicts(loaded, new_session=new_session):
        raise SettingsError(f"invalid {field} ({_origin(field.partition('.')[0], flags, config)}): {message}")
    return loaded


def _source_error(exc: SourceError, flags: dict[str, Any], config: Path | None) -> str:
    found = re.search(r'field "([^"]+)"', str(exc))
    if found is None:
        return f"invalid settings: {exc}"
    field = found.group(1)
    env = f"{ENV_PREFIX}{field.upper()}"
    return (f"invalid {field} ({_origin(field, flags, config)}): not valid JSON; write it as a JSON object, "
            f"e.g. {env}='{{\"base_bet\": \"0.01\"}}'")


def _conflicts(settings: Settings, *, new_session: bool) -> list[tuple[str, str]]:
    """Settings that are valid alone but not together: (field, what is wrong and the fix)."""
    found: list[tuple[str, str]] = []
    low, high = settings.min_chance, settings.max_chance
    chance = settings.chance if settings.chance is not None else _decimal(settings.params.get("chance"))
    if chance is not None and not low <= chance <= high:
        field = "chance" if settings.chance is not None else "params.chance"
        found.append((field, f"{chance} % is outside the site's limits; choose a chance from {low} to {high} %"))
    if low > high:
        found.append(("min_chance", f"{low} is above max_chance {high}; the lowest chance must be the lower"))
    if settings.stop_loss is not None and settings.stop_loss.percent and settings.stop_loss.value > 100:
        found.append(("stop_loss", f"{settings.stop_loss} is more than the whole balance; give at most 100%"))
    for name in ("total_stop_loss", "daily_stop_loss", "total_take_profit", "max_sessions", "new_seed_each"):
        if getattr(settings, name) not in (None, False) and not settings.repeat:
            found.append((name, "is a campaign limit: add --repeat (repeat = true) to run a campaign, or drop it"))
    for name in ("total_stop_loss", "daily_stop_loss"):
        limit = getattr(settings, name)
        if limit is not None and limit.percent and limit.value > 100:
            found.append((name, f"{limit} is more than the whole balance; give at most 100%"))
    # A simulated session starts from the balance setting (a live one from the site's: checked once read;
    # a resumed one from its journal).
    if new_session and not settings.live and settings.min_balance is not None \
            and settings.min_balance >= settings.balance:
        found.append(("min_balance", f"{settings.min_balance} is not below the starting balance {settings.balance}; "
                                     "give a lower --min-balance or a higher --balance"))
    if new_session and not settings.live and settings.stop_loss is not None and not settings.stop_loss.percent \
            and settings.stop_loss.value > settings.balance:
        found.append(("stop_loss", f"{settings.stop_loss} is more than the starting balance {settings.balance}, so it "
                                   "could never stop the run; give at most the balance (or 100%)"))
    return found


_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _allowed_range(name: str) -> str:
    """A field's bounds in words, from its own declaration: `give a value from 1 to 256`, `give more than 0`."""
    bounds = {key: getattr(meta, key) for meta in _constraints(Settings.model_fields[name])
              for key in ("ge", "gt", "le", "lt") if getattr(meta, key, None) is not None}
    low = f"from {bounds['ge']}" if "ge" in bounds else f"above {bounds['gt']}" if "gt" in bounds else ""
    high = f"to {bounds['le']}" if "le" in bounds else f"below {bounds['lt']}" if "lt" in bounds else ""
    if low.startswith("from") and high.startswith("to"):
        return f"give a value {low} {high}"
    if low and high:
        return f"give a value {low} and {high}"
    if low:
        return f"give a value {bounds['ge']} or more" if "ge" in bounds else f"give a value {low}"
    return f"give a value {bounds['le']} or less" if "le" in bounds else f"give a value {high}"


def _constraints(field: FieldInfo) -> list[Any]:
    """The field's own constraints, and those of a constrained member of its union (`int(1..256) | "auto"`)."""
    found = list(field.metadata)
    for member in typing.get_args(field.annotation):
        for meta in getattr(member, "__metadata__", ()):
            found.extend(getattr(meta, "metadata", ()))
    return found


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None or isinstance(value, bool) else Decimal(str(value))
    except ArithmeticError:
        return None  # not a number: the strategy's own validation says so
