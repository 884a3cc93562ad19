"""One runner per session: a lease on a lock file beside the journal, released by the OS when its holder dies.

Theory of operation. Before a session's first bet (a new session) or before anything of it is reconciled
(a resumed one), the process that runs it takes the session's lease, and it holds the lease until the
journal is closed at the end of the run. A second process that wants the same session is refused with the
holder's name (process, host, since when); a process that dies in any way (kill -9 included) loses the
lease with it, because the kernel drops a dead process's locks: a crash never leaves a session locked.

Why a lock file, and why POSIX record locks. SQLite's own locks guard the whole file for the length of one
transaction; a session needs a lock of its own, held for hours while its process commits thousands of short
transactions and another process runs another session in the same file. POSIX record locks (`fcntl`
F_SETLK, Python's `fcntl.lockf`) are held until the process closes the file or dies, and they are the locks
SQLite itself relies on: where the file system supports SQLite's locking across processes and machines
(local disks; NFS with its lock manager), it supports the lease too; where it does not, SQLite is not safe
there either. (BSD `flock` is local only on many network file systems.)

Layout: `<journal>.lock.d/session-<id>.lock`, one small file per session, never deleted (deleting a lock
file races with a process that has just opened it: two holders of two different files). After taking the
lock the holder writes `{"pid", "host", "since"}` into it, for the refusal to quote.

POSIX locks belong to a process, not to a descriptor: the same process locking twice succeeds, and closing
any descriptor of the file drops the process's lock. So this module keeps the table of the leases this
process holds (one process may host many sessions), answers for them from the table, and never opens a
lock file it holds a second time. Looking at a lease without taking it (`betbot sessions`) uses F_GETLK,
which takes nothing, so it can never make a real claim fail.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import struct
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from betbot.journal.schema import JournalError

__all__ = ["Holder", "Lease", "LeaseHeld", "Leases", "lock_dir"]

_HOLDER_MAX: Final = 4096  # bytes of holder JSON read back; what is written is far shorter


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    """Who holds a lease, as the holder wrote it (any field may be missing from an older or torn file)."""

    pid: int | None
    host: str | None
    since: datetime | None

    def describe(self) -> str:
        """`process 1234 on host box since 2026-12-07 06:10:03 UTC` (the parts that are known)."""
        who = "another process" if self.pid is None else f"process {self.pid}"
        if self.pid == os.getpid() and self.host == socket.gethostname():
            who = f"this process ({self.pid})"
        where = "" if self.host is None else f" on host {self.host}"
        when = "" if self.since is None else f" since {self.since:%Y-%m-%d %H:%M:%S} UTC"
        return who + where + when

    def to_json(self) -> bytes:
        since = None if self.since is None else self.since.isoformat(timespec="seconds")
        return json.dumps({"pid": self.pid, "host": self.host, "since": since}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Holder:
        """What a lock file says; a torn or foreign file gives a holder with nothing known."""
        try:
            found = json.loads(data)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            return cls(pid=None, host=None, since=None)
        pid, host, since = found.get("pid"), found.get("host"), found.get("since")
        when: datetime | None = None
        if isinstance(since, str):
            try:
                when = datetime.fromisoformat(since).astimezone(UTC)
            except ValueError:
                when = None
        return cls(pid=pid if isinstance(pid, int) else None, host=host if isinstance(host, str) else None,
                   since=when)


class LeaseHeld(Exception):
    """The session's lease is held by another runner: `holder` says who."""

    def __init__(self, session_id: int, holder: Holder) -> None:
        self.session_id = session_id
        self.holder = holder
        super().__init__(f"session {session_id} is being run by {holder.describe()}")


@dataclass(slots=True, kw_only=True)
class Lease:
    """A held lease: the open, locked file (closing it releases the lock)."""

    session_id: int
    path: Path
    holder: Holder
    fd: int
    key: tuple[int, int]  # (device, inode) of the lock file


# The leases this process holds, by lock file. POSIX locks are per process: this table is what tells two
# sessions of one process (or two journals of one process) apart.
_held: dict[tuple[int, int], Lease] = {}
_held_lock = threading.Lock()


def lock_dir(journal_path: Path) -> Path:
    """`journal.sqlite3.lock.d` beside `journal.sqlite3`."""
    return journal_path.with_name(journal_path.name + ".lock.d")


class Leases:
    """The leases of one journal file that this object took; `release_all` at the journal's close."""

    def __init__(self, journal_path: Path) -> None:
        self.directory = lock_dir(journal_path.resolve())
        self._mine: dict[int, Lease] = {}

    def path_of(self, session_id: int) -> Path:
        return self.directory / f"session-{session_id}.lock"

    def take(self, session_id: int) -> Lease:
        """Take session `session_id`'s lease, or raise LeaseHeld (JournalError if it cannot be tried)."""
        if session_id in self._mine:
            return self._mine[session_id]
        path = self.path_of(session_id)
        try:
            self.directory.mkdir(exist_ok=True)
        except OSError as exc:
            raise JournalError(f"cannot create the session lock directory {self.directory}: "
                               f"{exc.strerror or exc} (it must be writable beside the journal)") from None
        with _held_lock:
            try:
                held = _held.get(_key_of(path))
            except OSError:
                held = None  # no lock file yet: this process cannot hold it
            if held is not None:
                raise LeaseHeld(session_id, held.holder)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise JournalError(f"cannot open the session lock {path}: {exc.strerror or exc}") from None
            try:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno in (errno.EACCES, errno.EAGAIN):
                        # Not held by this process (the table says so): closing this descriptor drops nothing.
                        raise LeaseHeld(session_id, Holder.from_json(os.pread(fd, _HOLDER_MAX, 0))) from None
                    raise JournalError(f"cannot lock the session lock {path}: {exc.strerror or exc} "
                                       "(the file system must support POSIX locks, as SQLite needs)") from None
                holder = Holder(pid=os.getpid(), host=socket.gethostname(),
                                since=datetime.now(UTC).replace(microsecond=0))
                text = holder.to_json()
                os.ftruncate(fd, 0)
                os.pwrite(fd, text, 0)
                stat = os.fstat(fd)
            except BaseException:
                os.close(fd)
                raise
            lease = Lease(session_id=session_id, path=path, holder=holder, fd=fd, key=(stat.st_dev, stat.st_ino))
            _held[lease.key] = lease
        self._mine[session_id] = lease
        return lease

    def release(self, session_id: int) -> None:
        """Give a lease back (closing its file drops the lock). No-op if this object does not hold it."""
        lease = self._mine.pop(session_id, None)
        if lease is None:
            return
        with _held_lock:
            _held.pop(lease.key, None)
            os.close(lease.fd)

    def release_all(self) -> None:
        for session_id in list(self._mine):
            self.release(session_id)

    def holds(self, session_id: int) -> bool:
        return session_id in self._mine

    def holder(self, session_id: int) -> Holder | None:
        """Who runs the session now, without taking anything; None if no one does (or it cannot be told)."""
        path = self.path_of(session_id)
        with _held_lock:
            try:
                key = _key_of(path)
            except OSError:
                return None  # no lock file: never run since leases exist, or the directory is unreadable
            held = _held.get(key)
            if held is not None:
                return held.holder
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
            try:  # not held by this process: closing this descriptor drops nothing
                if not _locked(fd):
                    return None
                return Holder.from_json(os.pread(fd, _HOLDER_MAX, 0))
            finally:
                os.close(fd)


def _key_of(path: Path) -> tuple[int, int]:
    stat = os.stat(path)  # a stat opens nothing, so it cannot drop a lock this process holds
    return stat.st_dev, stat.st_ino


# struct flock, for F_GETLK, where its layout is known (64-bit Linux and macOS); elsewhere a shared lock is
# tried and dropped at once (a window of microseconds in which a claim could be refused).
if sys.platform == "linux" and struct.calcsize("P") == 8:
    _FLOCK: str | None = "hhxxxxqqixxxx"  # l_type, l_whence, l_start, l_len, l_pid
elif sys.platform == "darwin":
    _FLOCK = "qqihh"  # l_start, l_len, l_pid, l_type, l_whence
else:  # pragma: no cover - platforms the tests do not run on
    _FLOCK = None


def _locked(fd: int) -> bool:
    """Does another process hold a lock on the whole file? (`fd` is this process's, holding nothing.)"""
    if _FLOCK is None:  # pragma: no cover - see _FLOCK
        try:
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    if sys.platform == "darwin":  # pragma: no cover - the tests run on Linux
        request = struct.pack(_FLOCK, 0, 0, 0, fcntl.F_WRLCK, os.SEEK_SET)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, request)
        return bool(struct.unpack(_FLOCK, answer)[3] != fcntl.F_UNLCK)
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    answer = fcntl.fcntl(fd, fcntl.F_GETLK, request)
    return bool(struct.unpack(_FLOCK, answer)[0] != fcntl.F_UNLCK)
