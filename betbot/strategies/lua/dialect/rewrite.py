"""SharpLua 2.1.1.1 (the Lua DiceBot 3 embeds) to plain Lua 5.1, on tokens, keeping every line where it was.

Theory of operation. DiceBot 3 hands a script to SharpLua, which rewrites it into Lua 5.1 before compiling
it (`LuaCompatibleOutput`); betbot does the same here. A recursive-descent parser that mirrors lparser.c
of Lua 5.1 walks the tokens of `lexer.py` and records *edits* anchored to tokens: text inserted before a
token, text inserted after a token, a token replaced. The output is the source with those edits applied:
the spaces, comments, strings and numbers between tokens are copied byte for byte, so

  * a plain Lua 5.1 script comes out identical (no edit is ever recorded for it: every SharpLua construct
    is a token or a statement that plain Lua rejects), and
  * no edit holds a line break, so line N of the output is line N of the user's file: Lua's own syntax
    and runtime errors name the user's line without any translation (the line map is the identity, and
    `LineMap` in `__init__.py` checks it).

The rows of the dialect table (docs/dicebot-scripts.md):

  `a != b`                -> `a ~= b`;  `!x` -> `not x`
  `t[i] += e` (any op)    -> `t[i] = t[i] + (e)`: the target is written twice, as SharpLua's
                             LuaCompatibleOutput writes it, so an index with a side effect (`t[f()] += 1`)
                             runs twice, as it does in DiceBot; `local x += e` is `local x = x + (e)`
  `a & b`, `|`, `<<`, `>>`, `^^` (xor), `~a` and `&=` ...  -> `bit.band(a, b)`, `bit.bor`, `bit.lshift`,
                             `bit.rshift`, `bit.bxor`, `bit.bnot(a)`. Their precedence is Lua 5.3's (the
                             C order): below comparison `|`, then `^^`, then `&`, then the shifts, all
                             above `..`. SharpLua 2's parser source could not be consulted for this (only
                             its LuaCompatibleOutput), so this follows docs/dicebot-scripts.md and C.
  unary `+e`              -> `math.abs(e)`
  `continue` in a loop    -> the loop's body is wrapped in `repeat ... until true` and `continue` becomes
                             `do break end`; a `break` of that loop becomes `do <flag> = true break end`
                             and `if <flag> then break end` after the wrapper leaves the real loop.
                             `continue` in `repeat ... until cond` is refused: its condition may read the
                             body's locals, which the wrapper would hide.
  a stray top-level `end`/`else`/`until` -> the rest of the file is ignored (its lines left blank).

When the parser meets a syntax error, it stops and the edits recorded so far (all of them before the
error) are applied: Lua then reports its own message for the same spot, on the user's line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from betbot.strategies.lua.dialect.lexer import COMPOUND, Token

__all__ = ["DialectError", "Rewritten", "rewrite_tokens"]

_UNARY_PRIORITY: Final = 8
# (left, right) priorities, lparser.c's scale; the bit operators slot in between comparison and `..`.
_BINARY: Final[dict[str, tuple[float, float]]] = {
    "or": (1, 1), "and": (2, 2),
    "<": (3, 3), ">": (3, 3), "<=": (3, 3), ">=": (3, 3), "==": (3, 3), "~=": (3, 3), "!=": (3, 3),
    "|": (3.2, 3.2), "^^": (3.4, 3.4), "&": (3.6, 3.6), "<<": (3.8, 3.8), ">>": (3.8, 3.8),
    "..": (5, 4), "+": (6, 6), "-": (6, 6), "*": (7, 7), "/": (7, 7), "%": (7, 7), "^": (10, 9),
}
_BIT_CALL: Final = {"&": "bit.band", "|": "bit.bor", "<<": "bit.lshift", ">>": "bit.rshift", "^^": "bit.bxor"}
_UNARY: Final = frozenset({"-", "#", "!", "~", "+", "not"})
_CODED: Final = frozenset({"op", "keyword"})
_SIMPLE: Final = frozenset({"number", "string", "nil", "true", "false", "..."})
_BLOCK_END: Final = frozenset({"else", "elseif", "end", "until"})
_STRAY: Final = frozenset({"end", "else", "until"})
# Tokens after the name `continue` that make it an ordinary variable (plain Lua may call a variable that).
_NAME_GOES_ON: Final = frozenset({"=", ",", "(", ".", "[", ":", "{", *COMPOUND})

# What `script check` reports, in this order.
COMPOUND_ASSIGNMENT: Final = "compound assignment"
NOT_EQUAL: Final = "'!='"
BANG: Final = "'!'"
BIT_OPERATOR: Final = "bit operator"
UNARY_PLUS: Final = "unary '+'"
CONTINUE: Final = "'continue'"
STRAY_END: Final = "stray top-level end"


class DialectError(ValueError):
    """A SharpLua construct betbot cannot translate faithfully: the user's line and what to do."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _SyntaxError(Exception):
    """The parser met something Lua 5.1 rejects (Lua reports it, with its own message)."""


@dataclass(slots=True)
class _Loop:
    kind: str  # "while", "for" or "repeat"
    breaks: list[int] = field(default_factory=list)
    continues: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rewritten:
    text: str
    counts: dict[str, int]
    stray_line: int | None  # the line of a stray top-level end/else/until, if any
    syntax_error: bool  # the parser stopped at a syntax error (Lua reports it)


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.t = tokens
        # What the parser compares most: an operator's or a keyword's text, else the token's kind ("name",
        # "number", "string", "eof": no operator or keyword is spelled so).
        self.codes = [tok.text if tok.kind in _CODED else tok.kind for tok in tokens]
        self.i = 0
        self.before: dict[int, list[str]] = {}  # inserted before a token, the outermost recorded last
        self.after: dict[int, list[str]] = {}  # inserted after a token, the innermost recorded first
        self.replace: dict[int, str] = {}
        self.counts: Counter[str] = Counter()
        self.loops: list[_Loop | None] = [None]  # None: a function boundary (no loop to continue)
        self.flags = 0
        self.stop: int | None = None

    # -- tokens ---------------------------------------------------------------------------------------
    def _is(self, text: str) -> bool:
        return self.codes[self.i] == text

    def _next(self) -> int:
        index = self.i
        if self.codes[index] != "eof":
            self.i += 1
        return index

    def _expect(self, text: str) -> int:
        index = self.i
        if self.codes[index] != text:
            raise _SyntaxError
        self.i += 1  # never the eof token: `text` is an operator or a keyword
        return index

    def _name(self) -> int:
        index = self.i
        if self.codes[index] != "name":
            raise _SyntaxError
        self.i += 1
        return index

    def _insert_before(self, index: int, text: str) -> None:
        self.before.setdefault(index, []).append(text)

    def _insert_after(self, index: int, text: str) -> None:
        self.after.setdefault(index, []).append(text)

    # -- output ---------------------------------------------------------------------------------------
    def render(self, first: int, last: int, *, flat: bool = False) -> str:
        """Tokens first..last with their edits, and the text between them (one space each when flat)."""
        t, source, before, after, replace = self.t, self.source, self.before, self.after, self.replace
        out: list[str] = []
        if not flat:  # copy the text between edited tokens in one slice each
            position = t[first].start
            for k in sorted(k for k in {*before, *after, *replace} if first <= k <= last):
                out.append(source[position:t[k].start])
                if k in before:
                    out.extend(reversed(before[k]))
                out.append(replace.get(k, t[k].text))
                if k in after:
                    out.extend(after[k])
                position = t[k].end
            out.append(source[position:t[last].end])
            return "".join(out)
        for k in range(first, last + 1):  # flat: comments and line breaks between tokens become one space
            tok = t[k]
            if k > first and tok.start > t[k - 1].end:
                out.append(" ")
            if k in before:
                out.extend(reversed(before[k]))
            out.append(replace.get(k, tok.text))
            if k in after:
                out.extend(after[k])
        return "".join(out)

    def output(self) -> str:
        t, source = self.t, self.source
        if not (self.before or self.after or self.replace or self.stop is not None):
            return source
        stop = len(t) - 1 if self.stop is None else self.stop  # the eof token or the stray end
        if stop == 0:
            return source[:t[0].start] + "\n" * source.count("\n", t[0].start)
        text = source[:t[0].start] + self.render(0, stop - 1)
        if self.stop is None:
            return text + source[t[stop - 1].end:]
        return text + source[t[stop - 1].end:t[stop].start] + "\n" * source.count("\n", t[stop].start)

    # -- statements -----------------------------------------------------------------------------------
    def chunk(self) -> None:
        self.block()
        tok = self.t[self.i]
        if tok.kind == "eof":
            return
        if tok.kind == "keyword" and tok.text in _STRAY:
            self.stop = self.i
            self.counts[STRAY_END] += 1
            return
        raise _SyntaxError

    def block(self) -> None:
        codes = self.codes
        while True:
            code = codes[self.i]
            if code == "eof" or code in _BLOCK_END:
                return
            if code == "return":
                self._next()
                code = codes[self.i]
                if not (code == "eof" or code in _BLOCK_END or code == ";"):
                    self.explist()
                if self._is(";"):
                    self._next()
                return
            if code == "break":
                loop = self.loops[-1]
                if loop is not None:
                    loop.breaks.append(self._next())
                else:
                    self._next()  # Lua reports "no loop to break"
                if self._is(";"):
                    self._next()
                return
            self.statement()
            if self._is(";"):
                self._next()

    def statement(self) -> None:
        tok = self.t[self.i]
        if tok.kind == "keyword":
            word = tok.text
            if word == "if":
                self._next()
                self.expr()
                self._expect("then")
                self.block()
                while self._is("elseif"):
                    self._next()
                    self.expr()
                    self._expect("then")
                    self.block()
                if self._is("else"):
                    self._next()
                    self.block()
                self._expect("end")
            elif word == "while":
                self._next()
                self.expr()
                self.loop_body("while", self._expect("do"), "end")
            elif word == "do":
                self._next()
                self.block()
                self._expect("end")
            elif word == "for":
                self._next()
                self._name()
                if self._is("="):
                    self._next()
                    self.expr()
                    self._expect(",")
                    self.expr()
                    if self._is(","):
                        self._next()
                        self.expr()
                else:
                    while self._is(","):
                        self._next()
                        self._name()
                    self._expect("in")
                    self.explist()
                self.loop_body("for", self._expect("do"), "end")
            elif word == "repeat":
                self.loop_body("repeat", self._next(), "until")
                self.expr()
            elif word == "function":
                self._next()
                self._name()
                while self._is("."):
                    self._next()
                    self._name()
                if self._is(":"):
                    self._next()
                    self._name()
                self.function_body()
            elif word == "local":
                self._next()
                if self._is("function"):
                    self._next()
                    self._name()
                    self.function_body()
                else:
                    name = self._name()
                    single = not self._is(",")
                    while self._is(","):
                        self._next()
                        self._name()
                    if self._is("="):
                        self._next()
                        self.explist()
                    elif single and self.t[self.i].kind == "op" and self.t[self.i].text in COMPOUND:
                        self.compound(name, name)  # SharpLua: `local x += 1` is `local x = x + (1)`
            else:
                raise _SyntaxError
            return
        if tok.kind == "name" and tok.text == "continue" and not self._continues_as_name():
            loop = self.loops[-1]
            if loop is None:
                raise DialectError(tok.line, "'continue' outside a loop")
            loop.continues.append(self._next())
            return
        self.expression_statement()

    def _continues_as_name(self) -> bool:
        nxt = self.t[self.i + 1]
        return nxt.kind == "string" or (nxt.kind == "op" and nxt.text in _NAME_GOES_ON)

    def loop_body(self, kind: str, opener: int, closer: str) -> None:
        loop = _Loop(kind)
        self.loops.append(loop)
        self.block()
        self.loops.pop()
        end = self._expect(closer)
        if not loop.continues:
            return
        if kind == "repeat":
            raise DialectError(self.t[loop.continues[0]].line,
                               "'continue' inside repeat ... until is not supported (its condition may read the "
                               "body's locals): write the loop with while")
        self.counts[CONTINUE] += len(loop.continues)
        for index in loop.continues:
            self.replace[index] = "do break end"
        if loop.breaks:
            self.flags += 1
            flag = f"__betbot_break{self.flags}"
            self._insert_after(opener, f" local {flag} = false repeat")
            self._insert_before(end, f"until true if {flag} then break end ")
            for index in loop.breaks:
                self.replace[index] = f"do {flag} = true break end"
        else:
            self._insert_after(opener, " repeat")
            self._insert_before(end, "until true ")

    def function_body(self) -> None:
        self._expect("(")
        if not self._is(")"):
            while True:
                if self._is("..."):
                    self._next()
                    break
                self._name()
                if not self._is(","):
                    break
                self._next()
        self._expect(")")
        self.loops.append(None)
        self.block()
        self.loops.pop()
        self._expect("end")

    def expression_statement(self) -> None:
        first, last, is_call = self.suffixed()
        tok = self.t[self.i]
        if tok.kind == "op" and tok.text in COMPOUND:
            if is_call:
                raise _SyntaxError
            self.compound(first, last)
        elif self._is("=") or self._is(","):
            while self._is(","):
                self._next()
                self.suffixed()
            self._expect("=")
            self.explist()
        elif not is_call:
            raise _SyntaxError

    def compound(self, first: int, last: int) -> None:
        op_index = self._next()
        operator = COMPOUND[self.t[op_index].text]
        _, value_last = self.expr()
        target = self.render(first, last, flat=True)
        if "\n" in target:
            raise DialectError(self.t[first].line, "a compound assignment whose target holds a multi-line string: "
                                                    "write it as `x = x + (e)`")
        call = _BIT_CALL.get(operator)
        if call is None:
            self.replace[op_index] = f"= {target} {operator} ("
            self._insert_after(value_last, ")")
        else:
            self.replace[op_index] = f"= {call}({target}, ("
            self._insert_after(value_last, "))")
            self.counts[BIT_OPERATOR] += 1
        self.counts[COMPOUND_ASSIGNMENT] += 1

    # -- expressions (each returns the indexes of its first and last token) ---------------------------
    def explist(self) -> None:
        self.expr()
        while self._is(","):
            self._next()
            self.expr()

    def expr(self, limit: float = 0) -> tuple[int, int]:
        codes = self.codes
        if codes[self.i] in _UNARY:
            tok = self.t[self.i]
            first = self.i
            self.i += 1
            _, last = self.expr(_UNARY_PRIORITY)
            if tok.text == "!":
                self.replace[first] = "not " if self.t[first + 1].start == tok.end else "not"
                self.counts[BANG] += 1
            elif tok.text == "~":
                self.replace[first] = "bit.bnot("
                self._insert_after(last, ")")
                self.counts[BIT_OPERATOR] += 1
            elif tok.text == "+":
                self.replace[first] = "math.abs("
                self._insert_after(last, ")")
                self.counts[UNARY_PLUS] += 1
        else:
            first, last = self.simple()
        while True:
            op_index = self.i
            code = codes[op_index]
            priority = _BINARY.get(code)
            if priority is None or priority[0] <= limit:
                return first, last
            self.i += 1
            _, last = self.expr(priority[1])
            call = _BIT_CALL.get(code)
            if call is not None:
                self._insert_before(first, call + "(")
                self.replace[op_index] = ","
                self._insert_after(last, ")")
                self.counts[BIT_OPERATOR] += 1
            elif code == "!=":
                self.replace[op_index] = "~="
                self.counts[NOT_EQUAL] += 1

    def simple(self) -> tuple[int, int]:
        index = self.i
        code = self.codes[index]
        if code in _SIMPLE:
            self.i += 1
            return index, index
        if code == "{":
            return self.table()
        if code == "function":
            first = self._next()
            self.function_body()
            return first, self.i - 1
        first, last, _ = self.suffixed()
        return first, last

    def suffixed(self) -> tuple[int, int, bool]:
        """A variable or a call: (first, last, whether it ends in a call)."""
        codes = self.codes
        first = self.i
        code = codes[first]
        if code == "name":
            last = first
            self.i += 1
        elif code == "(":
            self.i += 1
            self.expr()
            last = self._expect(")")
        else:
            raise _SyntaxError
        is_call = False
        while True:
            code = codes[self.i]
            if code == "string":
                last, is_call = self._next(), True
            elif code == ".":
                self.i += 1
                last, is_call = self._name(), False
            elif code == "[":
                self.i += 1
                self.expr()
                last, is_call = self._expect("]"), False
            elif code == ":":
                self.i += 1
                self._name()
                last, is_call = self.call_arguments(), True
            elif code in {"(", "{"}:
                last, is_call = self.call_arguments(), True
            else:
                return first, last, is_call

    def call_arguments(self) -> int:
        tok = self.t[self.i]
        if tok.kind == "string":
            return self._next()
        if self._is("{"):
            return self.table()[1]
        previous = self.t[self.i - 1]
        if not self._is("(") or tok.line != previous.line + previous.text.count("\n"):
            raise _SyntaxError  # Lua 5.1: "ambiguous syntax (function call x new statement)"
        self._next()
        if not self._is(")"):
            self.explist()
        return self._expect(")")

    def table(self) -> tuple[int, int]:
        first = self._expect("{")
        while not self._is("}"):
            if self._is("["):
                self._next()
                self.expr()
                self._expect("]")
                self._expect("=")
                self.expr()
            elif self.codes[self.i] == "name" and self.codes[self.i + 1] == "=":
                self._next()
                self._next()
                self.expr()
            else:
                self.expr()
            if self._is(",") or self._is(";"):
                self._next()
            else:
                break
        return first, self._expect("}")


def rewrite_tokens(source: str, tokens: list[Token]) -> Rewritten:
    """The Lua 5.1 text of a SharpLua script (see the module docstring); raises DialectError."""
    parser = _Parser(source, tokens)
    try:
        parser.chunk()
    except _SyntaxError:
        parser.stop = None  # Lua reports the error, at the same place in the same line
        return Rewritten(parser.output(), dict(parser.counts), None, syntax_error=True)
    stray = tokens[parser.stop].line if parser.stop is not None else None
    return Rewritten(parser.output(), dict(parser.counts), stray, syntax_error=False)
