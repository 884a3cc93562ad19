"""The --max-rate token bucket, on a fake clock: no real time passes."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from betbot.engine.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_bets_are_spaced_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(4.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(9):
        await bucket.acquire()
        stamps.append(clock.now)
    assert stamps[0] == 0.0  # the first token is there at once
    assert stamps == pytest.approx([i * 0.25 for i in range(9)])


async def test_concurrent_callers_queue_rather_than_share_a_token() -> None:
    clock = Clock()
    asked: list[float] = []

    async def frozen_sleep(seconds: float) -> None:  # time stands still while all five queue up
        asked.append(seconds)
        await anyio.lowlevel.checkpoint()

    bucket = TokenBucket(2.0, clock=clock, sleep=frozen_sleep)
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(bucket.acquire)
    assert sorted(asked) == pytest.approx([0.5, 1.0, 1.5, 2.0])


async def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert clock.sleeps == []
    clock.now += 100  # a long idle spell refills three tokens, not a hundred
    for _ in range(4):
        await bucket.acquire()
    assert clock.sleeps == [pytest.approx(1.0)]


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)


async def test_a_new_rate_spaces_the_bets_from_then_on() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert clock.now == pytest.approx(0.2)
    bucket.set_rate(2.0)  # what the -n auto pacer learned from a 429
    await bucket.acquire()
    await bucket.acquire()
    assert clock.now == pytest.approx(0.2 + 0.5 + 0.5)  # from then on, a bet every half second
    with pytest.raises(ValueError, match="rate"):
        bucket.set_rate(0)
