"""DuckDice's provably-fair roll, its win rules and its payout; also the verifier's primitives.

The roll (duckdice-api.md, "Provably fair roll"):
  1. text = server seed + client seed + nonce in decimal, no separators;
  2. h = SHA-512(text as UTF-8), 128 lowercase hex characters (plain SHA-512, not HMAC);
  3. read h in 5-character windows from offset 0 (0, 5, ..., 120) as integers;
  4. the first window below 1,000,000 gives roll = value mod 10,000;
  5. if none is (practically never), the last 3 hex characters (offset 125) give the roll.

Rolls are integers 0..9999 (displayed 0.00..99.99). A chance of C % has W = C * 100 winning numbers:
high wins when roll >= 10000 - W, low wins when roll < W.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from betbot.core.models import BetRequest

__all__ = [
    "ROLLS",
    "GameRules",
    "SeedPair",
    "bet_wins",
    "pair_roller",
    "payout_multiplier",
    "range_chance",
    "roll",
    "roll_from_bytes",
    "roll_from_digest",
    "server_seed_hash",
    "win_profit",
    "winning_numbers",
    "winning_window",
]

ROLLS = 10_000
_PAYOUT_STEP = Decimal("0.0001")
_SATOSHI = Decimal("0.00000001")
_HUNDRED = Decimal(100)


def roll_from_digest(hex_digest: str) -> int:
    """Steps 3-5 of the roll, from the 128-character SHA-512 hex digest."""
    for offset in range(0, 125, 5):
        value = int(hex_digest[offset : offset + 5], 16)
        if value < 1_000_000:
            return value % ROLLS
    return int(hex_digest[125:], 16) % ROLLS


def roll_from_bytes(digest: bytes) -> int:
    """Steps 3-5 from the raw digest. The first window is the digest's top 20 bits, and it is below 1,000,000
    about 95 % of the time, so it is read straight from the bytes; the rare rest take the hex walk."""
    value = digest[0] << 12 | digest[1] << 4 | digest[2] >> 4
    if value < 1_000_000:
        return value % ROLLS
    return roll_from_digest(digest.hex())


def roll(server_seed: str, client_seed: str, nonce: int) -> int:
    """The roll DuckDice makes for this seed pair and nonce: an integer 0..9999."""
    return roll_from_bytes(hashlib.sha512(f"{server_seed}{client_seed}{nonce}".encode()).digest())


def pair_roller(server_seed: str, client_seed: str) -> Callable[[int], int]:
    """`roll(server_seed, client_seed, nonce)` as a function of the nonce, for the many bets of one seed pair.

    The seeds are the start of every text hashed under the pair, so they are fed to SHA-512 once and each
    nonce continues a copy of that state: the same digest (hashing is incremental), without formatting and
    encoding the seeds again and building a fresh hash object per bet (together about half a roll's cost)."""
    start = hashlib.sha512(f"{server_seed}{client_seed}".encode()).copy

    def roll_of(nonce: int) -> int:
        state = start()
        state.update(b"%d" % nonce)
        digest = state.digest()
        value = digest[0] << 12 | digest[1] << 4 | digest[2] >> 4  # roll_from_bytes, inlined: once a bet
        if value < 1_000_000:
            return value % ROLLS
        return roll_from_digest(digest.hex())

    return roll_of


def server_seed_hash(server_seed: str) -> str:
    """What the site shows before the seed is revealed: SHA-256 of the seed's text, hex."""
    return hashlib.sha256(server_seed.encode()).hexdigest()


def winning_numbers(chance: Decimal) -> int:
    """W, the count of winning rolls for a chance in percent (0.01 % steps)."""
    return int(chance * 100)


def range_chance(low: int, high: int, inside: bool) -> Decimal:
    """The win chance of a Range Dice bet on the inclusive range [low, high]."""
    width = high - low + 1
    return Decimal(width if inside else ROLLS - width) / 100


def winning_window(bet: BetRequest) -> tuple[int, int, bool]:
    """The rolls that win `bet` as (lo, hi, inside): a roll wins when `(lo <= roll <= hi) is inside`.

    Original Dice high wins `roll >= 10000 - W`, low `roll < W`; Range Dice in/out its inclusive range. Callers
    that see the same bet shape many times (the simulated house, the verifier) work it out once."""
    if bet.range is not None:
        return bet.range[0], bet.range[1], bet.range_in
    w = winning_numbers(bet.chance)
    return (ROLLS - w, ROLLS - 1, True) if bet.high else (0, w - 1, True)


def bet_wins(bet: BetRequest, number: int) -> bool:
    """Whether `number` wins `bet`, for Original Dice high/low and Range Dice in/out."""
    low, high, inside = winning_window(bet)
    return (low <= number <= high) is inside


def payout_multiplier(chance: Decimal, edge: Decimal) -> Decimal:
    """(100 - edge) / chance, to 4 places as the site shows it (77.77 % at 1 % edge pays 1.2730)."""
    return ((_HUNDRED - edge) / chance).quantize(_PAYOUT_STEP, rounding=ROUND_HALF_UP)


def win_profit(amount: Decimal, payout: Decimal) -> Decimal:
    """Profit of a winning bet: amount * payout - amount, rounded down to the satoshi."""
    return (amount * payout - amount).quantize(_SATOSHI, rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True, kw_only=True)
class GameRules:
    """The game's limits. The site does not document chance limits, so they are settings."""

    edge: Decimal = Decimal("1")
    faucet_edge: Decimal = Decimal("3")
    min_chance: Decimal = Decimal("0.01")
    max_chance: Decimal = Decimal("98")

    def edge_for(self, bet: BetRequest) -> Decimal:
        return self.faucet_edge if bet.faucet else self.edge


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedPair:
    """A server seed (secret until rotated), the client seed, and the nonce of the first bet."""

    server_seed: str
    client_seed: str
    first_nonce: int = 0

    @property
    def server_seed_hash(self) -> str:
        return server_seed_hash(self.server_seed)

    @classmethod
    def derive(cls, seed: str | None, *, first_nonce: int = 0) -> SeedPair:
        """From a user's `--seed`, deterministically (so runs replay exactly); at random without one."""
        if seed is None:
            return cls(server_seed=secrets.token_hex(32), client_seed=secrets.token_hex(8),
                       first_nonce=first_nonce)
        server = hashlib.sha256(f"betbot/server/{seed}".encode()).hexdigest()
        client = hashlib.sha256(f"betbot/client/{seed}".encode()).hexdigest()[:16]
        return cls(server_seed=server, client_seed=client, first_nonce=first_nonce)

    def rotated(self, generation: int) -> SeedPair:
        """The next pair after a seed rotation: a fresh server seed derived from this one."""
        server = hashlib.sha256(f"betbot/rotate/{generation}/{self.server_seed}".encode()).hexdigest()
        return SeedPair(server_seed=server, client_seed=self.client_seed, first_nonce=self.first_nonce)
