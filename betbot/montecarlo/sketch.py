"""A quantile sketch whose answer does not depend on the order its values arrive in.

Monte Carlo results must be identical for any worker count and scheduling, and memory must stay flat in
the number of sessions. A `ValueSketch` keeps a count per distinct integer value (exact quantiles) until
it holds more than `EXACT_VALUES` distinct values; from then on it keeps DDSketch-style logarithmic buckets
(each bucket spans a factor `1 + 2 * RELATIVE_ACCURACY`, so a quantile is within `RELATIVE_ACCURACY` of
the true one). Whether the switch happened depends only on how many distinct values were seen in total
(a count that only grows), and the bucket of a value depends on the value alone, so the final state,
and every quantile read from it, is a function of the multiset of values: order never matters.

Values are integers (satoshis, bets, streak lengths): exact, cheap to count, and free of float rounding.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Final

__all__ = ["EXACT_VALUES", "RELATIVE_ACCURACY", "ValueSketch"]

EXACT_VALUES: Final = 16_384  # distinct values counted exactly (a few hundred kB at most per sketch)
RELATIVE_ACCURACY: Final = 0.0005  # after that, every quantile is within 0.05 % of the true value
_GAMMA: Final = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA: Final = math.log(_GAMMA)


def _bucket(value: int) -> int:
    """A signed bucket key: 0 for 0, +-k for values in (gamma**(k-1), gamma**k]."""
    if value == 0:
        return 0
    key = max(1, math.ceil(math.log(abs(value)) / _LOG_GAMMA) + 1)
    return key if value > 0 else -key


def _representative(key: int) -> int:
    """The value a bucket stands for: the point of least relative error inside it, as an integer."""
    if key == 0:
        return 0
    k = abs(key) - 1
    value = round(2 * _GAMMA**k / (_GAMMA + 1)) if k else 1
    return value if key > 0 else -value


class ValueSketch:
    """Counts of integer values; exact quantiles while small, bounded memory always."""

    __slots__ = ("_counts", "_exact", "count")

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()
        self._exact = True
        self.count = 0

    @property
    def exact(self) -> bool:
        """Whether every quantile is exact (fewer than EXACT_VALUES distinct values so far)."""
        return self._exact

    def add(self, value: int, times: int = 1) -> None:
        self.count += times
        if self._exact:
            self._counts[value] += times
            if len(self._counts) > EXACT_VALUES:
                self._collapse()
        else:
            self._counts[_bucket(value)] += times

    def add_all(self, values: Iterable[int]) -> None:
        for value in values:
            self.add(value)

    def merge(self, other: ValueSketch) -> None:
        """Add another sketch's values (the result is the same as adding them one by one)."""
        if self._exact and other._exact:
            for value, times in other._counts.items():
                self.add(value, times)
            return
        if self._exact:
            self._collapse()
        self.count += other.count
        if other._exact:
            for value, times in other._counts.items():
                self._counts[_bucket(value)] += times
        else:
            self._counts.update(other._counts)

    def _collapse(self) -> None:
        buckets: Counter[int] = Counter()
        for value, times in self._counts.items():
            buckets[_bucket(value)] += times
        self._counts = buckets
        self._exact = False

    def items(self) -> Iterator[tuple[int, int]]:
        """(value, count) in increasing value; a bucket's value is its representative."""
        if self._exact:
            yield from sorted(self._counts.items())
            return
        for key in sorted(self._counts):
            yield _representative(key), self._counts[key]

    def quantile(self, q: float) -> int | None:
        """The nearest-rank quantile: the least value v with at least ceil(q * count) values <= v."""
        if not 0 <= q <= 1:
            raise ValueError(f"quantile {q} must lie in [0, 1]")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for value, times in self.items():
            seen += times
            if seen >= rank:
                return value
        raise AssertionError("unreachable: the counts add up to count")  # pragma: no cover

    def quantiles(self, qs: Iterable[float]) -> list[int | None]:
        return [self.quantile(q) for q in qs]
