"""The risk preview: before `betbot run` places its first bet, a quick Monte Carlo of the same run.

Same strategy, parameters, limits and starting balance, played by the same chunk function as `betbot
simulate` in this process with fast rolls, over the run's own horizon:
  * the horizon is `--max-bets`, or the number of bets expected before `--max-duration` (at the rate the run
    can reach: `--max-rate`, the simulated latency and the effective concurrency, or an assumed reply time
    live), whichever is smaller; a run with neither has no horizon, and the preview covers the first
    `UNBOUNDED_COVER` bets and says that this is all it covers;
  * the preview has a wall-clock budget (`TIME_BUDGET`). The vectorised kernel plays all `SESSIONS` in one
    lockstep on a short horizon, then a longer one while the next fits (linear extrapolation: an
    overestimate). The generic path times one session on a short horizon (longer while that is cheap),
    chooses the horizon that `MIN_SESSIONS` sessions cover in what is left, and plays blocks of sessions,
    looking at the clock between blocks. When the run's horizon does not fit, the preview covers a shorter
    one rather than overrunning the budget, and says so in words. The first bet (a warm-up that pays for
    imports, as the run itself does) is outside the budget. A strategy that costs a second a call is timed
    on one more bet and stops there: the budget is overrun by at most one measured block.
Each probability comes with its standard error (binomial), the mean profit with its own; a probability
of zero is told as "none of N" with the 95 % bound (the rule of three). The quantiles become words: "1
session in 20 ends at or below X".

Each session is deterministic (the master seed is the run's --seed, or a fixed text without one): for the
same number of sessions over the same horizon the figures equal `betbot simulate`'s with that seed and fast
rolls. On a slow machine fewer sessions (or a shorter horizon) fit in the budget; the output says how many.

The figures go to the terminal (or, when logs are JSON, one `risk.preview` JSON log line), to the summary
(`risk_preview`) and with it to the journal; `--max-ruin P` refuses to start a run whose bust probability is
above P (a SettingsError: exit 2, one line, before the session is journaled).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from rich.console import Console

from betbot.config.build import build_strategy
from betbot.config.settings import Settings, SettingsError
from betbot.core.models import StopKind
from betbot.core.rolls import RollSource
from betbot.montecarlo.chunk import SessionFailure, run_chunk, uses_kernel
from betbot.montecarlo.results import Aggregates, SessionResult, money_text
from betbot.montecarlo.spec import SimulationSpec
from betbot.observe.logs import console_rendering, get_logger

__all__ = [
    "MIN_SESSIONS", "PREVIEW_KEYS", "SESSIONS", "TIME_BUDGET", "UNBOUNDED_COVER", "Horizon", "RiskRefused",
    "preview_lines", "print_preview", "risk_preview", "run_horizon", "run_preview",
]

SESSIONS: Final = 2_000  # at most; a probability's standard error is then at most 1.1 %
MIN_SESSIONS: Final = 200  # fewer would leave a standard error above 3.5 %: shorten the horizon covered instead
TIME_BUDGET: Final = 1.0  # seconds of simulation, whatever the strategy and the horizon
UNBOUNDED_COVER: Final = 10_000  # the bets covered without a bet or time limit (simulate's own cap)
GENERIC_BLOCK_MAX: Final = 100  # generic-path sessions between two looks at the clock, at most
FIRST_PROBE_BETS: Final = 8
PROBE_GROWTH: Final = 8
PROBE_SHARE: Final = 0.25  # grow the probe while the next one is expected to cost less than this share of the budget
DRY_RUN_RATE: Final = 80_000.0  # bets/s of a zero-latency journaled dry run (README's measured figures, rounded down)
LIVE_REPLY_SECONDS: Final = 0.2  # an assumed DuckDice reply time, for a live run's --max-duration horizon
PREVIEW_SEED: Final = "betbot/preview"
TICK: Final = 1e-9

PREVIEW_KEYS: Final = (
    "sessions", "max_bets", "horizon", "horizon_source", "covers_horizon", "capped", "rolls", "seed", "p_ruin",
    "p_ruin_se", "p_stop_loss", "p_stop_loss_se", "p_take_profit", "p_take_profit_se", "p_profit", "p_profit_se",
    "mean_profit", "mean_profit_se", "median_profit", "profit_5pct", "expected_loss", "seconds", "notes",
)

Clock = Callable[[], float]


class RiskRefused(SettingsError):
    """--max-ruin: the preview's bust probability is above what the user accepts."""


@dataclass(frozen=True, slots=True)
class Horizon:
    """How many bets the run is expected to play (None: no bet or time limit), and where that comes from."""

    bets: int | None
    source: str  # "max_bets", "max_duration" or "none"
    rate: float | None = None  # the bets/s assumed for a --max-duration horizon


def _rate(settings: Settings, tolerated: int | None) -> float:
    """The bets per second the run can reach: what --max-duration turns into bets."""
    concurrency = settings.concurrency if tolerated is None else min(settings.concurrency, tolerated)
    if settings.live:
        rate = concurrency / LIVE_REPLY_SECONDS
    else:
        reply = settings.sim_latency + settings.sim_jitter / 2
        rate = concurrency / reply if reply > 0 else DRY_RUN_RATE
    return min(rate, settings.max_rate) if settings.max_rate is not None else rate


def run_horizon(settings: Settings, tolerated: int | None = None) -> Horizon:
    """The run's own horizon; `tolerated` is the strategy's max_in_flight (it bounds the concurrency)."""
    if settings.max_duration is not None:
        rate = _rate(settings, tolerated)
        expected = max(1, math.ceil(settings.max_duration * rate))
        if settings.max_bets is None or expected < settings.max_bets:
            return Horizon(expected, "max_duration", rate)
    if settings.max_bets is not None:
        return Horizon(settings.max_bets, "max_bets")
    return Horizon(None, "none")


def _no_limit_at_all(settings: Settings) -> bool:
    return all(getattr(settings, name) is None for name in (
        "max_bets", "max_duration", "stop_loss", "take_profit", "trailing_stop", "max_losses", "max_wins",
        "min_balance"))


def _probability(count: int, sessions: int) -> tuple[float, float]:
    """A proportion and its standard error."""
    if sessions == 0:
        return 0.0, 0.0
    p = count / sessions
    return p, math.sqrt(p * (1 - p) / sessions)


class _Plan:
    """Plays the preview's sessions against the clock (see the module's docstring).

    Every estimate of a block's cost assumes its sessions play every bet of the horizon: a session that ends
    early makes it an overestimate, so the budget errs on the safe side."""

    def __init__(self, settings: Settings, seed: str, target: int, *, budget: float, clock: Clock) -> None:
        self.settings, self.seed, self.target = settings, seed, target
        self.budget, self.clock = budget, clock
        self.began = clock()
        self.kernel = uses_kernel(self.spec(min(target, FIRST_PROBE_BETS)))
        self.seconds = 0.0  # what the last block took

    def spec(self, cap: int) -> SimulationSpec:
        return SimulationSpec.create(self.settings, sessions=SESSIONS, master_seed=self.seed,
                                     rolls=RollSource.FAST, max_bets_cap=cap)

    def elapsed(self) -> float:
        return self.clock() - self.began

    def block(self, cap: int, start: int, stop: int) -> list[SessionResult]:
        began = self.clock()
        results = run_chunk(self.spec(cap), start, stop).results
        self.seconds = max(self.clock() - began, TICK)  # a frozen clock (tests) must not divide by zero
        return results

    def warm_up(self, sessions: int) -> None:
        """One bet of the first sessions, outside the budget: the first call pays for what the run itself
        pays for too (importing a plug-in, starting Lua, loading NumPy's kernel) and would mislead the timing."""
        run_chunk(self.spec(1), 0, sessions)
        self.began = self.clock()

    def play(self) -> tuple[int, list[SessionResult]]:
        """(the bets per session covered, the sessions played over them)."""
        return self._kernel() if self.kernel else self._generic()

    def _kernel(self) -> tuple[int, list[SessionResult]]:
        """The kernel plays every session in one lockstep (its cost is per step of the lockstep, so it wants
        them all at once): grow the horizon while the next one fits, then play the longest that fits."""
        self.warm_up(SESSIONS)
        cap = min(self.target, FIRST_PROBE_BETS)
        results = self.block(cap, 0, SESSIONS)
        while cap < self.target:
            remaining = self.budget - self.elapsed()
            # Linear in the horizon: an overestimate, as the call's fixed cost does not grow with it.
            cover = min(self.target, cap * PROBE_GROWTH, int(cap * remaining / self.seconds))
            if cover <= cap:
                break
            cap = cover
            results = self.block(cap, 0, SESSIONS)
        return cap, results

    def _generic(self) -> tuple[int, list[SessionResult]]:
        """Time one session on a short horizon (longer while the next stays cheap), fit its cost as a cost per
        session plus a cost per bet, choose the horizon that MIN_SESSIONS sessions cover in what is left of
        the budget, then play blocks of sessions, looking at the clock between them."""
        self.warm_up(1)
        cap = 1
        results = self.block(cap, 0, 1)
        timings = [(results[0].bets, self.seconds)]
        while cap < self.target and self.elapsed() < self.budget / 2:
            grown = min(self.target, cap * PROBE_GROWTH)
            if self.seconds * grown / cap > self.budget * PROBE_SHARE:
                break  # the next probe would be dear
            cap = grown
            results = self.block(cap, 0, 1)
            timings.append((results[0].bets, self.seconds))
        per_session, per_bet = _fit(timings)
        remaining = self.budget - self.elapsed()
        if remaining <= 0:
            return cap, results  # too slow for more: what the probe played is all there is
        cover = max(1, min(self.target, int((remaining / MIN_SESSIONS - per_session) / per_bet)))
        if cover != cap:
            results = []
        session_cost = per_session + per_bet * cover  # an upper bound: a session may end before its last bet
        while len(results) < SESSIONS:
            elapsed = self.elapsed()
            size = min(SESSIONS - len(results), GENERIC_BLOCK_MAX, max(1, int(self.budget / 10 / session_cost)))
            if elapsed >= self.budget or (len(results) >= MIN_SESSIONS and elapsed + size * session_cost > self.budget):
                break
            results.extend(self.block(cover, len(results), len(results) + size))
            session_cost = self.seconds / size
        return cover, results


def _fit(timings: list[tuple[int, float]]) -> tuple[float, float]:
    """(seconds per session, seconds per bet) through the last two probes; with one, all of it per bet."""
    bets, seconds = timings[-1]
    if len(timings) > 1 and timings[-2][0] < bets:
        fewer, quicker = timings[-2]
        per_bet = max(TICK, (seconds - quicker) / (bets - fewer))
        return max(0.0, seconds - per_bet * bets), per_bet
    return 0.0, max(TICK, seconds / max(1, bets))


def run_preview(settings: Settings, starting_balance: Decimal, *, budget: float = TIME_BUDGET,
                clock: Clock = time.perf_counter) -> dict[str, Any]:
    """The preview's figures (the `risk_preview` entry of the summary)."""
    began = clock()
    balanced = settings.model_copy(update={"balance": starting_balance})
    seed = settings.seed if settings.seed is not None else PREVIEW_SEED
    probe = SimulationSpec.create(balanced, sessions=1, master_seed=seed, rolls=RollSource.FAST)
    horizon = run_horizon(settings, build_strategy(probe.settings, probe.context(0)).max_in_flight)
    # The horizon in bets replaces --max-duration, which simulate would count in simulated latency.
    bounded = balanced.model_copy(update={"max_duration": None})
    target = horizon.bets if horizon.bets is not None else UNBOUNDED_COVER
    cover, results = _Plan(bounded, seed, target, budget=budget, clock=clock).play()
    aggregates = Aggregates()
    for result in results:
        aggregates.add(result)
    n = aggregates.sessions
    p_ruin, p_ruin_se = _probability(aggregates.ruined, n)
    p_stop_loss, p_stop_loss_se = _probability(aggregates.stopped_at_loss, n)
    p_take_profit, p_take_profit_se = _probability(aggregates.took_profit, n)
    p_profit, p_profit_se = _probability(aggregates.profitable, n)
    mean, mean_se = aggregates.mean_profit()
    preview: dict[str, Any] = {
        "sessions": n,
        "max_bets": cover,
        "horizon": horizon.bets,
        "horizon_source": horizon.source,
        "covers_horizon": horizon.bets is not None and cover >= horizon.bets,
        "capped": horizon.bets is None or cover < horizon.bets,
        "rolls": RollSource.FAST.value,
        "seed": seed,
        "p_ruin": p_ruin,
        "p_ruin_se": p_ruin_se,
        "p_stop_loss": p_stop_loss,
        "p_stop_loss_se": p_stop_loss_se,
        "p_take_profit": p_take_profit,
        "p_take_profit_se": p_take_profit_se,
        "p_profit": p_profit,
        "p_profit_se": p_profit_se,
        "mean_profit": money_text(mean),
        "mean_profit_se": money_text(mean_se),
        "median_profit": money_text(aggregates.profits.quantile(0.5) or 0),
        "profit_5pct": money_text(aggregates.profits.quantile(0.05) or 0),
        "expected_loss": money_text(aggregates.expected_loss()),
        "seconds": round(clock() - began, 3),
    }
    preview["notes"] = _notes(settings, horizon, preview, budget)
    assert tuple(preview) == PREVIEW_KEYS  # noqa: S101 - the JSON contract, checked where it is made
    return preview


def _notes(settings: Settings, horizon: Horizon, preview: dict[str, Any], budget: float) -> list[str]:
    """What the figures do not cover, in sentences."""
    cover = preview["max_bets"]
    notes = []
    if horizon.bets is None:
        if _no_limit_at_all(settings):
            notes.append("no limit at all: the expected outcome of an unlimited run is losing the whole balance "
                         f"to the house edge; these figures cover the first {_bets(cover)} only")
        else:
            notes.append("no bet or time limit: the run goes on until a limit stops it, and over an unlimited run "
                         "a progression busts (or hits its stop-loss) with certainty; these figures cover the "
                         f"first {cover:,} bets only")
    elif cover < horizon.bets:
        notes.append(f"{_bets(horizon.bets)} are more than the preview can play with this strategy in "
                     f"{budget:g} s: these figures cover the first {_bets(cover)} only; "
                     "`betbot simulate` with the same flags covers the whole run")
    if preview["sessions"] < MIN_SESSIONS:
        notes.append(f"only {_count(preview['sessions'], 'session')} fitted in the time budget: the figures are rough "
                     "(see their standard errors)")
    return notes


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _bets(count: int) -> str:
    return _count(count, "bet")


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _chance(name: str, p: float, se: float, sessions: int) -> str:
    if p == 0 and sessions:
        return f"{name}: none of {sessions:,} (under {_percent(min(1.0, 3 / sessions))} at 95 %)"
    return f"{name}: {_percent(p)} ± {_percent(se)}"


def _one_in(q: float) -> str:
    return f"1 session in {round(1 / q):,}"


def preview_lines(preview: dict[str, Any], currency: str) -> list[str]:
    """The preview as a person reads it: a heading, the chances, the profit in words, then the notes."""
    n = preview["sessions"]
    horizon = preview["horizon"]
    if preview["covers_horizon"]:
        span = f"the run's {_bets(horizon)}" + (" (expected before --max-duration)"
                                                if preview["horizon_source"] == "max_duration" else "")
    else:
        span = f"the first {_bets(preview['max_bets'])}"
    chances = [_chance("bust", preview["p_ruin"], preview["p_ruin_se"], n),
               _chance("stop-loss", preview["p_stop_loss"], preview["p_stop_loss_se"], n)]
    if preview["p_take_profit"]:
        chances.append(_chance("take-profit", preview["p_take_profit"], preview["p_take_profit_se"], n))
    chances.append(_chance("ends in profit", preview["p_profit"], preview["p_profit_se"], n))
    lines = [
        f"betbot: risk preview: {_count(n, 'simulated session')} of {span} ({preview['rolls']} rolls, "
        f"{preview['seconds']:.2f} s)",
        "  " + "; ".join(chances),
        f"  {_one_in(0.05)} ends at or below {preview['profit_5pct']} {currency}; half end at or below "
        f"{preview['median_profit']}; mean {preview['mean_profit']} ± {preview['mean_profit_se']}; "
        f"the house edge takes {preview['expected_loss']} {currency} per session on average",
    ]
    lines.extend(f"  note: {note}" for note in preview["notes"])
    return lines


def risk_preview(settings: Settings, starting_balance: Decimal) -> dict[str, Any] | None:
    """Run and enforce the preview (None with --no-preview); raises RiskRefused over --max-ruin.

    Printing is separate (`print_preview`), so that the lifecycle can show it once the journal has opened:
    a run that fails on its journal says only that."""
    _check_first_bet(settings, starting_balance)
    if not settings.preview:
        if settings.max_ruin is not None:
            raise SettingsError("--max-ruin judges the risk preview; drop --no-preview (or --max-ruin)")
        return None
    try:
        preview = run_preview(settings, starting_balance)
    except SessionFailure as exc:  # the strategy would fail live too: say so before betting
        raise SettingsError(f"the risk preview failed: {exc}; fix the strategy (or skip it with --no-preview)"
                            ) from None
    if settings.max_ruin is not None and preview["p_ruin"] > settings.max_ruin:
        span = (f"over the run's {_bets(preview['horizon'])}" if preview["covers_horizon"]
                else f"over the first {_bets(preview['max_bets'])}")
        raise RiskRefused(
            f"the risk preview gives P(bust) {_percent(preview['p_ruin'])} {span}, above --max-ruin "
            f"{_percent(settings.max_ruin)}: lower the stakes, raise the balance or add a stop-loss "
            "(nothing was bet or journaled)"
        )
    return preview


_CANNOT_START: Final = {
    StopKind.MAX_BET.value: "--max-bet is below the strategy's first stake: raise --max-bet or lower the stake "
                            "(-p base_bet=...)",
    StopKind.INSUFFICIENT_BALANCE.value: "the balance cannot cover the strategy's first stake: lower the stake "
                                         "(-p base_bet=...) or raise --balance",
    StopKind.STOP_LOSS.value: "the strategy's first stake could cross --stop-loss: raise --stop-loss or lower the "
                              "stake (-p base_bet=...)",
}


def _check_first_bet(settings: Settings, starting_balance: Decimal) -> None:
    """A run whose limits refuse its very first bet is bad input (even with --no-preview): one simulated bet
    of the same configuration says so before anything is bet or journaled. (A --min-balance just below the
    balance is left alone: tests/cli/test_cli_bad_input.py holds it as an edge that is allowed.)"""
    balanced = settings.model_copy(update={"balance": starting_balance, "max_duration": None})
    spec = SimulationSpec.create(balanced, sessions=1, master_seed=settings.seed or PREVIEW_SEED,
                                 rolls=RollSource.FAST, max_bets_cap=1, use_kernel=False)
    try:
        (first,) = run_chunk(spec, 0, 1).results
    except SessionFailure:
        return  # the strategy's own failure: the preview (or the run) reports it
    if first.bets == 0 and first.stop_kind in _CANNOT_START:
        raise SettingsError(f"the run would stop before its first bet ({first.stop_kind}): "
                            f"{_CANNOT_START[first.stop_kind]} (nothing was bet or journaled)")


def print_preview(err: Console, preview: dict[str, Any] | None, currency: str) -> None:
    """To a person: the lines of `preview_lines`; when logs are JSON, one `risk.preview` log line instead."""
    if preview is None:
        return
    if console_rendering():
        for line in preview_lines(preview, currency):
            err.print(line, highlight=False)  # wrapped at words, to the terminal's width
    else:
        get_logger().info("risk.preview", currency=currency, **preview)
