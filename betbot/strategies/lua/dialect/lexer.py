"""A Lua 5.1 lexer that also knows SharpLua's extra operators, for the rewriter (never for running code).

It follows llex.c of Lua 5.1: names, the 21 keywords, numbers (decimal with exponent, hex), short strings
with every escape (a backslash takes the next character, `\\ddd`, a backslash-newline), long strings and
long comments of any level (`[==[ ... ]==]`), line comments. Each token keeps its offsets in the text, so
the rewriter copies everything between tokens (spaces, comments) byte for byte: strings, long strings,
comments and numbers are never rewritten.

SharpLua's operators (`!=`, `!`, `+=` ... `..=`, `&`, `|`, `<<`, `>>`, `^^`, `~`, `&=` ... `^^=`) are single
tokens here. None of them can appear in valid Lua 5.1 outside a string or a comment (each is a lexical or
syntax error there), so recognising them never changes how a plain Lua 5.1 script is read.

A lexical error (an unfinished string, a malformed number) raises `LexError` with the line and the tokens
before it; the rewriter translates those and leaves the rest to Lua, whose own message the user sees.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = ["COMPOUND", "KEYWORDS", "LexError", "Token", "tokenize"]

KEYWORDS: Final = frozenset({
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local", "nil", "not",
    "or", "repeat", "return", "then", "true", "until", "while",
})
# Compound assignments and the binary operator each one applies.
COMPOUND: Final = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%", "^=": "^", "..=": "..",
                   "&=": "&", "|=": "|", "<<=": "<<", ">>=": ">>", "^^=": "^^"}
# One pattern for what needs no scanning by hand; the operators longest first (`<<=` before `<<`, `...`
# before `..=` before `..`). Strings, long brackets and comments are read by hand (their ends need levels).
_TOKEN: Final = re.compile(r"""
    (?P<space>[ \t\r\n\f\v]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9.]*(?:[eE][+-]?)?[A-Za-z0-9_]*|\.[0-9][0-9.]*(?:[eE][+-]?)?[A-Za-z0-9_]*)
  | (?P<comment>--)
  | (?P<op>\.\.\.|\.\.=|<<=|>>=|\^\^=|\.\.|==|~=|<=|>=|!=|\+=|-=|\*=|/=|%=|\^=|&=|\|=|<<|>>|\^\^
         |[-+*/%^\#=<>(){};:,.!&|~\]])
  | (?P<open>\[=*\[|\[)
  | (?P<quote>["'])
""", re.VERBOSE)
_VALID_NUMBER: Final = re.compile(r"(?:0[xX][0-9A-Fa-f]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_LONG_OPEN: Final = re.compile(r"\[(=*)\[")


class LexError(ValueError):
    """A lexical error; `tokens` holds the tokens before it, ended by an "eof" token where it is."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.tokens: list[Token] = []


class Token(NamedTuple):
    kind: str  # "name", "keyword", "number", "string", "op", "eof"
    text: str  # the source text of the token (for "eof", "<eof>")
    start: int
    end: int
    line: int  # the line the token starts on (1-based)


def _long_bracket_end(source: str, at: int, level: int, line: int, what: str) -> int:
    close = source.find("]" + "=" * level + "]", at)
    if close < 0:
        raise LexError(line, f"unfinished long {what}")
    return close + level + 2


def _short_string_end(source: str, at: int, quote: str, line: int) -> int:
    i, n = at + 1, len(source)
    while i < n:
        c = source[i]
        if c == quote:
            return i + 1
        if c in "\r\n":
            raise LexError(line, "unfinished string")
        if c == "\\":
            i += 1
            if i < n and source[i] == "\r" and source.startswith("\n", i + 1):
                i += 1  # a backslash before CR LF continues the string on the next line
        i += 1
    raise LexError(line, "unfinished string")


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`, ending with an "eof" token; comments and spaces are left between them."""
    tokens: list[Token] = []
    try:
        return _scan(source, tokens)
    except LexError as exc:
        at = tokens[-1].end if tokens else 0
        exc.tokens = [*tokens, Token("eof", "<eof>", at, at, exc.line)]
        raise


def _scan(source: str, tokens: list[Token]) -> list[Token]:
    append = tokens.append
    match = _TOKEN.match
    i, n, line = 0, len(source), 1
    while i < n:
        m = match(source, i)
        if m is None:  # a character Lua does not know (or a `[=` that opens nothing)
            c = source[i]
            if c == "[":
                raise LexError(line, "invalid long string delimiter near '[='")
            raise LexError(line, f"unexpected symbol near '{c}'")
        kind, end = m.lastgroup, m.end()
        if kind == "space":
            line += source.count("\n", i, end)
        elif kind == "name":
            text = m.group()
            append(Token("keyword" if text in KEYWORDS else "name", text, i, end, line))
        elif kind == "op":
            append(Token("op", m.group(), i, end, line))
        elif kind == "number":
            text = m.group()
            if not _VALID_NUMBER.fullmatch(text):
                raise LexError(line, f"malformed number near '{text}'")
            append(Token("number", text, i, end, line))
        elif kind == "comment":
            long = _LONG_OPEN.match(source, end)
            if long:
                end = _long_bracket_end(source, long.end(), len(long.group(1)), line, "comment")
            else:
                end = source.find("\n", end)
                end = n if end < 0 else end
            line += source.count("\n", i, end)
        else:
            if kind == "open":
                if end - i == 1:  # a lone `[`: an index
                    append(Token("op", "[", i, end, line))
                    i = end
                    continue
                end = _long_bracket_end(source, end, end - i - 2, line, "string")
            else:
                end = _short_string_end(source, i, source[i], line)
            append(Token("string", source[i:end], i, end, line))
            line += source.count("\n", i, end)
        i = end
    append(Token("eof", "<eof>", n, n, line))
    return tokens
