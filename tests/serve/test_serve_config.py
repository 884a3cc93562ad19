"""`betbot serve`'s inputs: the config's [[sessions]], the token file, the command line's bad input (one line,
exit 2, nothing written), and the watcher's limit bars."""

from __future__ import annotations

import itertools
import os
import socket
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from betbot.config.settings import NOTIFY_EVENTS, SettingsError
from betbot.core.session import Limits, SessionSnapshot
from betbot.observe.view import RunView
from betbot.serve.auth import Auth, LoginThrottle, TokenError, load_or_create_token
from betbot.serve.lag import LoopLag
from betbot.serve.spec import SessionSpec, read_config, spec_settings
from betbot.serve.watch import CHART_POINTS, SessionWatch, limit_bars
from tests.helpers import FakeClock


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(text)
    return path


def test_sessions_come_from_the_config_with_the_shared_settings(tmp_path: Path) -> None:
    path = write(tmp_path, 'currency = "BTC"\nbalance = 5\n\n[[sessions]]\nname = "a"\nautostart = true\n'
                          'strategy = "martingale"\nmax_bets = 10\n[sessions.params]\nbase_bet = "0.001"\n\n'
                          '[[sessions]]\nname = "b"\npreset = "hunter-1pct.toml"\ncurrency = "DOGE"\n')
    shared, specs = read_config(path)
    assert shared == {"currency": "BTC", "balance": 5}
    assert [(spec.name, spec.autostart) for spec in specs] == [("a", True), ("b", False)]
    a = spec_settings(shared, specs[0])
    assert (a.currency, a.balance, a.strategy, a.max_bets) == ("BTC", Decimal(5), "martingale", 10)
    assert a.params == {"base_bet": "0.001"}
    assert a.dashboard == "off"
    assert a.heartbeat_file is None
    assert a.metrics_addr is None
    b = spec_settings(shared, specs[1])
    assert (b.strategy, b.max_bets, b.currency) == ("hunter", 3000, "DOGE")  # the preset, then the table


@pytest.mark.parametrize(("text", "words"), [
    ('[[sessions]]\nstrategy = "flat"\n', "name must be"),
    ('[[sessions]]\nname = "a b"\n', "name must be"),
    ('[[sessions]]\nname = "a"\n[[sessions]]\nname = "a"\n', "two [[sessions]] are named 'a'"),
    ('[[sessions]]\nname = "a"\napi_key = "k"\n', "api_key is the server's setting"),
    ('[[sessions]]\nname = "a"\nautostart = "yes"\n', "autostart must be true or false"),
    ("sessions = 3\n", "must be [[sessions]] tables"),
    ("[[sessions]\n", "not valid TOML"),
])
def test_bad_configs_say_what_and_where(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(SettingsError, match=None) as raised:
        read_config(write(tmp_path, text))
    assert words in str(raised.value)


def test_a_bad_setting_names_its_field() -> None:
    with pytest.raises(SettingsError, match="max_bets"):
        spec_settings({}, SessionSpec(name="a", values={"max_bets": -1}))


def test_the_token_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "serve-token"
    token, created = load_or_create_token(path)
    assert created
    assert len(token) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, False)
    path.chmod(0o644)
    with pytest.raises(TokenError, match="chmod 600"):
        load_or_create_token(path)
    path.chmod(0o600)
    path.write_text("short\n")
    with pytest.raises(TokenError, match="shorter than 16"):
        load_or_create_token(path)


def test_the_login_throttle_doubles_and_forgets_on_success() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(5):
        throttle.failed("1.2.3.4")
    assert throttle.wait("1.2.3.4") == 0
    throttle.failed("1.2.3.4")
    assert throttle.wait("1.2.3.4") == 2.0
    throttle.failed("1.2.3.4")
    assert throttle.wait("1.2.3.4") == 4.0
    assert throttle.wait("5.6.7.8") == 0  # per client
    clock.advance(4)
    assert throttle.wait("1.2.3.4") == 0
    throttle.succeeded("1.2.3.4")
    throttle.failed("1.2.3.4")
    assert throttle.wait("1.2.3.4") == 0


def test_console_sessions_are_not_the_token() -> None:
    auth = Auth("t" * 32)
    cookie, csrf = auth.login()
    assert auth.csrf_of(cookie) == csrf
    assert auth.csrf_of("t" * 32) is None
    assert auth.csrf_of(None) is None
    assert auth.bearer_ok("Bearer " + "t" * 32)
    assert not auth.bearer_ok("Basic " + "t" * 32)
    auth.logout(cookie)
    assert auth.csrf_of(cookie) is None


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    return subprocess.run([sys.executable, "-m", "betbot", "serve", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = write(tmp_path, '[[sessions]]\nname = "a"\njournal = "x"\n')
    result = run_serve(tmp_path, "--config", str(bad), "--port", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"betbot: error: config file {bad}, [[sessions]] #1: journal is the server's setting, not a session's; "
        "set it at the top of the config file"]
    assert not (tmp_path / "xdg").exists()  # nothing written: not even the token


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_serve(tmp_path, "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_notification_url_apprise_cannot_use_is_one_line_naming_it_without_its_secret(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "--port", "0", "--notify", "nope://secret-token-123")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "betbot: error: --notify #1 nope://*** is not a notification URL Apprise can use; check its scheme and "
        "parts (https://github.com/caronc/apprise/wiki)"]
    assert not (tmp_path / "xdg").exists()  # nothing written: not even the token
    shape = run_serve(tmp_path, "--port", "0", "--notify", "not a url")
    assert shape.returncode == 2
    assert "URL #1 is not SCHEME://..." in shape.stderr
    assert "Traceback" not in result.stderr + shape.stderr


def view(**values: object) -> RunView:
    zero = Decimal(0)
    base: dict[str, object] = {
        "currency": "DOGE", "starting_balance": Decimal(100), "balance": Decimal(100), "profit": zero,
        "wagered": zero, "bets": 0, "wins": 0, "losses": 0, "submitted": 0, "in_flight": 0, "exposure": zero,
        "unresolved": 0, "streak": 0, "longest_win_streak": 0, "longest_loss_streak": 0, "largest_bet": zero,
        "largest_win": zero, "largest_loss": zero, "max_drawdown": zero, "peak_profit": zero, "luck": None,
        "stop_reason": None}
    base.update(values)
    return RunView(snapshot=SessionSnapshot(**base), elapsed=10.0, concurrency=1, buffered=0,  # type: ignore[arg-type]
                   backing_off=False, backoff_remaining=0.0, backoff_reason="", backoff_trips=0, retries=0)


def test_limit_bars_say_how_far_and_when() -> None:
    limits = Limits(max_bets=1000, stop_loss=Decimal(10), take_profit=Decimal(20), max_duration=100.0)
    bars = {bar["name"]: bar for bar in limit_bars(
        limits, view(submitted=250, profit=Decimal(-4), balance=Decimal(96)), bets_per_s=50.0, profit_per_s=-0.5,
        elapsed_total=40.0)}
    assert bars["max_bets"]["used"] == 0.25
    assert bars["max_bets"]["eta_seconds"] == 15.0
    assert bars["stop_loss"]["used"] == 0.4
    assert bars["stop_loss"]["eta_seconds"] == 12.0
    assert bars["take_profit"]["used"] == 0.0
    assert bars["take_profit"]["eta_seconds"] is None
    assert bars["max_duration"]["used"] == 0.4
    assert bars["max_duration"]["eta_seconds"] == 60.0


def test_the_chart_keeps_the_whole_session_in_bounded_points(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = SessionWatch()
    engine = SimpleNamespace(clock=FakeClock())  # what `sample` reads besides the view
    watch.engine = engine  # type: ignore[assignment]
    settled = {"bets": 0}
    monkeypatch.setattr("betbot.serve.watch.view_of", lambda _engine: view(
        bets=settled["bets"], balance=Decimal(100) + Decimal(settled["bets"]) / 1000))
    for bets in range(10 * CHART_POINTS):
        settled["bets"] = bets
        watch.sample()
    assert len(watch.points) <= CHART_POINTS
    assert watch.points[0] == (0, "100.00000000")
    assert watch.points[-1][0] > 9 * CHART_POINTS
    gaps = {b - a for (a, _), (b, _) in itertools.pairwise(watch.points)}
    assert len(gaps) <= 2  # evenly spaced (the newest stride and the one before it)


def test_the_example_config_reads() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "serve.example.toml"
    shared, specs = read_config(example)
    found = {spec.name: spec_settings(shared, spec) for spec in specs}
    assert set(found) == {"doge-flat", "btc-hunter", "lua-martingale", "doge-campaign"}
    assert found["btc-hunter"].strategy == "hunter"
    assert found["lua-martingale"].script is not None
    assert found["doge-campaign"].repeat
    assert found["doge-campaign"].max_sessions == 20
    assert found["doge-campaign"].notify_on == list(NOTIFY_EVENTS)  # "all"
    assert found["doge-flat"].notify_on == ["stopped", "unresolved", "error", "campaign"]  # the top's default


async def test_the_loop_lag_probe_measures_lateness() -> None:
    clock = FakeClock()
    lag = LoopLag(interval=0.01, clock=clock)
    assert lag.quantile(0.99) == 0.0
    for late in (0.0, 0.001, 0.002, 0.05):
        lag.samples.append(late)
    assert lag.quantile(0.5) == 0.002
    assert lag.quantile(0.99) == 0.05
    assert lag.quantile(1.0) == 0.05
