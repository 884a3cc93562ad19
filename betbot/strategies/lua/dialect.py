"""Recognising scripts written for another dice-bot dialect, so they get one clear refusal.

DiceBot v4 / Gambler.Bot ("Doormat") scripts call `DoDiceBet(PreviousBet, Win, NextBet)` and set
`NextBet.Amount`; its C#/JavaScript programmer modes write `!=` and `//` comments. None of that is the
classic DiceBot v3 programmer mode betbot runs (`nextbet`, `chance`, `bethigh`, `dobet()`). The scan
skips Lua comments and strings so a `!=` inside a printed message is not mistaken for code.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["foreign_dialect"]

_LONG_BRACKET: Final = re.compile(r"\[(=*)\[")
_MARKERS: Final = (
    (re.compile(r"!="), "`!=` where Lua writes `~=`"),
    (re.compile(r"\bDoDiceBet\b"), "DoDiceBet()"),
    (re.compile(r"\bNextBet\s*\.\s*Amount\b"), "NextBet.Amount"),
)


def _code_only(source: str) -> str:
    """The source with comments and string literals blanked out (newlines kept, so lines still count)."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if source.startswith("--", i):
            long = _LONG_BRACKET.match(source, i + 2)
            end = source.find("]" + long.group(1) + "]", long.end()) if long else source.find("\n", i)
            end = n if end < 0 else (end + len(long.group(1)) + 2 if long else end)
            out.append(re.sub(r"[^\n]", " ", source[i:end]))
            i = end
        elif c in "'\"":
            j = i + 1
            while j < n and source[j] != c and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        elif c == "[" and (long := _LONG_BRACKET.match(source, i)):
            end = source.find("]" + long.group(1) + "]", long.end())
            end = n if end < 0 else end + len(long.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", source[i:end]))
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def foreign_dialect(source: str) -> tuple[int, str] | None:
    """(line, what gave it away) if the script is written for DiceBot v4 / Gambler.Bot, else None."""
    code = _code_only(source)
    for pattern, what in _MARKERS:
        match = pattern.search(code)
        if match:
            return code.count("\n", 0, match.start()) + 1, what
    return None
