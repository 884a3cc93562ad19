"""What a candidate's sessions say: the figures with their standard errors, the objective, the constraints, and
whether the best two candidates can be told apart.

Theory of operation. A candidate is evaluated on sessions 0..n-1 (the same sessions, the same rolls, for
every candidate: common random numbers), and keeps one `Columns` row per session: its profit, bets and
largest drawdown in satoshis, and whether it reached the take-profit or went bust. From those:

    p-take-profit      the share of sessions that reached --take-profit
    p-profit           the share that ended with a profit
    sessions-survived  the share that did not go bust (bust: the stop-loss, the minimum balance, or a balance
                       that no longer covers the stake)
    mean-profit        the mean final profit
    median-profit      the median final profit

each with its standard error: sqrt(p(1-p)/n) for a share, s/sqrt(n) for the mean, and for the median half the
distance between the order statistics n/2 -+ sqrt(n)/2 (one binomial standard deviation of rank either side:
distribution-free). Constraints: P(bust) <= --max-ruin; the 95th percentile of the largest drawdown <=
--max-drawdown; the mean session length >= --min-bets.

Two candidates are compared on the very sessions both played: the per-session differences of the
objective's values (a paired t statistic; for the median, the sign test of the paired profits). The best
two are "distinguishable" when that statistic exceeds Z_DISTINGUISH (1.96: a two-sided test at 5 %).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from betbot.core.models import StopKind
from betbot.montecarlo.results import SessionResult, money_text

__all__ = [
    "OBJECTIVES",
    "Z_DISTINGUISH",
    "Columns",
    "Comparison",
    "Constraints",
    "Estimate",
    "Figures",
    "Objective",
    "compare_paired",
    "figures_of",
]

Objective = Literal["p-take-profit", "median-profit", "mean-profit", "p-profit", "sessions-survived"]
OBJECTIVES: Final[tuple[Objective, ...]] = ("p-take-profit", "median-profit", "mean-profit", "p-profit",
                                            "sessions-survived")
Z_DISTINGUISH: Final = 1.96
_BUST: Final = frozenset((StopKind.STOP_LOSS.value, StopKind.MIN_BALANCE.value,
                          StopKind.INSUFFICIENT_BALANCE.value))
_I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class Columns:
    """Per-session outcomes of one candidate, sessions 0..n-1 in index order."""

    profit: _I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bets: _I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    drawdown: _I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    take_profit: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    bust: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    @property
    def sessions(self) -> int:
        return len(self.profit)

    def extend(self, results: Iterable[SessionResult]) -> None:
        """Append the next sessions (they must continue the index order)."""
        rows = list(results)
        if rows and rows[0].index != self.sessions:
            raise ValueError(f"session {rows[0].index} follows session {self.sessions - 1}")
        self.profit = np.concatenate([self.profit, np.array([r.profit for r in rows], dtype=np.int64)])
        self.bets = np.concatenate([self.bets, np.array([r.bets for r in rows], dtype=np.int64)])
        self.drawdown = np.concatenate([self.drawdown, np.array([r.max_drawdown for r in rows], dtype=np.int64)])
        self.take_profit = np.concatenate([self.take_profit, np.array([r.take_profit for r in rows], dtype=np.bool_)])
        self.bust = np.concatenate([self.bust, np.array([r.stop_kind in _BUST for r in rows], dtype=np.bool_)])

    def head(self, n: int) -> Columns:
        return Columns(self.profit[:n], self.bets[:n], self.drawdown[:n], self.take_profit[:n], self.bust[:n])

    def per_session(self, objective: Objective) -> npt.NDArray[np.float64]:
        """Each session's value of the objective (the mean of these is the objective, but for the median)."""
        if objective == "p-take-profit":
            return self.take_profit.astype(np.float64)
        if objective == "p-profit":
            return (self.profit > 0).astype(np.float64)
        if objective == "sessions-survived":
            return (~self.bust).astype(np.float64)
        return self.profit.astype(np.float64)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure and its standard error (money figures in satoshis)."""

    value: float
    error: float


def _share(flags: npt.NDArray[np.bool_]) -> Estimate:
    n = len(flags)
    if n == 0:
        return Estimate(0.0, 0.0)
    p = float(np.count_nonzero(flags)) / n
    return Estimate(p, math.sqrt(p * (1 - p) / n))


def _median(values: _I64) -> tuple[Decimal, Decimal]:
    """The median (exact: the middle value, or the mean of the middle two) and its standard error."""
    n = len(values)
    if n == 0:
        return Decimal(0), Decimal(0)
    ordered = np.sort(values)
    middle = Decimal(int(ordered[n // 2])) if n % 2 else (Decimal(int(ordered[n // 2 - 1])) +
                                                          Decimal(int(ordered[n // 2]))) / 2
    half = math.sqrt(n) / 2
    low = int(ordered[max(0, math.floor(n / 2 - half))])
    high = int(ordered[min(n - 1, math.ceil(n / 2 + half) - 1)])
    return middle, Decimal(high - low) / 2


@dataclass(frozen=True, slots=True)
class Figures:
    sessions: int
    p_take_profit: Estimate
    p_profit: Estimate
    p_ruin: Estimate  # bust: see the module docstring
    mean_profit_exact: tuple[Decimal, Decimal]  # satoshis: the mean and its standard error, exact then rounded
    median_profit_exact: tuple[Decimal, Decimal]  # satoshis, as the mean's
    drawdown_q95: int  # satoshis
    mean_bets: float

    @property
    def sessions_survived(self) -> Estimate:
        return Estimate(1 - self.p_ruin.value, self.p_ruin.error)

    @property
    def median_profit(self) -> Estimate:
        median, error = self.median_profit_exact
        return Estimate(float(median), float(error))

    @property
    def mean_profit(self) -> Estimate:
        mean, error = self.mean_profit_exact
        return Estimate(float(mean), float(error))

    def objective(self, name: Objective) -> Estimate:
        """The objective's figure; money in coins (a float only for ranking and the optimiser)."""
        if name == "p-take-profit":
            return self.p_take_profit
        if name == "p-profit":
            return self.p_profit
        if name == "sessions-survived":
            return self.sessions_survived
        money = self.mean_profit if name == "mean-profit" else self.median_profit
        return Estimate(money.value / 1e8, money.error / 1e8)

    def document(self) -> dict[str, object]:
        """The figures for --json: shares as numbers, money as decimal text with 8 places."""
        mean, error = self.mean_profit_exact
        median, median_error = self.median_profit_exact
        return {
            "sessions": self.sessions,
            "p_take_profit": _pair(self.p_take_profit),
            "p_profit": _pair(self.p_profit),
            "p_ruin": _pair(self.p_ruin),
            "sessions_survived": _pair(self.sessions_survived),
            "mean_profit": {"value": money_text(mean), "standard_error": money_text(error)},
            "median_profit": {"value": money_text(median), "standard_error": money_text(median_error)},
            "max_drawdown_95": money_text(self.drawdown_q95),
            "mean_bets": round(self.mean_bets, 3),
        }


def _pair(estimate: Estimate) -> dict[str, float]:
    return {"value": estimate.value, "standard_error": estimate.error}


def figures_of(columns: Columns) -> Figures:
    n = columns.sessions
    total = int(columns.profit.sum())
    profits = columns.profit.tolist()
    squares = sum(map(operator.mul, profits, profits))  # Python integers: exact (a square can pass int64)
    mean = Decimal(total) / n if n else Decimal(0)
    error = Decimal(0)
    if n > 1:
        variance = (Decimal(squares) - Decimal(total) * Decimal(total) / n) / (n - 1)
        error = (max(variance, Decimal(0)) / n).sqrt()
    return Figures(
        sessions=n, p_take_profit=_share(columns.take_profit), p_profit=_share(columns.profit > 0),
        p_ruin=_share(columns.bust), mean_profit_exact=(mean, error), median_profit_exact=_median(columns.profit),
        drawdown_q95=int(np.quantile(columns.drawdown, 0.95, method="inverted_cdf")) if n else 0,
        mean_bets=float(columns.bets.mean()) if n else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Constraints:
    """--max-ruin (a share), --max-drawdown (satoshis), --min-bets; None: not asked for."""

    max_ruin: float | None = None
    max_drawdown: int | None = None
    min_bets: int | None = None

    @property
    def given(self) -> bool:
        return any(limit is not None for limit in (self.max_ruin, self.max_drawdown, self.min_bets))

    def violations(self, figures: Figures) -> dict[str, float]:
        """By constraint, how far it is broken (<= 0: met), scaled so 1 means "off by the whole limit"."""
        found: dict[str, float] = {}
        if self.max_ruin is not None:
            found["max_ruin"] = figures.p_ruin.value - self.max_ruin
        if self.max_drawdown is not None:
            found["max_drawdown"] = (figures.drawdown_q95 - self.max_drawdown) / max(self.max_drawdown, 1)
        if self.min_bets is not None:
            found["min_bets"] = (self.min_bets - figures.mean_bets) / self.min_bets
        return found

    def met(self, figures: Figures) -> bool:
        return all(value <= 0 for value in self.violations(figures).values())


@dataclass(frozen=True, slots=True)
class Comparison:
    """The best candidate against the second on their common sessions."""

    difference: float  # the mean per-session difference (objective units; money in coins); the median's: sign
    error: float
    z: float
    distinguishable: bool
    test: str


def compare_paired(best: Columns, second: Columns, objective: Objective) -> Comparison:
    n = min(best.sessions, second.sessions)
    if objective == "median-profit":
        differences = best.profit[:n] - second.profit[:n]
        above, below = int(np.count_nonzero(differences > 0)), int(np.count_nonzero(differences < 0))
        z = (above - below) / math.sqrt(above + below) if above + below else 0.0
        return Comparison(difference=float(above - below) / n if n else 0.0, error=0.0, z=z,
                          distinguishable=z > Z_DISTINGUISH, test="sign test on the paired profits")
    scale = 1e8 if objective == "mean-profit" else 1.0
    d = (best.head(n).per_session(objective) - second.head(n).per_session(objective)) / scale
    mean = float(d.mean()) if n else 0.0
    error = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    z = mean / error if error > 0 else (math.inf if mean > 0 else 0.0)
    return Comparison(difference=mean, error=error, z=z, distinguishable=z > Z_DISTINGUISH,
                      test="paired difference on the common sessions")
