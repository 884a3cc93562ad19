"""The two ways a Lua script fails, each one line that names the script file and the line (or the reason).

    ScriptLoadError  at load time (unreadable file, syntax error, an error in the top-level code, `nextbet`
                     never set, another dialect): bad input, so it is a `SettingsError` (exit code 2, no
                     session started).
    ScriptError      while the session runs (a runtime error in `dobet`, a refused function, a budget or
                     memory cap): the session machine turns it into a STRATEGY_ERROR stop with this message.
"""

from __future__ import annotations

from betbot.config.settings import SettingsError

__all__ = ["ScriptError", "ScriptLoadError", "one_line"]


class ScriptLoadError(SettingsError):
    """The script cannot be played: its message names the file and the line, or the reason."""


class ScriptError(RuntimeError):
    """The script failed while the session ran: its message names the file and the line."""


def one_line(message: str) -> str:
    """A Lua error message as one line (Lua's own messages may carry a traceback or embedded newlines)."""
    first = message.strip().split("\nstack traceback:", 1)[0]
    return " ".join(first.split())
