"""A real browser (Playwright driving the system Chromium) against a real `betbot serve` on 127.0.0.1: log in,
start a simulated session from a preset, watch the chart and the bet count move live (server-sent events),
stop it, and find the page's final figures equal to the journal's summary. And a campaign started from the
form, seen waiting between its sessions, and a journal session another process runs refused by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from betbot.core.models import StopKind, StopReason
from betbot.journal import Journal
from tests.journal.test_lease import held_elsewhere, new_session
from tests.serve_process import start_serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


def test_log_in_start_watch_stop_and_compare_with_the_journal(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    journal = tmp_path / "journal.sqlite3"
    config = tmp_path / "serve.toml"
    config.write_text(f'journal = "{journal}"\n')
    served = start_serve(tmp_path, "--config", str(config))
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.goto(served.url + "/")
            page.wait_for_url("**/#/login")
            page.fill("#token", "wrong-token-wrong")
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#error:has-text('wrong token')")
            problems.clear()  # the 401 of the wrong token, on purpose
            page.fill("#token", served.token)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#sessions", state="attached")
            page.click("#nav-new")
            page.select_option("#kind", "preset")
            page.select_option("#choice", "hunter-1pct.toml")
            page.fill("#set-max_bets", "200000")
            page.fill("#set-sim_latency", "5ms")
            page.fill("#set-seed", "browser")
            page.fill("#session-name", "from-preset")
            page.click("#preview-button")
            page.wait_for_selector("#preview strong")
            page.click("#start")
            page.wait_for_url("**/#/session/from-preset")
            page.wait_for_selector("#balance-chart polyline")
            first_bets = int(page.inner_text("#bets"))
            first_chart = page.get_attribute("#balance-chart polyline", "points")
            # Live, with no reload: the count and the chart move by themselves.
            page.wait_for_function("(at) => Number(document.getElementById('bets').textContent) > at",
                                   arg=first_bets + 20)
            page.wait_for_function("(before) => document.querySelector('#balance-chart polyline')"
                                   ".getAttribute('points') !== before", arg=first_chart)
            page.click("#stop")
            page.wait_for_selector("#state:has-text('ended')")
            page.wait_for_selector("#summary")
            shown = {field: page.inner_text(f"#summary [data-field={field}]")
                     for field in ("bets", "profit", "balance", "wagered", "stop_reason")}
            assert page.inner_text("#bets") == shown["bets"]
            verification = page.inner_text("#verification")
            browser.close()
        assert problems == []
        assert served.terminate() == 0
    finally:
        if served.process.poll() is None:
            served.kill()
    with Journal.open(journal, durable=False, readonly=True) as opened:
        [record] = opened.sessions()
    summary = record.summary
    assert summary is not None
    assert record.strategy == "hunter"
    assert shown == {field: str(summary[field]) for field in shown}
    assert "console" in shown["stop_reason"]
    assert int(shown["bets"]) > first_bets
    assert f"all {shown['bets']} match" in verification


def test_a_campaign_from_the_form_and_a_session_run_elsewhere_refused_by_name(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    journal = tmp_path / "journal.sqlite3"
    with Journal.open(journal, durable=False) as opened:  # an interrupted session, for History's Resume
        held_id = new_session(opened)
        opened.finish_session(held_id, StopReason(kind=StopKind.SIGNAL, detail="interrupted"), {})
    config = tmp_path / "serve.toml"
    config.write_text(f'journal = "{journal}"\n')
    served = start_serve(tmp_path, "--config", str(config))
    try:
        with held_elsewhere(journal, held_id) as holder, sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.goto(served.url + "/")
            page.fill("#token", served.token)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#sessions", state="attached")
            problems.clear()  # the 401 that sent the console to its login page
            page.click("#nav-new")
            page.select_option("#kind", "strategy")
            page.select_option("#choice", "flat")
            page.fill("#set-max_bets", "")  # a campaign goes on after a take-profit or a stop-loss only
            page.fill("#set-take_profit", "0.01")
            page.fill("#set-stop_loss", "1")
            page.fill("#set-sim_latency", "5ms")
            page.fill("#set-pause_between", "1h")
            page.check("#set-repeat")
            page.fill("#session-name", "camp")
            page.click("#start")
            page.wait_for_url("**/#/session/camp")
            # Its first session reached its take-profit: the campaign waits for the next, and says so.
            page.wait_for_selector("#state:has-text('waiting')")
            campaign = page.inner_text("#campaign")
            page.click("#stop")
            page.wait_for_selector("#state:has-text('ended')")
            page.click("#nav-history")
            page.click(f"a[href='#/history/{held_id}']")
            page.click("#resume-session")
            page.wait_for_selector("#error:has-text('is being run by process')")
            error = page.inner_text("#error")
            browser.close()
        # The refusal's 409, on purpose; nothing else went wrong on the pages.
        assert [problem for problem in problems if "409" not in problem] == []
        assert served.terminate() == 0
    finally:
        if served.process.poll() is None:
            served.kill()
    assert campaign.startswith("campaign 1: session 1 ended, the next one waits, total ")
    assert "1 ended with" in campaign
    assert error.startswith(f"session {held_id} is being run by process {holder.pid} on host ")
