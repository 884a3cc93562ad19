"""Intent before send, for every bet, on both of the engine's paths, and group commit in a live run.

A live backend's bets go through bet coroutines that await `durable(seq)`: when each bet request arrives
(respx in place of the network, the fake DuckDice's game behind it), the journal file is read through another
connection, as after a crash, and that bet's row is already there; and bets in flight share disk syncs. Each
commit is held until the event loop has nothing left to run, so a bet sent without waiting for its commit
would reach the server first every time, not only when a race goes that way. A backend that answers at once (the instant
simulator) gets a sync before each bet instead, checked the same way from inside `place_now`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import respx
from pydantic import SecretStr

from betbot.backends.base import immediate_placer
from betbot.backends.duckdice import DuckDiceBackend
from betbot.backends.simulator import SimulatedGame, SimulatorBackend
from betbot.core.fairness import SeedPair
from betbot.core.models import BetRequest, Outcome, StopKind
from betbot.core.session import Limits
from betbot.core.strategy import SessionView, Strategy, StrategyContext, StrategyParams
from betbot.engine.loop import Engine
from betbot.journal import Journal
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig
from tests.helpers import CURRENCY, make_session

KEY = "GroupCommitCanary-3c9d1e7a"
BASE = "https://duck.group-commit.test/api"
FIRST_STAKE = Decimal("0.01")
SATOSHI = Decimal("0.00000001")


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


def start(journal: Journal, backend: str) -> int:
    return journal.start_session(strategy="rising", params={}, limits=Limits(max_bets=200), backend=backend,
                                 currency=CURRENCY, starting_balance=Decimal(100))


def answer_as_the_fake(app: FakeDuckDice, journal_path: Path,
                       seen: dict[str, str | None]) -> Callable[[httpx.Request], httpx.Response]:
    """A respx handler: look at the journal file as the bet request arrives, then run it on the fake DuckDice."""

    def handle(request: httpx.Request) -> httpx.Response:
        amount = str(json.loads(request.content)["amount"])
        seen[amount] = status_on_disk(journal_path, amount)
        bet, mode = app._parse_bet("/dice/play", request.content)
        reply, _ = app._execute("/dice/play", bet, mode, None)
        return httpx.Response(reply.status, content=reply.body, headers={"content-type": reply.content_type})

    return handle


class HeldCommits:
    """The journal's hooks for the engine, with every commit made as slow as it can be: a commit completes only
    once the event loop has nothing left to run, so a bet sent without waiting for its intent's commit reaches
    the server before that commit every time (no race). A sync on the loop (the engine blocking the loop
    thread for the disk) is counted, and lets the commit through: the loop cannot run until it completes."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.durable = journal.durable
        self.admitted = journal.admitted
        self.released = journal.released
        self.reconciled = journal.reconciled
        self.syncs_on_the_loop = 0
        self._loop = asyncio.get_running_loop()
        self._cond = threading.Condition()
        self._idle = self._loop_blocked = False
        assert journal._writer is not None
        journal._writer.hook = self._before_commit

    def sync(self) -> None:
        self.syncs_on_the_loop += 1
        with self._cond:
            self._loop_blocked = True
            self._cond.notify_all()
        try:
            self.journal.sync()
        finally:
            with self._cond:
                self._loop_blocked = False

    def release(self) -> None:
        """Back to plain commits (before the journal is closed from the loop's thread)."""
        assert self.journal._writer is not None
        self.journal._writer.hook = None

    async def _mark_idle(self) -> None:
        me = asyncio.current_task()

        def runnable() -> bool:
            return any(task is not me and (task._fut_waiter is None  # type: ignore[attr-defined]
                                           or task._fut_waiter.done())  # type: ignore[attr-defined]
                       for task in asyncio.all_tasks())

        while runnable():  # noqa: ASYNC110 - no event says "the loop is idle": look after each step of the others
            await asyncio.sleep(0)
        with self._cond:
            self._idle = True
            self._cond.notify_all()

    def _before_commit(self, step: str) -> None:  # on the writer thread
        if step != "before-commit":
            return
        with self._cond:
            self._idle = False
        asyncio.run_coroutine_threadsafe(self._mark_idle(), self._loop)
        with self._cond:
            self._cond.wait_for(lambda: self._idle or self._loop_blocked)


async def test_a_live_run_commits_every_intent_before_its_request_and_shares_syncs(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    bets, n = 200, 20
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="group-commit"))
    seen_on_arrival: dict[str, str | None] = {}  # stake -> its row's status when its request arrived
    journal = Journal.open(path, durable=True)
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/dice/play").mock(side_effect=answer_as_the_fake(app, path, seen_on_arrival))
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=BASE, max_connections=n, trust_env=False)
        assert immediate_placer(backend) is None
        async with backend:
            start(journal, backend.name)
            session = make_session(limits=Limits(max_bets=bets))
            strategy = Rising(RisingParams(), StrategyContext(currency=CURRENCY, starting_balance=Decimal(100)))
            hooks = HeldCommits(journal)
            engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n, hooks=hooks)
            await engine.run()
            hooks.release()
    syncs = journal.syncs
    journal.close()
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS
    assert len(app.ledger) == bets
    stakes = {f"{FIRST_STAKE + i * SATOSHI:f}" for i in range(bets)}
    assert set(seen_on_arrival) == stakes  # one request per bet, each with its own stake
    assert set(seen_on_arrival.values()) == {"pending"}  # every intent was on disk before its request
    # Group commit: the bets admitted while a commit runs share the next one; none waits on the loop's thread.
    # A sync per bet (the old fast path on a live backend) would be 200 of each here.
    assert hooks.syncs_on_the_loop == 0
    assert 1 <= syncs <= bets // 4, syncs


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
