"""The simulator: the site's roll at the nonce that follows the seq, balances, refusals, seed rotation."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from betbot.backends.base import immediate_placer
from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.fairness import GameRules, SeedPair, bet_wins, payout_multiplier, roll, server_seed_hash, win_profit
from betbot.core.models import RefusalKind, Refused, Settled
from tests.helpers import CURRENCY, D, dice


def game(balance: str = "100", *, first_nonce: int = 0, first_seq: int = 1,
         min_bets: dict[str, Decimal] | None = None) -> SimulatedGame:
    seeds = SeedPair(server_seed="server-seed-1", client_seed="client-seed-1", first_nonce=first_nonce)
    return SimulatedGame(seeds=seeds, balances={CURRENCY: D(balance)}, min_bets=min_bets, first_seq=first_seq)


def play_ok(g: SimulatedGame, seq: int, amount: str = "1", chance: str = "49.5", **kw) -> Settled:
    outcome = g.play(seq, dice(amount, chance, **kw))
    assert isinstance(outcome, Settled), outcome
    return outcome


@pytest.mark.parametrize("first_nonce", [0, 1, 5])
def test_nonce_follows_seq(first_nonce: int) -> None:
    g = game(first_nonce=first_nonce)
    for seq in (1, 2, 3, 10, 4):
        outcome = play_ok(g, seq)
        assert outcome.nonce == first_nonce + seq - 1
        assert outcome.number == roll("server-seed-1", "client-seed-1", first_nonce + seq - 1)
        assert outcome.seq == seq


def test_literal_rolls_through_the_game() -> None:
    # see test_fairness: roll(server-seed-1, client-seed-1, 0) == 4078, nonce 8 -> 6302
    g = game()
    assert play_ok(g, 1).number == 4078
    assert play_ok(g, 9).number == 6302


def test_first_seq_offsets_the_nonce() -> None:
    g = game(first_nonce=3, first_seq=11)
    assert play_ok(g, 11).nonce == 3
    assert play_ok(g, 14).nonce == 6


def test_rolls_are_independent_of_call_order() -> None:
    order = list(range(1, 41))
    shuffled = order[:]
    random.Random(7).shuffle(shuffled)
    a, b = game("1000"), game("1000")
    by_seq_a = {seq: play_ok(a, seq, "0.01").number for seq in order}
    by_seq_b = {seq: play_ok(b, seq, "0.01").number for seq in shuffled}
    assert by_seq_a == by_seq_b
    assert len(set(by_seq_a.values())) > 30  # the rolls really vary


def test_settled_fields_and_win_rule() -> None:
    g = game()
    outcome = play_ok(g, 1, "1", "77.77")
    seeds = g.seeds
    assert outcome.win == bet_wins(outcome.bet, outcome.number)
    assert outcome.payout == D("1.2730")
    assert outcome.client_seed == "client-seed-1"
    assert outcome.server_seed_hash == server_seed_hash("server-seed-1") == seeds.server_seed_hash
    assert outcome.bet_hash  # unique per seed pair and nonce
    assert outcome.bet_hash != play_ok(g, 2).bet_hash


def test_balances_move() -> None:
    g = game("10")
    results = [play_ok(g, seq, "1", "49.5") for seq in range(1, 11)]
    wins = sum(r.win for r in results)
    assert 0 < wins < 10  # both directions exercised with these seeds
    balance = D(10)
    for r in results:
        expected_profit = D(1) if r.win else D(-1)  # payout 2.0000 at 49.5 %
        assert r.profit == expected_profit
        balance += r.profit
        assert r.balance == balance  # the balance right after that bet
    assert g.balances[CURRENCY] == balance
    assert g.bets == 10
    assert g.wins == wins
    assert g.profit[CURRENCY] == balance - 10
    assert g.volume[CURRENCY] == D(10)


def test_win_profit_uses_the_edge_of_the_mode() -> None:
    rules = GameRules(edge=D(1), faucet_edge=D(3))
    g = SimulatedGame(seeds=SeedPair.derive("x"), balances={CURRENCY: D(100)}, rules=rules)
    for seq in range(1, 30):
        outcome = play_ok(g, seq, "1", "49.5", faucet=seq % 2 == 0)
        edge = D(3) if seq % 2 == 0 else D(1)
        assert outcome.payout == payout_multiplier(D("49.5"), edge)
        if outcome.win:
            assert outcome.profit == win_profit(D(1), outcome.payout)
        else:
            assert outcome.profit == D(-1)


def test_min_bet_refusal() -> None:
    g = game(min_bets={CURRENCY: D(1)})
    outcome = g.play(1, dice("0.99999999"))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.MIN_BET
    assert outcome.min_bet == D(1)
    assert "1" in outcome.message
    assert CURRENCY in outcome.message
    assert g.balances[CURRENCY] == D(100)
    assert g.bets == 0
    assert isinstance(g.play(2, dice("1")), Settled)


def test_insufficient_balance_refusal() -> None:
    g = game("1")
    outcome = g.play(1, dice("1.00000001"))
    assert isinstance(outcome, Refused)
    assert outcome.kind is RefusalKind.BALANCE
    assert g.balances[CURRENCY] == D(1)
    assert g.bets == 0
    assert isinstance(g.play(2, dice("1")), Settled)  # the whole balance is fine
    other = g.play(3, dice("1", currency="BTC"))  # no balance in that currency
    assert isinstance(other, Refused)
    assert other.kind is RefusalKind.BALANCE


def test_rotate_changes_the_seeds_from_a_seq_on() -> None:
    g = game(first_nonce=0)
    old = g.seeds
    before = [play_ok(g, seq) for seq in (1, 2, 3)]
    rotation = g.rotate(4)
    new = g.seeds
    assert new.server_seed != old.server_seed
    assert new.client_seed == old.client_seed
    assert rotation.previous_server_seed == old.server_seed
    assert rotation.previous_server_seed_hash == old.server_seed_hash
    assert rotation.server_seed_hash == new.server_seed_hash
    assert g.seed_history == [old, new]
    after = [play_ok(g, seq) for seq in (4, 5)]
    assert [o.nonce for o in after] == [0, 1]  # the nonce restarts with the new pair
    assert [o.number for o in after] == [roll(new.server_seed, new.client_seed, n) for n in (0, 1)]
    assert all(o.server_seed_hash == new.server_seed_hash for o in after)
    # a late reply for a bet before the rotation still uses the old pair
    late = play_ok(g, 2)
    assert late.number == before[1].number
    assert late.nonce == 1
    assert late.server_seed_hash == old.server_seed_hash


def test_rotate_with_a_client_seed() -> None:
    g = game()
    rotation = g.rotate(1, client_seed="mine")
    assert rotation.client_seed == "mine"
    assert g.seeds.client_seed == "mine"
    assert play_ok(g, 1).number == roll(g.seeds.server_seed, "mine", 0)


async def test_backend_rotate_seed_applies_after_the_last_played_seq() -> None:
    g = game()
    backend = SimulatorBackend(g)
    for seq in (1, 2, 3):
        play_ok(g, seq)
    old = g.seeds
    rotation = await backend.rotate_seed()
    assert rotation.previous_server_seed == old.server_seed
    assert play_ok(g, 4).nonce == 0
    assert play_ok(g, 3).nonce == 2  # seq 3 belongs to the old pair


def test_latency_model() -> None:
    assert LatencyModel().instant
    assert LatencyModel().sample() == 0.0
    assert not LatencyModel(fixed=0.1).instant
    assert not LatencyModel(jitter=0.1).instant
    model = LatencyModel(fixed=0.2, jitter=0.3, rng=random.Random(1))
    samples = [model.sample() for _ in range(200)]
    assert all(0.2 <= s < 0.5 for s in samples)
    assert max(samples) - min(samples) > 0.2  # jitter really spreads them
    again = LatencyModel(fixed=0.2, jitter=0.3, rng=random.Random(1))
    assert samples == [again.sample() for _ in range(200)]
    assert LatencyModel(fixed=0.25).sample() == 0.25


def test_answers_at_once_only_without_latency() -> None:
    instant = SimulatorBackend(game())
    placer = immediate_placer(instant)
    assert placer is not None
    outcome = placer(1, dice())
    assert isinstance(outcome, Settled)
    assert outcome.nonce == 0
    slow = SimulatorBackend(game(), LatencyModel(fixed=0.5))
    assert immediate_placer(slow) is None  # the engine sends its bets through tasks
    assert slow.game.bets == 0


async def test_async_place_balance_and_stats() -> None:
    backend = SimulatorBackend(game("10"))
    assert backend.name == "simulator"
    assert backend.live is False
    outcome = await backend.place(1, dice("1"))
    assert isinstance(outcome, Settled)
    assert await backend.balance(CURRENCY) == outcome.balance
    stats = await backend.stats(CURRENCY)
    assert stats.bets == 1
    assert stats.wins == int(outcome.win)
    assert stats.balance == outcome.balance
    assert stats.profit == outcome.profit
    assert stats.volume == D(1)
    assert await backend.balance("BTC") == 0
    await backend.aclose()


def test_the_house_books_every_bet_across_currencies_and_past_its_memo_of_requests() -> None:
    """Profit and volume per currency are the sums over the bets played, whether the request is the same object
    again, a new one, or one the house forgot (its memo holds 64) and meets again; a refused bet adds nothing."""
    seeds = SeedPair.derive("books")
    g = SimulatedGame(seeds=seeds, balances={"DOGE": D("1000"), "BTC": D("100")})
    rng = random.Random(5)
    requests = [dice(f"0.{n:08d}", "49.5", high=n % 2 == 0) for n in range(1, 100)]
    requests += [dice(f"0.{n:03d}", "33", currency="BTC") for n in range(1, 40)]
    profit: dict[str, Decimal] = {}
    volume: dict[str, Decimal] = {}
    for seq in range(1, 2_000):
        bet = requests[rng.randrange(len(requests))] if seq % 7 else requests[seq % len(requests)]
        outcome = g.play(seq, bet)
        assert isinstance(outcome, Settled)
        profit[bet.currency] = profit.get(bet.currency, D("0")) + outcome.profit
        volume[bet.currency] = volume.get(bet.currency, D("0")) + bet.amount
        if seq in (1, 64, 65, 500, 1_999):  # asking changes nothing
            assert (g.profit, g.volume) == (profit, volume)
    assert g.play(2_000, dice("500", "49.5", currency="BTC")).__class__ is Refused  # above the BTC balance
    assert (g.profit, g.volume) == (profit, volume)
    assert g.balances == {"DOGE": D("1000") + profit["DOGE"], "BTC": D("100") + profit["BTC"]}
    assert all(profit.values())  # both currencies played and moved
