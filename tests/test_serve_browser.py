"""A real browser (Playwright driving the system Chromium) against a real `betbot serve` on 127.0.0.1: log in,
start a simulated session from a preset, watch the chart and the bet count move live (server-sent events),
stop it, and find the page's final figures equal to the journal's summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from betbot.journal import Journal
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
