"""`/metrics` of `betbot serve`: every hosted session's state in the Prometheus text format (`session`
labelled), and the event loop's lag.

Read at scrape time from each session's `view_of` (through its watcher), like `betbot run`'s metrics; nothing
on the betting path serves the scraper.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from betbot.serve.host import Host
    from betbot.serve.lag import LoopLag

__all__ = ["exposition"]

_GAUGES = (
    ("betbot_bets_settled", "counter", "Bets settled."),
    ("betbot_wins", "counter", "Bets won."),
    ("betbot_bets_in_flight", "gauge", "Bets sent and not yet resolved."),
    ("betbot_balance", "gauge", "The session's balance (float: for plotting only)."),
    ("betbot_profit", "gauge", "The session's profit (float: for plotting only)."),
    ("betbot_backoff_active", "gauge", "1 while the session's account is backing off."),
    ("betbot_session_running", "gauge", "1 while the session runs."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _samples(host: Host) -> Iterator[tuple[str, str, float]]:
    for hosted in host.sessions.values():
        name = _label(hosted.name)
        yield "betbot_session_running", name, 1.0 if hosted.running else 0.0
        view = hosted.watch.look()
        if view is None:
            continue
        snap = view.snapshot
        yield "betbot_bets_settled", name, float(snap.bets)
        yield "betbot_wins", name, float(snap.wins)
        yield "betbot_bets_in_flight", name, float(snap.in_flight)
        yield "betbot_balance", name, float(snap.balance)
        yield "betbot_profit", name, float(snap.profit)
        yield "betbot_backoff_active", name, 1.0 if view.backing_off else 0.0


def exposition(host: Host, lag: LoopLag | None = None) -> str:
    by_metric: dict[str, list[str]] = {}
    for metric, session, value in _samples(host):
        by_metric.setdefault(metric, []).append(f'{metric}{{session="{session}"}} {value!r}')
    lines = []
    for metric, kind, help_text in _GAUGES:
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}", *by_metric.get(metric, [])]
    if lag is not None:
        lines += ["# HELP betbot_event_loop_lag_seconds How late the event loop woke a task (recent samples).",
                  "# TYPE betbot_event_loop_lag_seconds gauge",
                  f'betbot_event_loop_lag_seconds{{quantile="0.99"}} {lag.quantile(0.99)!r}',
                  f'betbot_event_loop_lag_seconds{{quantile="1"}} {lag.quantile(1.0)!r}']
    return "\n".join(lines) + "\n"
