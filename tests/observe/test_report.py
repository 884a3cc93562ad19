"""`betbot report`: the statistics equal the session's own, the downsampled curve keeps its extremes, the
HTML is self-contained, the PNG is a PNG, and bad requests are one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.backends.simulator import SimulatorBackend
from betbot.core.models import Settled
from betbot.core.session import Limits
from betbot.engine.loop import Engine
from betbot.extras import install_hint
from betbot.journal import Journal
from betbot.observe.report import MAX_BUCKETS, PlotUnavailable, Report, build_report, render_html, summarize, write_png
from tests.helpers import CURRENCY, Martingale, dice, make_game, make_session
from tests.journal.test_journal import _varied_session, lost, play, start, won


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
    assert report.curve_points()[-1] == (snap.bets, snap.balance)
    journal.close()


def test_the_statistics_by_hand(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        session_id = start(journal)  # 100 DOGE
        bet, balance = dice("1"), Decimal(100)
        # W W W L L W L L L L W: profit peaks at 2.94 after the third bet and bottoms out at -2.08 after
        # the tenth, so the drawdown is 5.02, not the 2.00 of the first dip.
        for seq, win in enumerate("WWWLLWLLLLW", start=1):
            balance += Decimal("0.98") if win == "W" else Decimal(-1)
            outcome = won(seq, bet, str(balance)) if win == "W" else lost(seq, bet, str(balance))
            play(journal, seq, outcome, bet, now=float(seq))
        report = build_report(journal, session_id)
    assert (report.bets, report.wins, report.losses) == (11, 5, 6)
    assert (report.refused, report.reconciled, report.unresolved) == (0, 0, 0)
    assert report.profit == Decimal("-1.10")
    assert report.final_balance == Decimal("98.90")
    assert report.wagered == Decimal(11)
    assert (report.largest_bet, report.largest_win, report.largest_loss) == (Decimal(1), Decimal("0.98"), Decimal(1))
    assert (report.longest_win_streak, report.longest_loss_streak) == (3, 4)
    assert report.max_drawdown == Decimal("5.02")
    assert report.luck_percent == pytest.approx(5 / (11 * 0.495) * 100)
    assert report.mean_latency_ms == pytest.approx(5.0)
    assert dict(report.rows())["first bet to last"] == "10.000 s"
    assert dict(report.rows())["win rate"] == "45.45 %"  # percentages one way everywhere: "51.20 %"
    report.bets, report.wins, report.losses = 12_345, 6_000, 6_345  # counts are spelled as in the summary
    assert dict(report.rows())["bets"] == "12,345 (6,000 won, 6,345 lost)"


def test_every_status_is_counted_apart(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        session_id = _varied_session(journal)
        report = build_report(journal, session_id)
    # Four settled bets and one reconciled as run (a loss of 0.01); one refused, one reconciled as not
    # run, one still pending.
    assert (report.bets, report.wins, report.losses) == (5, 2, 3)
    assert (report.refused, report.reconciled, report.unresolved) == (1, 2, 1)
    assert report.profit == Decimal("0.0098") - Decimal("0.00000001") + Decimal("12.25") - 3 - Decimal("0.01")
    assert report.wagered == Decimal("15.52000001")
    assert (report.largest_bet, report.largest_win, report.largest_loss) == (Decimal("12.5"), Decimal("12.25"), 3)
    assert (report.longest_win_streak, report.longest_loss_streak) == (1, 2)
    assert report.max_drawdown == Decimal("3.01")  # from 112.25979999 after bet 3 down to 109.24979999
    assert report.expected_wins == Decimal("1.7401")


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
    sized = build_report(journal, 1)
    # Without a count the runs of bets merge as they fill: the same bound, the same extremes.
    merged = summarize(journal.session(1), journal.bet_rows(1))
    journal.close()
    for report in (sized, merged):
        _check_curve(report, balances)
    assert len(merged.curve) < len(sized.curve)


def _check_curve(report: Report, balances: list[Decimal]) -> None:
    points = report.curve_points()
    values = [value for _, value in points]
    assert len(report.curve) <= MAX_BUCKETS
    assert len(points) <= 4 * MAX_BUCKETS + 1
    assert max(values) == max(balances) == Decimal("150")
    assert min(values) == min(balances) == Decimal("20")
    assert values.index(max(values)) < values.index(min(values))  # the spike came before the dip
    assert points[-1] == (len(balances), balances[-1])
    bets = [x for x, _ in points]
    assert bets == sorted(bets)


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
    assert f"{report.max_drawdown} {CURRENCY}" in page
    for external in ("<script", "src=", "href=", "@import", "url(", "http://", "https://"):
        assert external not in page
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    write_png(report, png)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_png_without_matplotlib_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _varied_session(journal))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # None in sys.modules: the import fails
    with pytest.raises(PlotUnavailable, match=re.escape(install_hint("report", "matplotlib"))):
        write_png(report, tmp_path / "curve.png")
    assert not (tmp_path / "curve.png").exists()


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "betbot", "report", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_report_command(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    run = subprocess.run([sys.executable, "-m", "betbot", "run", "--max-bets", "30", "--journal", str(journal)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    ok = _report("1", "--journal", str(journal), "--html", str(tmp_path / "r.html"), "--png", str(tmp_path / "r.png"))
    assert ok.returncode == 0, ok.stderr
    assert "30 (" in ok.stdout
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    # No matplotlib: one line naming the fix, exit 1, and no file.
    no_plot = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['matplotlib'] = None; from betbot.cli import main; main()",
         "report", "1", "--journal", str(journal), "--png", str(tmp_path / "none.png")],
        capture_output=True, text=True, timeout=60, check=False)
    assert no_plot.returncode == 1
    assert no_plot.stderr.strip() == (
        f"betbot: error: a PNG needs matplotlib: {install_hint('report', 'matplotlib')} (or use --html)")
    assert not (tmp_path / "none.png").exists()
    missing = _report("9", "--journal", str(journal))
    assert missing.returncode == 2
    expected = f"betbot: error: no session 9 in the journal {journal} (`betbot sessions` lists them)"
    assert missing.stderr.strip() == expected
    nowhere = _report("1", "--journal", str(journal), "--html", str(tmp_path / "no" / "such" / "r.html"))
    assert nowhere.returncode == 2
    assert "does not exist; create it first" in nowhere.stderr
    assert len(nowhere.stderr.strip().splitlines()) == 1
