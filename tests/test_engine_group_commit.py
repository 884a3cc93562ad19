"""Intent before send, for every bet, on both of the engine's paths, and group commit in a live run.

A live backend's bets go through bet coroutines that await `durable(seq)`: the fake DuckDice looks at the
journal file (another connection, as after a crash) when each bet request arrives, and finds that bet's row
already committed; and bets in flight share disk syncs. A backend that answers at once (the instant
simulator) gets a sync before each bet instead, checked the same way from inside `place_now`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from betbot.backends.base import immediate_placer
from betbot.backends.duckdice import DuckDiceBackend, Timeouts
from betbot.backends.simulator import SimulatedGame, SimulatorBackend
from betbot.core.fairness import SeedPair
from betbot.core.models import BetRequest, Outcome, StopKind
from betbot.core.session import Limits
from betbot.core.strategy import SessionView, Strategy, StrategyContext, StrategyParams
from betbot.engine.loop import Engine
from betbot.journal import Journal
from betbot.redact import unregister_secret
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake
from tests.helpers import CURRENCY, make_session

KEY = "GroupCommitCanary-3c9d1e7a"
FIRST_STAKE = Decimal("0.01")
SATOSHI = Decimal("0.00000001")


@pytest.fixture(autouse=True)
def _forget_key() -> Iterator[None]:
    yield
    unregister_secret(KEY)


class RisingParams(StrategyParams):
    pass


class Rising(Strategy):
    """A stake one satoshi above the last one asked for: each bet's stake names it, in the request and on disk."""

    name = "rising"
    summary = "a distinct stake per bet, for tests"
    Params = RisingParams
    max_in_flight = None

    def __init__(self, params: StrategyParams, context: StrategyContext) -> None:
        super().__init__(params, context)
        self.asked = 0

    def next_bet(self, view: SessionView) -> BetRequest:
        stake = FIRST_STAKE + self.asked * SATOSHI
        self.asked += 1
        return self.dice_bet(stake)


def status_on_disk(path: Path, amount: str) -> str | None:
    """The status of the bet with this stake, as another connection sees the file now."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT status FROM bets WHERE amount = ?", (amount,)).fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


class Inspecting(FakeDuckDice):
    """The fake DuckDice, which reads the journal file as each bet request arrives, before it runs the bet."""

    def __init__(self, config: FakeServerConfig, journal_path: Path) -> None:
        super().__init__(config)
        self.journal_path = journal_path
        self.seen_on_arrival: dict[str, str | None] = {}  # stake -> its row's status when its request arrived

    async def _bet(self, path: str, query: dict[str, list[str]], body: bytes, receive: object,
                   send: object) -> None:
        amount = str(json.loads(body)["amount"])
        self.seen_on_arrival[amount] = status_on_disk(self.journal_path, amount)
        await super()._bet(path, query, body, receive, send)  # type: ignore[arg-type]


def start(journal: Journal, backend: str) -> int:
    return journal.start_session(strategy="rising", params={}, limits=Limits(max_bets=200), backend=backend,
                                 currency=CURRENCY, starting_balance=Decimal(100))


async def test_a_live_run_commits_every_intent_before_its_request_and_shares_syncs(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    bets, n = 200, 20
    app = Inspecting(FakeServerConfig(api_key=KEY, seed="group-commit", latency=0.002, jitter=0.004), path)
    journal = Journal.open(path, durable=True)
    async with serve_fake(app=app) as base_url:
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, max_connections=n, trust_env=False,
                                  timeouts=Timeouts(connect=5, read=5, write=5, pool=5))
        assert immediate_placer(backend) is None
        async with backend:
            start(journal, backend.name)
            session = make_session(limits=Limits(max_bets=bets))
            strategy = Rising(RisingParams(), StrategyContext(currency=CURRENCY, starting_balance=Decimal(100)))
            engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n, hooks=journal)
            await engine.run()
    syncs = journal.syncs
    journal.close()
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert len(app.ledger) == bets
    stakes = {f"{FIRST_STAKE + i * SATOSHI:f}" for i in range(bets)}
    assert set(app.seen_on_arrival) == stakes  # one request per bet, each with its own stake
    assert set(app.seen_on_arrival.values()) == {"pending"}  # every intent was on disk before its request
    # Group commit: bets admitted while a sync runs share the next one. One sync per bet (the old fast path
    # on a live backend) would be 200 here.
    assert 1 <= syncs <= bets // 2, syncs


class InspectingSimulator(SimulatorBackend):
    """The instant simulator, which reads the journal file before it plays each bet at once."""

    def __init__(self, game: SimulatedGame, journal_path: Path) -> None:
        super().__init__(game)
        self.journal_path = journal_path
        self.seen_on_play: dict[str, str | None] = {}

    def place_now(self, seq: int, bet: BetRequest) -> Outcome:
        amount = f"{bet.amount:f}"
        self.seen_on_play[amount] = status_on_disk(self.journal_path, amount)
        return super().place_now(seq, bet)


async def test_an_immediate_bet_is_synced_before_the_backend_plays_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    game = SimulatedGame(seeds=SeedPair.derive("immediate"), balances={CURRENCY: Decimal(100)})
    backend = InspectingSimulator(game, path)
    assert immediate_placer(backend) is not None  # the engine takes the fast path: no task, a sync per bet
    with Journal.open(path, durable=True) as journal:
        start(journal, backend.name)
        strategy = Rising(RisingParams(), StrategyContext(currency=CURRENCY, starting_balance=Decimal(100)))
        engine = Engine(session=make_session(limits=Limits(max_bets=30)), strategy=strategy, backend=backend,
                        max_concurrent=1, hooks=journal)
        await engine.run()
    assert len(backend.seen_on_play) == 30
    assert set(backend.seen_on_play.values()) == {"pending"}
    assert game.bets == 30
