"""The reorder buffer: any arrival order in, strictly seq order out, nothing lost, nothing twice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.core.reorder import ReorderBuffer, ReorderError


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_windowed_arrival_order_releases_in_order(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=0, max_value=60), label="n")
    window = data.draw(st.integers(min_value=1, max_value=16), label="window")
    first = data.draw(st.integers(min_value=1, max_value=1000), label="first")
    buf: ReorderBuffer[str] = ReorderBuffer(first=first, window=window)
    last = first + n - 1
    issued = first - 1  # the highest seq handed out (as the engine admits bets)
    outstanding: list[int] = []  # issued, not yet arrived
    arrived: set[int] = set()
    released: list[str] = []
    while len(arrived) < n:
        # Issue as many as the engine could: at most `window` bets not yet released by the buffer.
        while issued < last and issued + 1 < buf.next_seq + window:
            issued += 1
            outstanding.append(issued)
        seq = outstanding.pop(data.draw(st.integers(0, len(outstanding) - 1), label="pick"))
        before = buf.next_seq
        out = buf.push(seq, f"item{seq}")
        arrived.add(seq)
        # what came out is exactly the run from the old next_seq up to the new one, in order
        assert out == [f"item{s}" for s in range(before, buf.next_seq)]
        released.extend(out)
        # nothing held back once its predecessors arrived: next_seq is the smallest seq not yet arrived
        assert buf.next_seq == min(set(range(first, last + 2)) - arrived)
        assert buf.depth == len(arrived) - (buf.next_seq - first)
        assert buf.depth <= window - 1  # never more than the window (the awaited seq is never held)
    assert released == [f"item{s}" for s in range(first, last + 1)]
    assert buf.depth == 0
    assert buf.next_seq == last + 1


def test_in_order_passes_straight_through() -> None:
    buf: ReorderBuffer[int] = ReorderBuffer(window=1)
    for seq in range(1, 6):
        assert buf.push(seq, seq * 10) == [seq * 10]
        assert buf.depth == 0
    assert buf.next_seq == 6


def test_holds_until_the_gap_is_filled() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(first=1, window=4)
    assert buf.push(3, "c") == []
    assert buf.push(2, "b") == []
    assert buf.depth == 2
    assert buf.next_seq == 1
    assert buf.push(1, "a") == ["a", "b", "c"]
    assert buf.depth == 0
    assert buf.next_seq == 4
    assert buf.push(5, "e") == []
    assert buf.push(4, "d") == ["d", "e"]


@pytest.mark.parametrize("seq", [1, 2, 3])
def test_a_released_seq_arriving_again_is_an_error(seq: int) -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(window=4)
    for s in (1, 2, 3):
        buf.push(s, "x")
    with pytest.raises(ReorderError, match="twice"):
        buf.push(seq, "again")
    assert buf.next_seq == 4
    assert buf.depth == 0


def test_a_held_seq_arriving_again_is_an_error() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(window=4)
    buf.push(3, "first")
    with pytest.raises(ReorderError, match="twice"):
        buf.push(3, "second")
    assert buf.push(1, "a") == ["a"]
    assert buf.push(2, "b") == ["b", "first"]  # the original item, not the duplicate


def test_a_seq_before_first_is_an_error() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(first=10, window=4)
    with pytest.raises(ReorderError):
        buf.push(9, "x")


@pytest.mark.parametrize(("window", "held", "bad"), [(1, (), 2), (4, (), 5), (4, (3,), 5), (4, (2, 3, 4), 9)])
def test_arrival_outside_the_window_is_an_error(window: int, held: tuple[int, ...], bad: int) -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(first=1, window=window)
    for s in held:
        buf.push(s, "x")
    with pytest.raises(ReorderError, match="outside the window"):
        buf.push(bad, "x")
    assert buf.depth == len(held)  # a refused arrival changes nothing
    assert buf.next_seq == 1


def test_last_seq_inside_the_window_is_accepted() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(first=1, window=4)
    assert buf.push(4, "d") == []  # next + window - 1
    assert buf.depth == 1


@pytest.mark.parametrize("window", [0, -1])
def test_window_must_be_positive(window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        ReorderBuffer(window=window)


def test_take_next_takes_only_the_awaited_seq_with_nothing_held() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(first=1, window=4)
    assert buf.take_next(1)  # awaited, nothing held: taken, and the buffer moves on
    assert buf.next_seq == 2
    assert not buf.take_next(3)  # not the awaited one: nothing changes, the caller pushes it
    assert buf.next_seq == 2
    assert buf.push(3, "c") == []
    assert not buf.take_next(2)  # awaited, but 3 is held behind it: it must go through push
    assert buf.push(2, "b") == ["b", "c"]
    assert buf.take_next(4)
    assert buf.next_seq == 5


def test_seqs_released_by_their_driver_move_the_awaited_seq_on_and_never_back() -> None:
    buf: ReorderBuffer[str] = ReorderBuffer(first=1, window=2)
    buf.released_before(6)  # bets 1-5 handed on by a driver with one in flight
    assert buf.next_seq == 6
    assert buf.push(6, "six") == ["six"]
    with pytest.raises(ReorderError):
        buf.released_before(5)  # 6 was released already
    assert buf.push(8, "eight") == []
    with pytest.raises(ReorderError):
        buf.released_before(9)  # 8 is held, waiting for 7: not taken in order
    assert buf.next_seq == 7
