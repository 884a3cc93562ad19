"""Roll sources: where the numbers 0..9999 of a simulated game come from.

Two sources, named in every result that uses them:

* ``provably-fair``: DuckDice's own SHA-512 roll (`betbot.core.fairness.roll`) of the seed pair and the
  nonce, exactly what the site and `betbot run` produce.
* ``fast``: a counter-based generator, statistically the same game at a fraction of the cost. The roll of
  nonce n under key k is

      x = splitmix64(k + (n + 1) * GAMMA)          (64-bit arithmetic, wrapping)
      roll = ((x >> 32) * 10000) >> 32

  i.e. the top 32 bits of a SplitMix64 output scaled onto 0..9999 (the scaling's bias is below 1 in 400,000
  per value, far under any test's resolution). Being counter-based, roll n needs no other roll: a Python
  loop and a NumPy kernel compute the same numbers, in any order, on any worker. `fast_roll` is the
  definition; `fast_rolls_at` computes it for a vector of states at once (NumPy's uint64 arithmetic wraps
  as the masking does), for the kernel's sessions in lockstep and for a simulated game's next rolls in a
  block (`fast_roll_block`). NumPy is imported only when a vector is asked for.

Seed derivation, documented once: a session's key is the first 8 bytes (big-endian) of
SHA-256("betbot/session/<master seed>/<session index>"), so session i's rolls depend on the master seed and
i alone, never on the worker count or the scheduling. The provably-fair source derives the session's seed
pair from the same text (`session_seed_text`) through `SeedPair.derive`.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "GAMMA",
    "MASK64",
    "SCALAR_BLOCK",
    "RollSource",
    "fast_roll",
    "fast_roll_block",
    "fast_rolls",
    "fast_rolls_at",
    "session_key",
    "session_seed_text",
    "splitmix64",
]

MASK64: Final = (1 << 64) - 1
GAMMA: Final = 0x9E3779B97F4A7C15  # SplitMix64's increment (the golden ratio in 64 bits)
_MIX1: Final = 0xBF58476D1CE4E5B9
_MIX2: Final = 0x94D049BB133111EB
_ROLLS: Final = 10_000
SCALAR_BLOCK: Final = 64  # blocks of up to this many fast rolls are computed without NumPy


class RollSource(StrEnum):
    PROVABLY_FAIR = "provably-fair"
    FAST = "fast"


def session_seed_text(master_seed: str, index: int) -> str:
    """The text session `index` of a Monte Carlo run derives its seeds from."""
    return f"betbot/session/{master_seed}/{index}"


def session_key(master_seed: str, index: int) -> int:
    """The fast source's 64-bit key for session `index` (see the module docstring)."""
    digest = hashlib.sha256(session_seed_text(master_seed, index).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def splitmix64(state: int) -> int:
    """SplitMix64's output function of a 64-bit state."""
    z = state & MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & MASK64
    return z ^ (z >> 31)


def fast_roll(key: int, nonce: int) -> int:
    """The fast source's roll 0..9999 for this key and nonce."""
    x = splitmix64(key + (nonce + 1) * GAMMA)
    return ((x >> 32) * _ROLLS) >> 32


def fast_roll_block(key: int, first: int, count: int) -> list[int]:
    """`fast_roll(key, n)` for n = first, ..., first + count - 1, computed at once."""
    if count <= SCALAR_BLOCK:
        # A few rolls (a simulated game's first block; `betbot run`'s check of its first bet): cheaper one by
        # one than NumPy's call, and a run that needs no more never imports NumPy (a tenth of a second).
        return [fast_roll(key, n) for n in range(first, first + count)]
    import numpy as np  # noqa: PLC0415 - NumPy loads when a vector is first asked for, not with the CLI

    nonces = np.arange(first + 1, first + count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        states = nonces * np.uint64(GAMMA) + np.uint64(key & MASK64)
    rolls: list[int] = fast_rolls_at(states).tolist()
    return rolls


def fast_rolls(keys: npt.NDArray[np.uint64], nonce: int) -> npt.NDArray[np.uint64]:
    """`fast_roll(key, nonce)` for every key at once."""
    import numpy as np  # noqa: PLC0415 - as in fast_roll_block

    with np.errstate(over="ignore"):
        return fast_rolls_at(keys + np.uint64(((nonce + 1) * GAMMA) & MASK64))


def fast_rolls_at(states: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The fast rolls of SplitMix64 states (key + (nonce + 1) * GAMMA, wrapping), all at once."""
    import numpy as np  # noqa: PLC0415 - as in fast_roll_block

    with np.errstate(over="ignore"):
        z = states >> np.uint64(30)
        z ^= states
        z *= np.uint64(_MIX1)
        z ^= z >> np.uint64(27)
        z *= np.uint64(_MIX2)
        z ^= z >> np.uint64(31)
        z >>= np.uint64(32)
        z *= np.uint64(_ROLLS)
        z >>= np.uint64(32)
    return z
