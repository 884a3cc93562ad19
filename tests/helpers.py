"""Shared test helpers: a fake clock and sleep, scripted strategies, recording/scripted backends.

Nothing here sleeps for real. Latency is a random number of `anyio.lowlevel.checkpoint()` calls, which
reorders the completion of concurrent bets deterministically (for a given RNG seed) without real time.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from unittest.mock import patch

import anyio
import anyio.to_thread
from anyio.lowlevel import checkpoint

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.fairness import GameRules, SeedPair, payout_multiplier, win_profit
from betbot.core.models import BetRequest, Outcome, RefusalKind, Refused, Settled
from betbot.core.session import Held, Limits, Session
from betbot.core.strategy import WAIT, Decision, DiceParams, SessionView, StopStrategy, Strategy, StrategyContext

CURRENCY = "DOGE"


def D(text: str | int) -> Decimal:
    return Decimal(text)


# -- time ------------------------------------------------------------------------------------------
class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class FakeSleep:
    """An async sleep that advances a FakeClock instead of waiting; records every pause asked for."""

    def __init__(self, clock: FakeClock, *, fraction: float = 1.0) -> None:
        self.clock = clock
        self.fraction = fraction  # < 1 simulates a sleep that wakes early
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds * self.fraction)
        await checkpoint()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever nothing is ready to run.

    Deadlines, `anyio.sleep` and `fail_after` all read `loop.time()`, so a run on this loop keeps every
    order the code sets by time (a 0.05 s reply against a 0.01 s deadline) however loaded the machine is,
    and takes no real time waiting. Only for runs without sockets or threads, whose events do not come from
    timers (the clock would jump past them): `run_in_virtual_time` runs `anyio.to_thread` work inline.
    Relies on asyncio's `_ready`/`_scheduled` (CPython).
    """

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0

    def time(self) -> float:
        return self._virtual_now

    def _run_once(self) -> None:
        ready: Any = getattr(self, "_ready")  # noqa: B009 - private to asyncio, named once here
        scheduled: Any = getattr(self, "_scheduled")  # noqa: B009
        if not ready:
            due = [timer.when() for timer in scheduled if not timer.cancelled()]  # a cancelled one never fires
            if due:
                self._virtual_now = max(self._virtual_now, min(due))
        super()._run_once()  # type: ignore[misc]


async def _inline(func: Callable[..., Any], *args: Any, **_options: Any) -> Any:
    return func(*args)


def run_in_virtual_time(func: Callable[[], Awaitable[object]]) -> None:
    """`anyio.run(func)` on a VirtualTimeLoop, with what it would send to a worker thread run inline."""
    with patch.object(anyio.to_thread, "run_sync", _inline):
        anyio.run(func, backend_options={"loop_factory": VirtualTimeLoop})


# -- bets and outcomes ---------------------------------------------------------------------------------
def dice(amount: str | Decimal = "1", chance: str | Decimal = "49.5", *, high: bool = True,
         currency: str = CURRENCY, faucet: bool = False) -> BetRequest:
    return BetRequest(amount=Decimal(amount), chance=Decimal(chance), high=high, currency=currency, faucet=faucet)


def settled(seq: int, bet: BetRequest, *, win: bool, profit: Decimal | None = None, number: int = 0,
            edge: Decimal = Decimal(1)) -> Settled:
    payout = payout_multiplier(bet.chance, edge)
    if profit is None:
        profit = win_profit(bet.amount, payout) if win else -bet.amount
    return Settled(seq=seq, bet=bet, number=number, win=win, payout=payout, profit=profit,
                   balance=Decimal(0), nonce=seq, bet_hash=f"h{seq}")


def make_session(*, balance: str | Decimal = "100", limits: Limits | None = None, started_at: float = 0.0,
                 rules: GameRules | None = None, cls: type[Session] = Session) -> Session:
    return cls(currency=CURRENCY, starting_balance=Decimal(balance), limits=limits or Limits(),
               started_at=started_at, rules=rules)


@dataclass(frozen=True, slots=True)
class Admission:
    """One call of the gate, with the books just before it."""

    profit: Decimal
    exposure_before: Decimal
    balance: Decimal
    in_flight: int
    stake: Decimal
    verdict: int | Held | Any


class AuditedSession(Session):
    """A Session that records the books at every admission attempt (for worst-case checks)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.admissions: list[Admission] = []

    def admit_open(self, bet: BetRequest) -> Any:  # the gate itself, whether reached through admit or not
        profit, exposure, balance, in_flight = self.profit, self.exposure, self.balance, self.in_flight
        verdict = super().admit_open(bet)
        self.admissions.append(Admission(profit=profit, exposure_before=exposure, balance=balance,
                                         in_flight=in_flight, stake=bet.amount, verdict=verdict))
        return verdict

    @property
    def admitted(self) -> list[Admission]:
        return [a for a in self.admissions if isinstance(a.verdict, int)]


# -- strategies -------------------------------------------------------------------------------------
def context(balance: str | Decimal = "100", rules: GameRules | None = None) -> StrategyContext:
    return StrategyContext(currency=CURRENCY, starting_balance=Decimal(balance), rules=rules or GameRules())


class RecordingStrategy(Strategy):
    """Base of the test strategies: records the seq of every result it is told, in the order told."""

    name: ClassVar[str] = "test"
    summary: ClassVar[str] = "a test strategy"
    Params: ClassVar[type[DiceParams]] = DiceParams

    def __init__(self, params: DiceParams | None = None, ctx: StrategyContext | None = None) -> None:
        super().__init__(params or DiceParams(base_bet=Decimal("0.01"), chance=Decimal("49.5")),
                         ctx or context())
        self.seen: list[int] = []
        self.asked = 0

    def next_bet(self, view: SessionView) -> Decision:
        self.asked += 1
        return self.dice_bet(self.params.base_bet)  # type: ignore[attr-defined]

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        self.seen.append(result.seq)
        return None


class Flat(RecordingStrategy):
    """Result-independent: the same bet every time, any number in flight."""

    max_in_flight: ClassVar[int | None] = None


class Martingale(RecordingStrategy):
    """Double the stake after a loss, back to base after a win. Lag tolerance None: N really is N."""

    max_in_flight: ClassVar[int | None] = None

    def __init__(self, params: DiceParams | None = None, ctx: StrategyContext | None = None) -> None:
        super().__init__(params, ctx)
        self.stake: Decimal = self.params.base_bet  # type: ignore[attr-defined]

    def next_bet(self, view: SessionView) -> Decision:
        self.asked += 1
        return self.dice_bet(self.stake)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        super().on_result(result, view)
        self.stake = self.params.base_bet if result.win else self.stake * 2  # type: ignore[attr-defined]
        return None


class StrictMartingale(Martingale):
    """The same progression, but it must see every result before deciding the next bet."""

    max_in_flight: ClassVar[int | None] = 1


class Scripted(RecordingStrategy):
    """Decisions from a callable of (call number from 1, view); may raise. Tolerates any lag."""

    max_in_flight: ClassVar[int | None] = None

    def __init__(self, decide: Callable[[int, SessionView], Decision],
                 on_result: Callable[[Settled, SessionView], StopStrategy | None] | None = None) -> None:
        super().__init__()
        self._decide = decide
        self._on_result = on_result

    def next_bet(self, view: SessionView) -> Decision:
        self.asked += 1
        return self._decide(self.asked, view)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        super().on_result(result, view)
        return self._on_result(result, view) if self._on_result is not None else None


def wait_while_in_flight(amount: str = "0.01") -> Callable[[int, SessionView], Decision]:
    """A decision rule that answers WAIT whenever a bet is in flight."""

    def decide(_n: int, view: SessionView) -> Decision:
        return WAIT if view.in_flight else dice(amount)

    return decide


# -- engine observers -------------------------------------------------------------------------------
class Recorder:
    """EngineHooks that record admissions and the ordered stream of released outcomes."""

    def __init__(self, on_admitted: Callable[[int, BetRequest, float], None] | None = None) -> None:
        self.admissions: list[tuple[int, float]] = []
        self.outcomes: list[Outcome] = []
        self.reconciliations: list[tuple[int, Decimal | None]] = []
        self._on_admitted = on_admitted

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        self.admissions.append((seq, now))
        if self._on_admitted is not None:
            self._on_admitted(seq, bet, now)

    def sync(self) -> None:
        pass  # nothing to make durable

    def released(self, outcome: Outcome, now: float) -> None:
        self.outcomes.append(outcome)

    def reconciled(self, seq: int, bet: BetRequest, profit: Decimal | None, now: float,
                   note: str | None = None) -> None:
        self.reconciliations.append((seq, profit))

    @property
    def history(self) -> list[tuple[int, int, bool, Decimal]]:
        return history(self.outcomes)


def history(outcomes: Iterable[Outcome]) -> list[tuple[int, int, bool, Decimal]]:
    """The comparable history: (seq, number, win, profit) of every settled bet, in release order."""
    return [(o.seq, o.number, o.win, o.profit) for o in outcomes if isinstance(o, Settled)]


# -- backends ---------------------------------------------------------------------------------------
def make_game(seed: str = "test-seed", balance: str | Decimal = "100", *, first_nonce: int = 0,
              min_bets: dict[str, Decimal] | None = None, rules: GameRules | None = None) -> SimulatedGame:
    return SimulatedGame(seeds=SeedPair.derive(seed, first_nonce=first_nonce),
                         balances={CURRENCY: Decimal(balance)}, min_bets=min_bets, rules=rules)




@dataclass
class _Script:
    responses: dict[int, list[Any]] = field(default_factory=dict)

    def next_for(self, seq: int) -> Any:
        queue = self.responses.get(seq)
        return queue.pop(0) if queue else None


class HANG:
    """Scripted response: never answer (until cancelled)."""


class CheckpointBackend(SimulatorBackend):
    """The simulator behind latency made of random checkpoints, with recording and scripted faults.

    It never answers at once (its latency is not zero), so the engine takes its task path. Each `place` call
    waits a random number of checkpoints (0..max_checkpoints), plays the bet on the simulated game (or answers
    as scripted), then waits again. Scripted responses per seq are consumed one per call: an Exception
    (raised), a Refused-factory tuple `(kind, retry_after)`, HANG, an anyio.Event (awaited, then play),
    or None (play normally).
    """

    name = "checkpoint-simulator"

    def __init__(self, game: SimulatedGame, *, seed: int = 0, max_checkpoints: int = 20,
                 clock: FakeClock | None = None, step: float = 0.0,
                 on_call: Callable[[int, BetRequest], None] | None = None,
                 script: dict[int, list[Any]] | None = None, gate: anyio.Event | None = None) -> None:
        super().__init__(game, LatencyModel(fixed=1.0))  # never instant
        self.rng = random.Random(seed)
        self.max_checkpoints = max_checkpoints
        self.clock = clock
        self.step = step
        self.on_call = on_call
        self.script = _Script(dict(script or {}))
        self.gate = gate  # when set, every call waits on it before playing
        self.calls: list[int] = []  # the seq of every place() call, in call order
        self.completed: list[int] = []  # the seq of every reply, in the order the replies came back
        self.events: list[tuple[str, int, float]] = []  # ("call" | "reply", seq, fake time) when a clock is set
        self.played: Counter[int] = Counter()  # how often each seq really ran on the game
        self.in_flight = 0
        self.max_in_flight = 0

    async def _latency(self) -> None:
        for _ in range(self.rng.randint(0, self.max_checkpoints)):
            await checkpoint()

    def _event(self, what: str, seq: int) -> None:
        if self.clock is not None:
            self.events.append((what, seq, self.clock()))

    async def place(self, seq: int, bet: BetRequest) -> Outcome:
        self.calls.append(seq)
        self._event("call", seq)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.clock is not None and self.step:
                self.clock.advance(self.step)
            if self.on_call is not None:
                self.on_call(seq, bet)
            await self._latency()
            response = self.script.next_for(seq)
            if isinstance(response, BaseException):
                raise response
            if isinstance(response, tuple):
                kind, retry_after = response
                self._event("reply", seq)
                return Refused(seq=seq, bet=bet, kind=kind, message=f"scripted {kind.value}",
                               retry_after=retry_after)
            if response is HANG:
                await anyio.sleep_forever()
            if isinstance(response, anyio.Event):
                await response.wait()
            if self.gate is not None:
                await self.gate.wait()
            outcome = self.game.play(seq, bet)
            if isinstance(outcome, Settled):
                self.played[seq] += 1
            await self._latency()
            self.completed.append(seq)
            return outcome
        finally:
            self.in_flight -= 1


def rate_limited(retry_after: float | None = None) -> tuple[RefusalKind, float | None]:
    return (RefusalKind.RATE_LIMIT, retry_after)
