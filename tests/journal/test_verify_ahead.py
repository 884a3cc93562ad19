"""A simulated run's verification kept up with the run: the same result as verifying the finished journal."""

from __future__ import annotations

import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.cli import main
from betbot.core.fairness import SeedPair
from betbot.core.game import SimulatedGame
from betbot.core.models import Settled
from betbot.journal import Journal, verify_ahead
from betbot.journal.verify import SessionVerification, verify_session
from betbot.journal.verify_ahead import Follower, VerifyAhead
from tests.helpers import CURRENCY, dice


class Writer:
    """A simulated session journaled bet by bet, as `betbot run` journals it (its server seed unrevealed)."""

    def __init__(self, path: Path, *, batch_size: int = 7) -> None:
        self.seeds = SeedPair.derive("ahead-tests")
        self.game = SimulatedGame(seeds=self.seeds, balances={CURRENCY: Decimal(1000)})
        self.journal = Journal.open(path, durable=False, batch_size=batch_size)
        self.session_id = self.journal.start_session(
            strategy="flat", params={}, limits={}, backend="simulator", currency=CURRENCY,
            starting_balance=Decimal(1000), server_seed_hash=self.seeds.server_seed_hash,
            client_seed=self.seeds.client_seed, first_nonce=self.seeds.first_nonce)
        self.seq = 0

    def admit(self) -> int:
        self.seq += 1
        self.journal.admitted(self.seq, dice("1", "33.33", high=self.seq % 2 == 0), 0.0)
        return self.seq

    def release(self, seq: int, *, forged_roll: bool = False) -> None:
        outcome = self.game.play(seq, dice("1", "33.33", high=seq % 2 == 0))
        assert isinstance(outcome, Settled)
        if forged_roll:
            outcome = outcome._replace(number=(outcome.number + 1) % 10_000)
        self.journal.released(outcome, 0.0)

    def bet(self, *, forged_roll: bool = False) -> None:
        self.release(self.admit(), forged_roll=forged_roll)

    def end(self) -> list[str]:
        """Reveal every seed, as the simulator does at the end; the seeds."""
        seeds = [pair.server_seed for pair in self.game.seed_history]
        for seed in seeds:
            self.journal.reveal_seed(self.session_id, seed)
        self.journal.flush()
        return seeds


def test_following_a_session_as_it_is_written_finds_what_verifying_it_at_the_end_finds(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    writer = Writer(path)
    reader = Journal.open(path, durable=False, readonly=True)
    follower = Follower(reader, writer.session_id, [writer.seeds.server_seed])
    held = None
    for n in range(1, 121):
        if n == 20:
            held = writer.admit()  # in flight across several batches: journaled as pending meanwhile
            continue
        if n == 81:
            writer.game.rotate(writer.seq + 1)  # a new server seed the follower is not given
        writer.bet(forged_roll=n in (33, 95))
        if n == 40:
            assert held is not None
            writer.release(held)
        if n % 9 == 0:
            writer.journal.flush()
            follower.step()
            if n == 18:
                assert follower.checked_upto == 18  # the committed, settled bets
            if n == 36:
                assert follower.checked_upto == 19  # waits at the pending bet, never checks it twice
            if n == 90:
                assert follower.checked_upto == 80  # waits at the first bet under the seed it does not know
    seeds = writer.end()
    followed = follower.finish(seeds)
    expected = verify_session(reader, writer.session_id)
    assert followed == expected
    assert [verdict.seq for verdict in followed.mismatches] == [33, 95]
    assert (followed.matched, followed.revealed_pairs, followed.pairs) == (118, 2, 2)
    reader.close()
    writer.journal.close()


def test_the_child_process_gives_the_same_result_and_a_dead_child_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    writer = Writer(path, batch_size=50)
    ahead = VerifyAhead.start(path, writer.session_id, [writer.seeds.server_seed])
    assert ahead is not None
    for n in range(1, 301):
        writer.bet(forged_roll=n == 150)
    seeds = writer.end()
    followed = ahead.finish(writer.journal, seeds)
    assert not ahead._process.is_alive()
    expected = verify_session(writer.journal, writer.session_id)
    assert followed == expected
    assert ([v.seq for v in followed.mismatches], followed.matched) == ([150], 299)

    dead = VerifyAhead.start(path, writer.session_id, [writer.seeds.server_seed])
    assert dead is not None
    dead._process.kill()
    dead._process.join()
    assert dead.finish(writer.journal, seeds) == expected  # checked in-process instead
    writer.journal.close()


def test_where_no_process_can_start_the_run_checks_at_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr("multiprocessing.context.SpawnProcess.start", refuse)
    assert VerifyAhead.start(tmp_path / "j.sqlite3", 1, ["seed"]) is None


def test_a_long_simulated_run_is_verified_by_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(verify_ahead, "MIN_BETS", 100)  # a long run, for the test's purpose
    monkeypatch.setattr(verify_ahead, "available_cpus", lambda: 2)
    finished: list[SessionVerification] = []
    finish = VerifyAhead.finish

    def spy(self: VerifyAhead, journal: Journal, server_seeds: list[str]) -> SessionVerification:
        finished.append(finish(self, journal, server_seeds))
        return finished[-1]

    monkeypatch.setattr(VerifyAhead, "finish", spy)
    for name in [k for k in os.environ if k.startswith("BETBOT_")]:
        monkeypatch.delenv(name)
    journal = tmp_path / "j.sqlite3"
    for bets in ("99", "400"):  # below the threshold: verified in-process; above it: by the child
        with pytest.raises(SystemExit) as exited:
            main(["run", "--strategy", "martingale", "--max-bets", bets, "--seed", "ahead", "--journal", str(journal),
                  "--no-preview", "--dashboard", "off"])
        assert exited.value.code == 0
        assert f"re-computed from 1 revealed server seed(s): all {bets} match" in capsys.readouterr().out
    assert len(finished) == 1
    assert (finished[0].session_id, finished[0].matched) == (2, 400)
    con = sqlite3.connect(journal)
    try:
        assert con.execute("SELECT count(*) FROM seed_pairs WHERE server_seed IS NULL").fetchone() == (0,)
    finally:
        con.close()
