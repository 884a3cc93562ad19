"""Group commit on a writer thread: a live bet's intent is on disk before its request leaves, and the event
loop never waits for the disk.

Theory of operation. The journal's hooks run on the event loop; they only queue rows here (a list append
under a lock). One writer thread commits: while rows wait, it takes all of them, writes them in one
transaction and commits it (the connection runs with `synchronous = FULL`, so COMMIT returns once the WAL
is synced to disk), then wakes every waiter that commit covered. Rows queued while a commit is syncing go
in the next one: at N bets in flight, one sync covers many bets, and the number of syncs per bet falls as
N grows.

Every queued row has a ticket (1, 2, 3 ...). A row that must be durable before something happens (a bet's
intent, `sync()`) raises the wanted ticket, which wakes the writer; other rows (outcomes, verdicts) do
not: they piggy-back on the next commit, or on `sync()`/`close()`. `wait(ticket)` is the asynchronous
wait: it returns once a commit covering that ticket has completed and raises JournalError if it failed.
The writer wakes it through the event loop's own thread-safe entry (asyncio's `call_soon_threadsafe`),
one call per commit for all its waiters.

Once a commit fails, the journal is broken for the session: that batch was rolled back, every waiter
(present and future) gets the error, and nothing more is written. The engine then stops without sending.

`hook(step)`, for tests only, runs at each step of a commit ("before-commit", "after-commit",
"after-wake"): a crash test kills the process there and checks the journal.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
import sniffio

__all__ = ["GroupCommit"]

_Wake = Callable[[Callable[[], None]], object]  # run a callable on the event loop's thread, soon


def _loop_waker() -> _Wake:
    """The running event loop's thread-safe 'call this soon' entry (betbot runs anyio on asyncio)."""
    library = sniffio.current_async_library()
    if library != "asyncio":  # pragma: no cover - trio would use current_trio_token().run_sync_soon
        raise RuntimeError(f"the journal's writer thread cannot wake a {library} event loop")
    return asyncio.get_running_loop().call_soon_threadsafe


class GroupCommit:
    """The rows waiting for the disk, the writer thread that commits them, and the tasks waiting for it."""

    def __init__(self, con: sqlite3.Connection, lock: threading.RLock, path: Path,
                 error: Callable[[sqlite3.Error, str], Exception]) -> None:
        self._con = con
        self._lock = lock  # serialises every use of the connection (the journal's own calls take it too)
        self._path = path
        self._error = error  # sqlite3.Error and what was being done -> the JournalError to raise
        self._cond = threading.Condition()
        # Guarded by _cond:
        self._queue: list[tuple[str, Sequence[Any], str]] = []  # (sql, parameters, what it journals)
        self._queued = 0  # the last ticket given
        self._wanted = 0  # the last ticket something waits for
        self._synced = 0  # the last ticket a completed commit covered
        self._failed: Exception | None = None
        self._closing = False
        self.syncs = 0  # commits (each one disk sync) made by the writer
        # Event-loop side only: the waiting tasks, and how to reach their loop from the writer.
        self._waiters: list[tuple[int, anyio.Event]] = []
        self._wake: _Wake | None = None
        self._thread: threading.Thread | None = None
        self.hook: Callable[[str], None] | None = None

    # -- the event loop's side ----------------------------------------------------------------------
    def put(self, sql: str, params: Sequence[Any], what: str, *, wanted: bool) -> int:
        """Queue one row; its ticket. `wanted`: it must reach the disk soon (wakes the writer)."""
        with self._cond:
            if self._failed is not None:
                raise self._failed
            self._queued += 1
            ticket = self._queued
            self._queue.append((sql, params, what))
            if wanted:
                self._wanted = ticket
                self._cond.notify()
        if self._thread is None:
            self._start()
        return ticket

    async def wait(self, ticket: int) -> None:
        """Return once a commit covering `ticket` is on disk; JournalError if the commit failed."""
        # The loop to wake, taken before the check below (a journal may outlive one `anyio.run`).
        self._wake = _loop_waker()
        with self._cond:
            if self._synced >= ticket:
                return  # on disk, whatever a later commit did
            if self._failed is not None:
                raise self._failed
            if self._wanted < ticket:
                self._wanted = ticket
                self._cond.notify()
        event = anyio.Event()
        entry = (ticket, event)
        # Registered in the same step as the check above: the writer's wake-up for a commit that covers
        # `ticket` runs on this loop after it (the writer updates `_synced` before it schedules the wake).
        self._waiters.append(entry)
        try:
            await event.wait()
        finally:
            with suppress(ValueError):
                self._waiters.remove(entry)
        with self._cond:
            if self._synced < ticket and self._failed is not None:
                raise self._failed

    def sync(self) -> None:
        """Block until everything queued so far is on disk (for callers outside the event loop's hot path)."""
        with self._cond:
            target = self._queued
            if self._synced >= target:
                if self._failed is not None:
                    raise self._failed
                return
            self._wanted = max(self._wanted, target)
            self._cond.notify()
        if self._thread is None:
            self._start()
        with self._cond:
            while self._synced < target and self._failed is None:
                self._cond.wait()
            if self._failed is not None:
                raise self._failed

    def close(self) -> None:
        """Commit what is queued, then stop the writer. Raises the failure, if there was one."""
        try:
            self.sync()
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify()
            if self._thread is not None:
                self._thread.join()

    def _wake_waiters(self) -> None:
        """On the event loop: set the event of every waiter the last commit covered (all, on failure)."""
        synced, failed = self._synced, self._failed is not None
        for ticket, event in self._waiters:
            if failed or ticket <= synced:
                event.set()

    # -- the writer thread --------------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"betbot-journal {self._path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while self._wanted <= self._synced and not self._closing:
                    cond.wait()
                if self._failed is not None or (self._closing and self._wanted <= self._synced):
                    return
                batch, self._queue = self._queue, []
                upto = self._queued
            failure = self._commit(batch)
            with cond:
                if failure is None:
                    self._synced = upto
                    self.syncs += 1
                else:
                    self._failed = failure
                    self._queue = []
                cond.notify_all()
            wake = self._wake
            if wake is not None:
                with suppress(RuntimeError):  # the event loop has closed: nobody waits
                    wake(self._wake_waiters)
            if self.hook is not None:
                self.hook("after-wake")

    def _commit(self, batch: list[tuple[str, Sequence[Any], str]]) -> Exception | None:
        """Write and commit one batch (synced to disk by COMMIT); the error to raise if it failed."""
        con = self._con
        what = batch[0][2] if batch else "the journal's rows"
        with self._lock:
            try:
                con.execute("BEGIN IMMEDIATE")
                for sql, params, what in batch:  # noqa: B007 - `what` names the row that failed
                    con.execute(sql, params)
                if self.hook is not None:
                    self.hook("before-commit")
                con.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                return self._error(exc, f"cannot journal {what} in {self._path}")
        if self.hook is not None:
            self.hook("after-commit")
        return None
