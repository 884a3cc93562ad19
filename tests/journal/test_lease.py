"""One runner per session (`betbot.journal.lease`): a lease another process cannot take while its holder
lives, that the kernel gives back when the holder dies (kill -9), and that `--resume` respects."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.core.models import StopKind, StopReason
from betbot.journal import Journal, JournalError
from betbot.journal.lease import Holder, LeaseHeld, Leases, lock_dir
from betbot.journal.resume import ResumeError, SessionRunning, choose_session

# A process that claims a session of a journal, says so, and holds it until its stdin closes (or it is killed).
_HOLDER = """
import sys
from betbot.journal import Journal
journal = Journal.open(sys.argv[1], durable=False)
journal.claim(int(sys.argv[2]))
print("held", flush=True)
sys.stdin.read()
"""


def new_session(journal: Journal) -> int:
    return journal.start_session(strategy="flat", params={}, limits={}, backend="simulator", currency="DOGE",
                                 starting_balance=Decimal(10))


@contextmanager
def held_elsewhere(path: Path, session_id: int) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the session's lease; yielded once it holds it (it said so: no sleep)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), str(session_id)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


@pytest.fixture
def journal_with_two(tmp_path: Path) -> Path:
    """A journal with two sessions, both interrupted (ended by a signal), their leases free again."""
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, durable=False) as journal:
        for _ in range(2):
            session_id = new_session(journal)
            journal.finish_session(session_id, StopReason(kind=StopKind.SIGNAL, detail="interrupted"), {})
    return path


def test_a_new_session_is_leased_until_its_journal_closes(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, durable=False) as first, Journal.open(path, durable=False) as second:
        session_id = new_session(first)
        with pytest.raises(LeaseHeld) as refused:
            second.claim(session_id)
        holder = refused.value.holder
        assert (holder.pid, holder.host) == (os.getpid(), socket.gethostname())
        assert f"this process ({os.getpid()})" in str(refused.value)
        assert second.runner(session_id) == first.runner(session_id) == holder
        other = new_session(second)  # another session of the same file: no conflict
        assert other == session_id + 1
        first.close()
        second.claim(session_id)  # given back with the journal
    assert (lock_dir(path) / f"session-{session_id}.lock").exists()


def test_another_process_is_named_and_its_death_frees_the_session_at_once(journal_with_two: Path) -> None:
    with held_elsewhere(journal_with_two, 2) as proc, Journal.open(journal_with_two, durable=False) as journal:
        with pytest.raises(LeaseHeld) as refused:
            journal.claim(2)
        holder = refused.value.holder
        assert holder.pid == proc.pid
        assert holder.host == socket.gethostname()
        assert holder.since is not None
        text = str(refused.value)
        assert text.startswith(f"session 2 is being run by process {proc.pid} on host {socket.gethostname()} "
                               f"since {holder.since:%Y-%m-%d %H:%M:%S} UTC")
        # Looking takes nothing: the holder keeps its lease however often it is looked at.
        for _ in range(3):
            assert journal.runner(2) == holder
        with pytest.raises(LeaseHeld):
            journal.claim(2)
        assert journal.runner(1) is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        journal.claim(2)  # the kernel dropped the dead process's lock: no wait, no stale lock
        assert journal.runner(2) is not None
        assert journal.runner(2).pid == os.getpid()  # type: ignore[union-attr]


def test_resume_by_id_of_a_running_session_is_refused(journal_with_two: Path) -> None:
    with held_elsewhere(journal_with_two, 2) as proc, Journal.open(journal_with_two, durable=False) as journal:
        with pytest.raises(SessionRunning) as refused:
            choose_session(journal, 2)
        assert isinstance(refused.value, ResumeError)  # bad input: exit 2
        assert f"process {proc.pid}" in str(refused.value)
        assert "stop that process first" in str(refused.value)
        record = choose_session(journal, 1)
        assert record is not None
        assert record.id == 1


def test_resume_newest_skips_a_running_session(journal_with_two: Path) -> None:
    with held_elsewhere(journal_with_two, 2), Journal.open(journal_with_two, durable=False) as journal:
        record = choose_session(journal, None)
        assert record is not None
        assert record.id == 1  # the newest one no one runs
        with Journal.open(journal_with_two, durable=False) as third, pytest.raises(SessionRunning) as refused:
            choose_session(third, None)  # 2 runs elsewhere, 1 here: nothing left to resume
        assert "no other session is interrupted" in str(refused.value)


def test_resume_newest_releases_a_session_that_finished_meanwhile(journal_with_two: Path) -> None:
    with Journal.open(journal_with_two, durable=False) as journal:
        journal.finish_session(2, StopReason(kind=StopKind.MAX_BETS, detail="done"), {})
        record = choose_session(journal, None)
        assert record is not None
        assert record.id == 1
        assert journal.runner(2) is None  # only the chosen session stays leased


def test_a_holder_file_that_says_nothing_still_refuses(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "j.sqlite3")
    leases.take(5)
    leases.path_of(5).write_bytes(b"{torn")
    assert Holder.from_json(b"{torn") == Holder(pid=None, host=None, since=None)
    assert Holder(pid=None, host=None, since=None).describe() == "another process"
    leases.release(5)
    leases.release(5)  # idempotent
    assert Leases(tmp_path / "j.sqlite3").take(5).holder.pid == os.getpid()


def test_a_lock_directory_that_cannot_be_made_is_a_journal_error(tmp_path: Path) -> None:
    (tmp_path / "j.sqlite3.lock.d").write_text("a file where the directory should be")
    with pytest.raises(JournalError, match="cannot create the session lock directory"):
        Leases(tmp_path / "j.sqlite3").take(1)


def test_sessions_shows_who_runs_a_session(journal_with_two: Path) -> None:
    from click.testing import CliRunner  # noqa: PLC0415 - only this test drives the CLI

    from betbot.cli import cli  # noqa: PLC0415

    with Journal.open(journal_with_two, durable=False) as journal:
        journal.reopen_session(1)  # as a resumed run does: no end while it runs
        journal.reopen_session(2)
    with held_elsewhere(journal_with_two, 2) as proc:
        result = CliRunner().invoke(cli, ["sessions", "--json", "--journal", str(journal_with_two)])
        table = CliRunner().invoke(cli, ["sessions", "--journal", str(journal_with_two)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.output)
    assert first["running"] is None  # unfinished, and no one runs it: an interrupted session
    assert second["running"]["pid"] == proc.pid
    assert second["running"]["host"] == socket.gethostname()
    assert table.exit_code == 0, table.output
    assert f"running: process {proc.pid} on host" in table.output
    assert "unfinished" in table.output
