"""What one simulated session produced, and the streaming aggregates over many of them.

Theory of operation. A worker plays a session (the generic path through `play_sync`, or the vectorised
kernel) and reduces it to one `SessionResult`: a few integers, money in exact satoshis. The parent feeds
the records to `Aggregates` as they come back (in session-index order, see `betbot.montecarlo.run`) and
keeps nothing per session: sums are exact integers and distributions are `ValueSketch`es, so memory is
flat in the number of sessions and the report is identical for any worker count or scheduling.

`report()` gives the JSON document of `betbot simulate --json` with exactly these keys:
sessions, bets, rtp, expected_rtp, p_ruin, p_stop_loss, p_take_profit, p_profit, profit_quantiles,
mean_profit, max_drawdown_quantiles, session_length_quantiles, longest_loss_streak_quantiles,
stop_reasons, rolls, seed. Money is a decimal string with 8 places; probabilities and rates are numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from betbot.core.fairness import ROLLS
from betbot.core.models import StopKind
from betbot.core.money import SATOSHI
from betbot.montecarlo.sketch import ValueSketch

__all__ = [
    "CSV_HEADER",
    "NO_STOP",
    "QUANTILES",
    "REPORT_KEYS",
    "SATOSHIS_PER_COIN",
    "Aggregates",
    "SessionResult",
    "money_text",
    "quantile_label",
]

SATOSHIS_PER_COIN: Final = 100_000_000
QUANTILES: Final = (0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99)
REPORT_KEYS: Final = (
    "sessions", "bets", "rtp", "expected_rtp", "p_ruin", "p_stop_loss", "p_take_profit", "p_profit",
    "profit_quantiles", "mean_profit", "max_drawdown_quantiles", "session_length_quantiles",
    "longest_loss_streak_quantiles", "stop_reasons", "rolls", "seed",
)
NO_STOP: Final = "none"  # a session that ended without a stop reason (the driver gave up on a decision)


def money_text(satoshis: int | Decimal) -> str:
    """Satoshis (an integer, or a Decimal mean) as the coin amount with exactly 8 places."""
    return f"{(Decimal(satoshis) / SATOSHIS_PER_COIN).quantize(SATOSHI):.8f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResult:
    """One session, reduced. Money in integer satoshis (exact); `stop_kind` a `StopKind` value or "none".

    `expected_return_x10k` is the session's expected amount returned, sum over its bets of
    W * (stake + win profit) in satoshis, where W is the count of winning rolls out of 10,000: the exact
    expectation of what the bets pay back (including the site's rounding of win profits down to the
    satoshi), times 10,000. Divided by the amount wagered it is the expected RTP.
    """

    index: int
    bets: int
    wagered: int
    profit: int
    final_balance: int
    stop_kind: str
    max_drawdown: int
    longest_loss_streak: int
    expected_return_x10k: int

    @property
    def ruin(self) -> bool:
        """Ended because the balance could not cover the next stake."""
        return self.stop_kind == StopKind.INSUFFICIENT_BALANCE.value

    @property
    def stop_loss(self) -> bool:
        return self.stop_kind == StopKind.STOP_LOSS.value

    @property
    def take_profit(self) -> bool:
        return self.stop_kind == StopKind.TAKE_PROFIT.value

    def csv_row(self) -> list[str]:
        """The row of `--csv`: money as decimal text, counts as integers."""
        return [
            str(self.index), str(self.bets), money_text(self.wagered), money_text(self.profit),
            money_text(self.final_balance), self.stop_kind, money_text(self.max_drawdown),
            str(self.longest_loss_streak), str(int(self.ruin)), str(int(self.stop_loss)),
            str(int(self.take_profit)),
        ]


CSV_HEADER: Final = (
    "session", "bets", "wagered", "profit", "final_balance", "stop_kind", "max_drawdown",
    "longest_loss_streak", "ruin", "stop_loss", "take_profit",
)


def _rate(count: int, total: int) -> float:
    return count / total if total else 0.0


class Aggregates:
    """Streaming statistics over session results: exact sums, counts and order-free sketches."""

    def __init__(self) -> None:
        self.sessions = 0
        self.bets = 0
        self.wagered = 0
        self.profit = 0
        self.profit_squares = 0
        self.expected_return_x10k = 0
        self.ruined = 0
        self.stopped_at_loss = 0
        self.took_profit = 0
        self.profitable = 0
        self.stop_reasons: Counter[str] = Counter()
        self.profits = ValueSketch()
        self.drawdowns = ValueSketch()
        self.lengths = ValueSketch()
        self.loss_streaks = ValueSketch()

    def add(self, result: SessionResult) -> None:
        self.sessions += 1
        self.bets += result.bets
        self.wagered += result.wagered
        self.profit += result.profit
        self.profit_squares += result.profit * result.profit
        self.expected_return_x10k += result.expected_return_x10k
        self.ruined += result.ruin
        self.stopped_at_loss += result.stop_loss
        self.took_profit += result.take_profit
        self.profitable += result.profit > 0
        self.stop_reasons[result.stop_kind] += 1
        self.profits.add(result.profit)
        self.drawdowns.add(result.max_drawdown)
        self.lengths.add(result.bets)
        self.loss_streaks.add(result.longest_loss_streak)

    # -- derived figures -------------------------------------------------------------------------
    @property
    def rtp(self) -> float | None:
        """Returned / wagered over every bet of every session."""
        return (self.wagered + self.profit) / self.wagered if self.wagered else None

    @property
    def expected_rtp(self) -> float | None:
        return self.expected_return_x10k / ROLLS / self.wagered if self.wagered else None

    @property
    def p_ruin(self) -> float:
        return _rate(self.ruined, self.sessions)

    @property
    def p_stop_loss(self) -> float:
        return _rate(self.stopped_at_loss, self.sessions)

    @property
    def p_take_profit(self) -> float:
        return _rate(self.took_profit, self.sessions)

    @property
    def p_profit(self) -> float:
        return _rate(self.profitable, self.sessions)

    def mean_profit(self) -> tuple[Decimal, Decimal]:
        """The mean final profit and its standard error, in satoshis (exact arithmetic, then rounded)."""
        n = self.sessions
        if n == 0:
            return Decimal(0), Decimal(0)
        mean = Decimal(self.profit) / n
        if n == 1:
            return mean, Decimal(0)
        variance = (Decimal(self.profit_squares) - Decimal(self.profit) * Decimal(self.profit) / n) / (n - 1)
        return mean, (max(variance, Decimal(0)) / n).sqrt()

    def expected_loss(self) -> Decimal:
        """What the house edge is expected to take from the average session, in satoshis."""
        if self.sessions == 0:
            return Decimal(0)
        expected_return = Decimal(self.expected_return_x10k) / ROLLS
        return (Decimal(self.wagered) - expected_return) / self.sessions

    def report(self, *, rolls: str, seed: str) -> dict[str, Any]:
        """The `--json` document (exactly REPORT_KEYS)."""
        mean, error = self.mean_profit()
        document: dict[str, Any] = {
            "sessions": self.sessions,
            "bets": self.bets,
            "rtp": self.rtp,
            "expected_rtp": self.expected_rtp,
            "p_ruin": self.p_ruin,
            "p_stop_loss": self.p_stop_loss,
            "p_take_profit": self.p_take_profit,
            "p_profit": self.p_profit,
            "profit_quantiles": _money_quantiles(self.profits),
            "mean_profit": {"mean": money_text(mean), "standard_error": money_text(error)},
            "max_drawdown_quantiles": _money_quantiles(self.drawdowns),
            "session_length_quantiles": _count_quantiles(self.lengths),
            "longest_loss_streak_quantiles": _count_quantiles(self.loss_streaks),
            "stop_reasons": dict(sorted(self.stop_reasons.items())),
            "rolls": rolls,
            "seed": seed,
        }
        assert tuple(document) == REPORT_KEYS  # noqa: S101 - the JSON contract, checked where it is made
        return document


def quantile_label(q: float) -> str:
    return f"{q * 100:g}%"


def _money_quantiles(sketch: ValueSketch) -> dict[str, str | None]:
    return {quantile_label(q): None if v is None else money_text(v)
            for q, v in zip(QUANTILES, sketch.quantiles(QUANTILES), strict=True)}


def _count_quantiles(sketch: ValueSketch) -> dict[str, int | None]:
    return dict(zip(map(quantile_label, QUANTILES), sketch.quantiles(QUANTILES), strict=True))
