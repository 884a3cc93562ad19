"""`-n auto` end to end: the engine, its pacer and DuckDiceBackend against the fake server on 127.0.0.1.

The fake's latency and its own rate limit are what the pacer reacts to (no sleeps in the tests themselves):
it converges to the Little's-law N within a bound, never passes the cap nor the rate, follows a change of
latency, backs off on a storm of 429s, and its read timeout follows the replies (a slow reply is still a bet
of unknown outcome, reconciled from the site's books).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend, Timeouts
from betbot.core.fairness import GameRules
from betbot.core.models import BetRequest, Outcome, Settled
from betbot.core.session import Limits, Session
from betbot.core.strategy import DiceParams, StrategyContext
from betbot.engine.backoff import SharedBackoff
from betbot.engine.loop import Engine
from betbot.engine.pacing import PaceChange, Pacer, ReadTimeoutPolicy
from betbot.engine.ratelimit import TokenBucket
from betbot.engine.site_books import Reconciler
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig, serve_fake
from tests.helpers import Flat

KEY = "fake-key-for-pacing-tests"
STAKE = Decimal("0.01")
FLAT = DiceParams(base_bet=STAKE, chance=Decimal("49.5"))


@dataclass
class Watch:
    """EngineHooks: the most bets in flight seen at any admission, against the limit in force then."""

    engine: Engine | None = None
    most_in_flight: int = 0
    over_limit: int = 0
    on_admitted: Callable[[int], None] | None = None
    settled: list[Settled] = field(default_factory=list)

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        assert self.engine is not None
        in_flight = self.engine.session.in_flight  # this bet included
        self.most_in_flight = max(self.most_in_flight, in_flight)
        if in_flight > self.engine.machine.in_flight_limit:
            self.over_limit += 1
        if self.on_admitted is not None:
            self.on_admitted(seq)

    def sync(self) -> None:
        pass

    def released(self, outcome: Outcome, now: float) -> None:
        if isinstance(outcome, Settled):
            self.settled.append(outcome)

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None = None) -> None:
        pass


@dataclass
class AutoRun:
    engine: Engine
    watch: Watch
    changes: list[tuple[int, PaceChange]]  # (bets admitted before it, the change)
    backend: DuckDiceBackend


async def play_auto(app: FakeDuckDice, *, bets: int, cap: int, rate: float | None = None, fixed: int | None = None,
                    timeouts: ReadTimeoutPolicy | None = None, reconcile: bool = False,
                    on_admitted: Callable[[int], None] | None = None, watch: Watch | None = None) -> AutoRun:
    """One session against the fake, paced (`fixed` None) or at a fixed N."""
    async with serve_fake(app=app) as base_url:
        backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, max_connections=cap, trust_env=False,
                                  timeouts=Timeouts(connect=2, read=10, write=2, pool=2))
        async with backend:
            context = StrategyContext(currency="DOGE", starting_balance=Decimal(100))
            session = Session(currency="DOGE", starting_balance=Decimal(100), limits=Limits(max_bets=bets),
                              started_at=time.monotonic())
            changes: list[tuple[int, PaceChange]] = []
            pacer = None
            if fixed is None:
                pacer = Pacer(ceiling=cap, target_rate=rate, timeouts=timeouts or ReadTimeoutPolicy(ceiling=10),
                              on_change=lambda change: changes.append((session.next_seq - 1, change)),
                              on_read_timeout=backend.set_read_timeout)
            watch = watch or Watch(on_admitted=on_admitted)
            engine = Engine(session=session, strategy=Flat(FLAT, context), backend=backend,
                            max_concurrent=fixed or cap, hooks=watch, pacer=pacer, drain_timeout=10,
                            backoff=SharedBackoff(base=0.01, cap=0.05),
                            rate_limit=None if rate is None else TokenBucket(rate),
                            reconciler=Reconciler(backend, "DOGE", GameRules()) if reconcile else None)
            watch.engine = engine
            await engine.run()
    return AutoRun(engine, watch, changes, backend)


def _books_agree(run: AutoRun, app: FakeDuckDice, bets: int) -> None:
    assert len(run.watch.settled) == bets == len(app.ledger)
    assert run.engine.session.balance == Decimal(app.balances_json()["DOGE"]["main"])


async def test_auto_converges_to_littles_n_and_never_passes_the_rate_or_the_cap() -> None:
    # 100 bets/s at 40 ms a reply: 4 in flight by Little's law, 5 with the headroom. The site allows a
    # little more than the rate: a run that kept to --max-rate is never refused. Its burst of 20 absorbs the
    # bunching of requests that a busy machine's stalled event loop sends together (up to 0.2 s of stall);
    # a client above 110 bets/s would still run out of it within the run's 4 s.
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="pace-1", latency=0.04, rate_limit=110, rate_burst=20))
    run = await play_auto(app, bets=400, cap=16, rate=100)
    _books_agree(run, app, 400)
    assert app.rate_limited == 0  # never above the rate, as the site counts it
    assert run.watch.over_limit == 0
    assert run.watch.most_in_flight <= 16
    pacer = run.engine.pacer
    assert pacer is not None
    first_bets, first = run.changes[0]
    assert first.reason == "little"
    assert first_bets <= 12  # the start (2) plus one round (8 replies) and what was in flight
    # Converged: Little's N of the replies as measured (100 x 0.04 x 1.2 = 4.8, plus the client's own share of
    # each reply, more on a busy machine), give or take one.
    assert pacer.recent_latency is not None
    assert abs(pacer.limit - math.ceil(100 * pacer.recent_latency * 1.2)) <= 1
    assert pacer.limit >= 5
    assert run.watch.most_in_flight <= max(change.new for _, change in run.changes)


async def test_auto_follows_the_latency_of_the_site() -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="pace-2", latency=0.01))
    measured_before: list[float] = []

    def slower(seq: int) -> None:
        if seq == 150:
            assert watch.engine is not None
            assert watch.engine.pacer is not None
            latency = watch.engine.pacer.recent_latency
            assert latency is not None
            measured_before.append(latency)
            app.config.latency = 0.06  # the site slows down sixfold mid-run

    watch = Watch(on_admitted=slower)
    run = await play_auto(app, bets=700, cap=32, rate=150, watch=watch)
    _books_agree(run, app, 700)
    pacer = run.engine.pacer
    assert pacer is not None
    settled_before = [change.new for bets, change in run.changes if bets < 150][-1]
    # Little's N of the replies as the client measured them before the slowdown: 150 x 0.01 x 1.2 = 1.8, plus
    # the client's own share of each reply (more on a busy machine), give or take one.
    assert settled_before <= math.ceil(150 * measured_before[0] * 1.2) + 1
    assert pacer.limit >= max(10, settled_before + 4)  # 150 x 0.06 x 1.2 = 10.8: more in flight keeps the rate
    assert run.watch.most_in_flight <= 32


async def test_auto_backs_off_on_a_429_storm_and_is_refused_less_than_a_fixed_n() -> None:
    config = {"api_key": KEY, "latency": 0.02, "rate_limit": 150.0, "rate_burst": 5.0}
    fixed_app = FakeDuckDice(FakeServerConfig(seed="pace-3", **config))  # type: ignore[arg-type]
    await play_auto(fixed_app, bets=400, cap=32, fixed=32)
    auto_app = FakeDuckDice(FakeServerConfig(seed="pace-3", **config))  # type: ignore[arg-type]
    run = await play_auto(auto_app, bets=400, cap=32)
    _books_agree(run, auto_app, 400)
    pacer = run.engine.pacer
    assert pacer is not None
    cuts = [change for _, change in run.changes if change.reason == "429"]
    assert cuts, run.changes
    assert all(change.new < change.old for change in cuts)
    assert pacer.limit < 32
    assert fixed_app.rate_limited > 0
    assert auto_app.rate_limited < fixed_app.rate_limited / 2
    assert run.watch.over_limit == 0


@pytest.mark.parametrize("max_rate", [None, 400.0])
async def test_auto_learns_the_sites_rate_and_is_rarely_refused_once_it_has(max_rate: float | None) -> None:
    # A site that allows 80 bets/s (a burst of 8) at 20 ms a reply, unknown to the client (no --max-rate, or
    # one above the site's limit): slow start (or Little's N for 400 bets/s) runs into it within the first
    # bets. The rate measured before that push-back teaches a ceiling, which the engine's own token bucket
    # then holds: once learned, 429s are rare (a second cut if the first estimate took in the site's burst, a
    # stalled event loop's bunch of requests now and then). --max-rate's bucket is left as it was given.
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="pace-5", latency=0.02, rate_limit=80.0, rate_burst=8.0,
                                        retry_after="0.2"))
    refused_by: dict[int, int] = {}

    def count(seq: int) -> None:
        refused_by[seq] = app.rate_limited  # 429s before this bet was admitted

    run = await play_auto(app, bets=400, cap=32, rate=max_rate, on_admitted=count)
    _books_agree(run, app, 400)
    pacer = run.engine.pacer
    assert pacer is not None
    learned = [(bets, change) for bets, change in run.changes if "rate ceiling" in change.detail]
    assert learned, run.changes
    first_bets, first = learned[0]
    assert first.reason == "429"
    assert first_bets <= 150  # slow start found the limit early
    assert pacer.learned_rate is not None
    # Near the site's limit: below it, or a probe above it that the site's burst has not refused yet (on a busy
    # machine a stalled event loop's bunch of replies makes an estimate high too, 85.5 seen at load 9). A
    # ceiling well above the limit would be refused again and again, which the last lines rule out.
    assert 80.0 * 0.7 <= pacer.learned_rate <= 80.0 * 1.2
    assert run.engine.learned_rate_limit is not None  # the engine's own token bucket holds it
    assert run.engine.learned_rate_limit.rate == pytest.approx(pacer.learned_rate)
    if max_rate is not None:
        assert run.engine.rate_limit is not None
        assert run.engine.rate_limit.rate == max_rate  # the hard ceiling, unchanged
    # A few cuts while it learns: the first estimate may take in the site's burst, and on a busy machine a
    # stalled event loop's bunch of requests is refused too (4 and 5 cuts seen at load 2 to 3, 1 to 3 quiet).
    assert len([change for _, change in learned if change.reason == "429"]) <= 6
    assert app.rate_limited - refused_by[200] <= 4  # the second half of the run: next to none
    assert run.watch.over_limit == 0


async def test_the_read_timeout_follows_the_replies_and_a_slow_one_is_still_reconciled() -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, seed="pace-4", latency=0.005,
                                        faults={"slow-after-execute": 0.01}, slow_delay=5.0))
    policy = ReadTimeoutPolicy(ceiling=10.0, floor=0.25, min_samples=30)
    run = await play_auto(app, bets=300, cap=8, timeouts=policy, reconcile=True)
    pacer = run.engine.pacer
    assert pacer is not None
    # 4 x the p99 of ~5 ms replies (more on a busy machine): far below the 10 s it started from.
    assert policy.floor <= pacer.read_timeout <= 1.0
    assert run.backend._bet_extensions["timeout"]["read"] == pacer.read_timeout
    slow = [entry for entry in app.ledger if entry.get("fault") == "slow-after-execute"]
    assert slow  # some replies were held back 5 s: each became an unknown bet, then reconciled
    assert run.engine.reconciliations
    assert all(r.balanced for r in run.engine.reconciliations)
    assert run.engine.session.balance == Decimal(app.balances_json()["DOGE"]["main"])
    assert run.engine.session.bets == len(app.ledger)


async def test_the_fake_sites_rate_limit_refuses_what_comes_too_fast_and_runs_nothing_of_it() -> None:
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, rate_limit=0.001, rate_burst=2, retry_after="1"))
    body = {"symbol": "DOGE", "amount": "0.01000000", "chance": "49.50", "isHigh": True}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake") as client:
        statuses = [(await client.post("/dice/play", params={"api_key": KEY}, json=body)).status_code
                    for _ in range(4)]
    assert statuses == [200, 200, 429, 429]  # a burst of two, then nothing for 1000 s
    assert app.rate_limited == 2
    assert len(app.ledger) == 2
    with pytest.raises(ValueError, match="rate_limit"):
        FakeServerConfig(rate_limit=0)
