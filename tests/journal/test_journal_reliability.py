"""Issue 19, the journal found by an outside reliability pass: a damaged journal is refused before anything is
written into it; the reading commands write nothing and leave no `-wal`/`-shm` behind, also where the file
cannot change (read as immutable)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from betbot.cli import cli
from betbot.journal import Journal, JournalError
from betbot.journal import store as journal_store

READERS = (("sessions",), ("history",), ("export", "--format", "jsonl"), ("report",), ("verify", "--session", "1"))


def made_journal(path: Path, bets: int) -> Path:
    result = CliRunner().invoke(cli, ["run", "--strategy", "flat", "--max-bets", str(bets), "--journal", str(path),
                                      "--seed", "reliable", "--no-preview", "--dashboard", "off"])
    assert result.exit_code == 0, result.output
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def damage(path: Path) -> None:
    """Overwrite part of an interior page of the bets table: the kind of damage `quick_check` finds."""
    with path.open("r+b") as file:
        file.seek(4096 * 20 + 100)
        file.write(b"\xa5" * 2000)


def test_a_damaged_journal_is_refused_in_one_line_before_anything_is_written(tmp_path: Path) -> None:
    path = made_journal(tmp_path / "j.sqlite3", 3000)
    damage(path)
    before = digest(path)
    for durable in (False, True):
        with pytest.raises(JournalError, match=r"^journal .*j\.sqlite3 is damaged \(.*\); nothing was written"):
            Journal.open(path, durable=durable)
    result = CliRunner().invoke(cli, ["run", "--strategy", "flat", "--max-bets", "10", "--journal", str(path),
                                      "--no-preview", "--dashboard", "off"])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "is damaged" in line
    assert "Traceback" not in result.output
    assert digest(path) == before  # no new session went into it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.sqlite3", "j.sqlite3.lock.d"]


def test_a_big_dry_run_journal_skips_the_page_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = made_journal(tmp_path / "j.sqlite3", 3000)
    damage(path)
    monkeypatch.setattr(journal_store, "QUICK_CHECK_MAX_BYTES", path.stat().st_size - 1)
    Journal.open(path, durable=False).close()  # too big to check at every dry run: it opens
    with pytest.raises(JournalError, match="is damaged"):
        Journal.open(path, durable=True)  # live money: always checked


@pytest.mark.parametrize("command", READERS, ids=lambda command: command[0])
def test_reading_commands_leave_nothing_behind(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = made_journal(tmp_path / "j.sqlite3", 50)
    before = (listing(tmp_path), digest(path))
    result = CliRunner().invoke(cli, [*command, "--journal", str(path)])
    assert result.exit_code == 0, result.output
    assert (listing(tmp_path), digest(path)) == before  # no -wal, no -shm, not a byte changed


@pytest.mark.parametrize("command", READERS, ids=lambda command: command[0])
def test_a_journal_that_cannot_change_is_read_as_immutable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           command: tuple[str, ...]) -> None:
    path = made_journal(tmp_path / "j.sqlite3", 50)
    before = (listing(tmp_path), digest(path))
    # A read-only file system or file (not one the tests, running as any user, can make): what the open sees.
    monkeypatch.setattr(journal_store, "_can_change", lambda _path: False)
    opened: list[str] = []
    connect = journal_store.sqlite3.connect

    def spy(database: str, *args: object, **kwargs: object) -> object:
        opened.append(str(database))
        return connect(database, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(journal_store.sqlite3, "connect", spy)
    result = CliRunner().invoke(cli, [*command, "--journal", str(path)])
    assert result.exit_code == 0, result.output
    assert opened
    assert all(database.endswith("?immutable=1") for database in opened)
    assert (listing(tmp_path), digest(path)) == before


def test_a_reader_beside_a_running_writer_sees_its_bets_and_leaves_its_files(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal.open(path, durable=False) as writer:
        session = writer.start_session(strategy="flat", params={}, limits={}, backend="simulator", currency="DOGE",
                                       starting_balance=Decimal(10))
        writer.flush()
        assert {"j.sqlite3-wal", "j.sqlite3-shm"} <= set(listing(tmp_path))
        with Journal.open(path, durable=False, readonly=True) as reader:
            assert [record.id for record in reader.sessions()] == [session]
            with pytest.raises(JournalError, match="cannot journal"):
                reader.start_session(strategy="flat", params={}, limits={}, backend="simulator", currency="DOGE",
                                     starting_balance=Decimal(10))
        assert {"j.sqlite3-wal", "j.sqlite3-shm"} <= set(listing(tmp_path))  # the writer's, still in use
        writer.flush()
    assert listing(tmp_path) == ["j.sqlite3", "j.sqlite3.lock.d"]


@pytest.mark.parametrize("command", [("export", "--format", "jsonl"), ("report",), ("verify", "--session", "1")],
                         ids=lambda command: command[0])
def test_a_reader_that_meets_a_damaged_page_says_so_in_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    path = made_journal(tmp_path / "j.sqlite3", 3000)
    damage(path)
    result = CliRunner().invoke(cli, [*command, "--journal", str(path)])
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "j.sqlite3 is damaged (cannot read the journal" in line
    assert "database disk image is malformed" in line
    assert "Traceback" not in result.output
