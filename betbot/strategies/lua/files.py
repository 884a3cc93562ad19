"""File I/O confined to one directory per script: what the sandbox's io.open, os.remove and os.rename may touch.

Theory of operation. A script knows its files by plain names ("log.txt"): no directory part, no "..", no
leading dot, no NUL. Each name maps to `<data dir>/scripts/<script stem>/<name>`; that directory is created
the first time a script opens a file for writing, so a script that never writes leaves no trace. A name
that is a symbolic link is refused (it could point anywhere). Caps: a size per file (checked by the
sandbox's write, and when a file is opened for appending or updating) and a number of files per directory.

The directory's total size is capped too (`used()` tells the sandbox what is there; its write fails the
script when a write would pass the cap): a script can fill its own directory, never the disk the journal
is on.

A batch run (the risk preview, a Monte Carlo run) gives the script a throw-away directory with `origin`
set to the script's real one: a file the script touches is copied from there on first use, so a script
that reads or appends to its own log works as in the run, and the real files are never written.

Refusals answer the way Lua's own io.open fails, `nil, "<name>: <why>"`, so a script's `assert(io.open(...))`
reports them and a script that checks the result can carry on. Nothing here raises into Lua.
"""

from __future__ import annotations

import re
import shutil
from contextlib import suppress
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_DIR_CAP", "DEFAULT_FILE_CAP", "DEFAULT_MAX_FILES", "ScriptFiles"]

DEFAULT_FILE_CAP: Final = 4 * 1024 * 1024
DEFAULT_MAX_FILES: Final = 64
DEFAULT_DIR_CAP: Final = 32 * 1024 * 1024
_PLAIN_NAME: Final = re.compile(r"^[^/\\\x00.][^/\\\x00]{0,127}$")

LuaResult = tuple[str | None, str] | tuple[bool]


class ScriptFiles:
    """The one directory a script's files live in, and the checks on every name it uses."""

    def __init__(self, directory: Path, *, file_cap: int = DEFAULT_FILE_CAP,
                 max_files: int = DEFAULT_MAX_FILES, origin: Path | None = None) -> None:
        self.directory = directory
        self.file_cap = file_cap
        self.max_files = max_files
        self.origin = origin
        self._touched: set[str] = set()  # names already taken from `origin` (or found missing there)

    def used(self) -> int:
        """Bytes in the directory's files."""
        if not self.directory.is_dir():
            return 0
        total = 0
        for entry in self.directory.iterdir():
            with suppress(OSError):
                if entry.is_file() and not entry.is_symlink():
                    total += entry.stat().st_size
        return total

    def _from_origin(self, name: str, path: Path) -> None:
        """Copy-on-first-use from the real directory (batch runs only); later uses see the copy."""
        if self.origin is None or name in self._touched:
            return
        self._touched.add(name)
        source = self.origin / name
        if path.exists() or source.is_symlink() or not source.is_file():
            return
        if source.stat().st_size > self.file_cap:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with suppress(OSError):
            shutil.copyfile(source, path)

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
        if mode[0] == "w":
            self._touched.add(str(name))  # truncated: nothing of the real file is wanted
        else:
            self._from_origin(str(name), path)
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
        self._from_origin(str(name), path)
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
        self._from_origin(str(old), source)
        self._touched.add(str(new))  # whatever `new` was in the real directory, it is replaced now
        try:
            source.rename(target)
        except FileNotFoundError:
            return None, f"{old}: No such file or directory"
        except OSError as exc:
            return None, f"{old}: {exc.strerror}"
        return (True,)
