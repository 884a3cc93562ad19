"""DiceBot 3's Lua dialect (SharpLua 2.1.1.1) turned into the Lua 5.1 betbot runs, before a script loads.

    lexer.py    a Lua 5.1 lexer that also reads SharpLua's operators (tokens with their offsets)
    rewrite.py  the rewriter: a parser over the tokens that records edits; every line stays where it was
    foreign.py  DiceBot 4 / Doormat and Gambler.Bot 5 scripts, recognised by their entry point, refused
    stored.py   the translations of long scripts kept on disk, keyed by the text's hash

`translate(source)` is the one call the loader makes. A text that Lua 5.1 compiles as it is (plain Lua)
is returned untouched after that one compile; a SharpLua one is rewritten. The result is cached per
text, so a Monte Carlo run that loads the same script for every session rewrites it once, and a long
script's translation is kept on disk, so it is rewritten once per machine.

Why not a Lua parser from PyPI (luaparser, the one well-known one): it reads Lua 5.3's grammar, not
5.1's, and not SharpLua's operators (which no Lua grammar knows: `!=`, `+=`, `^^`, `continue`), so it
would fail on exactly the scripts this package exists for; it builds a full AST through an ANTLR
runtime (a dependency for one job), and it writes source back from that AST, losing the user's
spacing, comments and line positions. betbot needs the opposite: plain Lua 5.1 passed through byte for
byte, SharpLua understood, and every line kept where it was, so errors name the user's line. A lexer
and an lparser.c-shaped recursive descent that records token-anchored edits give exactly that in
about 650 lines.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import lupa.lua51 as lua

from betbot.strategies.lua.dialect.foreign import foreign_dialect, foreign_dialect_in_text
from betbot.strategies.lua.dialect.lexer import LexError, tokenize
from betbot.strategies.lua.dialect.rewrite import (
    BANG,
    BIT_OPERATOR,
    COMPOUND_ASSIGNMENT,
    CONTINUE,
    NOT_EQUAL,
    STRAY_END,
    UNARY_PLUS,
    DialectError,
    rewrite_tokens,
)
from betbot.strategies.lua.dialect.stored import STORE_FROM, load_stored, store
from betbot.strategies.lua.surface import DICEBOT_GAPS

__all__ = ["DialectError", "Translation", "translate", "translate_now"]

_ORDER = (COMPOUND_ASSIGNMENT, NOT_EQUAL, BANG, BIT_OPERATOR, UNARY_PLUS, CONTINUE, STRAY_END)
_CALL_OPENERS = frozenset({"(", "{"})
_ENTRY_POINT_NAMES = re.compile(r"DoDiceBet|CalculateBet")


@dataclass(frozen=True, slots=True)
class Translation:
    """A script's text as betbot runs it, and what was done to get it."""

    source: str
    text: str  # the Lua 5.1 text; line N of it is line N of `source` (the line map is the identity)
    rewrites: tuple[tuple[str, int], ...]  # (construct, how many), in a fixed order
    stray_line: int | None  # a stray top-level end/else/until: the text after it is ignored

    def summary(self) -> str:
        """'12 compound assignments, 3 '!=' ...', or 'nothing (plain Lua 5.1)'."""
        if not self.rewrites:
            return "nothing (plain Lua 5.1)"
        parts = [f"{count} {what}{'s' if count != 1 and what[0] != chr(39) else ''}" for what, count in self.rewrites]
        return ", ".join(parts)

    def numbered(self) -> list[tuple[int, str]]:
        """The Lua 5.1 text as (line of the user's file, line of text), for `script check --lua`."""
        lines = self.text.split("\n")
        if len(lines) > 1 and not lines[-1]:
            lines.pop()  # the text ends with a line break, not with an empty line
        return list(enumerate(lines, start=1))

    def reached(self) -> tuple[tuple[str, int], ...]:
        """(DiceBot function betbot skips or lacks, the first line calling it), for `script check`."""
        try:
            tokens = tokenize(self.source)
        except LexError as exc:
            tokens = exc.tokens
        defined = {tokens[k + 1].text for k, tok in enumerate(tokens[:-1])
                   if tok.kind == "keyword" and tok.text == "function"}
        seen: dict[str, int] = {}
        for k, tok in enumerate(tokens[:-1]):
            if tok.kind != "name" or tok.text not in DICEBOT_GAPS or tok.text in defined or tok.text in seen:
                continue
            if k > 0 and tokens[k - 1].kind == "op" and tokens[k - 1].text in (".", ":"):
                continue  # a field of some table, not DiceBot's function
            after = tokens[k + 1]
            if after.kind == "string" or (after.kind == "op" and after.text in _CALL_OPENERS):
                seen[tok.text] = tok.line
        return tuple(seen.items())


@cache
def _compiles() -> Callable[[str], bool]:
    """Whether Lua 5.1 compiles a text (compiled only, never run)."""
    runtime = lua.LuaRuntime(register_eval=False, register_builtins=False)
    check: Callable[[str], bool] = runtime.eval("function(s) return (loadstring(s)) ~= nil end")
    return check


@lru_cache(maxsize=32)
def translate(source: str) -> Translation:
    """The Lua 5.1 text of a DiceBot 3 script. Raises DialectError (a line and a one-line message) for
    another dialect's script or a construct that cannot be translated faithfully. A syntax error is left
    for Lua to report (the text up to it is translated, so Lua's message names the right line).

    Cached in memory per text, and on disk (stored.py) for a long script that needed rewriting."""
    if len(source) < STORE_FROM:
        return translate_now(source)
    stored = load_stored(source)
    if stored is not None:
        return Translation(source, *stored)
    translation = translate_now(source)
    if translation.rewrites or translation.stray_line is not None:
        store(source, translation.text, translation.rewrites, translation.stray_line)
    return translation


def translate_now(source: str) -> Translation:
    """translate() without any cache.

    A text Lua 5.1 compiles as it is holds no SharpLua construct (each one is a syntax error in Lua
    5.1, `continue` included), so it is returned as it is without being parsed here: the common case
    costs one compile in C. The collector is paused while a text is rewritten: the tokens are tens of
    thousands of acyclic tuples, and its passes over them would add a third to the time, freeing nothing."""
    entry_points = _ENTRY_POINT_NAMES.search(source) is not None
    if not source.startswith("\27") and not entry_points and _compiles()(source):
        return Translation(source, source, (), None)
    readable = True
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            tokens = tokenize(source)
        except LexError as exc:  # translated up to the error (a stray `end` before it still counts), the rest as is
            tokens, readable = exc.tokens, False
        foreign = foreign_dialect(tokens) if entry_points else None  # a scan of every name, only when it can find one
        result = rewrite_tokens(source, tokens)
    finally:
        if collecting:
            gc.enable()
    if foreign is None and (not readable or result.syntax_error):  # C# or JavaScript, say
        foreign = foreign_dialect_in_text(source)
    if foreign is not None:
        raise _refusal(*foreign)
    rewrites = tuple((what, result.counts[what]) for what in _ORDER if result.counts.get(what))
    return Translation(source, result.text, rewrites, result.stray_line)


def _refusal(line: int, what: str) -> DialectError:
    return DialectError(line, f"this is {what}; betbot runs DiceBot 3's programmer mode (dobet(), nextbet, "
                              "chance, bethigh), not that dialect")
