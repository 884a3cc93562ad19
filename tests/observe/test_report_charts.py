"""The report's charts, page and picture; the streak table by hand; the profit histogram past its exact
counts; one spelling of rolls, percentages, latencies and money across `history`, `export` and `report`;
and read-only commands that never create a journal."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import struct
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from betbot.cli import main
from betbot.cli.journal import register
from betbot.cli.report import report_command
from betbot.core.models import BetRequest, RefusalKind, Refused, Settled
from betbot.journal import Journal
from betbot.journal.formats import money, percent, roll_from_text, roll_text
from betbot.observe.report import (
    CHART_IDS,
    MAX_BUCKETS,
    PNG_SIZE,
    build_charts,
    build_report,
    render_html,
    summarize,
    write_png,
)
from betbot.observe.report.charts import nice_ticks
from betbot.observe.report.stats import EXACT_PROFITS, REPORT_COLUMNS
from tests.helpers import CURRENCY, dice
from tests.journal.test_journal import lost, play, start, won


def _scripted(journal: Journal, results: str, *, step: float = 1.0) -> int:
    """A session of 1-DOGE bets: W a win, L a loss, R a refused bet; one bet every `step` seconds."""
    session_id = start(journal)
    bet, balance = dice("1"), Decimal(100)
    for seq, result in enumerate(results, start=1):
        if result == "R":
            outcome: Settled | Refused = Refused(seq=seq, bet=bet, kind=RefusalKind.MIN_BET, message="too small")
        elif result == "W":
            balance += Decimal("0.98")
            outcome = won(seq, bet, str(balance))
        else:
            balance -= 1
            outcome = lost(seq, bet, str(balance))
        play(journal, seq, outcome, bet, now=seq * step)
    return session_id


# -- the streak table ----------------------------------------------------------------------------------
def test_the_streak_table_by_hand(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        # Win streaks 2, 1, 3, 1; loss streaks 1, 3, 1, 2. The refused bet inside the second loss streak does
        # not break it (it did not run); the session ends on a loss streak, which counts too.
        report = build_report(journal, _scripted(journal, "WWLWLRLLWWWLWLL"))
    assert report.win_streaks == {1: 2, 2: 1, 3: 1}
    assert report.loss_streaks == {1: 2, 2: 1, 3: 1}
    assert report.streak_table() == [(1, 2, 2), (2, 1, 1), (3, 1, 1)]
    assert (report.longest_win_streak, report.longest_loss_streak) == (3, 3)
    assert report.refused == 1
    # Every bet that ran is in exactly one streak.
    assert sum(n * (w + lo) for n, w, lo in report.streak_table()) == report.bets == 14


def test_streak_lengths_that_did_not_occur_are_left_out(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, "LLLLLWLLLLL"))
    assert report.streak_table() == [(1, 1, 0), (5, 0, 2)]


# -- the profit histogram ------------------------------------------------------------------------------
def _rows(profits: list[str]) -> list[tuple[object, ...]]:
    """Raw rows in REPORT_COLUMNS order: settled bets of stake 1 with these profits."""
    return [(1_700_000_000_000_000 + i, "settled", "1", "49.5", int(Decimal(p) >= 0), p, 1.0)
            for i, p in enumerate(profits)]


def test_the_profit_histogram_counts_every_bet_past_the_exact_texts(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        session = journal.session(_scripted(journal, "W"))
    # More distinct profits than are counted exactly: the rest go into bins, and no bet is lost.
    profits = [f"{(i % 3000) - 1500}.{i:08d}"[:14] for i in range(EXACT_PROFITS + 3000)]
    report = summarize(session, _rows(profits), columns=REPORT_COLUMNS)
    assert report.profits.bins
    assert report.profits.total == len(profits)
    width, bins = report.profits.histogram()
    assert sum(n for _, n in bins) == len(profits)
    assert width == 2.0 ** round(math.log2(width))  # a power of two
    assert max(k for k, _ in bins) - min(k for k, _ in bins) <= 80
    low, high = min(float(p) for p in profits), max(float(p) for p in profits)
    assert min(k for k, _ in bins) * width <= low
    assert (max(k for k, _ in bins) + 1) * width > high


def test_few_distinct_profits_are_counted_exactly(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, "WWLWL"))
    assert report.profits.exact == {"0.98000000": 3, "-1": 2}  # by the journal's texts
    width, bins = report.profits.histogram()
    assert dict(bins) == {int(-1 // width): 2, int(0.98 // width): 3}


# -- the drawdown per run of bets ----------------------------------------------------------------------
def test_a_runs_deepest_drawdown_is_kept_when_its_low_and_high_do_not_show_it(tmp_path: Path) -> None:
    """Peak 100 before the run; in the run the balance dips to 99, climbs to 110, falls to 105 (a drawdown
    of 5 below 110 that neither the run's low nor its last balance shows), ends at 106."""
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        session = journal.session(_scripted(journal, "W"))
    profits = ["1", "-2", "11", "-5", "1"]  # balances 101, 99, 110, 105, 106 from 100
    # Runs of 5 bets (as for a session of 5 * MAX_BUCKETS): one run holds them all.
    report = summarize(session, _rows(profits), total=5 * MAX_BUCKETS, columns=REPORT_COLUMNS)
    assert len(report.curve) == 1
    assert report.max_drawdown == report.curve[0].drawdown == 5
    drawdown_chart = build_charts(report)[1]
    assert min(drawdown_chart.layers[0].lows) == -5.0  # type: ignore[union-attr]


# -- the page ------------------------------------------------------------------------------------------
class _Page(HTMLParser):
    """Every tag with its attributes, and the text of the h2 headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)


@pytest.mark.parametrize("x_axis", ["bets", "time"])
def test_the_page_parses_holds_the_five_charts_and_fetches_nothing(tmp_path: Path, x_axis: str) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, "WWLWLRLLWWWLWLL" * 20))
    page_text = render_html(report, x_axis)  # type: ignore[arg-type]
    page = _Page()
    page.feed(page_text)
    page.close()
    ids = [attrs.get("id") for tag, attrs in page.tags if tag == "svg" and attrs.get("id")]
    assert ids == [f"chart-{chart_id}" for chart_id in CHART_IDS]
    assert page.headings == ["Balance", "Drawdown", "Profit per bet", "Streak lengths", "Stake", "Streaks by length"]
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed")
        for name in ("src", "href", "xlink:href", "srcset", "action"):
            assert name not in attrs, (tag, attrs)
    for fetch in ("http://", "https://", "url(", "@import", "//"):
        assert fetch not in page_text.replace("<!DOCTYPE", "")
    # Each chart draws its data: the balance a polyline; bars for the one winning and the one losing profit,
    # and for win and loss streaks of lengths 1, 2 and 3.
    assert page_text.count('class="balance"') == 1
    bars = [attrs["class"] for tag, attrs in page.tags if tag == "rect" and attrs.get("class") in ("win", "loss")]
    assert (bars.count("win"), bars.count("loss")) == (1 + 3, 1 + 3)
    # The streak table, as the statistics say.
    assert "<tr><td>1</td><td>40</td><td>40</td></tr>" in page_text
    assert "<tr><td>3</td><td>20</td><td>20</td></tr>" in page_text


def test_the_time_axis_is_labelled_with_the_time_of_day(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, "WL" * 150, step=2.0))  # 598 s of bets
    by_bets, by_time = build_charts(report, "bets")[0], build_charts(report, "time")[0]
    assert (by_bets.x.low, by_bets.x.high) == (0.0, 300.0)
    assert by_time.x.high == pytest.approx(598.0)
    assert report.first_at is not None
    assert by_time.x.label == f"time (UTC, {report.first_at:%Y-%m-%d})"
    labels = [label for _, label in by_time.x.ticks]
    assert len(labels) >= 3
    assert all(len(label) == 5 and label[2] == ":" for label in labels)  # HH:MM at a 2-minute step
    # The balance curve is the same, only placed differently.
    assert by_time.layers[-1].ys == by_bets.layers[-1].ys  # type: ignore[union-attr]


def test_nice_ticks() -> None:
    assert nice_ticks(0, 3000) == (500.0, [0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0])
    step, ticks = nice_ticks(999_996.01, 1_000_001.08)
    assert (step, ticks[0], ticks[-1]) == (1.0, 999_997.0, 1_000_001.0)


# -- the picture ---------------------------------------------------------------------------------------
def test_the_png_has_the_five_panels(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from betbot.observe.report import render_figure  # noqa: PLC0415

    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, "WWLWLRLLWWWLWLL" * 5))
    figure = render_figure(report)
    titles = sorted(axes.get_title(loc="left") for axes in figure.axes)
    assert titles == sorted(chart.title for chart in build_charts(report))
    target = tmp_path / "r.png"
    write_png(report, target, "time")
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == PNG_SIZE
    import matplotlib.image  # noqa: PLC0415

    pixels = matplotlib.image.imread(target)
    assert pixels.shape[:2] == (PNG_SIZE[1], PNG_SIZE[0])
    assert len({tuple(p) for p in pixels[::37, ::37].reshape(-1, pixels.shape[2]).tolist()}) > 8  # not blank


# -- one spelling everywhere ---------------------------------------------------------------------------
def test_formats() -> None:
    assert money("99") == "99.00000000"
    assert money(Decimal("0E-8")) == money("-0E-8") == "0.00000000"
    assert money("-0.5") == "-0.50000000"
    assert money("1E+2") == "100.00000000"
    assert roll_text(2714) == "27.14"
    assert roll_text(5) == "0.05"
    assert roll_text(9999) == "99.99"
    assert all(roll_from_text(roll_text(n)) == n for n in range(0, 10_000, 7))
    assert percent(51.2) == percent(Decimal("51.2")) == "51.20 %"


def _invoke(*args: str) -> Result:
    group = click.Group("betbot")
    register(group)
    group.add_command(report_command)
    return CliRunner().invoke(group, list(args), env={"COLUMNS": "200"})


def _betbot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`betbot ARGS` through the real entry point (its one-line errors): exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


@pytest.fixture
def one_bet(tmp_path: Path) -> Path:
    """One settled bet: 1 DOGE at 49.5 %, roll 27.14, a latency of 53.529003 ms."""
    path = tmp_path / "j.sqlite3"
    with Journal.open(path, durable=False) as journal:
        start(journal)
        bet = BetRequest(amount=Decimal(1), chance=Decimal("49.5"), currency=CURRENCY, high=True)
        journal.admitted(1, bet, 10.0)
        journal.released(Settled(seq=1, bet=bet, number=2714, win=False, payout=Decimal("1.98"),
                                 profit=Decimal(-1), balance=Decimal(99), nonce=0, bet_hash="h1"), 10.053529003)
    return path


def test_history_export_and_report_spell_a_bet_alike(one_bet: Path) -> None:
    history = _invoke("history", "--journal", str(one_bet))
    assert history.exit_code == 0, history.output
    row = next(line for line in history.stdout.splitlines() if line.strip().startswith("1 "))
    for text in ("1.00000000", "49.50 %", "27.14", "-1.00000000", "99.00000000", "53.53"):
        assert text in row.split() or text in row, (text, row)
    assert "2714" not in history.stdout

    exported = _invoke("export", "1", "--journal", str(one_bet))
    assert exported.exit_code == 0, exported.output
    (csv_row,) = csv.DictReader(io.StringIO(exported.stdout))
    assert (csv_row["roll"], csv_row["roll_hundredths"]) == ("27.14", "2714")
    assert (csv_row["amount"], csv_row["profit"], csv_row["balance_after"]) == ("1.00000000", "-1.00000000",
                                                                                "99.00000000")
    assert (csv_row["chance"], csv_row["latency_ms"]) == ("49.50", "53.53")
    jsonl = _invoke("export", "1", "--format", "jsonl", "--journal", str(one_bet))
    record = json.loads(jsonl.stdout)
    assert (record["roll"], record["roll_hundredths"], record["latency_ms"]) == ("27.14", 2714, 53.53)

    report = _invoke("report", "--journal", str(one_bet))
    assert report.exit_code == 0, report.output
    assert "0.00 %" in report.stdout  # win rate: no win in one bet
    assert "53.53 ms" in report.stdout
    assert "-1.00000000 DOGE" in report.stdout
    assert "%" not in report.stdout.replace(" %", "")  # every percentage with its space


# -- read-only commands and a missing journal ----------------------------------------------------------
@pytest.mark.parametrize("command", [["history"], ["history", "3"], ["export"], ["export", "1", "-o", "{out}"],
                                     ["report"], ["report", "2", "--html", "{html}"]])
def test_a_command_that_reads_a_session_says_there_is_no_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("BETBOT_JOURNAL", raising=False)
    args = [arg.format(out=tmp_path / "x.csv", html=tmp_path / "r.html") for arg in command]
    code, out, err = _betbot(capsys, *args)
    expected = home / "data" / "betbot" / "journal.sqlite3"
    assert code == 2
    assert err == f"betbot: error: no journal at {expected}; pass --journal PATH (or set BETBOT_JOURNAL)\n"
    assert out == ""
    assert list(home.iterdir()) == []  # no journal, no directory for it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no export, no page


def test_listing_sessions_without_a_journal_lists_none_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "j.sqlite3"
    code, out, _ = _betbot(capsys, "sessions", "--journal", str(missing))
    assert code == 0
    assert out == f"no sessions yet: there is no journal at {missing}\n"
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", ["history", "export", "report"])
def test_a_journal_without_sessions_is_said_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = tmp_path / "j.sqlite3"
    Journal.open(path, durable=False).close()
    before = path.read_bytes()
    code, out, err = _betbot(capsys, command, "--journal", str(path))
    assert code == 2
    assert err == f"betbot: error: no sessions in the journal {path} yet (`betbot run` journals one)\n"
    assert out == ""
    assert path.read_bytes() == before


def test_the_page_needs_no_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, "WLLW"))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # None in sys.modules: importing it fails
    assert render_html(report).count("<svg id=") == len(CHART_IDS)


@pytest.mark.parametrize("script", ["", "R", "W", "LL"])
@pytest.mark.parametrize("x_axis", ["bets", "time"])
def test_a_session_of_no_bet_or_one_is_drawn_too(tmp_path: Path, script: str, x_axis: str) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        report = build_report(journal, _scripted(journal, script) if script else start(journal))
    page = render_html(report, x_axis)  # type: ignore[arg-type]
    assert page.count("<svg id=") == len(CHART_IDS)
    assert ("No bets ran" in page) == (script in ("", "R"))
    if x_axis == "time" and importlib.util.find_spec("matplotlib") is not None:  # one axis is enough here
        write_png(report, tmp_path / "r.png", x_axis)  # type: ignore[arg-type]
        assert (tmp_path / "r.png").stat().st_size > 0


def test_the_report_reads_only_the_columns_it_needs(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite3", durable=False) as journal:
        session_id = _scripted(journal, "WLRW")
        narrow = build_report(journal, session_id)
        full = summarize(journal.session(session_id), journal.bet_rows(session_id))
        with pytest.raises(ValueError, match="not columns of the bets table: roll; DROP TABLE bets"):
            journal.bet_columns(session_id, ["seq", "roll; DROP TABLE bets"])
    assert narrow.rows() == full.rows()
    assert narrow.streak_table() == full.streak_table() == [(1, 2, 1)]
