"""The notifications betbot sends, as plain data: what happened, in one clear paragraph.

Theory of operation. Each builder here turns something a watcher saw (the end-of-session summary, a run
view, a back-off, an exception) into a `Notice`: a kind (what `--notify-on` selects), a short title and
one paragraph a person reads on a phone. Nothing here sends, sleeps or logs; the notifier delivers and
scrubs every text with `betbot.redact.redact` on the way out (the API key and every registered secret), so
a builder cannot leak one even if a stop reason or an exception carried it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from betbot.core.money import money_text
from betbot.observe.summary import elapsed_text

__all__ = [
    "Notice",
    "NoticeKind",
    "backoff_notice",
    "campaign_notice",
    "digest_notice",
    "drawdown_notice",
    "error_notice",
    "session_failed_notice",
    "session_notices",
    "test_notice",
]


class NoticeKind(StrEnum):
    """What a notice is about; `--notify-on` takes these names."""

    STOPPED = "stopped"  # a session ended (any reason but take-profit)
    TAKE_PROFIT = "take-profit"  # a session reached its take-profit
    UNRESOLVED = "unresolved"  # bets of unknown outcome could not be reconciled
    BACKOFF = "backoff"  # the site made betbot wait longer than --notify-backoff
    DRAWDOWN = "drawdown"  # the balance fell --notify-drawdown below its peak
    DIGEST = "digest"  # every --notify-every
    CAMPAIGN = "campaign"  # a campaign ended, or waits for the next UTC day
    ERROR = "error"  # the process exits on an error
    TEST = "test"  # `betbot notify test`: always sent


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    kind: NoticeKind
    title: str
    body: str
    level: str = "info"  # Apprise's notify type: info, success, warning, failure


def _signed(text: str) -> str:
    return text if text.startswith("-") else f"+{text}"


def _who(label: str) -> str:
    return label[:1].upper() + label[1:]


def session_notices(summary: Mapping[str, Any], label: str) -> list[Notice]:
    """What the end of a session says: that it stopped (or reached its take-profit), and any unresolved bets."""
    cur = summary["currency"]
    kind = NoticeKind.TAKE_PROFIT if summary.get("stop_kind") == "take_profit" else NoticeKind.STOPPED
    rate = summary.get("bets_per_second")
    body = (
        f"{_who(label)} ({summary['strategy']} on the {summary['backend']}) stopped: "
        f"{summary['stop_reason'] or 'no reason recorded'}. {summary['bets']:,} bets ({summary['wins']:,} won, "
        f"{summary['losses']:,} lost), profit {_signed(summary['profit'])} {cur}, balance {summary['balance']} "
        f"{cur} (started at {summary['starting_balance']}), wagered {summary['wagered']} {cur}, max drawdown "
        f"{summary['max_drawdown']} {cur}, longest losing streak {summary['longest_loss_streak']}, "
        f"{elapsed_text(float(summary['elapsed_seconds']))}"
        + ("" if rate is None else f" at {rate:,} bets/s") + "."
    )
    what = "reached its take-profit" if kind is NoticeKind.TAKE_PROFIT else "stopped"
    level = "success" if kind is NoticeKind.TAKE_PROFIT else "info"
    notices = [Notice(kind=kind, title=f"betbot: {label} {what} ({_signed(summary['profit'])} {cur})",
                      body=body, level=level)]
    unresolved = int(summary.get("unresolved_bets") or 0)
    if unresolved:
        notices.append(Notice(
            kind=NoticeKind.UNRESOLVED, level="failure",
            title=f"betbot: {label}: {unresolved} bet(s) of unknown outcome",
            body=f"{_who(label)} ended with {unresolved} bet(s) whose outcome is unknown: they may have run on the "
                 f"site, and the books could not settle them ({summary['stop_reason']}). The balance and profit "
                 "above leave them out. Run `betbot run --resume` to reconcile them with the site's books before "
                 "betting again.",
        ))
    return notices


def drawdown_notice(label: str, *, drawdown: Decimal, threshold: Decimal, balance: Decimal, peak: Decimal,
                    currency: str, bets: int) -> Notice:
    return Notice(
        kind=NoticeKind.DRAWDOWN, level="warning",
        title=f"betbot: {label} is {money_text(drawdown)} {currency} below its peak",
        body=f"{_who(label)}: the balance {money_text(balance)} {currency} is {money_text(drawdown)} {currency} "
             f"below its peak of {money_text(peak)} {currency} (the --notify-drawdown threshold is "
             f"{money_text(threshold)} {currency}) after {bets:,} bets. It goes on betting within its limits.",
    )


def backoff_notice(label: str, *, seconds: float, reason: str, threshold: float) -> Notice:
    return Notice(
        kind=NoticeKind.BACKOFF, level="warning",
        title=f"betbot: {label} is held back by the site for {elapsed_text(seconds)}",
        body=f"{_who(label)} has been held back by the site for {elapsed_text(seconds)} (more than the "
             f"--notify-backoff {elapsed_text(threshold)}): {reason or 'rate limit'}. No bet is sent meanwhile; "
             "it resumes by itself when the site lets it.",
    )


def digest_notice(label: str, *, bets: int, wins: int, profit: Decimal, balance: Decimal, currency: str,
                  elapsed: float, max_drawdown: Decimal, in_flight: int) -> Notice:
    return Notice(
        kind=NoticeKind.DIGEST,
        title=f"betbot: {label}: {bets:,} bets, {_signed(money_text(profit))} {currency}",
        body=f"{_who(label)} is running: {bets:,} bets ({wins:,} won) in {elapsed_text(elapsed)}, profit "
             f"{_signed(money_text(profit))} {currency}, balance {money_text(balance)} {currency}, max drawdown "
             f"{money_text(max_drawdown)} {currency}, {in_flight} bet(s) in flight.",
    )


def campaign_notice(title: str, body: str, *, warning: bool = False) -> Notice:
    return Notice(kind=NoticeKind.CAMPAIGN, title=f"betbot: {title}", body=body,
                  level="warning" if warning else "info")


def error_notice(what: str) -> Notice:
    return Notice(
        kind=NoticeKind.ERROR, level="failure", title="betbot exited on an error",
        body=f"betbot stopped on an error and exited: {what}. Bets in flight were journaled; fix the cause and "
             "start it again with --resume to reconcile and continue.",
    )


def session_failed_notice(label: str, what: str) -> Notice:
    """A hosted session (`betbot serve`) failed; the server and its other sessions go on."""
    return Notice(
        kind=NoticeKind.ERROR, level="failure", title=f"betbot: {label} failed",
        body=f"{_who(label)} stopped on an error: {what}. The server and its other sessions go on; bets in flight "
             "were journaled. Fix the cause and start it again (a resumed session reconciles them first).",
    )


def test_notice() -> Notice:
    return Notice(kind=NoticeKind.TEST, title="betbot: test notification",
                  body="This is a test from `betbot notify test`: notifications to this address arrive.")
