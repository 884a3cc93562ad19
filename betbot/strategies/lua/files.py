"""File I/O confined to one directory per script: what the sandbox's io.open, os.remove and os.rename may touch.

Theory of operation. A script knows its files by plain names ("log.txt"): no directory part, no "..", no
leading dot, no NUL. Each name maps to `<data dir>/scripts/<script stem>/<name>`; that directory is created
the first time a script opens a file for writing, so a script that never writes leaves no trace. A name
that is a symbolic link is refused (it could point anywhere). Caps: a size per file (checked by the
sandbox's write, and when a file is opened for appending or updating) and a number of files per directory.

Refusals answer the way Lua's own io.open fails, `nil, "<name>: <why>"`, so a script's `assert(io.open(...))`
reports them and a script that checks the result can carry on. Nothing here raises into Lua.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_FILE_CAP", "DEFAULT_MAX_FILES", "ScriptFiles"]

DEFAULT_FILE_CAP: Final = 4 * 1024 * 1024
DEFAULT_MAX_FILES: Final = 64
_PLAIN_NAME: Final = re.compile(r"^[^/\\\x00.][^/\\\x00]{0,127}$")

LuaResult = tuple[str | None, str] | tuple[bool]


class ScriptFiles:
    """The one directory a script's files live in, and the checks on every name it uses."""

    def __init__(self, directory: Path, *, file_cap: int = DEFAULT_FILE_CAP,
                 max_files: int = DEFAULT_MAX_FILES) -> None:
        self.directory = directory
        self.file_cap = file_cap
        self.max_files = max_files

    def _check(self, name: object) -> tuple[Path | None, str]:
        if not isinstance(name, str):
            return None, f"{name}: file names are strings in betbot's sandbox"
        if not _PLAIN_NAME.match(name) or name.strip() != name:
            return None, (f"{name}: not allowed (betbot's sandbox takes plain file names: no directory part, "
                          "no '..', no leading dot)")
        path = self.directory / name
        if path.is_symlink():
            return None, f"{name}: not allowed (a symbolic link)"
        return path, ""

    def _count(self) -> int:
        return sum(1 for _ in self.directory.iterdir()) if self.directory.is_dir() else 0

    def path(self, name: object, mode: str) -> tuple[str | None, str]:
        """The absolute path io.open may open for `name`, or (None, message)."""
        path, why = self._check(name)
        if path is None:
            return None, why
        writing = mode[0] in "wa" or "+" in mode
        if not writing:
            return str(path), ""
        if not path.exists() and self._count() >= self.max_files:
            return None, f"{name}: too many files (betbot's sandbox keeps at most {self.max_files} per script)"
        if mode[0] != "w" and path.is_file() and path.stat().st_size > self.file_cap:
            return None, f"{name}: file size cap reached ({self.file_cap} bytes per file in betbot's sandbox)"
        self.directory.mkdir(parents=True, exist_ok=True)
        return str(path), ""

    def remove(self, name: object) -> LuaResult:
        path, why = self._check(name)
        if path is None:
            return None, why
        try:
            path.unlink()
        except FileNotFoundError:
            return None, f"{name}: No such file or directory"
        except OSError as exc:
            return None, f"{name}: {exc.strerror}"
        return (True,)

    def rename(self, old: object, new: object) -> LuaResult:
        source, why = self._check(old)
        if source is None:
            return None, why
        target, why = self._check(new)
        if target is None:
            return None, why
        try:
            source.rename(target)
        except FileNotFoundError:
            return None, f"{old}: No such file or directory"
        except OSError as exc:
            return None, f"{old}: {exc.strerror}"
        return (True,)
