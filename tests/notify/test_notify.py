"""Notifications: delivered off the betting path, through Apprise to a local target, never a secret in them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anyio
import pytest
import structlog
from anyio.lowlevel import checkpoint

from betbot.config.settings import NOTIFY_EVENTS, SettingsError, load_settings
from betbot.config.units import AmountOrPercent
from betbot.core.session import Limits, SessionSnapshot
from betbot.notify import Notice, NoticeKind, Notifier, SessionNotices
from betbot.notify.events import error_notice, session_notices
from betbot.notify.targets import target_label
from betbot.notify.watch import _Watch
from betbot.observe.view import RunView
from betbot.redact import redact, register_secret, unregister_secret
from tests.engine.test_engine import flat, make_engine, run
from tests.helpers import CURRENCY, CheckpointBackend, D, FakeClock, history, make_game
from tests.notify_target import HungTarget, Target

API_KEY = "sk-live-0123456789abcdef"


def notice(kind: NoticeKind = NoticeKind.STOPPED, body: str = "body") -> Notice:
    return Notice(kind=kind, title=f"title {kind.value}", body=body)


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.fixture
def api_key() -> Iterator[str]:
    register_secret(API_KEY)
    yield API_KEY
    unregister_secret(API_KEY)


class Blocking:
    """A send that blocks until released: a target that never answers, without a socket."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.calls = 0

    def __call__(self, url: str, notice: Notice) -> bool:
        self.calls += 1
        self.started.set()
        self.release.wait()
        return True


def no_check(urls: Any) -> list[int]:
    return []


# -- delivery through Apprise, to 127.0.0.1 ----------------------------------------------------------------
async def test_a_notice_reaches_a_local_json_target_with_the_api_key_scrubbed(target: Target, api_key: str) -> None:
    notifier = Notifier([target.url()])
    async with notifier.running():
        assert notifier.notify(notice(body=f"the site said: bad key {api_key} (GET /bot/stats?api_key={api_key})"))
    [body] = target.wait_for(1)
    assert body["title"] == "title stopped"
    assert api_key not in body["message"]
    assert "***" in body["message"]
    assert notifier.sent == 1


async def test_every_target_gets_every_notice_in_order(target: Target) -> None:
    other = Target()
    try:
        notifier = Notifier([target.url("a"), other.url("b")])
        async with notifier.running():
            for kind in (NoticeKind.STOPPED, NoticeKind.DIGEST):
                notifier.notify(notice(kind))
        assert [b["title"] for b in target.wait_for(2)] == ["title stopped", "title digest"]
        assert [b["title"] for b in other.wait_for(2)] == ["title stopped", "title digest"]
    finally:
        other.close()


async def test_a_url_apprise_cannot_use_is_bad_input_before_anything_runs() -> None:
    notifier = Notifier(["nope://secret-token-123"])
    ran = False
    with pytest.raises(SettingsError) as caught:
        async with notifier.running():
            ran = True
    assert not ran
    assert "nope://***" in str(caught.value)
    assert "secret-token-123" not in str(caught.value)


async def test_an_error_in_the_block_comes_out_as_itself_not_as_a_group(target: Target) -> None:
    with pytest.raises(SettingsError, match="mine"):
        async with Notifier([target.url()]).running():
            raise SettingsError("mine")


async def test_without_a_url_nothing_is_queued_and_apprise_is_not_needed() -> None:
    notifier = Notifier([], check=lambda urls: pytest.fail("checked"), send=lambda u, n: pytest.fail("sent"))
    async with notifier.running():
        assert not notifier.notify(notice())
    assert not notifier.enabled


async def test_notify_on_picks_the_events(target: Target) -> None:
    notifier = Notifier([target.url()], events=["error"])
    async with notifier.running():
        assert not notifier.notify(notice(NoticeKind.STOPPED))
        assert notifier.notify(error_notice("JournalError: disk full"))
    [body] = target.wait_for(1)
    assert body["title"] == "betbot exited on an error"


# -- never on the betting path ----------------------------------------------------------------------------
async def test_notify_never_blocks_a_full_queue_drops_and_says_so_once() -> None:
    send = Blocking()
    notifier = Notifier(["json://127.0.0.1:9/x"], send=send, check=no_check, queue_size=3, timeout=3600,
                        flush_timeout=0)
    try:
        with structlog.testing.capture_logs() as logs:
            async with notifier.running():
                while not send.started.is_set():  # the sender has taken the first notice and hangs on it
                    notifier.notify(notice())
                    await anyio.to_thread.run_sync(send.started.wait, 0.01)
                queued = [notifier.notify(notice()) for _ in range(10)]
        assert queued.count(True) <= 3
        assert notifier.dropped >= 7
        assert [e["event"] for e in logs].count("notify.dropped") == 1
    finally:
        send.release.set()


async def test_a_hung_target_costs_the_engine_nothing() -> None:
    """The same session, bet for bet, with a notification target that never answers and without one."""

    async def play(notifier: Notifier | None) -> tuple[Any, Any, int]:
        clock = FakeClock()
        backend = CheckpointBackend(make_game(), seed=3, clock=clock, step=1.0)
        strategy = flat()
        engine = make_engine(strategy, backend, n=5, limits=Limits(max_bets=400), clock=clock)
        notices = SessionNotices(notifier, every=10.0, drawdown=AmountOrPercent(D("0.01")), tick=0.0,
                                 sleep=lambda _: checkpoint())
        async with notices.watching(engine, engine.session.limits, session_id=1):
            await run(engine)
        return history(engine.hooks.outcomes), backend.calls, engine.session.bets  # type: ignore[union-attr]

    send = Blocking()
    hung = Notifier(["json://127.0.0.1:9/x"], send=send, check=no_check, queue_size=8, timeout=3600,
                    flush_timeout=0)
    try:
        async with hung.running():
            with_hung = await play(hung)
            assert send.started.is_set()
            assert not send.release.is_set()
        without = await play(None)
    finally:
        send.release.set()
    assert with_hung == without
    assert with_hung[2] == 400
    assert send.calls == 1  # every other notice waited in the queue, or was dropped, off the engine's path
    assert hung.dropped > 0


async def test_a_target_that_never_answers_times_out_and_is_logged_once_by_its_label() -> None:
    hung = HungTarget()
    url = f"json://user:hunter2-password@127.0.0.1:{hung.port}/hook?token=tok-0123456789"
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    notifier = Notifier([url], timeout=0.2, attempts=3, retry_delay=2.0, sleep=fake_sleep)
    try:
        with structlog.testing.capture_logs() as logs:
            async with notifier.running():
                notifier.notify(notice())
                notifier.notify(notice())
    finally:
        hung.close()
    failed = [e for e in logs if e["event"] == "notify.failed"]
    assert len(failed) == 1  # two notices lost, one line: the outage
    assert notifier.failed == 2
    assert slept == [2.0, 4.0, 2.0, 4.0]  # retries with a growing pause
    assert failed[0]["target"] == f"#1 json://127.0.0.1:{hung.port}/***"
    for event in logs:
        text = redact(repr(event))
        assert "hunter2-password" not in text
        assert "tok-0123456789" not in text
        assert "hunter2-password" not in repr(event)
        assert "tok-0123456789" not in repr(event)


async def test_a_failing_target_is_retried_and_its_recovery_logged() -> None:
    answers = iter([False, False, True, False, False, False, True])
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    notifier = Notifier(["json://127.0.0.1:9/x"], send=lambda u, n: next(answers), check=no_check,
                        retry_delay=1.0, sleep=fake_sleep)
    with structlog.testing.capture_logs() as logs:
        async with notifier.running():
            for _ in range(3):
                notifier.notify(notice())
    assert (notifier.sent, notifier.failed) == (2, 1)
    assert [e["event"] for e in logs if e["log_level"] != "debug"] == ["notify.failed", "notify.recovered"]
    assert slept == [1.0, 2.0, 1.0, 2.0]  # the third notice went through at once


async def test_a_send_that_raises_is_a_failed_notification_not_a_crash(api_key: str) -> None:
    def explode(url: str, n: Notice) -> bool:
        raise ConnectionError(f"https://x/?api_key={api_key} refused")

    notifier = Notifier(["json://127.0.0.1:9/x"], send=explode, check=no_check, attempts=1)
    with structlog.testing.capture_logs() as logs:
        async with notifier.running():
            notifier.notify(notice())
    [failed] = [e for e in logs if e["event"] == "notify.failed"]
    assert "ConnectionError" in failed["reason"]
    assert api_key not in failed["reason"]


# -- the messages -------------------------------------------------------------------------------------------
SUMMARY = {
    "stop_reason": "take_profit: profit 5.00000000 reached take_profit 5.00000000", "stop_kind": "take_profit",
    "bets": 1234, "wins": 600, "losses": 634, "profit": "5.00000000", "wagered": "12.34000000",
    "balance": "105.00000000", "starting_balance": "100.00000000", "currency": "DOGE", "max_drawdown": "1.50000000",
    "longest_loss_streak": 9, "bets_per_second": 12.5, "elapsed_seconds": 98.7, "strategy": "flat",
    "backend": "simulator", "unresolved_bets": 0, "session_id": 7,
}


def test_the_end_of_a_session_says_why_and_its_figures() -> None:
    [tp] = session_notices(SUMMARY, "session 7")
    assert tp.kind is NoticeKind.TAKE_PROFIT
    assert "Session 7 (flat on the simulator) stopped: take_profit" in tp.body
    for figure in ("1,234 bets", "+5.00000000 DOGE", "105.00000000 DOGE", "max drawdown 1.50000000"):
        assert figure in tp.body
    stopped, unresolved = session_notices({**SUMMARY, "stop_kind": "unknown_outcome", "profit": "-2.00000000",
                                           "stop_reason": "unknown_outcome: books differ", "unresolved_bets": 3},
                                          "session 7")
    assert stopped.kind is NoticeKind.STOPPED
    assert "-2.00000000 DOGE" in stopped.title
    assert unresolved.kind is NoticeKind.UNRESOLVED
    assert "3 bet(s)" in unresolved.body
    assert "--resume" in unresolved.body


def test_every_settable_event_is_a_notice_kind() -> None:
    assert set(NOTIFY_EVENTS) == {kind.value for kind in NoticeKind} - {"test"}


def view(*, profit: str = "0", peak: str = "0", backing_off: bool = False, remaining: float = 0.0,
         bets: int = 10) -> RunView:
    snap = SessionSnapshot(
        currency=CURRENCY, starting_balance=D(100), balance=D(100) + D(profit), profit=D(profit), wagered=D(1),
        bets=bets, wins=bets // 2, losses=bets - bets // 2, submitted=bets, in_flight=0, exposure=D(0),
        unresolved=0, streak=0, longest_win_streak=1, longest_loss_streak=1, largest_bet=D(1), largest_win=D(1),
        largest_loss=D(1), max_drawdown=D(peak) - D(profit), peak_profit=D(peak), luck=None, stop_reason=None)
    return RunView(snapshot=snap, elapsed=1.0, concurrency=1, buffered=0, backing_off=backing_off,
                   backoff_remaining=remaining, backoff_reason="rate_limited: 429", backoff_trips=1, retries=0)


class Collecting(Notifier):
    def __init__(self) -> None:
        super().__init__(["json://127.0.0.1:9/x"], send=lambda u, n: True, check=no_check)
        self.seen: list[Notice] = []

    def notify(self, notice: Notice) -> bool:
        self.seen.append(notice)
        return True


def watch(notices: SessionNotices) -> Any:
    """The state one `watching` block keeps, checked by hand with made-up views."""
    return _Watch(notices, view, lambda: 0.0)


def test_drawdown_is_said_once_per_crossing_of_20_percent() -> None:
    notifier = Collecting()
    state = watch(SessionNotices(notifier, drawdown=AmountOrPercent(D(20), percent=True)))
    for profit in ("5", "-14", "-15", "-16", "-6", "-2", "-15"):
        state.check(view(profit=profit, peak="5"), now=0.0)
    kinds = [n.kind for n in notifier.seen]
    assert kinds == [NoticeKind.DRAWDOWN, NoticeKind.DRAWDOWN]  # at -15 (20 below the peak), again after -2
    assert "20.00000000 DOGE below its peak of 105.00000000" in notifier.seen[0].body


def test_a_long_backoff_is_said_once_and_a_digest_comes_every_period() -> None:
    notifier = Collecting()
    notices = SessionNotices(notifier, backoff_after=60.0, every=3600.0)
    state = watch(notices)
    state.next_digest = 3600.0
    state.check(view(backing_off=True, remaining=30.0), now=10.0)  # 30 s: not yet
    state.check(view(backing_off=True, remaining=25.0), now=45.0)  # 35 s in, 25 to go: 60 s
    state.check(view(backing_off=True, remaining=1.0), now=69.0)
    state.check(view(), now=80.0)
    state.check(view(backing_off=True, remaining=600.0), now=90.0)  # a new back-off, a long Retry-After
    state.check(view(bets=99), now=3600.0)
    state.check(view(), now=3700.0)
    assert [n.kind for n in notifier.seen] == [NoticeKind.BACKOFF, NoticeKind.BACKOFF, NoticeKind.DIGEST]
    assert "99 bets" in notifier.seen[2].body


# -- settings ----------------------------------------------------------------------------------------------
def test_the_environment_takes_urls_separated_by_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BETBOT_NOTIFY", "ntfy://my-topic  json://127.0.0.1:8000/a,b,tgram://123:abc/456")
    monkeypatch.setenv("BETBOT_NOTIFY_ON", "stopped,error")
    settings = load_settings({})
    assert settings.notify == ["ntfy://my-topic", "json://127.0.0.1:8000/a,b", "tgram://123:abc/456"]
    assert settings.notify_on == ["stopped", "error"]


def test_a_bad_url_or_event_is_one_line_that_never_repeats_the_url() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"notify": ["ntfy://fine", "secret-token-no-scheme"]})
    assert "URL #2 is not SCHEME://" in str(caught.value)
    assert "secret-token" not in str(caught.value)
    with pytest.raises(SettingsError, match="unknown event 'stoped'; choose from all, stopped"):
        load_settings({"notify_on": ["stoped"]})


def test_a_target_is_named_without_its_secrets() -> None:
    assert target_label("json://user:pw@127.0.0.1:8000/hook?token=x") == "json://127.0.0.1:8000/***"
    assert target_label("tgram://123456:AAbbCC/987") == "tgram://***"
    assert target_label("ntfy://secret-topic") == "ntfy://***"


def test_a_notification_urls_secrets_are_scrubbed_from_every_log_line() -> None:
    url = "tgram://123456:AAbbCCddEE/987654"
    Notifier([url], check=no_check)
    assert "AAbbCCddEE" not in redact(f"apprise said: POST https://api.telegram.org/bot123456:AAbbCCddEE/ {url}")


def test_notice_levels_are_what_apprise_takes() -> None:
    assert {n.level for n in session_notices({**SUMMARY, "unresolved_bets": 1}, "s")} <= {
        "info", "success", "warning", "failure"}
    assert Decimal(SUMMARY["profit"]) > 0


def test_a_config_file_takes_a_list_of_urls_and_a_campaign(tmp_path: Any) -> None:
    config = tmp_path / "betbot.toml"
    config.write_text('notify = ["ntfy://topic-one", "json://127.0.0.1:8000/hook"]\nnotify_on = ["all"]\n'
                      'notify_drawdown = "20%"\nnotify_every = "6h"\nrepeat = true\ntotal_stop_loss = "10%"\n')
    settings = load_settings({}, config)
    assert settings.notify == ["ntfy://topic-one", "json://127.0.0.1:8000/hook"]
    assert settings.notify_on == list(NOTIFY_EVENTS)
    assert settings.notify_drawdown == AmountOrPercent(D(20), percent=True)
    assert settings.notify_every == 6 * 3600.0
    assert settings.repeat
    assert settings.total_stop_loss == AmountOrPercent(D(10), percent=True)
