"""A back-off is logged once, at info, with its reason and its wait: the trip that begins a pause, not the
trips of the bets in flight that hit the same limit while it lasts."""

from __future__ import annotations

from structlog.testing import capture_logs

from betbot.engine.backoff import SharedBackoff
from tests.helpers import FakeClock


def test_one_line_per_pause_with_reason_and_wait() -> None:
    clock = FakeClock(1000.0)
    backoff = SharedBackoff(clock=clock)
    with capture_logs() as logs:
        backoff.trip("rate-limit: HTTP 429", retry_after=7.0)
        clock.advance(1.0)
        backoff.trip("rate-limit: HTTP 429", retry_after=7.0)  # another bet in flight, same pause
        backoff.trip("challenge: cloudflare", retry_after=2.0)
        clock.advance(10.0)  # the pause is over
        backoff.trip("challenge: cloudflare", retry_after=3.0)  # a new pause
    assert logs == [
        {"event": "backoff.tripped", "log_level": "info", "reason": "rate-limit: HTTP 429", "wait_seconds": 7.0,
         "retry_after": True},
        {"event": "backoff.tripped", "log_level": "info", "reason": "challenge: cloudflare", "wait_seconds": 3.0,
         "retry_after": True},
    ]
    assert backoff.trips == 4  # every trip still counts toward the schedule
    assert backoff.episodes == 2  # what the metrics count as trips
