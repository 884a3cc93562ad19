"""One notifier per process: a bounded queue, one sender task, Apprise in a worker thread with a timeout.

Theory of operation. `notify(notice)` is what the rest of betbot calls, from any task: it puts the notice on
a bounded in-memory queue and returns at once; it never blocks, never awaits and never raises (a full queue
drops the notice and says so once in the log). `running()` is the async context manager that owns the sender
task: it checks the URLs first (Apprise is imported there, in a worker thread, and only when a URL is
configured: its import costs a quarter of a second), then delivers the queue in order, to every target.

A delivery is an attempt, then retries with a growing pause (2 s, 4 s by default). Each attempt runs the
blocking Apprise call in a daemon thread of its own; a worker thread waits for it for at most `timeout`
seconds and gives up on it, so a target that never answers costs the event loop nothing and cannot hold the
process at exit. A few such hung threads at most (`MAX_HUNG`): beyond that an attempt fails at once. A
notice that fails every attempt is logged once (one line for the outage of a target, until it recovers);
nothing here ever stops a session. Every title and body passes through `betbot.redact.redact` before it
leaves, and a target is logged only by its label (`target_label`): a URL may hold a token.

On the way out `running()` gives the queue up to `flush_timeout` seconds to empty (the last "stopped" or
"error" notice is usually in it), then cancels what is left.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from betbot.config.settings import SettingsError
from betbot.notify.events import Notice, NoticeKind
from betbot.notify.targets import register_url_secrets, target_label
from betbot.observe.logs import get_logger
from betbot.redact import redact

__all__ = ["MAX_HUNG", "NoticeFilter", "NoticeSink", "Notifier", "Sender", "apprise_check", "apprise_send"]

#: Sends that may hang at once (each in its own daemon thread) before further attempts fail without trying.
MAX_HUNG: Final = 4

#: Sends one notice to one URL, blocking; True when delivered. Runs in a worker thread.
Sender = Callable[[str, Notice], bool]
#: The indexes of the URLs Apprise cannot use. Runs in a worker thread.
Checker = Callable[[Sequence[str]], list[int]]

_apprise_lock = threading.Lock()
_apprise_targets: dict[str, Any] = {}


def _apprise_for(url: str) -> Any:
    # Apprise imports (at once, and its plugins on first use) modules the standard library deprecates (imghdr).
    with warnings.catch_warnings(), _apprise_lock:
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise  # noqa: PLC0415 - slow to import: only in the sending thread, only when configured

        target = _apprise_targets.get(url)
        if target is None:
            target = apprise.Apprise()
            if not target.add(url):
                raise ValueError("Apprise does not accept this URL")
            _apprise_targets[url] = target
        return target


def apprise_send(url: str, notice: Notice) -> bool:
    """Deliver through Apprise (its plugins have their own connect and read timeouts too)."""
    return bool(_apprise_for(url).notify(title=notice.title, body=notice.body, notify_type=notice.level))


def apprise_check(urls: Sequence[str]) -> list[int]:
    bad = []
    for index, url in enumerate(urls):
        try:
            _apprise_for(url)
        except ValueError:
            bad.append(index)
    return bad


class Notifier:
    """Delivers notices off the betting path; see the module docstring."""

    def __init__(
        self,
        urls: Iterable[str],
        *,
        events: Iterable[NoticeKind | str] | None = None,
        queue_size: int = 100,
        timeout: float = 10.0,
        attempts: int = 3,
        retry_delay: float = 2.0,
        flush_timeout: float = 10.0,
        send: Sender = apprise_send,
        check: Checker = apprise_check,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.urls = tuple(urls)
        self.events = frozenset(NoticeKind) if events is None else frozenset(NoticeKind(e) for e in events)
        self.queue_size = queue_size
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self.flush_timeout = flush_timeout
        self._send = send
        self._check = check
        self._sleep = sleep
        self._log = get_logger("betbot.notify")
        self._queue: MemoryObjectSendStream[Notice] | None = None
        self._limiter = anyio.CapacityLimiter(1)  # one send at a time, in order
        self._hung_lock = threading.Lock()
        self._hung = 0  # sends whose thread is still running (hung ones, after their timeout)
        self._failing: set[str] = set()  # targets whose failure has been logged, until one delivery succeeds
        self._dropped_logged = False
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.labels = [f"#{i + 1} {target_label(url)}" for i, url in enumerate(self.urls)]
        for url in self.urls:
            register_url_secrets(url)

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    def wants(self, kind: NoticeKind) -> bool:
        return self.enabled and (kind is NoticeKind.TEST or kind in self.events)

    def notify(self, notice: Notice) -> bool:
        """Queue a notice; True if queued. Never blocks, never raises."""
        queue = self._queue
        if queue is None or not self.wants(notice.kind):
            return False
        try:
            queue.send_nowait(notice)
        except anyio.WouldBlock:
            self.dropped += 1
            if not self._dropped_logged:
                self._dropped_logged = True
                self._log.warning("notify.dropped", kind=notice.kind.value, queued=self.queue_size,
                                  hint="the notification targets are slower than the events; later ones are "
                                       "dropped while the queue is full")
            return False
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False
        return True

    async def send_now(self, notice: Notice) -> list[bool]:
        """Deliver one notice to every target now, bypassing the queue (`betbot notify test`): one result each."""
        await self.check()
        return [await self._deliver(url, label, _scrubbed(notice))
                for url, label in zip(self.urls, self.labels, strict=True)]

    async def check(self) -> None:
        """SettingsError for a URL Apprise cannot use (or no Apprise); `running()` checks first too."""
        if not self.enabled:
            return
        try:
            bad = await anyio.to_thread.run_sync(self._check, self.urls)
        except ImportError:
            raise SettingsError("--notify needs Apprise, which is not installed: pip install "
                                "'betbot-duckdice[notify]' (or apprise)") from None
        if bad:
            raise SettingsError(f"--notify {self.labels[bad[0]]} is not a notification URL Apprise can use; check "
                                "its scheme and parts (https://github.com/caronc/apprise/wiki)")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Notifier]:
        """Check the URLs (SettingsError for one Apprise cannot use), then deliver until the block ends."""
        if not self.enabled:
            yield self
            return
        await self.check()
        raised: Exception | None = None
        send, receive = anyio.create_memory_object_stream[Notice](self.queue_size)
        done = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._deliver_all, receive, done)
            self._queue = send
            try:
                yield self
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group (not as an exception group)
                raised = exc
            finally:
                self._queue = None
                send.close()
                with anyio.move_on_after(self.flush_timeout, shield=True):
                    await done.wait()
                tg.cancel_scope.cancel()
        if raised is not None:
            raise raised

    async def _deliver_all(self, receive: MemoryObjectReceiveStream[Notice], done: anyio.Event) -> None:
        try:
            async with receive:
                async for notice in receive:
                    safe = _scrubbed(notice)
                    for url, label in zip(self.urls, self.labels, strict=True):
                        await self._deliver(url, label, safe)
        finally:
            done.set()

    async def _deliver(self, url: str, label: str, notice: Notice) -> bool:
        why = ""
        for attempt in range(self.attempts):
            if attempt:
                await self._sleep(self.retry_delay * 2 ** (attempt - 1))
            delivered, why = await self._attempt(url, notice)
            if delivered:
                self.sent += 1
                if label in self._failing:
                    self._failing.discard(label)
                    self._log.info("notify.recovered", target=label)
                self._log.debug("notify.sent", target=label, kind=notice.kind.value)
                return True
        self.failed += 1
        if label not in self._failing:  # once per outage: a dead target must not fill the log
            self._failing.add(label)
            self._log.warning("notify.failed", target=label, kind=notice.kind.value, attempts=self.attempts,
                              reason=why, hint="betbot goes on; later failures to this target are not logged "
                                               "until one succeeds")
        return False

    async def _attempt(self, url: str, notice: Notice) -> tuple[bool, str]:
        with self._hung_lock:
            hung = self._hung
        if hung >= MAX_HUNG:
            return False, f"{hung} earlier sends are still waiting for an answer"
        return await anyio.to_thread.run_sync(self._send_bounded, url, notice, abandon_on_cancel=True,
                                              limiter=self._limiter)

    def _send_bounded(self, url: str, notice: Notice) -> tuple[bool, str]:
        """In a worker thread: the send in a daemon thread of its own, waited for at most `timeout`."""
        finished = threading.Event()
        result: list[tuple[bool, str]] = []

        def work() -> None:
            try:
                ok = self._send(url, notice)
                result.append((ok, "" if ok else "the target refused it or did not answer in time"))
            except Exception as exc:  # noqa: BLE001 - any failure of a plugin is a failed notification
                result.append((False, redact(f"{type(exc).__name__}: {exc}")))
            finally:
                with self._hung_lock:
                    self._hung -= 1
                finished.set()

        with self._hung_lock:
            self._hung += 1
        threading.Thread(target=work, name="betbot-notify", daemon=True).start()
        if not finished.wait(self.timeout):
            return False, f"no answer within {self.timeout:g} s"
        return result[0]


class NoticeSink(Protocol):
    """Where a watcher sends its notices: the process's `Notifier`, or one session's `NoticeFilter` of it."""

    @property
    def enabled(self) -> bool: ...

    def notify(self, notice: Notice) -> bool: ...


class NoticeFilter:
    """One session's view of the process's notifier (`betbot serve`: one notifier, many sessions): only the
    events that session picked (its own `notify_on`) pass; the notifier's queue and targets are shared."""

    def __init__(self, notifier: Notifier, events: Iterable[NoticeKind | str]) -> None:
        self.notifier = notifier
        self.events = frozenset(NoticeKind(e) for e in events)

    @property
    def enabled(self) -> bool:
        return self.notifier.enabled and bool(self.events)

    def notify(self, notice: Notice) -> bool:
        """Queue the notice on the process's notifier if this session wants its kind. Never blocks or raises."""
        if notice.kind is not NoticeKind.TEST and notice.kind not in self.events:
            return False
        return self.notifier.notify(notice)


def _scrubbed(notice: Notice) -> Notice:
    """The notice as it may leave the process: the API key and every registered secret masked."""
    return Notice(kind=notice.kind, title=redact(notice.title), body=redact(notice.body), level=notice.level)
