"""Scripts of another dice-bot dialect, recognised by their entry point (never by their operators).

DiceBot 4 and Doormat call `DoDiceBet(PreviousBet, Win, NextBet)` and read the bet from `NextBet.Amount`;
Gambler.Bot 5 calls `CalculateBet(...)`. Neither is DiceBot 3's programmer mode (`dobet()` reading and
writing globals), and betbot does not run them: their contract (objects passed in and mutated, other
names, another session model) would need its own runtime, and a script half-understood could bet money
the way its author did not mean. So such a script is refused in one line naming its dialect. A script that
defines `dobet` as well is a DiceBot 3 script and runs.
"""

from __future__ import annotations

import re
from typing import Final

from betbot.strategies.lua.dialect.lexer import Token

__all__ = ["foreign_dialect", "foreign_dialect_in_text"]

_ENTRY_POINTS: Final = {
    "DoDiceBet": "a DiceBot 4 / Doormat script (function DoDiceBet)",
    "CalculateBet": "a Gambler.Bot 5 script (function CalculateBet)",
}
_WORD: Final = re.compile(r"\b(DoDiceBet|CalculateBet|dobet)\b")


def _defined(tokens: list[Token], k: int) -> bool:
    """Whether the name at k is being defined: `function NAME`, `local function NAME` or `NAME = function`."""
    before = tokens[k - 1] if k > 0 else None
    if before is not None and before.kind == "keyword" and before.text == "function":
        return True
    after, then = tokens[k + 1], tokens[k + 2] if k + 2 < len(tokens) else None
    return after.text == "=" and then is not None and then.text == "function"


def foreign_dialect(tokens: list[Token]) -> tuple[int, str] | None:
    """(line, what it is) when the script defines another dialect's entry point and no `dobet`."""
    found: tuple[int, str] | None = None
    for k, tok in enumerate(tokens):
        if tok.kind != "name" or not _defined(tokens, k):
            continue
        if tok.text == "dobet":
            return None
        if found is None and tok.text in _ENTRY_POINTS:
            found = (tok.line, _ENTRY_POINTS[tok.text])
    return found


def foreign_dialect_in_text(source: str) -> tuple[int, str] | None:
    """The same for a text Lua cannot even read (a C# or JavaScript script): its first entry-point name."""
    names = {m.group(1): m for m in reversed(list(_WORD.finditer(source)))}
    if "dobet" in names:
        return None
    hits = [m for name, m in names.items() if name in _ENTRY_POINTS]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start())
    return source.count("\n", 0, first.start()) + 1, _ENTRY_POINTS[first.group(1)]
