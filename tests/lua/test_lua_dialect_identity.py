"""The rewriter is the identity on plain Lua 5.1, and what it makes of SharpLua is Lua 5.1 on the same lines.

Programs are generated from the Lua 5.1 grammar (with spaces, line breaks and comments between tokens,
strings and comments full of SharpLua operators, every number form); Lua itself (lupa's PUC Lua 5.1)
confirms each one compiles, so the property is never checked on text Lua would reject. The same
generator, allowed SharpLua's constructs, checks that every translation compiles and keeps its lines.
Every `.lua` file of the repository passes through unchanged too (the SharpLua halves of the dialect
corpus excepted).
"""

from __future__ import annotations

from pathlib import Path

import lupa.lua51 as lua
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from betbot.strategies.lua.dialect import DialectError, translate
from betbot.strategies.lua.dialect.lexer import tokenize
from betbot.strategies.lua.dialect.rewrite import rewrite_tokens
from tests.lua_support import ROOT

_COMPILER = lua.LuaRuntime(register_eval=False)
_COMPILE = _COMPILER.eval("function(s) local f, err = loadstring(s, '=gen') return err end")


def _rewritten(text: str) -> str:
    """The token rewriter's output itself (translate() returns a text Lua compiles before parsing it)."""
    result = rewrite_tokens(text, tokenize(text))
    assert not result.syntax_error
    return result.text

NAMES = ("a", "b", "t", "x", "continue", "goto", "bit", "nextbet", "self")
NUMBERS = ("0", "1", "42", "3.5", ".5", "3.", "1e3", "2E-2", "0x1F", "0XfF", "1e+2")
STRINGS = ('"a != b"', "'x += 1'", '"\\"!x\\" \\\\ \\65\\n"', "'a & b | c << 2 ^^ d'", "[[ a ~= b ]]",
           "[==[ ]] ]=] -- != ]==]", '"\\\nline two"', "''")
GAPS = (" ", "  ", "\t", "\n", " -- a != b += 1 !x\n", " --[[ x &= 1 ]] ", " --[=[\n ]] ]=] ", "\n\n  ")
BINARY = ("+", "-", "*", "/", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=", "and", "or")
UNARY = ("-", "not", "#")
SHARP_BINARY = ("!=", "&", "|", "<<", ">>", "^^")
SHARP_UNARY = ("!", "~", "+")
COMPOUND = ("+=", "-=", "*=", "/=", "%=", "^=", "..=", "&=", "|=", "<<=", ">>=", "^^=")


class _Program:
    """Draws one program as a list of tokens; `sharp` allows SharpLua's constructs."""

    def __init__(self, draw: st.DrawFn, *, sharp: bool) -> None:
        self.draw, self.sharp = draw, sharp
        self.out: list[str] = []

    def pick(self, options: tuple[str, ...]) -> str:
        return self.draw(st.sampled_from(options))

    def chance(self, p: float = 0.5) -> bool:
        return self.draw(st.floats(0, 1)) < p

    def emit(self, *tokens: str) -> None:
        self.out.extend(tokens)

    def text(self) -> str:
        parts = [self.out[0]]
        for tok in self.out[1:]:
            # A line break before `(` is Lua 5.1's "ambiguous syntax": calls keep their `(` on the line.
            parts.append(" " if tok == "(" else self.pick(GAPS))
            parts.append(tok)
        return "".join(parts)

    # -- expressions --------------------------------------------------------------------------------
    def expr(self, depth: int) -> None:
        if depth <= 0 or self.chance(0.3):
            self.simple(depth)
        elif self.chance(0.2):
            self.emit(self.pick(SHARP_UNARY if self.sharp and self.chance(0.5) else UNARY))
            self.expr(depth - 1)
        else:
            self.expr(depth - 1)
            self.emit(self.pick(SHARP_BINARY if self.sharp and self.chance(0.4) else BINARY))
            self.expr(depth - 1)

    def simple(self, depth: int) -> None:
        kind = self.draw(st.integers(0, 7 if depth > 0 else 3))
        if kind == 0:
            self.emit(self.pick(NUMBERS))
        elif kind == 1:
            self.emit(self.pick(STRINGS))
        elif kind == 2:
            self.emit(self.pick(("nil", "true", "false")))
        elif kind == 3:
            self.variable(depth)
        elif kind == 4:
            self.call(depth)
        elif kind == 5:
            self.emit("(")
            self.expr(depth - 1)
            self.emit(")")
        elif kind == 6:
            self.table(depth - 1)
        else:
            self.emit("function", "(", "a", ",", "...", ")")
            self.block(depth - 1, in_loop=False)
            self.emit("end")

    def variable(self, depth: int) -> None:
        self.emit(self.pick(NAMES))
        for _ in range(self.draw(st.integers(0, 2 if depth > 0 else 0))):
            if self.chance():
                self.emit(".", self.pick(NAMES))
            else:
                self.emit("[")
                self.expr(depth - 1)
                self.emit("]")

    def call(self, depth: int) -> None:
        self.variable(depth - 1)
        if self.chance(0.2):
            self.emit(":", self.pick(NAMES))
        if self.chance(0.2):
            self.emit(self.pick(STRINGS))
            return
        self.emit("(")
        for k in range(self.draw(st.integers(0, 2))):
            if k:
                self.emit(",")
            self.expr(depth - 1)
        self.emit(")")

    def table(self, depth: int) -> None:
        self.emit("{")
        for _ in range(self.draw(st.integers(0, 3))):
            form = self.draw(st.integers(0, 2))
            if form == 0:
                self.emit(self.pick(NAMES), "=")
            elif form == 1:
                self.emit("[")
                self.expr(depth)
                self.emit("]", "=")
            self.expr(depth)
            self.emit(self.pick((",", ";")))
        self.emit("}")

    # -- statements ---------------------------------------------------------------------------------
    def block(self, depth: int, *, in_loop: bool) -> None:
        for _ in range(self.draw(st.integers(0, 3))):
            self.statement(depth, in_loop=in_loop)
            if self.chance(0.2):
                self.emit(";")
        if in_loop and self.chance(0.2):
            self.emit("break")
        elif self.chance(0.15):
            self.emit("return")
            if self.chance():
                self.expr(depth)

    def statement(self, depth: int, *, in_loop: bool) -> None:
        kind = self.draw(st.integers(0, 10 if depth > 0 else 2))
        if kind == 0:
            self.variable(depth)
            if self.sharp and self.chance(0.4):
                self.emit(self.pick(COMPOUND))
            else:
                self.emit("=")
            self.expr(depth)
        elif kind == 1:
            self.emit("local", "x", ",", "continue", "=")
            self.expr(depth)
        elif kind == 2:
            self.call(depth)
        elif kind == 3:
            self.emit("if")
            self.expr(depth - 1)
            self.emit("then")
            self.block(depth - 1, in_loop=in_loop)
            if self.chance():
                self.emit("elseif")
                self.expr(depth - 1)
                self.emit("then")
                self.block(depth - 1, in_loop=in_loop)
            if self.chance():
                self.emit("else")
                self.block(depth - 1, in_loop=in_loop)
            self.emit("end")
        elif kind == 4:
            self.emit("while")
            self.expr(depth - 1)
            self.emit("do")
            self.loop_body(depth - 1)
            self.emit("end")
        elif kind == 5:
            self.emit("for", "i", "=", "1", ",")
            self.expr(depth - 1)
            self.emit("do")
            self.loop_body(depth - 1)
            self.emit("end")
        elif kind == 6:
            self.emit("for", "k", ",", "v", "in", "pairs", "(", "t", ")", "do")
            self.loop_body(depth - 1)
            self.emit("end")
        elif kind == 7:
            self.emit("repeat")
            self.block(depth - 1, in_loop=True)
            self.emit("until")
            self.expr(depth - 1)
        elif kind == 8:
            self.emit("do")
            self.block(depth - 1, in_loop=in_loop)
            self.emit("end")
        elif kind == 9:
            self.emit("function", "t", ".", "f", ":", "m", "(", "a", ")")
            self.block(depth - 1, in_loop=False)
            self.emit("end")
        else:
            self.emit("local", "function", "g", "(", "...", ")")
            self.block(depth - 1, in_loop=False)
            self.emit("end")

    def loop_body(self, depth: int) -> None:
        if self.sharp and self.chance(0.4):
            self.statement(depth, in_loop=True)
            self.emit("if", "x", "then", "continue", "end")
        self.block(depth, in_loop=True)


@st.composite
def programs(draw: st.DrawFn, *, sharp: bool = False) -> str:
    program = _Program(draw, sharp=sharp)
    program.block(3, in_loop=False)
    if not program.out:
        program.emit("x", "=", "1")
    return program.text()


def _plain_lua_passes_through_byte_for_byte(text: str) -> None:
    assert _COMPILE(text) is None, text  # the generator wrote Lua 5.1 that Lua accepts
    assert _rewritten(text) == text
    translation = translate(text)
    assert translation.text == text
    assert translation.rewrites == ()


def _sharplua_becomes_lua_51_on_the_same_lines(text: str) -> None:
    try:
        translation = translate(text)
    except DialectError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:  # the one refusal the generator can reach: `t["a\<newline>b"] += 1`
        assert "multi-line string" in refusal
        return
    assert _COMPILE(translation.text) is None, (text, translation.text)
    assert translation.text.count("\n") == text.count("\n")


_QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_LONG = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

test_plain_lua_passes_through_byte_for_byte = _QUICK(given(programs())(_plain_lua_passes_through_byte_for_byte))
test_sharplua_becomes_lua_51_on_the_same_lines = _QUICK(
    given(programs(sharp=True))(_sharplua_becomes_lua_51_on_the_same_lines))
test_plain_lua_passes_through_byte_for_byte_at_length = pytest.mark.slow(
    _LONG(given(programs())(_plain_lua_passes_through_byte_for_byte)))
test_sharplua_becomes_lua_51_on_the_same_lines_at_length = pytest.mark.slow(
    _LONG(given(programs(sharp=True))(_sharplua_becomes_lua_51_on_the_same_lines)))


def _repo_lua_files() -> list[Path]:
    skipped = {".git", ".venv", "node_modules", "site", "dicebot3"}  # tests/lua/dicebot3: SharpLua on purpose
    return sorted(path for path in ROOT.rglob("*.lua")
                  if not skipped.intersection(path.relative_to(ROOT).parts) and not path.name.endswith("-sharplua.lua"))


@pytest.mark.parametrize("path", _repo_lua_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_lua_file_of_the_repository_passes_through_unchanged(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _rewritten(text) == text
    assert translate(text).text == text


def test_the_repository_has_lua_files_to_check() -> None:
    names = {path.name for path in _repo_lua_files()}
    assert {"martingale.lua", "prelude.lua", "compound-twin.lua"} <= names
