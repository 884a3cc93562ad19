"""The bare loop's shortcut (`SessionMachine.play_at_once`) decides exactly what the machine's actions decide.

The shortcut plays the plain bets without dispatching an action per bet; every other step goes through
`next_action`. So a session played with it and the same session played with it switched off (every bet
through `next_action` and `outcome`) must agree on everything: each bet placed and what it rolled, every
result the strategy heard, the stop and its reason, the session's books and the game's. Hypothesis draws the
strategy's answers (bets valid and not, pauses, reseeds, waits, stops, a strategy that raises or answers
nonsense), the limits, the clock's pace and the site's minimum bet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betbot.core.bare_loop import play_sync
from betbot.core.game import SimulatedGame
from betbot.core.machine import ROTATE_SEED, Place, SessionMachine
from betbot.core.models import BetRequest, Settled, StopKind
from betbot.core.session import Limits
from betbot.core.strategy import RESEED, WAIT, DiceParams, Pause, SessionView, StopStrategy
from tests.helpers import CURRENCY, D, Flat, Scripted, dice, make_game, make_session


class _Boom(RuntimeError):
    pass


_ANSWERS: list[Any] = [
    *(dice(amount, chance) for amount in ("0.01", "0.5", "1", "3", "0") for chance in ("49.5", "10", "90")),
    dice("250"),  # more than the balance
    dice("0.000000001"),  # nine places: invalid
    dice("1", "0.001"),  # a chance off the 0.01 grid: invalid
    WAIT, RESEED, Pause(0.0), Pause(0.5), Pause(3.0), StopStrategy("the script stops"), "raise", 42,
]


_ASKED_AT_MOST = 200


def _answer(choice: Any) -> Any:
    if choice == "raise":
        raise _Boom("the strategy's bug")
    return choice


def _strategy(answers: list[int], stop_after: int | None, raise_after: int | None) -> Scripted:
    def decide(n: int, _view: SessionView) -> Any:
        if n > _ASKED_AT_MOST:  # a script of pauses or reseeds alone would go on for ever
            return StopStrategy("asked enough")
        return _answer(_ANSWERS[answers[(n - 1) % len(answers)]])

    heard: list[int] = []

    def on_result(result: Settled, _view: SessionView) -> StopStrategy | None:
        heard.append(result.seq)
        if raise_after is not None and len(heard) == raise_after:
            raise _Boom("on_result's bug")
        if stop_after is not None and len(heard) == stop_after:
            return StopStrategy("stopped on a result")
        return None

    return Scripted(decide, on_result)


class _LoggedGame(SimulatedGame):
    """The house, with every outcome it gave kept."""

    def __init__(self, game: SimulatedGame) -> None:
        super().__init__(seeds=game.seeds, balances=dict(game.balances), min_bets=dict(game.min_bets))
        self.log: list[tuple[Any, ...]] = []

    def play(self, seq: int, bet: BetRequest) -> Any:
        outcome = super().play(seq, bet)
        if isinstance(outcome, Settled):
            self.log.append((seq, bet.amount, bet.chance, *outcome[2:]))
        else:
            self.log.append((seq, bet.amount, bet.chance, outcome.kind))
        return outcome


@contextmanager
def _without_shortcut() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SessionMachine, "play_at_once", lambda *_args: None)
        yield


def _play(case: dict[str, Any]) -> tuple[Any, ...]:
    strategy = _strategy(case["answers"], case["stop_after"], case["raise_after"])
    game = _LoggedGame(make_game(min_bets={CURRENCY: D(1)} if case["min_bet"] else None))
    session = make_session(limits=case["limits"])
    play_sync(session, strategy, game, pace=case["pace"], below_min_bet=case["below_min"],
              reseed_every=case["reseed_every"])
    return (game.log, strategy.seen, strategy.asked, session.stop_reason, session.snapshot(), session.next_seq,
            game.bets, game.profit, game.volume, game.expected_x10k, [pair.server_seed for pair in game.seed_history])


_limits = st.builds(
    Limits,
    max_bets=st.integers(1, 60),
    take_profit=st.none() | st.sampled_from([D("0.5"), D("4")]),
    stop_loss=st.none() | st.sampled_from([D("-2"), D("-20")]),
    max_duration=st.none() | st.sampled_from([0.5, 2.0]),
    min_balance=st.none() | st.sampled_from([D("90"), D("99")]),
    max_losses=st.none() | st.integers(1, 6),
)

_cases = st.fixed_dictionaries({
    # Mostly bets, so that sessions run long enough for everything else to come up in between.
    "answers": st.lists(st.integers(0, 14) | st.integers(0, len(_ANSWERS) - 1), min_size=1, max_size=12),
    "stop_after": st.none() | st.integers(1, 30),
    "raise_after": st.none() | st.integers(1, 30),
    "limits": _limits,
    "pace": st.sampled_from([0.0, 0.1]),
    "min_bet": st.booleans(),
    "below_min": st.sampled_from(["stop", "raise"]),
    "reseed_every": st.none() | st.integers(1, 9),
})


@settings(max_examples=300, deadline=None)
@given(_cases)
def test_a_session_played_with_the_shortcut_is_the_session_played_action_by_action(case: dict[str, Any]) -> None:
    with_shortcut = _play(case)
    with _without_shortcut():
        action_by_action = _play(case)
    assert with_shortcut == action_by_action


def _counting_next_action(calls: list[float]) -> Callable[..., Any]:
    real = SessionMachine.next_action

    def next_action(self: SessionMachine, now: float) -> Any:
        calls.append(now)
        return real(self, now)

    return next_action


def test_plain_bets_take_the_shortcut_and_the_rest_goes_through_next_action() -> None:
    # 200 plain bets: no action is dispatched for them, only the session's end (DONE). A pause in the
    # middle of them is an action (Sleep), and the shortcut takes the bets after it.
    calls: list[float] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SessionMachine, "next_action", _counting_next_action(calls))
        session = play_sync(make_session(limits=Limits(max_bets=200)), Flat(DiceParams(base_bet=D("0.01"))),
                            make_game())
        assert session.bets == 200
        assert len(calls) == 1

        calls.clear()
        strategy = Scripted(lambda n, _view: Pause(2.0) if n == 50 else dice("0.01"))
        session = play_sync(make_session(limits=Limits(max_bets=200)), strategy, make_game(), pace=0.1)
    assert session.bets == 200
    # next_action at the pause (Sleep), at its end (the pause is over: it places the next bet), and at DONE.
    assert calls == [pytest.approx(4.9), pytest.approx(6.9), pytest.approx(20.0 + 2.0)]


def test_the_reorder_buffer_awaits_the_next_seq_after_the_shortcut() -> None:
    machine = SessionMachine(session=make_session(limits=Limits(max_bets=10)), strategy=Flat())
    game = make_game()
    machine.play_at_once(game.play, 0, 0.0, 0.0)
    assert machine.session.bets == 10
    assert machine.buffer.next_seq == machine.session.next_seq == 11
    assert machine.buffer.depth == 0
    assert machine.session.balance == Decimal(100) + sum(game.profit.values())


def test_after_a_pause_the_clock_counts_the_time_it_skipped() -> None:
    # 4 bets at 0.1 s each, a pause of 0.5 s, then bets until max_duration (2 s): 11 more (the last at 1.9 s).
    def pausing() -> Scripted:
        return Scripted(lambda n, _view: Pause(0.5) if n == 5 else dice("0.01"))

    session = play_sync(make_session(limits=Limits(max_duration=2.0)), pausing(), make_game(), pace=0.1)
    assert session.bets == 15
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_DURATION
    with _without_shortcut():
        assert play_sync(make_session(limits=Limits(max_duration=2.0)), pausing(), make_game(),
                         pace=0.1).snapshot() == session.snapshot()


def test_nothing_is_played_while_admission_is_paused() -> None:
    machine = SessionMachine(session=make_session(limits=Limits(max_bets=10)), strategy=Flat())
    machine.pause()
    machine.play_at_once(make_game().play, 0, 0.0, 0.0)
    assert machine.session.bets == 0
    machine.resume_admission()
    machine.play_at_once(make_game().play, 0, 0.0, 0.0)
    assert machine.session.bets == 10


class _Admissions:
    def __init__(self) -> None:
        self.seqs: list[int] = []

    def admitted(self, seq: int, bet: BetRequest, now: float) -> None:
        self.seqs.append(seq)


def test_nothing_is_played_with_a_bet_in_flight_a_reseed_due_or_an_observer_of_admissions() -> None:
    in_flight = SessionMachine(session=make_session(limits=Limits(max_bets=10)), strategy=Flat(), concurrency=2)
    assert isinstance(in_flight.next_action(0.0), Place)
    in_flight.play_at_once(make_game().play, 0, 0.0, 0.0)
    assert (in_flight.session.bets, in_flight.session.in_flight) == (0, 1)

    reseeding = SessionMachine(session=make_session(limits=Limits(max_bets=10)),
                               strategy=Scripted(lambda n, _view: RESEED if n == 1 else dice("0.01")))
    assert reseeding.next_action(0.0) is ROTATE_SEED
    reseeding.play_at_once(make_game().play, 0, 0.0, 0.0)
    assert reseeding.session.bets == 0

    admissions = _Admissions()
    observed = SessionMachine(session=make_session(limits=Limits(max_bets=10)), strategy=Flat(),
                              observer=admissions)
    observed.play_at_once(make_game().play, 0, 0.0, 0.0)
    assert observed.session.bets == 0
    assert admissions.seqs == []
