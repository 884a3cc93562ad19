"""CPU cost of the live dashboard, printed (not asserted): run `python bench/bench_dashboard.py`.

A zero-latency simulated run (flat strategy, N = 5, no journal: about 80k bets/s on the reference machine)
of the same number of bets, without and with the dashboard redrawing every 0.25 s to a console that writes
to /dev/null as a terminal would (colours, cursor moves: the whole rendering, none of the terminal's work).
Printed:
  * bets/s of each run and their ratio;
  * the dashboard's own CPU per second of run: the process CPU time spent inside its redraws (measured
    around each one), divided by the run's wall time;
  * the same cost estimated the other way, as the difference of the two runs' CPU seconds per bet, times the
    bets per second of the run with the dashboard (noisier: it includes whatever else the machine did).
Runs alternate (off, on, off, on, ...) so a drifting machine affects each alike; the median is kept.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal

import anyio
from rich.console import Console

from betbot.backends.simulator import LatencyModel, SimulatedGame, SimulatorBackend
from betbot.core.fairness import SeedPair
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.loop import Engine
from betbot.observe.display import Dashboard
from betbot.observe.view import view_of
from betbot.strategies.registry import load_strategy

CURRENCY = "DOGE"
BALANCE = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Run:
    wall: float  # seconds the engine ran
    cpu: float  # process CPU seconds over the same span
    draw_cpu: float  # process CPU seconds inside the dashboard's redraws
    frames: int


class _TimedDashboard(Dashboard):
    """The dashboard, with the CPU time of each redraw added up."""

    cpu = 0.0

    def draw(self) -> None:
        start = time.process_time()
        super().draw()
        self.cpu += time.process_time() - start


def one_run(bets: int, n: int, *, dashboard: bool, width: int) -> Run:
    ctx = StrategyContext(currency=CURRENCY, starting_balance=BALANCE)
    strategy = load_strategy("flat").from_options({}, ctx)
    limits = Limits(max_bets=bets)
    session = Session(currency=CURRENCY, starting_balance=BALANCE, limits=limits, started_at=time.monotonic())
    backend = SimulatorBackend(SimulatedGame(seeds=SeedPair.derive("bench"), balances={CURRENCY: BALANCE}),
                               LatencyModel(fixed=0.0))
    engine = Engine(session=session, strategy=strategy, backend=backend, max_concurrent=n)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        console = Console(file=sink, force_terminal=True, width=width, color_system="truecolor")
        shown = _TimedDashboard(console, lambda: view_of(engine), limits=limits, title="bench", clock=engine.clock)

        async def play() -> None:
            if not dashboard:
                await engine.run()
                return
            with shown.live():
                async with anyio.create_task_group() as tg:
                    tg.start_soon(shown.run)
                    await engine.run()
                    tg.cancel_scope.cancel()

        cpu0 = time.process_time()
        anyio.run(play)
        cpu = time.process_time() - cpu0
    assert session.bets == bets, (session.bets, session.stop_reason)
    return Run(wall=engine.elapsed, cpu=cpu, draw_cpu=shown.cpu, frames=shown.frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=400_000, help="bets per run")
    parser.add_argument("--rounds", type=int, default=3, help="off/on pairs (median kept)")
    parser.add_argument("-n", type=int, default=5, help="concurrency")
    parser.add_argument("--width", type=int, default=160, help="console columns")
    args = parser.parse_args()

    off: list[Run] = []
    on: list[Run] = []
    for _ in range(args.rounds):
        off.append(one_run(args.bets, args.n, dashboard=False, width=args.width))
        on.append(one_run(args.bets, args.n, dashboard=True, width=args.width))
    rate_off = statistics.median(args.bets / run.wall for run in off)
    rate_on = statistics.median(args.bets / run.wall for run in on)
    draw_share = statistics.median(run.draw_cpu / run.wall for run in on)
    per_frame = statistics.median(run.draw_cpu / run.frames for run in on if run.frames)
    cpu_per_bet_off = statistics.median(run.cpu / args.bets for run in off)
    cpu_per_bet_on = statistics.median(run.cpu / args.bets for run in on)
    print(f"== zero latency, flat, N={args.n}, {args.bets:,} bets per run, {args.width} columns, "
          f"median of {args.rounds} alternating pairs")
    print(f"bets/s without the dashboard {rate_off:>9,.0f}")
    print(f"bets/s with the dashboard    {rate_on:>9,.0f}   (x{rate_on / rate_off:.3f})")
    print(f"dashboard CPU, measured around its redraws: {draw_share:.4f} CPU s per s "
          f"({per_frame * 1000:.2f} ms per frame, {1 / on[0].wall * on[0].frames:.1f} frames/s)")
    print(f"dashboard CPU, from the difference of the runs: "
          f"{(cpu_per_bet_on - cpu_per_bet_off) * rate_on:+.4f} CPU s per s")


if __name__ == "__main__":
    main()
