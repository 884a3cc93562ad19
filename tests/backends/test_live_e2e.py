"""End to end: the engine and DuckDiceBackend against the fake server under uvicorn on 127.0.0.1.

* Faults that mean "not placed, try again" (429, challenge): the session's ordered history and the fake's
  ledger agree bet for bet, and the final balance equals the server's to the satoshi.
* Faults that leave an outcome unknown (5xx, malformed, drop-after-execute, slow-after-execute,
  5xx-after-execute): the engine stops with UNKNOWN_OUTCOME; `betbot.core.reconcile` then resolves the unknown
  bets from /bot/stats, and the verdicts match what the ledger says really ran.
* Every fault at once over thousands of bets, with the engine reconciling by itself and going on: the
  ledger and the session agree bet for bet (none lost, none run twice, none counted twice) and the
  balances agree to the satoshi.
* The API key appears in no output, log line, outcome or exception text, whatever happens.
"""

from __future__ import annotations

import io
import logging
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import click
import pytest
import structlog
from click.testing import CliRunner
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend, DuckDiceError, Timeouts
from betbot.cli.live import register
from betbot.config.apikey import resolve_api_key
from betbot.config.settings import LogFormat
from betbot.core.fairness import GameRules, payout_multiplier
from betbot.core.models import BetRequest, Refused, Settled, StopKind, Unknown
from betbot.core.reconcile import reconcile
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.backoff import SharedBackoff
from betbot.engine.loop import Engine
from betbot.engine.site_books import Reconciler
from betbot.observe.logs import configure_logging
from betbot.redact import unregister_secret
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake, serve_fake_in_thread
from tests.helpers import Flat, Recorder

KEY = "LEAKCANARY-7f3a9c1e5b2d4f60a8e7"
STAKE = Decimal("0.01")


@dataclass
class Run:
    app: FakeDuckDice
    session: Session
    engine: Engine
    history: Recorder
    baseline: Any
    site: Any


async def play(app: FakeDuckDice, *, n: int, bets: int, read_timeout: float = 5.0, books: bool = True,
               reconcile: bool = False) -> Run:
    """One session against the fake under uvicorn; `books` reads the balance and stats before and after."""
    async with serve_fake(app=app) as base_url:
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, max_connections=n, trust_env=False,
                                  timeouts=Timeouts(connect=2, read=read_timeout, write=2, pool=2))
        async with backend:
            balance = await backend.balance("DOGE") if books else Decimal(100)
            baseline = await backend.stats("DOGE") if books else None
            context = StrategyContext(currency="DOGE", starting_balance=balance)
            strategy = Flat(ctx=context)  # 0.01 a bet, any number in flight
            session = Session(currency="DOGE", starting_balance=balance, limits=Limits(max_bets=bets),
                              started_at=time.monotonic())
            history = Recorder()
            engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n,
                            hooks=history, backoff=SharedBackoff(base=0.002, cap=0.01), drain_timeout=10,
                            reconciler=Reconciler(backend, "DOGE", GameRules()) if reconcile else None)
            await engine.run()
            site = await backend.stats("DOGE") if books else None
    return Run(app, session, engine, history, baseline, site)


def check_ledger_agrees(run: Run) -> list[Settled]:
    """Every settled bet is in the ledger with the same roll, profit, nonce and balance, in seq order."""
    settled = [o for o in run.history.outcomes if isinstance(o, Settled)]
    assert [o.seq for o in run.history.outcomes] == sorted(o.seq for o in run.history.outcomes)
    by_hash = {entry["hash"]: entry for entry in run.app.ledger}
    for outcome in settled:
        entry = by_hash[outcome.bet_hash]
        assert entry["number"] == outcome.number
        assert Decimal(entry["profit"]) == outcome.profit
        assert Decimal(entry["balance"]) == outcome.balance
        assert entry["nonce"] == outcome.nonce
        assert Decimal(entry["amount"]) == outcome.bet.amount
        assert entry["win"] == outcome.win
    return settled


@pytest.mark.parametrize("n", [5, 20])
@pytest.mark.parametrize("bets", [300, pytest.param(2000, marks=pytest.mark.slow)])
async def test_rate_limits_and_challenges_lose_nothing(n: int, bets: int) -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed=f"e2e-{n}", latency=0.002, jitter=0.003,
                                        faults={"429": 0.03, "challenge": 0.02}))
    run = await play(app, n=n, bets=bets)
    assert run.session.stop_reason is not None
    assert run.session.stop_reason.kind is StopKind.MAX_BETS, run.session.stop_reason
    settled = check_ledger_agrees(run)
    assert len(settled) == bets == len(app.ledger)
    assert {o.bet_hash for o in settled} == {entry["hash"] for entry in app.ledger}
    assert run.engine.retries == len(app.not_executed) > 0
    server_balance = Decimal(app.balances_json()["DOGE"]["main"])
    assert run.session.balance == server_balance == run.site.balance
    assert run.site.bets - run.baseline.bets == bets
    # Concurrency really happened: the server ran bets in another order than their seqs.
    nonce_order = [o.nonce for o in settled]
    assert nonce_order != sorted(nonce_order)


@pytest.mark.parametrize("n", [5, 20])
@pytest.mark.parametrize("fault", ["5xx", "malformed", "drop-after-execute", "slow-after-execute",
                                   "5xx-after-execute"])
async def test_unknown_outcomes_stop_and_reconcile(fault: str, n: int) -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed=f"u-{fault}-{n}", latency=0.002, jitter=0.003,
                                        faults={fault: 0.03, "429": 0.01}, slow_delay=10))
    # A short read timeout only where the fake holds replies back: elsewhere a reply slowed by a loaded
    # machine would turn into an unknown bet that ran, which the 5xx case below says cannot happen.
    run = await play(app, n=n, bets=600, read_timeout=0.3 if fault == "slow-after-execute" else 5.0)
    session = run.session
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.UNKNOWN_OUTCOME, session.stop_reason
    settled = check_ledger_agrees(run)
    unknown = [o for o in run.history.outcomes if isinstance(o, Unknown)]
    assert unknown
    assert all(KEY not in o.message for o in unknown)
    # What really ran among the unknown ones, per the fake's ledger.
    settled_hashes = {o.bet_hash for o in settled}
    ran_unseen = [entry for entry in app.ledger if entry["hash"] not in settled_hashes]
    if fault == "5xx":
        assert ran_unseen == []
    rules = GameRules()
    result = reconcile(
        baseline=run.baseline, site=run.site, settled_bets=len(settled),
        settled_profit=sum((o.profit for o in settled), Decimal(0)),
        unknown=[(o.seq, o.bet) for o in unknown],
        payouts={o.seq: payout_multiplier(o.bet.chance, rules.edge_for(o.bet)) for o in unknown},
    )
    assert result.balanced, result.detail
    ran = [v.profit for v in result.verdicts if v.profit is not None]
    assert Counter(ran) == Counter(Decimal(entry["profit"]) for entry in ran_unseen)
    # Apply the verdicts as the engine will: the session's books then equal the site's to the satoshi.
    by_seq = {o.seq: o for o in unknown}
    for verdict in result.verdicts:
        session.resolve_unknown(verdict.seq, by_seq[verdict.seq].bet, verdict.profit)
    assert session.resume_after_reconciliation()
    assert session.balance == run.site.balance == Decimal(app.balances_json()["DOGE"]["main"])


MIXED_FAULTS = {"429": 0.02, "challenge": 0.02, "5xx": 0.01, "malformed": 0.01, "drop-after-execute": 0.01,
                "slow-after-execute": 0.003, "5xx-after-execute": 0.01}


@pytest.mark.parametrize("n", [5, 20])
async def test_every_fault_over_thousands_of_bets_keeps_the_books(n: int) -> None:
    bets = 2000
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed=f"mixed-{n}", latency=0.001, jitter=0.002,
                                        faults=MIXED_FAULTS, slow_delay=2))
    run = await play(app, n=n, bets=bets, read_timeout=0.25, reconcile=True)
    session, engine = run.session, run.engine
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS, session.stop_reason
    settled = check_ledger_agrees(run)  # every settled bet is the ledger's, roll for roll
    unknown = [o for o in run.history.outcomes if isinstance(o, Unknown)]
    verdicts = [v for result in engine.reconciliations for v in result.verdicts]
    assert unknown
    assert all(result.balanced for result in engine.reconciliations)
    assert sorted(v.seq for v in verdicts) == sorted(o.seq for o in unknown)  # each unknown bet settled once
    # None lost, none run twice: the ledger holds exactly the bets the session counts, each hash once.
    hashes = [entry["hash"] for entry in app.ledger]
    assert len(hashes) == len(set(hashes)) == session.bets == bets
    ran_unseen = [entry for entry in app.ledger if entry["hash"] not in {o.bet_hash for o in settled}]
    assert len(settled) + sum(v.profit is not None for v in verdicts) == bets
    assert Counter(v.profit for v in verdicts if v.profit is not None) == Counter(
        Decimal(entry["profit"]) for entry in ran_unseen)
    assert session.unresolved_seqs == []
    assert session.balance == run.site.balance == Decimal(app.balances_json()["DOGE"]["main"])
    assert engine.retries > 0  # the 429s and challenges were sent again after the back-off


# -- the key never leaks -------------------------------------------------------------------------------------
ALL_FAULTS = {"429": 0.02, "challenge": 0.02, "5xx": 0.02, "malformed": 0.02, "drop-after-execute": 0.02,
              "slow-after-execute": 0.02, "5xx-after-execute": 0.02, "json-error": 0.02}


def _texts(run: Run) -> list[str]:
    texts = [repr(o) for o in run.history.outcomes]
    texts.append(str(run.session.stop_reason))
    texts.append(repr(run.engine.backend))
    texts.append(run.engine.backoff.reason)
    return texts


@pytest.mark.parametrize("faults", [{}, ALL_FAULTS, {"json-error": 1.0}, {"challenge": 0.3, "429": 0.3}])
async def test_key_never_leaks_from_sessions(faults: dict[str, float], capsys: pytest.CaptureFixture[str],
                                             caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    configure_logging(LogFormat.JSON, "debug", stream=stream)
    caplog.set_level(logging.DEBUG)
    try:
        app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="leak", latency=0.001, jitter=0.002, faults=faults,
                                            slow_delay=5))
        run = await play(app, n=5, bets=100, read_timeout=0.3)
        structlog.get_logger("test").info("session over", stop=str(run.session.stop_reason),
                                          outcomes=[repr(o) for o in run.history.outcomes[-5:]])
        # The wrong key: every bet refused as AUTH, and the message does not echo what was sent.
        wrong = FakeDuckDice(FakeServerConfig(api_key="the-right-key", seed="leak2"))
        refused_run = await play(wrong, n=2, bets=5, books=False)
        assert refused_run.session.stop_reason is not None
        assert refused_run.session.stop_reason.kind is StopKind.REFUSED
        assert isinstance(refused_run.history.outcomes[0], Refused)
    finally:
        structlog.reset_defaults()
    captured = capsys.readouterr()
    haystack = "\n".join([captured.out, captured.err, stream.getvalue(), caplog.text,
                          *(record.getMessage() for record in caplog.records), *_texts(run), *_texts(refused_run)])
    assert KEY not in haystack
    assert "api_key=***" in caplog.text  # the request URLs were logged, redacted


async def test_key_never_leaks_from_errors() -> None:
    # Nothing listens on this port: connect errors all the way down.
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url="http://127.0.0.1:9", retries=1, retry_pause=0,
                              trust_env=False, timeouts=Timeouts(connect=0.5))
    async with backend:
        with pytest.raises(DuckDiceError) as caught:
            await backend.stats("DOGE")
        outcome = await backend.place(1, BetRequest(amount=STAKE, chance=Decimal("49.5"), currency="DOGE"))
    assert isinstance(outcome, Refused)
    text = "".join(traceback.format_exception(caught.value)) + repr(caught.value) + repr(outcome)
    assert "api_key=***" in text or "127.0.0.1:9" in text
    assert KEY not in text


def _cli() -> click.Group:
    @click.group()
    def cli() -> None:
        pass

    register(cli)
    return cli


def test_key_never_leaks_from_cli(tmp_path: Path) -> None:
    cli = _cli()
    runner = CliRunner()
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    outputs: list[str] = []
    with serve_fake_in_thread(FakeServerConfig(api_key=KEY, balances={"DOGE": Decimal(100)})) as base_url:
        ok = [
            ["balance", "--base-url", base_url, "--api-key", KEY],
            ["stats", "--currency", "doge", "--base-url", base_url, "--api-key-file", str(key_file)],
            ["seed", "rotate", "--client-seed", "abc", "--base-url", base_url],
        ]
        for args in ok:
            result = runner.invoke(cli, args, env={"BETBOT_API_KEY": KEY})
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
        assert "DOGE" in outputs[0]
        assert "warning" in outputs[0]
        assert "process list" in outputs[0]
        assert "bets" in outputs[1]
        assert "client seed" in outputs[2]
        failing = [
            ["balance", "--base-url", "http://127.0.0.1:9", "--retries", "1"],  # connection refused
            ["stats", "--currency", "DOGE", "--base-url", base_url + "/nowhere"],  # 404
        ]
        for args in failing:
            result = runner.invoke(cli, args, env={"BETBOT_API_KEY": KEY})
            assert result.exit_code == 1, result.output
            assert "error: " in result.output
            assert "Traceback" not in result.output
            assert result.exception is None or isinstance(result.exception, SystemExit)
            outputs.append(result.output)
    with serve_fake_in_thread(FakeServerConfig(api_key="another-key")) as base_url:
        result = runner.invoke(cli, ["stats", "--currency", "DOGE", "--base-url", base_url],
                               env={"BETBOT_API_KEY": KEY})
        assert result.exit_code == 1
        assert "401" in result.output
        outputs.append(result.output)
    assert all(KEY not in text for text in outputs)


def test_cli_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("betbot.config.apikey.DOCKER_SECRET", tmp_path / "absent")
    result = CliRunner().invoke(_cli(), ["balance", "--base-url", "http://127.0.0.1:9"], env={"BETBOT_API_KEY": ""})
    assert result.exit_code == 2
    assert "BETBOT_API_KEY" in result.output
    assert "--api-key-file" in result.output


# -- where the key comes from ----------------------------------------------------------------------------------
def test_resolve_api_key_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    key_file.chmod(0o600)
    secret = tmp_path / "secret"
    secret.write_text("from-docker")
    secret.chmod(0o600)
    env = {"BETBOT_API_KEY": "from-env"}
    explicit = resolve_api_key(SecretStr("explicit"), key_file, warn_cli=True, environ=env, docker_secret=secret)
    assert explicit.get_secret_value() == "explicit"
    assert "process list" in capsys.readouterr().err
    assert resolve_api_key(None, key_file, warn_cli=False, environ=env,
                           docker_secret=secret).get_secret_value() == "from-file"
    assert resolve_api_key(None, None, warn_cli=False, environ=env,
                           docker_secret=secret).get_secret_value() == "from-env"
    assert resolve_api_key(None, None, warn_cli=False, environ={},
                           docker_secret=secret).get_secret_value() == "from-docker"
    assert capsys.readouterr().err == ""
    assert "from-file" not in repr(resolve_api_key(None, key_file, warn_cli=False, environ={}))
    for value in ("explicit", "from-file", "from-env", "from-docker"):
        unregister_secret(value)


def test_resolve_api_key_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(click.UsageError, match=r"no DuckDice API key.*--api-key-file.*BETBOT_API_KEY.*secrets"):
        resolve_api_key(None, None, warn_cli=False, environ={}, docker_secret=tmp_path / "absent")
    with pytest.raises(click.UsageError, match="does not exist"):
        resolve_api_key(None, tmp_path / "absent", warn_cli=False, environ={})
    empty = tmp_path / "empty"
    empty.write_text("\n  \n")
    with pytest.raises(click.UsageError, match="is empty"):
        resolve_api_key(None, empty, warn_cli=False, environ={})
    loose = tmp_path / "loose"
    loose.write_text("loose-key-value")
    loose.chmod(0o644)
    assert resolve_api_key(None, loose, warn_cli=False, environ={}).get_secret_value() == "loose-key-value"
    assert "chmod 600" in capsys.readouterr().err
    unregister_secret("loose-key-value")


# -- the fake-server command -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "needle"), [
    (["--host", "0.0.0.0"], "--allow-remote"),  # noqa: S104 - the point: it is refused
    (["--faults", "nope=0.1"], "--faults"),
    (["--balance", "DOGE"], "CURRENCY=AMOUNT"),
    (["--latency", "soon"], "duration"),
])
def test_fake_server_bad_options(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(_cli(), ["fake-server", *args])
    assert result.exit_code == 2
    assert needle in result.output


def test_fake_server_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("import click, sys; from betbot.cli.live import register\n"
            "@click.group()\ndef cli(): pass\nregister(cli)\ncli(sys.argv[1:])")
    process = subprocess.Popen([sys.executable, "-c", code, "fake-server", "--port", str(port), "--api-key", KEY,
                                "--balance", "DOGE=5", "--latency", "1ms"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)

        async def check() -> None:
            backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=f"http://127.0.0.1:{port}", trust_env=False)
            async with backend:
                assert await backend.balance("DOGE") == Decimal(5)

        anyio.run(check)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}" in err
    assert KEY not in out + err
