"""The reorder buffer: outcomes arrive in any order and leave strictly in seq order.

Invariants: every seq from `first` on is released exactly once, in order; an item is released as soon as
every item before it has arrived; at most `window` items are ever held (the engine never has more than
`window` bets in flight, so an arrival at or beyond `next + window` is a bug, and is refused loudly).
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["ReorderBuffer", "ReorderError"]

T = TypeVar("T")


class ReorderError(RuntimeError):
    """An arrival that can't be right: a duplicate, an already released seq, or one outside the window."""


class ReorderBuffer(Generic[T]):
    __slots__ = ("_held", "_next", "window")

    def __init__(self, *, first: int = 1, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._next = first
        self._held: dict[int, T] = {}
        self.window = window

    @property
    def next_seq(self) -> int:
        """The seq the buffer is waiting for."""
        return self._next

    @property
    def depth(self) -> int:
        """How many arrivals are held, waiting for an earlier seq."""
        return len(self._held)

    def take_next(self, seq: int) -> bool:
        """Whether `seq` is the awaited one with nothing held: then it is taken as released (the caller
        hands it on itself) and nothing is built. Else nothing changes, and the caller pushes it."""
        if seq == self._next and not self._held:
            self._next = seq + 1
            return True
        return False

    def released_before(self, seq: int) -> None:
        """Every seq before `seq` was taken in order, one at a time, with nothing held (a driver with one bet
        in flight hands its outcomes on itself): the buffer now awaits `seq`."""
        if self._held or seq < self._next:
            raise ReorderError(f"seqs before {seq} cannot all have been taken in order")
        self._next = seq

    def push(self, seq: int, item: T) -> list[T]:
        """Accept one arrival; return the items it releases, in seq order (often none, often one)."""
        nxt = self._next
        if seq == nxt and not self._held:  # the common in-order case: no dict traffic at all
            self._next = nxt + 1
            return [item]
        if seq < nxt or seq in self._held:
            raise ReorderError(f"seq {seq} arrived twice")
        if seq >= nxt + self.window:
            raise ReorderError(f"seq {seq} is outside the window [{nxt}, {nxt + self.window})")
        self._held[seq] = item
        released: list[T] = []
        held = self._held
        while nxt in held:
            released.append(held.pop(nxt))
            nxt += 1
        self._next = nxt
        return released
