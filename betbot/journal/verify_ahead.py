"""A simulated run's provably-fair check, kept up with the run on the machine's other core.

At its end a simulated run re-computes every bet it journaled from the revealed server seed
(`reveal_and_verify`): on one core that costs about a fifth of a dry run, after its last bet. The simulator
knows its server seed from the start, so a child process can do the same while the run goes on: it reads
the bets the journal has committed (a WAL reader never blocks the writer), a batch at a time, and checks
them with the same `RunningVerification`. At the end the run reveals the seeds in the journal as before and
the child checks what is left, the last batch or so.

The child checks only what cannot change (no bet pending or of unknown outcome), up to the first pair
rotated in since it last read the pairs (a rotation is journaled before any bet under it, so the pairs read
after a batch cover it). The seeds it is given count only where they hash to a journaled pair's published
hash, so the seed it checks with is the one revealed at the end. Its result is the one `verify_session`
gives over the finished journal (a test holds the two equal). When the child cannot start, dies or falls
silent, the run verifies in-process as before: the child saves time, it never changes the result.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
from contextlib import suppress
from pathlib import Path
from typing import Final

from betbot.core.fairness import server_seed_hash
from betbot.journal.store import Journal
from betbot.journal.verify import READ, RunningVerification, SessionVerification, reveal_and_verify, session_pairs
from betbot.montecarlo.plan import available_cpus

__all__ = ["BATCH", "MIN_BETS", "VerifyAhead", "worth_it"]

MIN_BETS: Final = 50_000  # below this the in-process check takes under half a second: not worth a process
BATCH: Final = 8_192  # bets read per query
IDLE: Final = 0.05  # seconds the child waits for the run's last word before it reads the journal again
MAX_IDLE: Final = 1.0  # ... at most, when the journal has nothing new for it
END_TIMEOUT: Final = 120.0  # seconds the run waits for the child's result before checking in-process


def worth_it(bets_left: int | None) -> bool:
    """Whether a run of this many more bets (None: no bet limit) gains from the child: a long one, with a
    second CPU to run it on."""
    return available_cpus() >= 2 and (bets_left is None or bets_left >= MIN_BETS)


class VerifyAhead:
    """The parent's side: start the child (`start`), then `finish` instead of `reveal_and_verify`."""

    @classmethod
    def start(cls, path: Path, session_id: int, server_seeds: list[str]) -> VerifyAhead | None:
        """The child, started; None where it cannot start (no processes here: the run checks at the end)."""
        try:
            return cls(path, session_id, server_seeds)
        except (OSError, RuntimeError, ValueError):
            return None

    def __init__(self, path: Path, session_id: int, server_seeds: list[str]) -> None:
        self._session_id = session_id
        # A fresh interpreter (spawn), never a fork of this process and its event loop and threads; it imports
        # only the journal's reader.
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_child, args=(str(path), session_id, child_conn),
                                        name="betbot-verify", daemon=True)
        try:
            self._process.start()
        except BaseException:
            self._conn.close()
            raise
        finally:
            child_conn.close()
        self._conn.send(server_seeds)  # through the pipe, never the command line

    def finish(self, journal: Journal, server_seeds: list[str]) -> SessionVerification:
        """Reveal the seeds in the journal, and the verification of the whole session: the child's, or this
        process's own when the child cannot give it."""
        session_id = self._session_id
        for seed in server_seeds:
            journal.reveal_seed(session_id, seed)
        journal.flush()
        try:
            self._conn.send(server_seeds)
            if self._conn.poll(END_TIMEOUT):
                result = self._conn.recv()
                if isinstance(result, SessionVerification):
                    return result
        except (OSError, EOFError):  # the child died: check here
            pass
        finally:
            self.close()
        return reveal_and_verify(journal, session_id, ())

    def close(self) -> None:
        """Stop the child (the run ended another way, or it is done)."""
        self._conn.close()
        if self._process.is_alive():
            self._process.join(timeout=1.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _child(path: str, session_id: int, conn: multiprocessing.connection.Connection) -> None:
    """The child's whole life: check the committed bets as they come; at the run's word, the rest."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle; it ends the child itself
    try:
        seeds: list[str] = conn.recv()
        with Journal.open(path, durable=False, readonly=True) as journal:
            follower = Follower(journal, session_id, seeds)
            idle = IDLE
            while True:
                at = follower.checked_upto
                more = follower.step()
                # Nothing new, or a bet that stays pending (a long Ctrl-C drain): look again less and less often.
                idle = IDLE if follower.checked_upto > at else min(2 * idle, MAX_IDLE)
                if conn.poll(0 if more else idle):
                    break
            conn.send(follower.finish(conn.recv()))  # the run is over, its seeds revealed in the journal
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the run has gone: nobody waits for a result
    except Exception as exc:  # noqa: BLE001 - any failure: the run checks in-process instead
        with suppress(OSError):  # the run may have gone as well
            conn.send(f"{type(exc).__name__}: {exc}")


class Follower:
    """The child's work, without the process: one session's verification kept up with its journal."""

    def __init__(self, journal: Journal, session_id: int, server_seeds: list[str]) -> None:
        self._journal = journal
        self._given = {server_seed_hash(seed): seed for seed in server_seeds}
        self._running = RunningVerification(session_id, session_pairs(journal, session_id, self._given))

    @property
    def checked_upto(self) -> int:
        """The last seq checked."""
        return self._running.last_seq

    def step(self) -> bool:
        """Check the next batch of committed bets that can no longer change, under pairs whose seed is known;
        whether a whole batch went through (more may be waiting)."""
        journal, running = self._journal, self._running
        rows = list(journal.bet_columns(running.session_id, READ, after=running.last_seq, limit=BATCH))
        if not rows:
            return False
        pairs = session_pairs(journal, running.session_id, self._given)  # after the rows: they cover every one
        if not pairs:
            return False  # nothing is checkable before the first pair: wait for the end
        if len(pairs) > len(running.pairs):
            running.more_pairs(pairs)
        before = next((pair.first_seq for pair in pairs if pair.server_seed is None), None)
        return running.feed(rows, before=before, final_only=True) and len(rows) == BATCH

    def finish(self, server_seeds: list[str]) -> SessionVerification:
        """The session is over and these seeds are revealed in the journal: check the rest, and the result
        `reveal_and_verify` gives."""
        journal, running = self._journal, self._running
        given = {server_seed_hash(seed): seed for seed in server_seeds}
        running.more_pairs(session_pairs(journal, running.session_id, given))
        running.feed(journal.bet_columns(running.session_id, READ, after=running.last_seq))
        return running.result({})
