"""The shared back-off, on a fake clock and a fake sleep: no real time passes in these tests."""

from __future__ import annotations

import random

import anyio

from betbot.engine.backoff import SharedBackoff
from tests.helpers import FakeClock, FakeSleep


class TopOfRange(random.Random):
    """An RNG whose uniform() always answers the upper bound: makes the jittered pause its ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def make(*, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None,
         fraction: float = 1.0) -> tuple[SharedBackoff, FakeClock, FakeSleep]:
    clock = FakeClock(1000.0)
    sleep = FakeSleep(clock, fraction=fraction)
    return SharedBackoff(base=base, cap=cap, clock=clock, sleep=sleep, rng=rng or TopOfRange()), clock, sleep


def pauses_one_after_another(backoff: SharedBackoff, clock: FakeClock, count: int) -> list[float]:
    """Trip `count` times, each after the previous pause has run out (a new refusal after the pause)."""
    pauses = []
    for _ in range(count):
        pauses.append(backoff.trip("x"))
        clock.advance(backoff.remaining)
    return pauses


async def test_wait_returns_at_once_when_not_tripped() -> None:
    backoff, clock, sleep = make()
    assert not backoff.active
    assert backoff.remaining == 0
    await backoff.wait()
    assert sleep.calls == []
    assert clock() == 1000.0


async def test_retry_after_is_honoured() -> None:
    backoff, clock, sleep = make()
    assert backoff.trip("rate-limit: slow down", retry_after=7.0) == 7.0
    assert backoff.active
    assert backoff.remaining == 7.0
    assert backoff.reason == "rate-limit: slow down"
    assert backoff.trips == 1
    await backoff.wait()
    assert sleep.calls == [7.0]
    assert clock() == 1007.0
    assert not backoff.active
    await backoff.wait()  # nothing more to wait
    assert sleep.calls == [7.0]


async def test_retry_after_beats_the_exponential_schedule() -> None:
    backoff, _, _ = make(base=0.5)
    for _ in range(5):
        backoff.trip("x")
    assert backoff.trip("x", retry_after=0.25) == 0.25  # the server's word, not 2**5 * base


def test_absurd_retry_after_is_bounded() -> None:
    backoff, _, _ = make(cap=30.0)
    assert backoff.trip("x", retry_after=1e9) == 300.0


def test_negative_retry_after_falls_back_to_the_schedule() -> None:
    backoff, _, _ = make(base=0.5)
    assert backoff.trip("x", retry_after=-1) == 0.5


def test_exponential_growth_with_cap() -> None:
    backoff, clock, _ = make(base=0.5, cap=30.0)
    pauses = pauses_one_after_another(backoff, clock, 9)
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_the_refusals_of_one_burst_are_one_step_of_the_schedule() -> None:
    # Eight bets in flight refused together: one pause of the first step, not 2 ** 7 times the base.
    backoff, clock, _ = make(base=0.5, cap=30.0)
    burst = [backoff.trip("429") for _ in range(8)]
    assert burst == [0.5] * 8
    assert (backoff.trips, backoff.episodes) == (8, 1)
    clock.advance(backoff.remaining)
    assert backoff.trip("429") == 1.0  # refused again after the pause, with no success between: the next step


def test_full_jitter_stays_under_the_ceiling() -> None:
    backoff, clock, _ = make(base=0.5, cap=30.0, rng=random.Random(3))
    for k, pause in enumerate(pauses_one_after_another(backoff, clock, 11), start=1):
        assert 0 <= pause <= min(30.0, 0.5 * 2 ** (k - 1))


def test_reset_after_success() -> None:
    backoff, clock, _ = make(base=0.5)
    assert pauses_one_after_another(backoff, clock, 4) == [0.5, 1.0, 2.0, 4.0]
    backoff.succeeded()
    assert backoff.trip("x") == 0.5
    assert backoff.trips == 5  # the counter of trips is not reset


def test_a_shorter_trip_does_not_shorten_the_pause() -> None:
    backoff, clock, _ = make()
    backoff.trip("long", retry_after=10)
    backoff.trip("short", retry_after=1)
    assert backoff.remaining == 10
    clock.advance(4)
    assert backoff.remaining == 6


async def test_wait_keeps_sleeping_until_the_pause_is_over() -> None:
    backoff, clock, sleep = make(fraction=0.5)  # a sleep that wakes halfway
    backoff.trip("x", retry_after=8)
    await backoff.wait()
    assert clock() >= 1008.0
    assert sleep.calls[:3] == [8.0, 4.0, 2.0]
    assert not backoff.active


async def test_every_waiter_is_held_by_one_trip() -> None:
    clock = FakeClock(0.0)
    woke: list[float] = []
    slept: list[float] = []
    tick = anyio.Event()

    async def sleep(seconds: float) -> None:  # blocks until the test has moved the clock
        slept.append(seconds)
        await tick.wait()

    backoff = SharedBackoff(clock=clock, sleep=sleep, rng=TopOfRange())
    backoff.trip("challenge", retry_after=5)

    async def waiter() -> None:
        await backoff.wait()
        woke.append(clock())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert woke == []  # all three paused by the one trip
        assert slept == [5.0, 5.0, 5.0]
        clock.advance(5)
        tick.set()
    assert woke == [5.0, 5.0, 5.0]


# Found by this suite (OverflowError after 1025 failures); fixed in 1ff9efe.
def test_many_consecutive_failures_stay_capped() -> None:
    backoff, clock, _ = make(base=0.5, cap=30.0)
    assert max(pauses_one_after_another(backoff, clock, 1100)) == 30.0
