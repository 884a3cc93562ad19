"""A Lua script's parameters, for `optimize --script FILE -p basebet=...`: the numbers it sets at its top.

How a script exposes a parameter: a line of its own, at the start of the line (not indented, so at the top
level of the script by the convention every DiceBot script follows), that assigns a number to a name:

    basebet    = 0.00000100
    multiplier = 2          -- a comment after it is kept
    maxdoubles = 12

The first such line of each name is the parameter, its number the default. A candidate is the script with
those numbers replaced, line for line (nothing else of the text changes, so its line numbers, errors and
all, stay the user's). The variants are written once each, named by their content's hash, to a directory
of the run's that the workers read: local worker processes share it; Dask workers on other machines need
it on a shared filesystem. The winner's variant is written beside the preset, which names it as its script.

Why text and not the script's globals: the top level derives other values from these numbers (`nextbet =
basebet`) when it runs, so setting a global afterwards would leave those stale; and DiceBot users tune a
script by editing exactly these lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, create_model

__all__ = ["ScriptParameters"]

_ASSIGNMENT: Final = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>\s*=\s*)(?P<value>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?P<rest>\s*(?:--.*)?)$")
# Names the script does not own: betbot sets them before every dobet().
_PROVIDED: Final = frozenset(("balance", "profit", "currentprofit", "currentstreak", "previousbet", "wagered",
                              "bets", "wins", "losses", "currentroll", "win", "inflight"))


class ScriptParameters:
    """The parameters of one script, and its variants for candidates."""

    def __init__(self, script: Path, variants: Path) -> None:
        self.script = script
        self.text = script.read_text(encoding="utf-8")
        self.variants = variants
        self.lines = self.text.splitlines(keepends=True)
        self.where: dict[str, int] = {}
        defaults: dict[str, Decimal] = {}
        for number, line in enumerate(self.lines):
            matched = _ASSIGNMENT.match(line.rstrip("\r\n"))
            if matched is None or matched["name"] in self.where or matched["name"] in _PROVIDED:
                continue
            self.where[matched["name"]] = number
            defaults[matched["name"]] = Decimal(matched["value"])
        self.defaults = defaults

    def model(self) -> type[BaseModel]:
        """A model with one decimal field per parameter (what the search space is checked against)."""
        fields: dict[str, Any] = {name: (Decimal, value) for name, value in self.defaults.items()}
        model: type[BaseModel] = create_model("ScriptParams", __config__=ConfigDict(extra="forbid"), **fields)
        return model

    def render(self, values: Mapping[str, Any]) -> str:
        lines = list(self.lines)
        for name, value in values.items():
            number = self.where[name]
            line = lines[number]
            ending = line[len(line.rstrip("\r\n")):]
            matched = _ASSIGNMENT.match(line.rstrip("\r\n"))
            if matched is None:  # pragma: no cover - `where` holds matching lines only
                raise ValueError(name)
            lines[number] = f"{name}{matched['eq']}{value}{matched['rest']}{ending}"
        return "".join(lines)

    def variant(self, values: Mapping[str, Any]) -> Path:
        """The script with these values, written once (named by its content) in the variants directory."""
        text = self.render(values)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = self.variants / f"{self.script.stem}-{digest}.lua"
        if not path.exists():
            self.variants.mkdir(parents=True, exist_ok=True)
            scratch = path.with_suffix(".tmp")
            scratch.write_text(text, encoding="utf-8")
            scratch.replace(path)
        return path
