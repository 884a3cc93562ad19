"""A hosted session's settings: the server's defaults, a preset, and the session's own values, checked once.

Where they come from: the config file's top level (shared by every session: the journal, the key file, the
base URL), then a preset (a shipped `strategies/*.toml` settings file) or a shipped Lua script, then the
session's own table (`[[sessions]]` in the config, or the body of an API start request). The result is a
`Settings` exactly as `betbot run` would build it (the environment included), with what a hosted session does
not do of its own switched off: the terminal dashboard, its own heartbeat, metrics server and summary file
(the host covers every session). The risk preview stays as asked: the host runs a simulated session's in a
worker thread before the start, so that one session's preview never stalls the others.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from betbot.config.settings import Settings, SettingsError, load_settings
from betbot.strategies.shipped import find_shipped

__all__ = ["API_FORBIDDEN", "NAME_PATTERN", "SessionSpec", "hosted_settings", "read_config", "spec_settings"]

NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
# What a session's own table may not set: the host's (one journal, one key per account from the server's
# configuration, never from a request) and the outputs the host covers for every session.
API_FORBIDDEN: Final = frozenset({
    "api_key", "api_key_file", "base_url", "journal", "no_journal", "metrics_addr", "metrics_linger",
    "heartbeat_file", "summary_json", "log_format", "log_level", "dashboard", "min_bet_cache", "script",
    "notify",  # the URLs are the process's one notifier's (they may hold tokens); a session picks notify_on
})
_SPEC_KEYS: Final = frozenset({"name", "autostart", "preset", "lua"})
_HOSTED: Final[dict[str, Any]] = {"dashboard": "off", "heartbeat_file": None, "metrics_addr": None,
                                  "summary_json": None, "metrics_linger": 0.0}


class SessionSpec:
    """One session as asked for: its name, whether it starts with the server, and its settings' sources."""

    __slots__ = ("autostart", "lua", "name", "preset", "values")

    def __init__(self, *, name: str, values: Mapping[str, Any], preset: str | None = None, lua: str | None = None,
                 autostart: bool = False) -> None:
        self.name = name
        self.values = dict(values)
        self.preset = preset
        self.lua = lua
        self.autostart = autostart

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "values": self.values, "preset": self.preset, "lua": self.lua,
                "autostart": self.autostart}

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, where: str) -> SessionSpec:
        name = table.get("name")
        if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
            raise SettingsError(f"{where}: name must be 1 to 40 letters, digits, '.', '_' or '-' (starting with a "
                                "letter or digit), e.g. name = \"doge-flat\"")
        autostart = table.get("autostart", False)
        if not isinstance(autostart, bool):
            raise SettingsError(f"{where}: autostart must be true or false")
        preset, lua = table.get("preset"), table.get("lua")
        for key, value in (("preset", preset), ("lua", lua)):
            if value is not None and not isinstance(value, str):
                raise SettingsError(f"{where}: {key} must be the name of a shipped strategy file")
        values = {key: value for key, value in table.items() if key not in _SPEC_KEYS}
        forbidden = sorted(API_FORBIDDEN & set(values))
        if forbidden:
            raise SettingsError(f"{where}: {forbidden[0]} is the server's setting, not a session's; set it at the "
                                "top of the config file")
        return cls(name=name, values=values, preset=preset, lua=lua, autostart=autostart)


def read_config(path: Path | None) -> tuple[dict[str, Any], list[SessionSpec]]:
    """The config file's shared settings (its top level) and its `[[sessions]]`."""
    if path is None:
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc}") from None
    tables = data.pop("sessions", [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise SettingsError(f"config file {path}: sessions must be [[sessions]] tables")
    specs = [SessionSpec.from_table(table, where=f"config file {path}, [[sessions]] #{i}")
             for i, table in enumerate(tables, 1)]
    names = [spec.name for spec in specs]
    for name in names:
        if names.count(name) > 1:
            raise SettingsError(f"config file {path}: two [[sessions]] are named {name!r}; give each its own name")
    return data, specs


def _preset_values(name: str) -> dict[str, Any]:
    path = find_shipped(name)
    if path is None or path.suffix != ".toml":
        raise SettingsError(f"preset {name!r} is not a shipped settings file (`betbot strategies files` lists them)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"preset {name!r} cannot be read: {exc}") from None


def _lua_path(name: str) -> Path:
    path = find_shipped(name)
    if path is None or path.suffix != ".lua":
        raise SettingsError(f"lua {name!r} is not a shipped Lua script (`betbot strategies files` lists them)")
    return path


def spec_settings(shared: Mapping[str, Any], spec: SessionSpec) -> Settings:
    """The settings this session plays with, or a SettingsError naming the field and the fix."""
    merged: dict[str, Any] = dict(shared)
    if spec.preset is not None:
        merged.update(_preset_values(spec.preset))
    merged.update(spec.values)
    if spec.lua is not None:
        merged["script"] = _lua_path(spec.lua)
    return hosted_settings(merged)


def hosted_settings(values: Mapping[str, Any]) -> Settings:
    return load_settings({**values, **_HOSTED})
