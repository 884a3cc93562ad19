"""The provably-fair roll (duckdice-api.md), the win rules at their boundaries, payouts and seeds."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.core.fairness import (
    ROLLS,
    GameRules,
    SeedPair,
    bet_wins,
    pair_roller,
    payout_multiplier,
    range_chance,
    roll,
    roll_from_bytes,
    roll_from_digest,
    server_seed_hash,
    win_profit,
    winning_numbers,
)
from betbot.core.models import BetRequest
from tests.helpers import dice


# -- the roll -----------------------------------------------------------------------------------------
def windows_by_hand(server: str, client: str, nonce: int) -> tuple[str, list[int]]:
    """Steps 1-3 of the spec, written out independently of the code under test."""
    digest = hashlib.sha512((server + client + str(nonce)).encode("utf-8")).hexdigest()
    assert len(digest) == 128
    return digest, [int(digest[i : i + 5], 16) for i in range(0, 121, 5)]


def expected_roll(server: str, client: str, nonce: int) -> int:
    digest, windows = windows_by_hand(server, client, nonce)
    assert len(windows) == 25  # offsets 0, 5, ..., 120
    for value in windows:
        if value < 1_000_000:
            return value % 10_000
    return int(digest[-3:], 16) % 10_000


# Computed once, and checked by hand against the spec (digests cross-checked with `sha512sum`):
#   sha512("server-seed-1client-seed-10") = 62a6e2a7...  window 0x62a6e = 404078  -> 4078
#   sha512("abcxyz1")                     = afc5a23d...  window 0xafc5a = 719962  -> 9962
#   sha512("betbotduckdice42")            = 6181af21...  window 0x6181a = 399386  -> 9386
#   sha512("server-seed-1client-seed-18") = f8e47b8a4e...  0xf8e47 = 1019463 (rejected),
#                                                          0xb8a4e = 756302  -> 6302
@pytest.mark.parametrize(
    ("server", "client", "nonce", "expected"),
    [
        ("server-seed-1", "client-seed-1", 0, 4078),
        ("abc", "xyz", 1, 9962),
        ("betbot", "duckdice", 42, 9386),
        ("server-seed-1", "client-seed-1", 8, 6302),  # first window rejected
    ],
)
def test_literal_rolls(server: str, client: str, nonce: int, expected: int) -> None:
    assert roll(server, client, nonce) == expected


def test_literal_rejected_window_case_is_what_it_claims() -> None:
    digest, windows = windows_by_hand("server-seed-1", "client-seed-1", 8)
    assert digest.startswith("f8e47b8a4e")
    assert windows[0] == 1_019_463 >= 1_000_000
    assert windows[1] == 756_302


@pytest.mark.parametrize("nonce", [0, 1, 2, 3, 17, 999, 123_456])
@pytest.mark.parametrize(("server", "client"), [("a" * 64, "b" * 16), ("S3rv3r", "cl13nt"), ("", "x")])
def test_roll_matches_the_procedure_walked_by_hand(server: str, client: str, nonce: int) -> None:
    assert roll(server, client, nonce) == expected_roll(server, client, nonce)


def test_no_separator_and_decimal_nonce() -> None:
    # "ab" + "c" + "12" and "a" + "bc" + "12" are the same text: the same roll, by the spec.
    assert roll("ab", "c", 12) == roll("a", "bc", 12) == expected_roll("abc", "", 12)


def test_a_first_window_of_a_million_or_more_is_rejected() -> None:
    server, client = "fixed-server-seed", "fixed-client-seed"
    for nonce in range(10_000):
        _, windows = windows_by_hand(server, client, nonce)
        if windows[0] >= 1_000_000 and windows[1] < 1_000_000:
            break
    else:
        pytest.fail("no nonce with a rejected first window found")
    assert roll(server, client, nonce) == windows[1] % 10_000
    # the found case must discriminate: taking the first window anyway would give another roll
    assert windows[0] % 10_000 != windows[1] % 10_000


def test_roll_from_digest_fallback_when_no_window_qualifies() -> None:
    assert roll_from_digest("f" * 128) == 4095  # last 3 hex 'fff'
    assert roll_from_digest("f" * 125 + "123") == 0x123
    # every 5-hex window is >= 1,000,000 (0xf4240), the last 3 hex chars decide
    assert roll_from_digest("f4240" * 25 + "abc") == 0xABC % 10_000


def test_roll_from_digest_window_boundaries() -> None:
    below = format(999_999, "05x")  # 'f423f'
    at = format(1_000_000, "05x")  # 'f4240'
    assert roll_from_digest(below + "f" * 123) == 9999
    assert roll_from_digest(at + below + "f" * 118) == 9999  # the first is rejected, the second taken
    assert roll_from_digest(at + "0270f" + "f" * 118) == 9999  # 0x0270f = 9999
    assert roll_from_digest(at + "02710" + "f" * 118) == 0  # 10000 mod 10000
    # only the last window (offset 120) qualifies
    assert roll_from_digest("f" * 120 + "12345" + "fff") == 0x12345 % 10_000
    # offset 125 is the fallback, never a window of its own
    assert roll_from_digest("f" * 125 + "000") == 0


@settings(deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.integers(min_value=0, max_value=10**12))
def test_roll_property(server: str, client: str, nonce: int) -> None:
    value = roll(server, client, nonce)
    assert 0 <= value < ROLLS
    assert value == expected_roll(server, client, nonce)


@settings(deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.integers(min_value=0, max_value=10**12))
def test_pair_roller_property(server: str, client: str, nonce: int) -> None:
    assert pair_roller(server, client)(nonce) == expected_roll(server, client, nonce)


def test_pair_roller_walks_rejected_first_windows_too() -> None:
    server, client = "fixed-server-seed", "fixed-client-seed"
    roll_of = pair_roller(server, client)
    rejected = 0
    for nonce in range(3_000):  # the same state copied again and again: no nonce leaks into the next
        _, windows = windows_by_hand(server, client, nonce)
        rejected += windows[0] >= 1_000_000
        assert roll_of(nonce) == expected_roll(server, client, nonce), nonce
    assert rejected > 50  # about 4.6 % of first windows are 1,000,000 or more


@pytest.mark.parametrize(
    "hex_digest",
    [
        format(999_999, "05x") + "f" * 123,  # the first window just qualifies
        format(1_000_000, "05x") + format(999_999, "05x") + "f" * 118,  # just rejected: the second decides
        "fffff" + "0270f" + "f" * 118,
        "f" * 120 + "12345" + "fff",  # only the last window
        "f" * 128,  # none: the last 3 hex characters
        "00000" + "f" * 123,
    ],
)
def test_roll_from_bytes_is_the_hex_walk(hex_digest: str) -> None:
    assert roll_from_bytes(bytes.fromhex(hex_digest)) == roll_from_digest(hex_digest)


# -- win rules ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("chance", "w"), [("0.01", 1), ("1", 100), ("49.5", 4950), ("77.77", 7777), ("98", 9800), ("99.99", 9999)]
)
def test_winning_numbers(chance: str, w: int) -> None:
    assert winning_numbers(Decimal(chance)) == w


@pytest.mark.parametrize(
    ("chance", "high", "wins", "loses"),
    [
        ("0.01", True, [9999], [9998, 0, 5000]),
        ("0.01", False, [0], [1, 9999]),
        ("49.5", True, [5050, 5051, 9999], [5049, 4950, 0]),
        ("49.5", False, [0, 4949], [4950, 5050, 9999]),
        ("98", True, [200, 201, 9999], [199, 0]),
        ("98", False, [0, 9799], [9800, 9999]),
    ],
)
def test_dice_win_boundaries(chance: str, high: bool, wins: list[int], loses: list[int]) -> None:
    bet = dice("1", chance, high=high)
    for number in wins:
        assert bet_wins(bet, number), number
    for number in loses:
        assert not bet_wins(bet, number), number


@pytest.mark.parametrize("chance", ["0.01", "12.34", "49.5", "77.77", "98"])
@pytest.mark.parametrize("high", [True, False])
def test_dice_win_count_is_w(chance: str, high: bool) -> None:
    bet = dice("1", chance, high=high)
    assert sum(bet_wins(bet, n) for n in range(ROLLS)) == winning_numbers(Decimal(chance))


def range_bet(low: int, high: int, inside: bool) -> BetRequest:
    return BetRequest(amount=Decimal(1), chance=range_chance(low, high, inside), currency="DOGE",
                      range=(low, high), range_in=inside)


def test_range_edges_inclusive() -> None:
    bet_in = range_bet(100, 2222, True)
    assert bet_wins(bet_in, 100)
    assert bet_wins(bet_in, 2222)
    assert bet_wins(bet_in, 1000)
    assert not bet_wins(bet_in, 99)
    assert not bet_wins(bet_in, 2223)
    bet_out = range_bet(100, 2222, False)
    assert not bet_wins(bet_out, 100)
    assert not bet_wins(bet_out, 2222)
    assert bet_wins(bet_out, 99)
    assert bet_wins(bet_out, 2223)
    assert bet_wins(bet_out, 0)
    assert bet_wins(bet_out, 9999)
    single = range_bet(5000, 5000, True)
    assert [n for n in range(ROLLS) if bet_wins(single, n)] == [5000]


@pytest.mark.parametrize(
    ("low", "high", "inside", "chance"),
    [(0, 2222, True, "22.23"), (0, 2222, False, "77.77"), (5000, 5000, True, "0.01"),
     (5000, 5000, False, "99.99"), (0, 9999, True, "100"), (100, 199, True, "1")],
)
def test_range_chance(low: int, high: int, inside: bool, chance: str) -> None:
    assert range_chance(low, high, inside) == Decimal(chance)
    bet = range_bet(low, high, inside)
    assert sum(bet_wins(bet, n) for n in range(ROLLS)) == int(Decimal(chance) * 100)


# -- payouts ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("chance", "edge", "payout"),
    [("49.5", "1", "2.0000"), ("77.77", "1", "1.2730"), ("98", "1", "1.0102"), ("0.01", "1", "9900.0000"),
     ("50", "3", "1.9400"), ("33", "1", "3.0000"), ("66", "1", "1.5000"), ("7", "1", "14.1429")],
)
def test_payout_multiplier(chance: str, edge: str, payout: str) -> None:
    value = payout_multiplier(Decimal(chance), Decimal(edge))
    assert value == Decimal(payout)
    assert value.as_tuple().exponent == -4


@pytest.mark.parametrize(
    ("amount", "payout", "profit"),
    [
        ("1", "2.0000", "1.00000000"),
        ("0.00000007", "2.0000", "0.00000007"),
        ("0.00000003", "1.5", "0.00000001"),  # 0.000000015: down, not half-up
        ("0.00000001", "1.0102", "0"),  # a win too small to show a profit is still a win of 0
        ("1.23456789", "1.2730", "0.33703703"),  # 0.33703703397 -> down
    ],
)
def test_win_profit_rounds_down(amount: str, payout: str, profit: str) -> None:
    value = win_profit(Decimal(amount), Decimal(payout))
    assert value == Decimal(profit)
    assert value.as_tuple().exponent == -8


def test_game_rules_edges() -> None:
    rules = GameRules()
    assert rules.edge == 1
    assert rules.faucet_edge == 3
    assert rules.min_chance == Decimal("0.01")
    assert rules.max_chance == 98
    assert rules.edge_for(dice()) == 1
    assert rules.edge_for(dice(faucet=True)) == 3


# -- seeds --------------------------------------------------------------------------------------------------
def test_server_seed_hash_is_sha256_hex() -> None:
    assert server_seed_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    pair = SeedPair(server_seed="abc", client_seed="x")
    assert pair.server_seed_hash == hashlib.sha256(b"abc").hexdigest()


def test_seed_pair_derive_is_deterministic_with_a_seed() -> None:
    a = SeedPair.derive("42")
    b = SeedPair.derive("42")
    assert a == b
    assert a.server_seed == hashlib.sha256(b"betbot/server/42").hexdigest()
    assert a.client_seed == hashlib.sha256(b"betbot/client/42").hexdigest()[:16]
    assert a.first_nonce == 0
    assert SeedPair.derive("43") != a
    assert SeedPair.derive("42", first_nonce=1).first_nonce == 1


def test_seed_pair_derive_is_random_without_a_seed() -> None:
    pairs = {SeedPair.derive(None) for _ in range(5)}
    assert len({p.server_seed for p in pairs}) == 5
    assert len({p.client_seed for p in pairs}) == 5
    assert all(len(p.server_seed) == 64 and len(p.client_seed) == 16 for p in pairs)
    assert SeedPair.derive(None, first_nonce=3).first_nonce == 3


def test_seed_pair_rotated() -> None:
    pair = SeedPair.derive("42", first_nonce=1)
    one, two = pair.rotated(1), pair.rotated(2)
    assert one.server_seed != pair.server_seed
    assert one.server_seed != two.server_seed
    assert one == pair.rotated(1)
    assert one.client_seed == pair.client_seed
    assert one.first_nonce == 1
