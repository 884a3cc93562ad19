"""`betbot report`: the statistics equal the session's own, the downsampled curve keeps its extremes, the
HTML is self-contained, the PNG is a PNG, and bad requests are one-line errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.backends.simulator import SimulatorBackend
from betbot.engine import Engine
from betbot.journal import Journal
from betbot.models import Settled
from betbot.report import MAX_BUCKETS, build_report, render_html, write_png
from betbot.session import Limits
from tests.helpers import CURRENCY, Martingale, dice, make_game, make_session


def _journal(path: Path) -> Journal:
    journal = Journal.open(path, durable=False)
    journal.start_session(strategy="martingale", params={}, limits=Limits(), backend="simulator",
                          currency=CURRENCY, starting_balance=Decimal(100))
    return journal


async def test_the_statistics_are_the_sessions(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "j.sqlite3")
    session = make_session(limits=Limits(max_bets=700))
    await Engine(session=session, strategy=Martingale(), backend=SimulatorBackend(make_game("report")),
                 hooks=journal).run()
    report = build_report(journal, 1)
    snap = session.snapshot()
    assert (report.bets, report.wins, report.losses) == (snap.bets, snap.wins, snap.losses)
    assert (report.profit, report.wagered, report.final_balance) == (snap.profit, snap.wagered, snap.balance)
    assert (report.largest_bet, report.largest_win, report.largest_loss) == (
        snap.largest_bet, snap.largest_win, snap.largest_loss)
    assert (report.longest_win_streak, report.longest_loss_streak) == (
        snap.longest_win_streak, snap.longest_loss_streak)
    assert report.max_drawdown == snap.max_drawdown
    assert report.luck_percent == pytest.approx(snap.luck)
    assert report.curve_points()[-1] == snap.balance
    journal.close()


def _settled(seq: int, amount: str, *, win: bool, profit: str, balance: Decimal) -> Settled:
    return Settled(seq=seq, bet=dice(amount), number=5000, win=win, payout=Decimal(2), profit=Decimal(profit),
                   balance=balance, nonce=seq, bet_hash=f"h{seq}")


def test_the_downsampled_curve_keeps_its_extremes(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "j.sqlite3")
    balance = Decimal(100)
    balances = []
    for seq in range(1, 10_001):
        if seq == 4321:  # a spike up and straight back down, inside one bucket
            amount, win, profit = "50", True, "50"
        elif seq == 4322:
            amount, win, profit = "50", False, "-50"
        elif seq == 7777:  # a dip
            amount, win, profit = "80", False, "-80"
        elif seq == 7778:
            amount, win, profit = "80", True, "80"
        else:
            amount, win, profit = "0.01", seq % 2 == 0, "0.01" if seq % 2 == 0 else "-0.01"
        balance += Decimal(profit)
        balances.append(balance)
        journal.admitted(seq, dice(amount), 0.0)
        journal.released(_settled(seq, amount, win=win, profit=profit, balance=balance), 0.0)
    report = build_report(journal, 1)
    points = report.curve_points()
    assert len(report.curve) <= MAX_BUCKETS
    assert len(points) <= 4 * MAX_BUCKETS + 1
    assert max(points) == max(balances) == Decimal("150")
    assert min(points) == min(balances) == Decimal("20")
    assert points[-1] == balances[-1]
    journal.close()


async def test_html_is_self_contained_and_png_is_a_png(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "j.sqlite3")
    await Engine(session=make_session(limits=Limits(max_bets=50)), strategy=Martingale(),
                 backend=SimulatorBackend(make_game()), hooks=journal).run()
    report = build_report(journal, 1)
    journal.close()
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "<polyline points=" in page
    assert f"{report.profit} {CURRENCY}" in page
    for external in ("<script", "src=", "href=", "@import", "url("):
        assert external not in page
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    write_png(report, png)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "betbot", "report", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_report_command(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    run = subprocess.run([sys.executable, "-m", "betbot", "run", "--max-bets", "30", "--journal", str(journal)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    ok = _report("1", "--journal", str(journal), "--html", str(tmp_path / "r.html"))
    assert ok.returncode == 0, ok.stderr
    assert "30 (" in ok.stdout
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    missing = _report("9", "--journal", str(journal))
    assert missing.returncode == 2
    expected = f"betbot: error: no session 9 in the journal {journal} (`betbot sessions` lists them)"
    assert missing.stderr.strip() == expected
    nowhere = _report("1", "--journal", str(journal), "--html", str(tmp_path / "no" / "such" / "r.html"))
    assert nowhere.returncode == 2
    assert "does not exist; create it first" in nowhere.stderr
    assert len(nowhere.stderr.strip().splitlines()) == 1
