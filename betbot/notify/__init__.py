"""Notifications, off the betting path: a `Notifier` per process, a `SessionNotices` per session.

`notifier_for(settings)` and `notices_for(settings, notifier)` build them from the settings; see
`betbot.notify.notifier` (the queue and the sender), `betbot.notify.watch` (what a session says) and
`betbot.notify.events` (the messages).
"""

from __future__ import annotations

from betbot.config.settings import Settings
from betbot.notify.events import Notice, NoticeKind
from betbot.notify.notifier import NoticeFilter, NoticeSink, Notifier
from betbot.notify.watch import SessionNotices

__all__ = ["Notice", "NoticeFilter", "NoticeKind", "NoticeSink", "Notifier", "SessionNotices", "notices_for",
           "notifier_for"]


def notifier_for(settings: Settings) -> Notifier:
    """The process's notifier (disabled, and Apprise never loaded, without a URL)."""
    return Notifier(settings.notify, events=settings.notify_on)


def notices_for(settings: Settings, notifier: NoticeSink, label: str | None = None) -> SessionNotices:
    return SessionNotices(notifier, label=label, drawdown=settings.notify_drawdown, every=settings.notify_every,
                          backoff_after=settings.notify_backoff)
