"""The verifier: rolls re-computed by hand, journaled sessions checked bet by bet, `betbot verify` end to end."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.cli import main
from betbot.core.fairness import (
    SeedPair,
    bet_wins,
    payout_multiplier,
    roll,
    server_seed_hash,
    win_profit,
    winning_window,
)
from betbot.core.game import SimulatedGame
from betbot.core.verify import (
    MAX_NONCES,
    JournaledBet,
    NonceSet,
    PairToVerify,
    Verdict,
    format_roll,
    parse_nonces,
    trace_roll,
    verify_bets,
)
from betbot.journal import Journal
from betbot.journal.verify import SessionVerification, reveal_and_verify, verify_session
from tests.helpers import CURRENCY, dice

SERVER, CLIENT = "betbot-server-seed", "betbot-client"


def windows(server: str, client: str, nonce: int) -> list[int]:
    """The spec's 5-hex windows (offsets 0, 5, ..., 120), computed here independently of the code."""
    digest = hashlib.sha512(f"{server}{client}{nonce}".encode()).hexdigest()
    return [int(digest[i : i + 5], 16) for i in range(0, 121, 5)]


# -- rolls, by hand ----------------------------------------------------------------------------------------
# Checked by hand against the spec:
#   sha512("betbot-server-seedbetbot-client9")   = f9fd03b7cc...: 0xf9fd0 = 1,023,952 rejected,
#                                                   0x3b7cc = 243,660 -> roll 3660 (36.60)
#   sha512("betbot-server-seedbetbot-client248") = fec20fccb8b770...: 0xfec20 and 0xfccb8 rejected,
#                                                   0xb7705 = 751,365 -> roll 1365 (13.65)
@pytest.mark.parametrize(
    ("nonce", "prefix", "offset", "value", "expected"),
    [
        (9, "f9fd03b7cc", 5, 243_660, 3660),
        (248, "fec20fccb8b770", 10, 751_365, 1365),
    ],
)
def test_hand_checked_rejected_windows(nonce: int, prefix: str, offset: int, value: int, expected: int) -> None:
    trace = trace_roll(SERVER, CLIENT, nonce)
    assert trace.digest.startswith(prefix)
    assert int(prefix[:5], 16) >= 1_000_000  # the first window really is rejected
    assert (trace.offset, trace.value, trace.roll) == (offset, value, expected)
    assert roll(SERVER, CLIENT, nonce) == expected
    assert format_roll(trace.roll) == f"{expected // 100}.{expected % 100:02d}"


def test_a_rejected_first_window_found_by_search_gives_the_next_window() -> None:
    nonce = next(n for n in range(10_000) if windows("search-server", "search-client", n)[0] >= 1_000_000)
    values = windows("search-server", "search-client", nonce)
    taken = next(i for i, v in enumerate(values) if v < 1_000_000)
    trace = trace_roll("search-server", "search-client", nonce)
    assert taken >= 1
    assert trace.offset == taken * 5
    assert trace.roll == values[taken] % 10_000
    # the case discriminates: reading the rejected window anyway would give another roll
    assert values[0] % 10_000 != trace.roll


def test_a_window_below_a_million_is_taken_at_offset_zero() -> None:
    nonce = next(n for n in range(100) if windows(SERVER, CLIENT, n)[0] < 1_000_000)
    trace = trace_roll(SERVER, CLIENT, nonce)
    assert trace.offset == 0
    assert trace.roll == windows(SERVER, CLIENT, nonce)[0] % 10_000


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=30), st.text(max_size=30), st.integers(min_value=0, max_value=10**9))
def test_trace_roll_equals_the_games_roll(server: str, client: str, nonce: int) -> None:
    assert trace_roll(server, client, nonce).roll == roll(server, client, nonce)


@pytest.mark.parametrize(("text", "expected"), [("0-3", range(4)), ("7", range(7, 8)), (" 5-5 ", range(5, 6))])
def test_parse_nonces(text: str, expected: range) -> None:
    assert parse_nonces(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("x-3", "not a nonce range"), ("-3", "not a nonce range"), ("5-2", "ends before it starts"),
     (f"0-{MAX_NONCES}", "at most")],
)
def test_parse_nonces_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nonces(text)


# -- verify_bets -------------------------------------------------------------------------------------------
def journaled(seq: int, nonce: int, *, server: str = SERVER, amount: str = "1") -> JournaledBet:
    bet = dice(amount)
    number = roll(server, CLIENT, nonce)
    payout = payout_multiplier(bet.chance, Decimal(1))
    win = number >= 10_000 - 4950
    return JournaledBet(seq=seq, bet=bet, nonce=nonce, roll=number, win=win, payout=payout,
                        profit=win_profit(bet.amount, payout) if win else -bet.amount)


def pair(first_seq: int, server: str, *, revealed: bool = True) -> PairToVerify:
    return PairToVerify(first_seq=first_seq, server_seed_hash=server_seed_hash(server), client_seed=CLIENT,
                        server_seed=server if revealed else None)


def test_honest_bets_match_and_unrevealed_pairs_wait() -> None:
    bets = [journaled(seq, seq - 1) for seq in range(1, 6)] + [journaled(seq, seq - 6, server="next")
                                                               for seq in range(6, 9)]
    verdicts = list(verify_bets([pair(1, SERVER), pair(6, "next", revealed=False)], bets))
    assert [v.verdict for v in verdicts] == [Verdict.MATCH] * 5 + [Verdict.NOT_REVEALED] * 3
    verdicts = list(verify_bets([pair(1, SERVER), pair(6, "next")], bets))
    assert {v.verdict for v in verdicts} == {Verdict.MATCH}


def test_each_kind_of_tampering_is_named() -> None:
    honest = journaled(1, 9)  # roll 3660 (36.60): a loss on high at 49.5 %
    assert not honest.win
    tampered = [
        replace(honest, roll=9000),
        replace(honest, win=True),
        replace(honest, profit=Decimal("-0.5")),
    ]
    (roll_changed,) = verify_bets([pair(1, SERVER)], [tampered[0]])
    assert roll_changed.verdict is Verdict.MISMATCH
    assert roll_changed.problems == ("roll 90.00 recorded, the seeds give 36.60",)
    (win_flip,) = verify_bets([pair(1, SERVER)], [tampered[1]])
    assert any("recorded as a win, but roll 36.60 loses" in p for p in win_flip.problems)
    (profit,) = verify_bets([pair(1, SERVER)], [tampered[2]])
    assert profit.problems == ("profit -0.5 recorded, a loss of 1 at payout 2.0000 gives -1",)


def test_a_nonce_used_twice_and_a_seed_that_is_not_the_published_one() -> None:
    twice = list(verify_bets([pair(1, SERVER)], [journaled(1, 0), journaled(2, 0)]))
    assert [v.verdict for v in twice] == [Verdict.MATCH, Verdict.MISMATCH]
    assert twice[1].problems == ("nonce 0 was already used under this seed pair",)
    forged = PairToVerify(first_seq=1, server_seed_hash=server_seed_hash("published"), client_seed=CLIENT,
                          server_seed=SERVER)
    (verdict,) = verify_bets([forged], [journaled(1, 0)])
    assert verdict.verdict is Verdict.MISMATCH
    assert "does not hash to" in verdict.problems[0]


def test_bets_before_the_first_pair_are_not_verifiable() -> None:
    (verdict,) = verify_bets([pair(5, SERVER)], [journaled(1, 0)])
    assert verdict.verdict is Verdict.NOT_REVEALED
    assert [v.verdict for v in verify_bets([], [journaled(1, 0)])] == [Verdict.NOT_REVEALED]


# -- journaled sessions ------------------------------------------------------------------------------------
def play_session(path: Path, *, bets: int = 40, rotate_at: int | None = None) -> tuple[int, list[SeedPair]]:
    """A simulated session in the journal (seed pair journaled as `betbot run` does), rolled by the game.

    With `rotate_at`, the pair is rotated before that bet (the new server seed is not revealed).
    """
    seeds = SeedPair.derive("verify-tests")
    game = SimulatedGame(seeds=seeds, balances={CURRENCY: Decimal(1000)})
    with Journal.open(path, durable=False) as journal:
        session_id = journal.start_session(
            strategy="flat", params={}, limits={}, backend="simulator", currency=CURRENCY,
            starting_balance=Decimal(1000), server_seed_hash=seeds.server_seed_hash,
            client_seed=seeds.client_seed, first_nonce=seeds.first_nonce)
        journal.reveal_seed(session_id, seeds.server_seed)
        for seq in range(1, bets + 1):
            if seq == rotate_at:
                game.rotate(seq)
            bet = dice("1", "33.33", high=seq % 2 == 0)
            journal.admitted(seq, bet, 0.0)
            journal.released(game.play(seq, bet), 0.0)
    return session_id, game.seed_history


def test_a_played_session_verifies(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    session_id, _ = play_session(path)
    with Journal.open(path, durable=False, readonly=True) as journal:
        result = verify_session(journal, session_id)
    assert result.ok
    assert (result.matched, result.not_revealed, result.revealed_pairs) == (40, 0, 1)
    assert result.line() == f"session {session_id}: 40 bets re-computed from 1 revealed server seed(s): all 40 match"


def test_after_a_rotation_the_new_seed_waits_until_revealed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    session_id, history = play_session(path, rotate_at=31)
    with Journal.open(path, durable=False, readonly=True) as journal:
        before = verify_session(journal, session_id)
        given = verify_session(journal, session_id, [history[1].server_seed, "not-a-seed-of-it"])
    assert (before.matched, before.not_revealed, before.pairs, before.revealed_pairs) == (30, 10, 2, 1)
    assert "10 not verifiable yet" in before.line()
    assert (given.matched, given.not_revealed, given.revealed_pairs) == (40, 0, 2)
    assert given.unmatched_seeds == ["not-a-seed-of-it"]
    # the simulator's end of session: reveal every seed, then everything is verifiable
    with Journal.open(path, durable=False) as journal:
        after = reveal_and_verify(journal, session_id, [pair.server_seed for pair in history])
    assert (after.matched, after.not_revealed) == (40, 0)


def tamper(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute(sql)
    con.close()


def test_a_tampered_row_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    session_id, _ = play_session(path)
    tamper(path, "UPDATE bets SET roll = (roll + 1) % 10000 WHERE seq = 17")
    with Journal.open(path, durable=False, readonly=True) as journal:
        result = verify_session(journal, session_id)
    assert not result.ok
    assert [v.seq for v in result.mismatches] == [17]
    assert result.matched == 39
    assert "1 of 40 do NOT match" in result.line()


# -- the command -------------------------------------------------------------------------------------------
def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_prints_rolls(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--server-seed", SERVER, "--client-seed", CLIENT, "--nonces", "8-9")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3  # a header and one line per nonce
    assert lines[2].split()[:3] == ["9", "3660", "36.60"]
    assert "window at 5: 243660" in lines[2]
    code, out, _ = cli(capsys, "--server-seed", SERVER, "--client-seed", CLIENT, "--nonce", "248")
    assert code == 0
    assert out.splitlines()[1].split()[:3] == ["248", "1365", "13.65"]


def test_cli_checks_the_seed_hash(capsys: pytest.CaptureFixture[str]) -> None:
    good = hashlib.sha256(SERVER.encode()).hexdigest()
    code, out, _ = cli(capsys, "--server-seed", SERVER, "--server-seed-hash", good.upper())
    assert (code, out.startswith("server seed hash: OK")) == (0, True)
    bad = hashlib.sha256(b"other").hexdigest()
    code, out, _ = cli(capsys, "--server-seed", SERVER, "--server-seed-hash", bad, "--client-seed", CLIENT,
                       "--nonce", "1")
    assert code == 1  # a mismatch is a finding, not bad input; the rolls are still printed
    assert "MISMATCH" in out
    assert len(out.splitlines()) == 3


def test_cli_session_match_and_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "j.sqlite3"
    session_id, _ = play_session(path, bets=20)
    code, out, _ = cli(capsys, "--session", str(session_id), "--journal", str(path))
    assert code == 0
    assert out.strip() == f"session {session_id}: 20 bets re-computed from 1 revealed server seed(s): all 20 match"
    tamper(path, "UPDATE bets SET win = 1 - win, roll = 0 WHERE seq = 5")
    code, out, _ = cli(capsys, "--session", str(session_id), "--journal", str(path))
    assert code == 1
    assert out.splitlines()[0].startswith("bet 5: MISMATCH: roll 0.00 recorded, the seeds give ")
    assert "1 of 20 do NOT match" in out


def test_cli_unrevealed_bets_are_listed_not_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "j.sqlite3"
    session_id, history = play_session(path, bets=20, rotate_at=11)
    code, out, _ = cli(capsys, "--session", str(session_id), "--journal", str(path))
    assert code == 0
    assert "10 bets not verifiable yet" in out
    code, out, _ = cli(capsys, "--session", str(session_id), "--journal", str(path),
                       "--server-seed", history[1].server_seed)
    assert code == 0
    assert "all 20 match" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--server-seed is required"),
        (("--server-seed", "s", "--nonce", "1"), "--client-seed is required"),
        (("--server-seed", "s"), "give --nonce N or --nonces A-B"),
        (("--server-seed", "s", "--client-seed", "c", "--nonce", "1", "--nonces", "1-2"), "not both"),
        (("--server-seed", "s", "--client-seed", "c", "--nonces", "9-1"), "--nonces '9-1'"),
        (("--server-seed", "s", "--server-seed-hash", "abc"), "not a SHA-256 hash"),
        (("--session", "1", "--nonce", "3"), "--session takes only"),
        (("--server-seed", "s", "--client-seed", "c", "--nonce", "-1"), "--nonce"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                          message: str) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert message in err


def test_cli_missing_journal_or_session_is_exit_2_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none" / "j.sqlite3"
    code, out, err = cli(capsys, "--session", "1", "--journal", str(missing))
    assert (code, out) == (2, "")
    assert err.strip() == f"betbot: error: no journal at {missing}; pass --journal PATH (or set BETBOT_JOURNAL)"
    assert not missing.parent.exists()
    path = tmp_path / "j.sqlite3"
    play_session(path, bets=3)
    code, _, err = cli(capsys, "--session", "99", "--journal", str(path))
    assert code == 2
    assert "no session 99" in err


def test_a_simulated_run_verifies_itself(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    journal = tmp_path / "j.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "betbot", "run", "--strategy", "martingale", "--max-bets", "60", "--seed", "self",
         "--journal", str(journal), "--no-preview", "--log-format", "json"],
        capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "provably fair: session 1: 60 bets re-computed from 1 revealed server seed(s): all 60 match" in result.stdout
    with Journal.open(journal, durable=False, readonly=True) as opened:
        assert all(pair.server_seed is not None for pair in opened.seed_pairs(1))


def test_a_session_with_no_revealed_seed_has_nothing_to_re_compute(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    session_id, _ = play_session(path, bets=5)
    tamper(path, "UPDATE seed_pairs SET server_seed = NULL")
    with Journal.open(path, durable=False, readonly=True) as journal:
        result = verify_session(journal, session_id)
    assert result.ok
    assert result.line() == (f"session {session_id}: no bet to re-compute; 5 not verifiable yet "
                             "(server seed not revealed)")


@given(st.lists(st.one_of(st.integers(0, 5_000), st.integers(0, 10**15)), max_size=300))
def test_the_nonce_set_answers_as_a_set_does(nonces: list[int]) -> None:
    seen, reference = NonceSet(), set()
    for nonce in nonces:
        assert (nonce in seen) == (nonce in reference)
        assert seen.add(nonce) == (nonce not in reference)  # new, or seen already
        reference.add(nonce)
    assert all(nonce in seen for nonce in reference)


@given(st.integers(0, 10**6), st.lists(st.one_of(st.just(1), st.integers(-40, 40), st.integers(-10**8, 10**16)),
                                       max_size=300))
def test_the_nonce_set_answers_as_a_set_does_along_runs(first: int, steps: list[int]) -> None:
    # Mostly the next nonce (the house's order), with jumps back, forward, far and below the first.
    seen, reference = NonceSet(), set()
    nonce = first
    for step in steps:
        assert (nonce in seen) == (nonce in reference)
        assert seen.add(nonce) == (nonce not in reference)
        reference.add(nonce)
        nonce = max(0, nonce + step)
    assert all(nonce in seen for nonce in reference)
    assert all((probe in seen) == (probe in reference) for probe in range(first - 3, first + len(steps) + 3))


@given(st.integers(1, 9800), st.booleans(), st.integers(0, 9999), st.integers(0, 9999), st.booleans(),
       st.integers(0, 9999))
def test_the_winning_window_is_the_games_rule(w: int, high: bool, a: int, b: int, inside: bool,
                                                number: int) -> None:
    dice_bet = dice("1", Decimal(w) / 100, high=high)
    low, top = min(a, b), max(a, b)
    range_bet = replace(dice_bet, range=(low, top), range_in=inside)
    # The rule as duckdice-api.md states it, written out independently of the window.
    expected = {dice_bet: number >= 10_000 - w if high else number < w,
                range_bet: (low <= number <= top) == inside}
    for bet, wins in expected.items():
        lo, hi, wins_inside = winning_window(bet)
        assert ((lo <= number <= hi) is wins_inside) == wins
        assert bet_wins(bet, number) == wins


def test_counts_in_the_verdict_line_have_thousands_separators_like_the_summary() -> None:
    result = SessionVerification(session_id=3, pairs=2, revealed_pairs=2, matched=12_345, not_revealed=1_200)
    assert result.line() == ("session 3: 12,345 bets re-computed from 2 revealed server seed(s): all 12,345 match; "
                             "1,200 not verifiable yet (server seed not revealed)")
