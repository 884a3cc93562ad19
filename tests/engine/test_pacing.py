"""The `-n auto` controller on a fake clock: Little's law, AIMD, latency, read timeouts."""

from __future__ import annotations

import random

import pytest

from betbot.engine.pacing import LatencyWindow, PaceChange, Pacer, ReadTimeoutPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _replies(pacer: Pacer, clock: FakeClock, count: int, seconds: float) -> None:
    """`count` replies of `seconds` each, arriving as a window of `pacer.limit` would return them."""
    for _ in range(count):
        clock.now += seconds / pacer.limit
        pacer.replied(seconds)


def test_little_law_jumps_to_the_n_that_reaches_the_target_rate() -> None:
    clock = FakeClock()
    changes: list[PaceChange] = []
    pacer = Pacer(ceiling=64, target_rate=100.0, clock=clock, on_change=changes.append)
    _replies(pacer, clock, 8, 0.2)  # one round: 100 bets/s x 0.2 s = 20, x 1.2 headroom = 24
    assert pacer.limit == 24
    assert changes[-1].reason == "little"
    assert "100 bets/s" in changes[-1].detail
    _replies(pacer, clock, 500, 0.2)
    assert pacer.limit == 24  # at the goal: no additive increase past the rate's N


def test_the_target_follows_latency_down() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, target_rate=100.0, clock=clock)
    _replies(pacer, clock, 200, 0.2)
    assert pacer.limit == 24
    _replies(pacer, clock, 2000, 0.02)  # the replies got ten times faster: the mean follows, so does N
    assert pacer.limit <= 4
    assert pacer.reason == "target"


def test_slow_start_doubles_up_to_the_ceiling_without_a_target() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=20, clock=clock)
    seen = [pacer.limit]
    for _ in range(10):
        _replies(pacer, clock, max(8, pacer.limit), 0.05)
        seen.append(pacer.limit)
    assert seen[:5] == [2, 4, 8, 16, 20]
    assert max(seen) == 20  # never above the ceiling


def test_a_429_cuts_the_limit_once_per_burst_then_it_grows_by_one() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, clock=clock)
    _replies(pacer, clock, 8 + 8 + 8 + 16, 0.05)
    assert pacer.limit == 32
    for _ in range(20):  # twenty bets of one burst are refused together
        pacer.pushed_back("429")
    assert pacer.limit == 16  # halved, once: the first push-back ends slow start
    assert pacer.reason == "429"
    assert not pacer.slow_start
    clock.now += 1.0
    _replies(pacer, clock, 16, 0.05)
    assert pacer.limit == 17
    assert pacer.reason == "increase"


def test_a_429_storm_drives_the_limit_down_to_one() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, start=32, clock=clock)
    for _ in range(30):
        clock.now += 1.0  # a new burst each second
        pacer.pushed_back("429")
    assert pacer.limit == 1
    assert pacer.decreases >= 9


def test_probing_slows_near_the_limit_where_the_site_pushed_back() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, start=10, clock=clock)
    pacer.slow_start = False
    pacer.pushed_back("challenge")  # at 10: down to 7
    clock.now += 1.0
    assert pacer.limit == 7
    _replies(pacer, clock, 8 * 3, 0.05)  # +1 a round, but only halfway back: 8
    assert pacer.limit == 8
    _replies(pacer, clock, 8 * 8, 0.05)  # eight rounds at 8, but not yet ten seconds
    assert pacer.limit == 8
    clock.now += 10.0
    _replies(pacer, clock, 8, 0.05)  # eight rounds and ten seconds: it probes one higher
    assert pacer.limit == 9
    assert pacer.changes[-1].detail.endswith("rounds at 8 without push-back")
    pacer.pushed_back("429")  # the probe failed: back to 8, and the next probe waits twice as long
    clock.now += 1.5
    assert pacer.limit == 8
    assert pacer.changes[-1].detail.endswith("(a probe)")
    _replies(pacer, clock, 8 * 8, 0.05)
    clock.now += 10.0
    _replies(pacer, clock, 8, 0.05)
    assert pacer.limit == 8  # 10 s is not 20 s any more
    clock.now += 10.0
    _replies(pacer, clock, 8, 0.05)
    assert pacer.limit == 9


def test_latency_past_its_baseline_cuts_the_limit_and_a_slower_site_becomes_the_baseline() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, start=16, clock=clock)
    pacer.slow_start = False
    _replies(pacer, clock, 16 * 3, 0.02)
    assert pacer.baseline == pytest.approx(0.02)
    for _ in range(2 * pacer.limit):  # queueing: five times the baseline, until a round ends on it
        _replies(pacer, clock, 1, 0.1)
        if pacer.reason == "latency":
            break
    cut_from = pacer.changes[-1].old
    assert pacer.limit == int(cut_from * 0.7)
    assert pacer.reason == "latency"
    assert "baseline 20 ms" in pacer.changes[-1].detail
    cut = pacer.limit
    _replies(pacer, clock, 2 * max(cut, 8), 0.1)  # still slow with fewer in flight: the site itself is slower
    assert pacer.baseline == pytest.approx(0.1)
    assert pacer.limit >= cut  # not cut again
    _replies(pacer, clock, 200, 0.1)
    assert pacer.reason == "increase"


def test_jittery_replies_without_queueing_do_not_cut() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=32, clock=clock)
    rng = random.Random(7)
    for _ in range(3000):
        clock.now += 0.001
        pacer.replied(0.02 + rng.random() * 0.02)  # 20-40 ms
    assert pacer.decreases == 0
    assert pacer.limit == 32


def test_the_limit_never_leaves_one_to_ceiling_and_cap_at_lowers_it() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=8, start=100, clock=clock)
    assert pacer.limit == 8
    pacer.cap_at(3)
    assert (pacer.ceiling, pacer.limit) == (3, 3)
    for _ in range(50):
        clock.now += 10
        pacer.pushed_back("429")
    assert pacer.limit == 1


def test_read_timeout_follows_latency_between_floor_and_ceiling() -> None:
    clock = FakeClock()
    seen: list[float] = []
    pacer = Pacer(ceiling=8, clock=clock, on_read_timeout=seen.append,
                  timeouts=ReadTimeoutPolicy(ceiling=15.0, floor=1.0, multiple=4.0, min_samples=50))
    assert pacer.read_timeout == 15.0
    _replies(pacer, clock, 40, 0.5)
    assert pacer.read_timeout == 15.0  # too few replies yet
    _replies(pacer, clock, 40, 0.5)
    assert pacer.read_timeout == pytest.approx(2.0)  # 4 x the p99 of 0.5 s
    assert seen == [pytest.approx(2.0)]
    _replies(pacer, clock, 600, 0.01)
    assert pacer.read_timeout == 1.0  # the floor
    _replies(pacer, clock, 600, 9.0)
    assert pacer.read_timeout == 15.0  # the old fixed timeout is the ceiling


def test_latency_window_quantile() -> None:
    window = LatencyWindow(size=4)
    assert window.quantile(0.99) == 0.0
    for value in (5.0, 1.0, 2.0, 3.0, 4.0):
        window.add(value)
    assert len(window) == 4  # the oldest (5.0) is gone
    assert window.quantile(0.5) == 2.0
    assert window.quantile(0.99) == 4.0
    assert window.mean() == 2.5


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="ceiling"):
        Pacer(ceiling=0)
    with pytest.raises(ValueError, match="target_rate"):
        Pacer(ceiling=4, target_rate=0)
    with pytest.raises(ValueError, match="decrease"):
        Pacer(ceiling=4, decrease=1.0)


def test_a_round_lasts_a_reply_time_so_slow_start_waits_for_the_raise_to_be_judged() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, start=8, clock=clock)
    for _ in range(30):  # replies to bets sent earlier, arriving 1 ms apart, each 100 ms after its request
        clock.now += 0.001
        pacer.replied(0.1)
    assert pacer.limit == 8  # 30 replies, but 30 ms is not a reply time yet
    clock.now += 0.07
    pacer.replied(0.1)
    assert pacer.limit == 16


def test_a_storm_after_a_failed_probe_still_cuts_multiplicatively() -> None:
    clock = FakeClock()
    pacer = Pacer(ceiling=64, start=20, clock=clock)
    pacer.slow_start = False
    pacer.pushed_back("429")  # 20 -> 14
    clock.now += 1.0
    _replies(pacer, clock, 14 * 6, 0.05)  # back up to 17, halfway
    assert pacer.limit == 17
    clock.now += 10.0
    for _ in range(17 * 9):  # eight rounds and ten seconds at 17: the probe to 18
        _replies(pacer, clock, 1, 0.05)
        if pacer.limit == 18:
            break
    assert pacer.limit == 18
    pacer.pushed_back("429")
    assert pacer.limit == 17  # the probe's failure: one step back
    for _ in range(5):
        clock.now += 1.0
        pacer.pushed_back("429")
    assert pacer.limit <= 3  # the rest of the storm: x 0.7 each burst


def test_replies_that_slow_with_n_hold_the_limit_where_more_would_only_queue() -> None:
    # A client (or a site) that serves 100 bets/s whatever N: the reply time is N / 100 s, so past a few in
    # flight each extra bet only waits. The limit must stop growing there, not climb to the ceiling.
    clock = FakeClock()
    pacer = Pacer(ceiling=64, clock=clock)
    pacer.latencies.add(0.02)
    for _ in range(4000):
        seconds = max(0.02, pacer.limit / 100)
        clock.now += 0.01  # 100 replies a second
        pacer.replied(seconds)
    assert 3 <= pacer.limit <= 6  # 4: 40 ms replies for a 20 ms baseline, half of each bet's time in a queue
    assert not pacer.slow_start
