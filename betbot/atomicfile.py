"""Files that appear whole or not at all: written beside their place, then renamed over it.

A reader (a script polling the summary, `betbot health`, a spreadsheet opening an export) never sees half a
file, and a failure, a full disk or a crash leaves the old file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

__all__ = ["atomic_write", "unwritable"]


@overload
def atomic_write(path: Path, mode: Literal["w"] = "w", *, durable: bool = False,
                 make_parents: bool = True) -> AbstractContextManager[TextIO]: ...


@overload
def atomic_write(path: Path, mode: Literal["wb"], *, durable: bool = False,
                 make_parents: bool = True) -> AbstractContextManager[BinaryIO]: ...


def atomic_write(path: Path, mode: Literal["w", "wb"] = "w", *, durable: bool = False,
                 make_parents: bool = True) -> AbstractContextManager[IO[Any]]:
    """A file to write; on success it replaces `path`. `durable`: synced to disk before the rename."""
    return _atomic_write(path, mode, durable=durable, make_parents=make_parents)


@contextmanager
def _atomic_write(path: Path, mode: str, *, durable: bool, make_parents: bool) -> Iterator[IO[Any]]:
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it private; the file gets what open() would give
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unwritable(path: Path) -> str | None:
    """Why `atomic_write(path)` would fail, or None: checked before a run, so that a bad output path is bad
    input found before the first bet, not an error after the last one. It tries what the write would do (a
    temporary file in the directory, or a directory where it would be made) and leaves nothing behind."""
    if path.is_dir():
        return f"{path} is a directory; name a file"
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    try:
        if existing == path.parent:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=existing)
            os.close(fd)
            os.unlink(tmp)
        else:  # the directories would be made: one is tried where the first would go
            os.rmdir(tempfile.mkdtemp(prefix=".betbot-probe.", dir=existing))
    except OSError as exc:
        return f"cannot write in {existing}: {exc.strerror or exc}"
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
