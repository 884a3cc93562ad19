"""How a run is cut up: the effective worker count (computed here and nowhere else) and the chunks.

Neither changes any result (session i depends on the master seed and i alone); they only decide how fast
results come back and how often progress moves.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Final

__all__ = [
    "CHUNKS_PER_WORKER", "CHUNK_SECONDS", "MAX_CHUNK", "MAX_KERNEL_CHUNK", "ChunkPlanner", "chunk_size",
    "effective_workers", "parse_workers", "plan_chunks",
]

# Enough chunks per worker that a slow chunk does not leave the others idle at the end and progress moves
# often; small enough chunks that a failure or Ctrl-C is acted on quickly.
CHUNKS_PER_WORKER: Final = 8
MAX_CHUNK: Final = 500
# The kernel plays a chunk's sessions in lockstep: its cost per step is mostly NumPy's per-call overhead, so
# it wants thousands of sessions per chunk (and gets through them in well under a second).
MAX_KERNEL_CHUNK: Final = 16_384
AUTO: Final = "auto"
# A chunk should take about this long, so progress moves (and Ctrl-C finds finished sessions) at least every
# second whatever a session costs: a long Fibonacci session on the generic path can take 50 ms.
CHUNK_SECONDS: Final = 0.5
FIRST_CHUNK: Final = 4  # generic-path sessions in the first chunks, before any chunk has been timed
FIRST_KERNEL_CHUNK: Final = 1024
MIN_KERNEL_CHUNK: Final = 256  # below this the kernel's per-step cost is paid for too few sessions


def parse_workers(text: str) -> int | None:
    """`--workers auto|K`: None for auto, else K >= 1 (ValueError with the fix otherwise)."""
    if text.strip().lower() == AUTO:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"--workers takes auto or a whole number of 1 or more, not {text!r}") from None
    if value < 1:
        raise ValueError(f"--workers takes auto or a whole number of 1 or more, not {value}")
    return value


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


def effective_workers(requested: int | None, sessions: int) -> int:
    """The worker count: what was asked (auto: the CPUs available), never more than there are sessions."""
    wanted = available_cpus() if requested is None else requested
    return max(1, min(wanted, sessions))


def chunk_size(sessions: int, workers: int, *, kernel: bool = False) -> int:
    largest = MAX_KERNEL_CHUNK if kernel else MAX_CHUNK
    return max(1, min(largest, math.ceil(sessions / (workers * CHUNKS_PER_WORKER))))


def plan_chunks(sessions: int, size: int, *, first: int = 0) -> Iterator[tuple[int, int]]:
    """Consecutive (start, stop) index ranges covering first..sessions-1."""
    for start in range(first, sessions, size):
        yield start, min(start + size, sessions)


class ChunkPlanner:
    """Consecutive chunks whose size follows the time the last ones took: about CHUNK_SECONDS each, never
    more than `largest` sessions (nor fewer than the kernel wants). Sizes change no result: session i
    depends on the master seed and i alone."""

    def __init__(self, sessions: int, largest: int, *, kernel: bool = False, smallest: int | None = None,
                 first: int = 0) -> None:
        self.sessions = sessions
        self.largest = largest
        if smallest is None:
            smallest = min(largest, MIN_KERNEL_CHUNK) if kernel else 1
        self.smallest = smallest
        self.size = max(smallest, min(largest, FIRST_KERNEL_CHUNK if kernel else FIRST_CHUNK))
        self.start = first  # sessions before it were played already (`betbot optimize` extends an evaluation)

    def next(self) -> tuple[int, int] | None:
        if self.start >= self.sessions:
            return None
        stop = min(self.start + self.size, self.sessions)
        chunk = (self.start, stop)
        self.start = stop
        return chunk

    def observe(self, sessions: int, seconds: float) -> None:
        """A chunk of `sessions` took `seconds` in its worker: size the next ones to CHUNK_SECONDS."""
        if sessions <= 0:
            return
        per_session = seconds / sessions
        wanted = self.largest if per_session <= 0 else int(CHUNK_SECONDS / per_session)
        self.size = max(self.smallest, min(self.largest, wanted))
