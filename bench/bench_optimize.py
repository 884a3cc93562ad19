"""Figures of `betbot optimize`, printed (not asserted): `python bench/bench_optimize.py`.

1. The kernel: an advanced-mode search over 3 parameters (the loss multiplier, the base bet on a log scale,
   every Nth loss), 200 candidates x 10,000 sessions x at most 500 bets, on 2 worker processes. Wall time
   (goal: under 60 s), sessions and bets played, and what successive halving saved against every candidate
   on every session.
2. The same search on the generic path (--no-kernel), with fewer candidates and sessions by default (say so
   in the figures: the generic path is some 100 times slower per bet); the time per candidate scales to
   the full search.
3. The optimiser's own overhead: the wall time outside `simulate` (Optuna's ask and tell, the figures, the
   ranking), per candidate and as a share of the whole (goal: under 5 %); and the CPU seconds of this
   process against the workers' (steadier than wall time on a shared machine).
Give the machine's load with every figure (`uptime`): the figures are only as steady as the machine is idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from typing import Any

from betbot.config.settings import load_settings
from betbot.montecarlo.executors import InProcessExecutor, ProcessExecutor
from betbot.optimize.evaluate import Evaluator, KeptOpen
from betbot.optimize.figures import Constraints
from betbot.optimize.report import rank
from betbot.optimize.search import SearchOptions, run_search, rungs
from betbot.optimize.space import SearchSpace, split_params
from betbot.strategies.registry import load_strategy

SPACE = [("on_loss_by", "1.2..3"), ("base_bet", "0.001..0.1:log"), ("every_nth_loss", "1..3:int")]
SETTINGS = {"strategy": "advanced", "balance": "10", "take_profit": "2", "stop_loss": "50%", "max_bets": "500",
            "params": {"on_loss": "multiply", "max_multiplies": "none"}}


def search(*, candidates: int, sessions: int, workers: int, kernel: bool, seed: str) -> dict[str, Any]:
    settings = load_settings(SETTINGS)
    dimensions, _ = split_params(SPACE, load_strategy("advanced").Params, "advanced")
    space = SearchSpace(tuple(dimensions), dict(settings.params))
    executor = KeptOpen(InProcessExecutor() if workers == 1 else ProcessExecutor(workers))
    evaluator = Evaluator(settings=settings, master_seed=seed, executor=executor, use_kernel=kernel)
    options = SearchOptions(objective="p-take-profit", constraints=Constraints(), sessions=sessions,
                            trials=candidates, seed=seed)
    began, cpu = time.perf_counter(), _cpu()
    try:
        outcome = run_search(evaluator, space, options)
        ranked = rank(outcome.candidates, "p-take-profit")
    finally:
        executor.shutdown()  # the workers exit: their CPU time is the children's now
    wall = time.perf_counter() - began
    mine, workers = (after - before for after, before in zip(_cpu(), cpu, strict=True))
    overhead = wall - evaluator.seconds
    return {"wall": wall, "simulate": evaluator.seconds, "overhead": overhead, "candidates": len(outcome.candidates),
            "complete": sum(c.complete for c in outcome.candidates), "played": evaluator.sessions_played,
            "unpruned": len(outcome.candidates) * sessions, "best": ranked[0] if ranked else None,
            "cpu_parent": mine, "cpu_workers": workers}


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process, and of its children that have exited (the worker processes)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def report(title: str, figures: dict[str, Any], sessions: int) -> None:
    saved = 1 - figures["played"] / figures["unpruned"]
    per = figures["wall"] / figures["candidates"]
    print(f"{title}")
    print(f"  wall {figures['wall']:.1f} s for {figures['candidates']} candidates x up to {sessions:,} sessions "
          f"({per * 1000:.0f} ms a candidate; {figures['complete']} played every session); rungs {rungs(sessions)}")
    print(f"  sessions played {figures['played']:,} of {figures['unpruned']:,} without pruning: pruning and the "
          f"cache saved {saved:.0%}")
    print(f"  optimiser overhead {figures['overhead']:.2f} s = {figures['overhead'] / figures['wall']:.1%} of the "
          f"wall time ({figures['overhead'] / figures['candidates'] * 1000:.1f} ms a candidate)")
    cpu = figures["cpu_parent"] + figures["cpu_workers"]
    mine = f"{figures['cpu_parent']:.1f} s in this process (the optimiser, the driver, the figures: " \
           f"{figures['cpu_parent'] / figures['candidates'] * 1000:.1f} ms a candidate"
    if figures["cpu_workers"] > 0:
        print(f"  CPU: {figures['cpu_workers']:.1f} s in the workers + {mine}, {figures['cpu_parent'] / cpu:.1%} of "
              f"all the CPU); on 2 idle cores about {cpu / 2:.0f} s of wall time")
    else:  # workers forked by a fork server are its children, not ours: their CPU is not ours to read
        print(f"  CPU: {mine}); the workers' CPU is not measured here (they fork from a fork server)")
    best = figures["best"]
    if best is not None:
        value = best.figures.p_take_profit
        print(f"  best {best.params}: P(take-profit) {value.value:.2%} ± {value.error:.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--generic-candidates", type=int, default=20)
    parser.add_argument("--generic-sessions", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", default="bench")
    parser.add_argument("--skip-generic", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs; "
          f"{args.workers} workers")
    kernel = search(candidates=args.candidates, sessions=args.sessions, workers=args.workers, kernel=True,
                    seed=args.seed)
    report(f"1. kernel: advanced mode over {', '.join(n for n, _ in SPACE)}, at most 500 bets a session", kernel,
           args.sessions)
    print(f"   load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.skip_generic:
        generic = search(candidates=args.generic_candidates, sessions=args.generic_sessions, workers=args.workers,
                         kernel=False, seed=args.seed)
        report(f"2. generic path (--no-kernel), {args.generic_candidates} candidates x {args.generic_sessions:,} "
               "sessions (fewer than 1.: the generic path is far slower per bet)", generic, args.generic_sessions)
        per_session = generic["simulate"] / generic["played"]
        print(f"   the sessions 1. played ({kernel['played']:,}), at this pace: about "
              f"{per_session * kernel['played'] / 60:.0f} min of simulation (at most 500 bets a session either way)")
        print(f"   load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
