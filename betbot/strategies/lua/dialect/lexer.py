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
# The tokenizer is one compiled pattern, matched once per token: the spaces before a token, then the token.
# Strings, long strings and comments are whole tokens of the pattern (a long bracket's closer names its
# level with a backreference), so their insides are never looked at as code; the operators go longest
# first (`<<=` before `<<`, `...` before `..=` before `..`), and early: names and operators are most of a
# script, so they are tried first (an operator never takes the `-` of `--`, the `[` of a long bracket or the
# `.` of `.5`). The `open*` and `bad*` alternatives come after the ones they spoil and are Lua's lexical
# errors; `bad` (any other character) makes every position match.
_TOKEN: Final = re.compile(r"""
    [ \t\r\n\f\v]*+
    (?:
      (?P<name>[A-Za-z_][A-Za-z0-9_]*+)
    | (?P<op>\.\.\.|\.\.=|<<=|>>=|\^\^=|\.\.|==|~=|<=|>=|!=|\+=|-=|\*=|/=|%=|\^=|&=|\|=|<<|>>|\^\^
           |[+*/%^\#=<>(){};:,!&|~\]]|-(?!-)|\.(?![0-9])|\[(?![=\[]))
    | (?P<number>[0-9][0-9.]*+(?:[eE][+-]?)?[A-Za-z0-9_]*+|\.[0-9][0-9.]*+(?:[eE][+-]?)?[A-Za-z0-9_]*+)
    | (?P<longcomment>--\[(?P<comment_level>=*)\[.*?\](?P=comment_level)\])
    | (?P<opencomment>--\[=*\[)
    | (?P<comment>--[^\n]*+)
    | (?P<string>"(?:[^"\\\r\n]++|\\(?:\r\n|.))*+"|'(?:[^'\\\r\n]++|\\(?:\r\n|.))*+')
    | (?P<openstring>["'])
    | (?P<long>\[(?P<string_level>=*)\[.*?\](?P=string_level)\])
    | (?P<openlong>\[=*\[)
    | (?P<badlong>\[=)
    | (?P<eof>\Z)
    | (?P<bad>.)
    )
""", re.VERBOSE | re.DOTALL)
_VALID_NUMBER: Final = re.compile(r"(?:0[xX][0-9A-Fa-f]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_MULTILINE: Final = frozenset({"longcomment", "comment", "string", "long"})  # may hold line breaks
_LEX_ERRORS: Final = {
    "opencomment": "unfinished long comment", "openstring": "unfinished string", "openlong": "unfinished long string",
    "badlong": "invalid long string delimiter near '[='",
}


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
    append, new, count = tokens.append, tuple.__new__, source.count
    line, end = 1, 0
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup or "bad"  # never None: every alternative of _TOKEN is a named group
        start, stop = m.span(kind)
        if start != end:
            line += count("\n", end, start)  # the spaces before the token
        end = stop
        if kind == "name":
            text = source[start:stop]
            append(new(Token, ("keyword" if text in KEYWORDS else "name", text, start, stop, line)))
        elif kind == "op":
            append(new(Token, ("op", source[start:stop], start, stop, line)))
        elif kind in _MULTILINE:
            text = source[start:stop]
            if kind in {"string", "long"}:
                append(new(Token, ("string", text, start, stop, line)))
            line += text.count("\n")
        elif kind == "number":
            text = source[start:stop]
            if not _VALID_NUMBER.fullmatch(text):
                raise LexError(line, f"malformed number near '{text}'")
            append(new(Token, ("number", text, start, stop, line)))
        elif kind == "eof":
            break
        elif kind == "bad":
            raise LexError(line, f"unexpected symbol near '{source[start:stop]}'")
        else:
            raise LexError(line, _LEX_ERRORS[kind])
    n = len(source)
    append(new(Token, ("eof", "<eof>", n, n, line)))
    return tokens
