"""`-n auto` from the outside: the flag, the setting, the journal's rows, the metrics and the dashboard line."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from rich.console import Console

from betbot.backends.simulator import LatencyModel, SimulatorBackend
from betbot.config.settings import Settings
from betbot.core.session import Limits
from betbot.engine.loop import Engine
from betbot.engine.pacing import Pacer
from betbot.journal import SessionRecord
from betbot.lifecycle import _resumed_settings
from betbot.observe.display import render
from betbot.observe.metrics import Metrics
from betbot.observe.view import concurrency_text, view_of
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake_in_thread
from tests.backends.test_live_cli import KEY, _betbot
from tests.helpers import Flat, make_game, make_session
from tests.observe.test_metrics import run_and_scrape

BETBOT = [sys.executable, "-m", "betbot"]
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BETBOT, *args], capture_output=True, text=True, timeout=120, env=env or ENV, check=False)


def _changes(journal: Path) -> list[tuple[int, int, str]]:
    with sqlite3.connect(journal) as con:
        return con.execute("SELECT old, new, reason FROM concurrency_changes ORDER BY rowid").fetchall()


def test_run_auto_journals_each_change_with_its_reason(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    result = run("run", "-n", "auto", "--auto-cap", "8", "--max-rate", "400", "--sim-latency", "10ms",
                 "--max-bets", "300", "--seed", "auto-cli", "--no-preview", "--journal", str(journal),
                 "--log-format", "json")
    assert result.returncode == 0, result.stderr
    assert "max_bets: placed 300 of 300 bets" in result.stdout
    assert "concurrency auto (cap 8)" in result.stdout
    changes = _changes(journal)
    old, new, reason = changes[0]
    assert reason == "little"
    assert old == 2  # the start
    assert 5 <= new <= 6  # Little's law: 400 bets/s x 10 ms x 1.2 = 4.8, plus the event loop's share of a reply
    assert all(1 <= new <= 8 for _, new, _ in changes)
    with sqlite3.connect(journal) as con:
        run_settings = json.loads(con.execute("SELECT run_settings FROM sessions").fetchone()[0])
    assert run_settings["auto_concurrency"] is True
    assert run_settings["concurrency"] == 8  # the cap


def test_auto_from_the_environment_and_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "betbot.toml"
    config.write_text('max_concurrent = "auto"\nauto_cap = 6\n')
    settings = Settings.model_validate({"max_concurrent": "auto", "auto_cap": 6})
    assert (settings.auto_concurrency, settings.parallel, settings.concurrency) == (True, True, 6)
    journal = tmp_path / "j.sqlite3"
    env = {**ENV, "BETBOT_MAX_CONCURRENT": "auto"}
    result = run("run", "--config", str(config), "--sim-latency", "5ms", "--max-bets", "100", "--no-preview",
                 "--journal", str(journal), env=env)
    assert result.returncode == 0, result.stderr
    assert _changes(journal)  # paced: slow start from 2 toward the cap
    assert all(new <= 6 for _, new, _ in _changes(journal))


@pytest.mark.parametrize("value", ["fast", "0", "257"])
def test_a_bad_max_concurrent_is_one_line_and_exit_2(value: str, tmp_path: Path) -> None:
    result = run("run", "-n", value, "--max-bets", "3", "--journal", str(tmp_path / "j.sqlite3"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "max-concurrent" in lines[0]
    assert not (tmp_path / "j.sqlite3").exists()


def test_help_explains_auto() -> None:
    result = run("run", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "-n, --max-concurrent N|auto" in text
    assert "Little's law toward --max-rate" in text
    assert "--auto-cap" in text


async def test_metrics_and_dashboard_show_the_current_n_and_why() -> None:
    metrics = Metrics()
    session = make_session(limits=Limits(max_bets=200))
    pacer = Pacer(ceiling=12, on_change=lambda change: metrics.concurrency_changed(change.reason))
    engine = Engine(session=session, strategy=Flat(), backend=SimulatorBackend(make_game(), LatencyModel(0.002)),
                    max_concurrent=12, hooks=metrics, pacer=pacer)
    samples = await run_and_scrape(engine, metrics)
    assert samples["betbot_concurrency_limit"] == engine.machine.in_flight_limit == pacer.limit
    assert samples["betbot_concurrency_cap"] == 12
    counted = {name: value for name, value in samples.items() if name.startswith("betbot_concurrency_changes_total")}
    assert samples['betbot_concurrency_changes_total{reason="slow-start"}'] >= 1  # 2 -> 4 at least
    assert sum(counted.values()) == len(pacer.changes) >= 1  # every change, by its reason
    view = view_of(engine)
    assert (view.in_flight_limit, view.pace_reason) == (pacer.limit, pacer.reason)
    console = Console(width=80, record=True, color_system=None)  # a terminal's default width: nothing cut
    console.print(render(view, Limits(max_bets=200), title="t", width=80, rate=None, elapsed=1.0))
    text = console.export_text()
    assert f"in flight     0 of {pacer.limit}, 0 waiting to be released in order" in text
    assert f"concurrency   auto: {pacer.limit} now (cap 12), last change: {pacer.reason}" in text
    assert "…" not in text


async def test_metrics_and_dashboard_show_the_sites_rate_once_learned() -> None:
    metrics = Metrics()
    session = make_session(limits=Limits(max_bets=100))
    pacer = Pacer(ceiling=8)
    pacer.learned_rate = 5000.0  # as a 429 would have taught it (tests/engine/test_pacing.py: how)
    engine = Engine(session=session, strategy=Flat(), backend=SimulatorBackend(make_game(), LatencyModel(0.002)),
                    max_concurrent=8, hooks=metrics, pacer=pacer)
    samples = await run_and_scrape(engine, metrics)
    assert samples["betbot_learned_rate"] == 5000.0
    assert engine.learned_rate_limit is not None  # and the engine held it
    assert engine.learned_rate_limit.rate == 5000.0
    console = Console(width=200, record=True, color_system=None)
    console.print(render(view_of(engine), Limits(max_bets=100), title="t", width=200, rate=None, elapsed=1.0))
    text = console.export_text()
    assert f"auto: {pacer.limit} now (cap 8), last change: {pacer.reason}" in text
    assert re.search(r"site's rate +5,000\.0 bets/s, learned from its 429s", text)


def _record(run_settings: dict[str, object]) -> SessionRecord:
    now = datetime.now(UTC)
    return SessionRecord(id=1, created_at=now, started_at=now, ended_at=None, strategy="flat", params={},
                         limits={}, backend="simulator", currency="DOGE", starting_balance=Decimal(100), seed=None,
                         first_seq=1, stop_reason=None, stop_kind=None, summary=None, strategy_state=None,
                         state_seq=None, site_baseline=None, run_settings=run_settings, last_seq=None, unresolved=0)


def test_a_resumed_auto_session_is_paced_again_under_its_own_cap() -> None:
    err = Console(file=io.StringIO())
    record = _record({"concurrency": 12, "auto_concurrency": True})
    resumed = _resumed_settings(Settings(), record, err)
    assert (resumed.auto_concurrency, resumed.concurrency) == (True, 12)
    # -n given again: it may lower the session's concurrency (a fixed N now), never raise it.
    lowered = _resumed_settings(Settings.model_validate({"max_concurrent": 4, "parallel": True}), record, err)
    assert (lowered.auto_concurrency, lowered.concurrency) == (False, 4)


def test_the_title_and_the_announcement_say_auto_and_its_cap() -> None:
    def engine(pacer: Pacer | None) -> Engine:  # what concurrency_text reads of an engine
        return cast(Engine, SimpleNamespace(concurrency=12, pacer=pacer))

    assert concurrency_text(engine(Pacer(ceiling=12))) == "auto (cap 12)"  # not the cap alone, as if fixed
    assert concurrency_text(engine(None)) == "12"


def test_a_live_session_starts_at_the_rate_an_earlier_one_learned_from_the_same_site(tmp_path: Path) -> None:
    # The fake site allows 80 bets/s (a burst of 40). The first `-n auto` session runs into that limit and learns
    # it; the next one on the same journal and site starts at the ceiling the first held (journaled with each
    # change), with no slow start into the limit, and is refused less (nothing, unless the first still held a
    # figure above the site's limit that its burst hid).
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="remembered-rate", latency=0.005, rate_limit=80.0,
                                        rate_burst=40.0, retry_after="0.2"))
    journal = tmp_path / "j.sqlite3"
    env = {**ENV, "BETBOT_API_KEY": KEY, "BETBOT_MIN_BET_CACHE": str(tmp_path / "min_bets.json")}
    with serve_fake_in_thread(app=app) as base_url:
        common = ("run", "--live", "--base-url", base_url, "-s", "flat", "--no-loss-limit", "-n", "auto",
                  "--auto-cap", "16", "--dashboard", "off", "--journal", str(journal), "--log-format", "json")
        learning = _betbot(*common, "--max-bets", "400", env=env)
        assert learning.returncode == 0, learning.stderr[-2000:]
        refused_learning = app.rate_limited
        remembered = _betbot(*common, "--max-bets", "120", env=env)
        assert remembered.returncode == 0, remembered.stderr[-2000:]
    assert refused_learning >= 1, learning.stderr[-2000:]  # slow start ran into the site's limit
    with sqlite3.connect(journal) as con:
        rows = con.execute("SELECT session_id, reason, rate FROM concurrency_changes ORDER BY rowid").fetchall()
    held = [rate for session_id, _, rate in rows if session_id == 1 and rate is not None]
    second = [(reason, rate) for session_id, reason, rate in rows if session_id == 2]
    assert held
    assert second[0] == ("remembered", held[-1]), rows
    assert "slow-start" not in {reason for reason, _ in second}, rows
    assert app.rate_limited - refused_learning < refused_learning, rows
    started = [json.loads(line) for line in remembered.stderr.splitlines() if '"concurrency.remembered"' in line]
    assert [(entry["session_id"], entry["rate"]) for entry in started] == [(1, round(held[-1], 1))]
    assert KEY not in learning.stderr + remembered.stderr
