"""Translations of large SharpLua scripts kept on disk, keyed by the script's hash: a script is rewritten
once per machine, and every later run, preview or check of the same text reads the result back.

Why. Rewriting costs about 25 µs a line in Python (a 4,400-line script: about 0.1 s of CPU), which a
script pays every time betbot starts with it; a 100,000-bet session of the same script takes two or three
seconds, so an uncached rewrite of a very long script alone would cost it more than 2 %. Reading a stored
translation back costs a hash and a file read.

Only texts of STORE_FROM characters or more are stored (a shorter one rewrites in a few milliseconds, less
than the file I/O is worth), and only the KEEP most recently stored (each edit of a script is a new text:
older files, and those of an older betbot, are removed when a new one is stored). The key is the SHA-256
of the script's text together with the hash of this package's own code, so a changed rewriter never reads
an older one's output. A store that fails (a read-only or full disk) is skipped: the cache can only save
time, never fail a script. A stored file that does not read back as a translation of exactly this text
is ignored and written again.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Final

from betbot.atomicfile import atomic_write
from betbot.config.paths import data_dir

__all__ = ["KEEP", "STORE_FROM", "load_stored", "store"]

STORE_FROM: Final = 32 * 1024  # characters
KEEP: Final = 64  # files
_CODE: Final = ("__init__.py", "foreign.py", "lexer.py", "rewrite.py", "stored.py")


@cache
def _rewriter_hash() -> str:
    package = files("betbot.strategies.lua.dialect")
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update(package.joinpath(name).read_bytes())
    return digest.hexdigest()[:16]


def _path(source: str) -> Path:
    key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return data_dir() / "lua-translations" / f"{key}-{_rewriter_hash()}.json"


def load_stored(source: str) -> tuple[str, tuple[tuple[str, int], ...], int | None] | None:
    """(Lua 5.1 text, rewrites, stray line) stored for `source`, or None."""
    try:
        stored = json.loads(_path(source).read_text(encoding="utf-8"))
        text, rewrites, stray = stored["text"], stored["rewrites"], stored["stray_line"]
        checked = tuple((str(what), int(count)) for what, count in rewrites)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(text, str) or text.count("\n") != source.count("\n") or not (
            stray is None or isinstance(stray, int)):
        return None  # not a translation of this text: the line map would not hold
    return text, checked, stray


def store(source: str, text: str, rewrites: tuple[tuple[str, int], ...], stray_line: int | None) -> None:
    path = _path(source)
    with suppress(OSError):
        with atomic_write(path) as out:  # whole or not at all: a reader never sees half a file
            json.dump({"text": text, "rewrites": rewrites, "stray_line": stray_line}, out)
        _prune(path.parent)


def _prune(folder: Path) -> None:
    stored = []
    for entry in folder.glob("*.json"):
        with suppress(OSError):
            stored.append((entry.stat().st_mtime_ns, entry))
    stored.sort()
    for _, entry in stored[:-KEEP]:
        with suppress(OSError):
            entry.unlink()
