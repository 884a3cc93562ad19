"""Throughput of the vectorised Monte Carlo kernel, printed (not asserted): `python bench/bench_kernel.py`.

For a few configurations: bets/s of the kernel (one process, one core, `KernelPlan.play` over all the
sessions) and of the generic path (`betbot.montecarlo.generic.play_session`, the session machine one bet at
a time) on a sample of the same sessions in the same run, their ratio, and whether the sample's results are
equal (they must be). The kernel's target is 20,000,000 bets/s.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from betbot.config.build import build_strategy, game_rules
from betbot.config.settings import Settings
from betbot.core.rolls import session_key
from betbot.montecarlo.generic import play_session
from betbot.montecarlo.kernel import plan_for
from betbot.montecarlo.spec import SimulationSpec

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "flat, 1,000 bets": {"strategy": "flat", "max_bets": 1000},
    "martingale, take_profit 10%, stop_loss 50%": {"strategy": "martingale", "max_bets": 1000,
                                                    "take_profit": "10%", "stop_loss": "50%"},
    "martingale base 1, balance 127 (busts)": {"strategy": "martingale", "params": {"base_bet": "1"},
                                               "balance": "127", "max_bets": 1000},
    "dalembert, trailing_stop 5": {"strategy": "dalembert", "max_bets": 1000, "trailing_stop": "5"},
    "paroli, max_losses 10": {"strategy": "paroli", "max_bets": 1000, "max_losses": 10},
}


def measure(name: str, values: dict[str, Any], sessions: int, sample: int) -> None:
    spec = SimulationSpec.create(Settings(**values), sessions=sessions, master_seed="bench-kernel")
    limits = spec.limits()
    began = time.perf_counter()
    plan = plan_for(build_strategy(spec.settings, spec.context(0)), limits, starting_balance=spec.balance,
                    rules=game_rules(spec.settings))
    assert plan is not None, name
    indices = list(range(sessions))
    keys = [session_key(spec.master_seed, i) for i in indices]
    escaped: list[int] = []

    def fallback(index: int) -> Any:
        escaped.append(index)
        return play_session(spec, index, limits)[0]

    results = plan.play(indices, keys, fallback)
    kernel_seconds = time.perf_counter() - began
    kernel_bets = sum(r.bets for r in results)
    began = time.perf_counter()
    generic = [play_session(spec, i, limits)[0] for i in range(sample)]
    generic_seconds = time.perf_counter() - began
    generic_bets = sum(r.bets for r in generic)
    kernel_rate = kernel_bets / kernel_seconds
    generic_rate = generic_bets / generic_seconds
    same = "equal" if generic == results[:sample] else "DIFFERENT"
    print(f"{name:45} kernel {kernel_rate:>13,.0f} bets/s ({kernel_bets:,} bets, {sessions:,} sessions, "
          f"{kernel_seconds:.2f} s, {len(escaped)} escaped)  generic {generic_rate:>9,.0f} bets/s  "
          f"ratio {kernel_rate / generic_rate:,.0f}x  sample {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=40, help="sessions also played on the generic path")
    args = parser.parse_args()
    for name, values in CONFIGURATIONS.items():
        measure(name, values, args.sessions, args.sample)


if __name__ == "__main__":
    main()
