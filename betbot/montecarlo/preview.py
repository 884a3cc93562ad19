"""The risk preview: before `betbot run` places its first bet, a quick Monte Carlo of the same configuration.

Same strategy, parameters, limits and starting balance, played by the same chunk function as `betbot
simulate` in this process with fast rolls. It must take well under a second whatever the strategy, so:
  * each session is cut at a budget of bets (`budget // SESSIONS`, or the run's own max_bets if lower): a
    larger budget when the vectorised kernel plays the strategy;
  * on the generic path, sessions are played in index order, a block at a time, until `SESSIONS` are done
    or `TIME_BUDGET` has passed (with at least `MIN_SESSIONS`): a strategy that is slow to set up (a Lua
    script builds a sandbox per session) gets fewer sessions, not a longer wait.
The output says how many sessions over how many bets. Each session is deterministic (the master seed is
the run's --seed, or a fixed text without one); on a slow machine fewer of them may be played.

The figures go to the terminal, to the summary (`risk_preview`) and with it to the journal;
`--max-ruin P` refuses to start a run whose bust probability is above P (a SettingsError: exit 2, one line,
before the session is journaled).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Final

from rich.console import Console

from betbot.config.settings import Settings, SettingsError
from betbot.core.rolls import RollSource
from betbot.montecarlo.chunk import SessionFailure, run_chunk, uses_kernel
from betbot.montecarlo.results import Aggregates, money_text
from betbot.montecarlo.spec import SimulationSpec

__all__ = [
    "GENERIC_BET_BUDGET", "KERNEL_BET_BUDGET", "MIN_SESSIONS", "SESSIONS", "TIME_BUDGET", "RiskRefused",
    "preview_line", "print_preview", "risk_preview", "run_preview",
]

SESSIONS: Final = 2_000
MIN_SESSIONS: Final = 200  # below this the probabilities would mean little (a standard error above 3 %)
BLOCK: Final = 100  # generic-path sessions between two looks at the clock
TIME_BUDGET: Final = 0.4  # seconds of simulation, at most, once MIN_SESSIONS are done
GENERIC_BET_BUDGET: Final = 40_000  # about 0.35 s of the generic path on one idle core (bench/bench_simulate.py)
KERNEL_BET_BUDGET: Final = 4_000_000  # the vectorised kernel's budget for the same time
PREVIEW_SEED: Final = "betbot/preview"


class RiskRefused(SettingsError):
    """--max-ruin: the preview's bust probability is above what the user accepts."""


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def run_preview(settings: Settings, starting_balance: Decimal) -> dict[str, Any]:
    """The preview's figures (the `risk_preview` entry of the summary)."""
    began = time.perf_counter()
    balanced = settings.model_copy(update={"balance": starting_balance})
    seed = settings.seed if settings.seed is not None else PREVIEW_SEED
    probe = SimulationSpec.create(balanced, sessions=SESSIONS, master_seed=seed, rolls=RollSource.FAST)
    kernel = uses_kernel(probe)
    cap = max(1, (KERNEL_BET_BUDGET if kernel else GENERIC_BET_BUDGET) // SESSIONS)
    spec = SimulationSpec.create(balanced, sessions=SESSIONS, master_seed=seed, rolls=RollSource.FAST,
                                 max_bets_cap=cap)
    aggregates = Aggregates()
    block = SESSIONS if kernel else BLOCK
    for start in range(0, SESSIONS, block):
        if start >= MIN_SESSIONS and time.perf_counter() - began > TIME_BUDGET:
            break
        for result in run_chunk(spec, start, min(start + block, SESSIONS)).results:
            aggregates.add(result)
    limit = settings.max_bets if settings.max_bets is not None and settings.max_bets <= cap else None
    return {
        "sessions": aggregates.sessions,
        "max_bets": limit if limit is not None else cap,
        "capped": limit is None,
        "rolls": RollSource.FAST.value,
        "seed": seed,
        "p_stop_loss": aggregates.p_stop_loss,
        "p_ruin": aggregates.p_ruin,
        "median_profit": money_text(aggregates.profits.quantile(0.5) or 0),
        "profit_5pct": money_text(aggregates.profits.quantile(0.05) or 0),
        "expected_loss": money_text(aggregates.expected_loss()),
        "seconds": round(time.perf_counter() - began, 3),
    }


def _horizon(preview: dict[str, Any]) -> str:
    return (f"over the first {preview['max_bets']:,} bets" if preview["capped"]
            else f"over {preview['max_bets']:,} bets")


def preview_line(preview: dict[str, Any], currency: str) -> str:
    return (f"betbot: risk preview ({preview['sessions']:,} simulated sessions {_horizon(preview)}, "
            f"{preview['rolls']} rolls, "
            f"{preview['seconds']:.2f} s): P(stop-loss) {_percent(preview['p_stop_loss'])}, "
            f"P(bust) {_percent(preview['p_ruin'])}, median profit {preview['median_profit']} {currency}, "
            f"5 % profit {preview['profit_5pct']} {currency}, expected loss to the edge "
            f"{preview['expected_loss']} {currency} per session")


def risk_preview(settings: Settings, starting_balance: Decimal) -> dict[str, Any] | None:
    """Run and enforce the preview (None with --no-preview); raises RiskRefused over --max-ruin.

    Printing is separate (`print_preview`), so that the lifecycle can show it once the journal has opened:
    a run that fails on its journal says only that."""
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
        raise RiskRefused(
            f"the risk preview gives P(bust) {_percent(preview['p_ruin'])} {_horizon(preview)}, above --max-ruin "
            f"{_percent(settings.max_ruin)}: lower the stakes, raise the balance or add a stop-loss "
            "(nothing was bet or journaled)"
        )
    return preview


def print_preview(err: Console, preview: dict[str, Any] | None, currency: str) -> None:
    if preview is not None:
        err.print(preview_line(preview, currency), highlight=False, soft_wrap=True)
