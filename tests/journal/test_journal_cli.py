"""`betbot sessions`, `history` and `export`, through click's CliRunner on a group they register onto."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from betbot.cli.journal import register
from betbot.core.models import Settled, StopKind, StopReason
from betbot.journal import SCHEMA_VERSION, Journal
from betbot.journal.export import parse_row
from tests.helpers import CURRENCY, dice

WINS = {3, 6, 9}


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    """Session 1: ten bets (wins at 3, 6, 9), finished. Session 2: one bet still pending, unfinished."""
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, durable=False) as journal:
        first = journal.start_session(strategy="flat", params={}, limits={}, backend="simulator",
                                      currency=CURRENCY, starting_balance=Decimal(100))
        balance = Decimal(100)
        bet = dice("1")
        for seq in range(1, 11):
            win = seq in WINS
            profit = Decimal("0.98") if win else Decimal(-1)
            balance += profit
            journal.admitted(seq, bet, 0.0)
            journal.released(Settled(seq=seq, bet=bet, number=9000 if win else 10, win=win,
                                     payout=Decimal("1.98"), profit=profit, balance=balance, nonce=seq,
                                     bet_hash=f"h{seq}"), 0.01)
        journal.finish_session(first, StopReason(kind=StopKind.MAX_BETS, detail="placed 10 of 10 bets"),
                               {"bets": 10, "profit": str(balance - 100)})
        journal.start_session(strategy="martingale", params={}, limits={}, backend="simulator",
                              currency=CURRENCY, starting_balance=Decimal(50))
        journal.admitted(1, bet, 0.0)
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    group = click.Group("betbot")
    register(group)
    return CliRunner().invoke(group, list(args), env={"COLUMNS": "200", **(env or {})})


def table_rows(output: str) -> list[str]:
    """The body rows of the rich table in the output (below the rule under its header)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "───" in line) + 1
    return [line for line in lines[start:] if line.strip()]


def table_seqs(output: str) -> list[int]:
    """The first column of each body row."""
    return [int(line.split()[0]) for line in table_rows(output)]


def test_sessions_lists_them(journal_path: Path) -> None:
    result = invoke("sessions", "--journal", str(journal_path))
    assert result.exit_code == 0, result.output
    assert table_seqs(result.stdout) == [1, 2]
    lines = table_rows(result.stdout)
    assert "flat" in lines[0]
    assert "max_bets" in lines[0]
    assert "-4.06000000 DOGE" in lines[0]  # money fixed-point with 8 places, as everywhere
    assert "martingale" in lines[1]
    assert "unfinished, 1 unresolved" in lines[1]


def test_the_journal_comes_from_the_environment(journal_path: Path) -> None:
    result = invoke("sessions", env={"BETBOT_JOURNAL": str(journal_path)})
    assert result.exit_code == 0
    assert table_seqs(result.stdout) == [1, 2]


def test_no_journal_yet(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    result = invoke("sessions", "--journal", str(missing))
    assert result.exit_code == 0
    assert "no sessions yet" in result.stdout
    # A command that shows one session has none to show: one line, exit 2, as export, report and verify.
    result = invoke("history", "--journal", str(missing))
    assert result.exit_code == 2
    assert f"no journal at {missing}" in result.stderr
    assert not missing.exists()  # reading never creates a journal


def test_history_of_the_latest_session_by_default(journal_path: Path) -> None:
    result = invoke("history", "--journal", str(journal_path))
    assert result.exit_code == 0, result.output
    assert "session 2: martingale" in result.stdout
    assert table_seqs(result.stdout) == [1]
    assert "pending" in result.stdout


def test_history_last_wins_losses(journal_path: Path) -> None:
    path = str(journal_path)
    assert table_seqs(invoke("history", "1", "--last", "3", "--journal", path).stdout) == [8, 9, 10]
    assert table_seqs(invoke("history", "1", "--wins", "--journal", path).stdout) == sorted(WINS)
    losses = invoke("history", "1", "--losses", "-l", "2", "--journal", path).stdout
    assert table_seqs(losses) == [8, 10]
    assert all("lost" in row for row in table_rows(losses))


def test_export_csv_to_stdout_round_trips(journal_path: Path) -> None:
    result = invoke("export", "1", "--journal", str(journal_path))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    with Journal.open(journal_path, durable=False, readonly=True) as journal:
        assert [parse_row(row) for row in rows] == list(journal.bets(1))
    assert len(rows) == 10


def test_export_jsonl_to_a_file(journal_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "exports" / "one.jsonl"
    result = invoke("export", "1", "--format", "jsonl", "-o", str(target), "--journal", str(journal_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "exported 10 bets of session 1" in result.stderr
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["seq"] for row in rows] == list(range(1, 11))
    assert rows[0]["balance_after"] == "99.00000000"  # money fixed-point with 8 places
    assert [p.name for p in target.parent.iterdir()] == ["one.jsonl"]


@pytest.mark.parametrize("command", [["history", "999"], ["export", "999"], ["export", "999", "-o", "{out}"]])
def test_a_session_that_does_not_exist_is_bad_input(journal_path: Path, tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out" / "x.csv"
    result = invoke(*(arg.format(out=out) for arg in command), "--journal", str(journal_path))
    assert result.exit_code == 2
    assert f"no session 999 in the journal {journal_path}" in result.stderr
    assert not out.parent.exists()  # nothing made, not even the directory


def test_a_file_that_is_not_a_journal_is_an_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    for command in (["sessions"], ["history"], ["export", "1"]):
        result = invoke(*command, "--journal", str(notes))
        assert result.exit_code == 1, result.output
        assert "not an SQLite database" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert notes.read_text() == "not a database\n"


def test_a_journal_from_a_newer_betbot_is_an_error(journal_path: Path) -> None:
    con = sqlite3.connect(journal_path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    result = invoke("sessions", "--journal", str(journal_path))
    assert result.exit_code == 1
    assert "newer than this betbot understands" in result.stderr


def test_bad_flags_are_usage_errors(journal_path: Path) -> None:
    assert invoke("export", "1", "--format", "xml", "--journal", str(journal_path)).exit_code == 2
    assert invoke("history", "one", "--journal", str(journal_path)).exit_code == 2
    assert invoke("history", "--last", "0", "--journal", str(journal_path)).exit_code == 2


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_history_never_breaks_an_amount_across_lines(tmp_path: Path, columns: int) -> None:
    """Money columns never wrap: at 80 columns the table leaves out whole columns instead, and says which."""
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, durable=False) as journal:
        journal.start_session(strategy="martingale", params={}, limits={}, backend="simulator", currency=CURRENCY,
                              starting_balance=Decimal("12345678.00000000"))
        balance = Decimal("12345678.00000000")
        for seq in range(1, 21):
            bet = dice("1024.12345678")
            balance -= Decimal("1024.12345678")
            journal.admitted(seq, bet, 0.0)
            journal.released(Settled(seq=seq, bet=bet, number=10, win=False, payout=Decimal("1.98"),
                                     profit=Decimal("-1024.12345678"), balance=balance, nonce=seq,
                                     bet_hash=f"h{seq}"), 0.01)
    result = invoke("history", "--last", "20", "--journal", str(path), env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), result.stdout
    rows = table_rows(result.stdout)
    assert len(rows) == 20  # one line per bet: nothing folded onto a second line
    assert all("1024.12345678" in row and "-1024.12345678" in row for row in rows)
    assert "12345678.00000000" not in result.stdout  # the starting balance is not a row
    # The balance is whole where there is room, else cut with a marker: never folded onto a second line.
    assert f"{balance:.8f}" in rows[-1] if columns >= 80 else rows[-1].rstrip().endswith("…")
    if columns < 100:
        assert "left out at this width; --json has every field" in " ".join(result.stdout.split())
    assert table_seqs(result.stdout) == list(range(1, 21))


def test_sessions_counts_the_bets_the_summary_counts(tmp_path: Path) -> None:
    """After a second Ctrl-C the journal holds the settled bets and the ones left unknown; `sessions` says what
    the summary and `report` say, and shows the others as unresolved."""
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, durable=False) as journal:
        session = journal.start_session(strategy="flat", params={}, limits={}, backend="simulator",
                                        currency=CURRENCY, starting_balance=Decimal(100))
        bet = dice("1")
        balance = Decimal(100)
        for seq in range(1, 6):
            balance -= 1
            journal.admitted(seq, bet, 0.0)
            journal.released(Settled(seq=seq, bet=bet, number=10, win=False, payout=Decimal("1.98"),
                                     profit=Decimal(-1), balance=balance, nonce=seq, bet_hash=f"h{seq}"), 0.01)
        for seq in range(6, 11):
            journal.admitted(seq, bet, 0.0)  # in flight when the second signal came: never resolved
        journal.finish_session(session, StopReason(kind=StopKind.SIGNAL, detail="SIGINT"),
                               {"bets": 5, "profit": "-5.00000000"})
    result = invoke("sessions", "--journal", str(path))
    assert result.exit_code == 0, result.output
    (row,) = table_rows(result.stdout)
    assert row.split()[4] == "5"  # id, date, time, strategy, bets
