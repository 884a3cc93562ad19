"""The generic path: one session played by `play_sync`, the session machine every driver uses.

Nothing here decides about a bet: the strategy, the gate, the limits, the minimum-bet rule and the payout
are those of `betbot run` (`betbot.core.bare_loop.play_sync` over `betbot.core.game.SimulatedGame`). This
module only builds the session from the spec, records the balance path of a sampled session, and reduces
the session and its house's books (the exact expected return) to the session's record.

Time is virtual: a simulated session advances its clock by `--sim-latency` per bet (and by a strategy's
pauses), so `--max-duration` means "this many bets at that pace"; with no latency it never fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from betbot.config.build import build_strategy, game_rules
from betbot.core.bare_loop import play_sync
from betbot.core.fairness import GameRules, SeedPair
from betbot.core.game import SimulatedGame
from betbot.core.models import BetRequest, Refused, Settled, StopKind
from betbot.core.money import to_satoshis
from betbot.core.rolls import RollSource, session_key, session_seed_text
from betbot.core.session import Limits, Session
from betbot.montecarlo.results import NO_STOP, SessionResult
from betbot.montecarlo.spec import SimulationSpec

__all__ = ["PATH_POINTS", "BalancePath", "SessionFailure", "play_session"]

PATH_POINTS = 256  # a recorded balance path keeps at most 2 * PATH_POINTS samples (a fan chart's width)


@dataclass(frozen=True, slots=True)
class BalancePath:
    """A sampled session's balance (satoshis) after bets 0, stride, 2 * stride, ... up to its last bet,
    `bets`; after that it stays at `final`."""

    index: int
    stride: int
    balances: list[int]
    bets: int
    final: int


class SessionFailure(Exception):
    """A session could not be simulated (a strategy's bug, most often): names the session and the error."""

    def __init__(self, index: int, error: str) -> None:
        super().__init__(index, error)  # args carry both, so the exception pickles across processes
        self.index = index
        self.error = error

    def __str__(self) -> str:
        return f"session {self.index} failed: {self.error}"


class _PathGame(SimulatedGame):
    """The house of a sampled session, recording its balance path as well."""

    def __init__(self, *, seeds: SeedPair, balances: dict[str, Decimal], rules: GameRules,
                 fast_key: int | None) -> None:
        super().__init__(seeds=seeds, balances=balances, rules=rules, fast_key=fast_key)
        (start,) = balances.values()  # a simulated session plays one currency
        self.path = [to_satoshis(start)]
        self.stride = 1  # the path holds the balance after every stride-th bet

    def play(self, seq: int, bet: BetRequest) -> Settled | Refused:
        outcome = super().play(seq, bet)
        if isinstance(outcome, Settled) and self.bets % self.stride == 0:
            path = self.path
            path.append(to_satoshis(outcome.balance))
            if len(path) > 2 * PATH_POINTS:  # keep every other sample: bounded, and still evenly spaced
                del path[1::2]
                self.stride *= 2
        return outcome


def play_session(spec: SimulationSpec, index: int, limits: Limits) -> tuple[SessionResult, BalancePath | None]:
    """Session `index` of the spec, played to its end: its record, and its balance path if sampled.

    Raises SessionFailure when the session cannot be simulated (the strategy raised, or answered nonsense).
    """
    settings = spec.settings
    balance = spec.balance
    key = session_key(spec.master_seed, index)
    try:
        strategy = build_strategy(settings, spec.context(index))
        fast = spec.rolls is RollSource.FAST
        seeds = SeedPair.derive(session_seed_text(spec.master_seed, index), first_nonce=settings.first_nonce)
        house = _PathGame if index < spec.paths else SimulatedGame
        game = house(seeds=seeds, balances={settings.currency: balance}, rules=game_rules(settings),
                     fast_key=key if fast else None)
        session = Session(currency=settings.currency, starting_balance=balance, limits=limits, started_at=0.0,
                          rules=game.rules)
        play_sync(session, strategy, game, pace=settings.sim_latency, below_min_bet=settings.below_min_bet)
    except Exception as exc:
        raise SessionFailure(index, f"{type(exc).__name__}: {exc}") from exc
    reason = session.stop_reason
    if reason is not None and reason.kind is StopKind.STRATEGY_ERROR:
        raise SessionFailure(index, reason.detail)
    snapshot = session.snapshot()
    result = SessionResult(
        index=index, bets=snapshot.bets, wagered=to_satoshis(snapshot.wagered), profit=to_satoshis(snapshot.profit),
        final_balance=to_satoshis(snapshot.balance), stop_kind=NO_STOP if reason is None else reason.kind.value,
        max_drawdown=to_satoshis(snapshot.max_drawdown), longest_loss_streak=snapshot.longest_loss_streak,
        expected_return_x10k=game.expected_x10k,
    )
    path = (BalancePath(index, game.stride, game.path, result.bets, result.final_balance)
            if isinstance(game, _PathGame) else None)
    return result, path
