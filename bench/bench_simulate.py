"""Figures of `betbot simulate` and of the risk preview, printed (not asserted): `python bench/bench_simulate.py`.

1. Whole-process throughput: bets/s of `betbot simulate` (start-up, workers, aggregation, output) by the wall
   clock, with 1 and 2 workers, for (a) Python built-ins on the generic path (--no-kernel): flat, where the
   session machine and the house are nearly all of the cost, and martingale, whose advanced-strategy rules
   add about 1.5 us a bet; (b) a Lua script (when `--script` exists); (c) the vectorised kernel (when it
   supports the strategy). Also the CPU seconds of all the processes together (the steadier figure on a
   shared machine), and the start-up of a run that plays almost nothing. Target for (a): 500,000 bets/s with
   2 workers; (b) 100,000; (c) 20,000,000.
2. Where the generic path's time goes: bets/s of one chunk in this process, and cProfile's top functions.
3. Peak memory (ru_maxrss of the largest process) of whole runs of 10,000 and 100,000 sessions: flat in
   the number of sessions?
4. The risk preview's wall time (in this process, after imports) for a kernel strategy and a generic one,
   and what it adds to a whole `betbot run --max-bets 1`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from betbot.config.settings import load_settings
from betbot.montecarlo.chunk import run_chunk
from betbot.montecarlo.preview import run_preview
from betbot.montecarlo.spec import SimulationSpec

BETBOT = [sys.executable, "-m", "betbot"]
ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = ROOT / "strategies" / "martingale.lua"
GENERIC_FLAT = ["-s", "flat", "--max-bets", "1000", "--balance", "1000000", "--no-kernel"]
GENERIC = ["-s", "martingale", "--max-bets", "1000", "--balance", "1000000", "--no-kernel"]
KERNEL = ["-s", "martingale", "--max-bets", "1000", "--balance", "1000"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_run(args: list[str], sessions: int, workers: int) -> tuple[int, float, float]:
    """(bets, wall seconds, CPU seconds of every process) of one `betbot simulate`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cpu = _children_cpu()
        began = time.perf_counter()
        subprocess.run([*BETBOT, "simulate", *args, "--sessions", str(sessions), "--workers", str(workers),
                        "--seed", "bench", "--json", str(out)], check=True, capture_output=True)
        wall = time.perf_counter() - began
        return json.loads(out.read_text())["bets"], wall, _children_cpu() - cpu


def has_option(command: str, option: str) -> bool:
    help_text = subprocess.run([*BETBOT, command, "--help"], capture_output=True, text=True, check=False).stdout
    return option in help_text


def throughput(label: str, args: list[str], sessions: int, target: float) -> None:
    for workers in (1, 2):
        bets, wall, cpu = whole_run(args, sessions, workers)
        print(f"  {label}, {workers} worker(s): {bets:,} bets in {wall:.2f} s wall = {bets / wall:,.0f} bets/s "
              f"(target {target:,.0f}); {cpu:.2f} CPU s in all processes = {bets / cpu:,.0f} bets per CPU s")


def where_the_time_goes(profile: bool) -> None:
    settings = load_settings({"strategy": "martingale", "max_bets": "1000", "balance": "1000000"})
    spec = SimulationSpec.create(settings, sessions=200, master_seed="bench", use_kernel=False)
    run_chunk(spec, 150, 151)  # warm: imports (NumPy, for the blocks of fast rolls), caches
    began = time.process_time()
    result = run_chunk(spec, 0, 100)
    cpu = time.process_time() - began
    print(f"  one chunk in this process: {result.bets:,} bets, {result.bets / cpu:,.0f} bets per CPU s "
          f"({cpu / result.bets * 1e6:.2f} us per bet)")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_chunk(spec, 100, 140)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(14)
        print("\n".join("    " + line for line in text.getvalue().splitlines() if line.strip())[-3000:])


def peak_memory(sessions: int) -> tuple[int, float]:
    command = [*BETBOT, "simulate", "-s", "flat", "--max-bets", "20", "--sessions", str(sessions), "--workers", "2",
               "--seed", "m", "--no-kernel"]
    code = ("import resource, subprocess, sys; "
            f"subprocess.run({command!r}, check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    began = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(output.strip()), time.perf_counter() - began


def preview_time(flags: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    settings = load_settings(flags)
    run_preview(settings, Decimal(100))  # warm: imports (NumPy for the kernel), caches
    began = time.perf_counter()
    preview = run_preview(settings, Decimal(100))
    return time.perf_counter() - began, preview


def run_wall(*extra: str) -> float:
    began = time.perf_counter()
    subprocess.run([*BETBOT, "run", "--max-bets", "1", "--no-journal", "-s", "martingale", "--stop-loss", "10%",
                    *extra], check=True, capture_output=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sessions (a smoke run)")
    parser.add_argument("--no-profile", action="store_true", help="skip cProfile's table")
    args = parser.parse_args()
    scale = 1 if not args.quick else 10

    print("1. whole-process bets/s of `betbot simulate`")
    _, startup, _ = whole_run(["-s", "flat", "--max-bets", "1", "--no-kernel"], 2, 2)
    print(f"  start-up: a 2-worker run of 2 one-bet sessions takes {startup:.2f} s wall")
    throughput("(a) generic path, built-in flat", GENERIC_FLAT, 3_000 // scale, 500_000)
    throughput("(a) generic path, built-in martingale", GENERIC, 3_000 // scale, 500_000)
    if LUA_SCRIPT.exists() and has_option("simulate", "--script"):
        throughput("(b) Lua script martingale.lua", ["--script", str(LUA_SCRIPT), "--max-bets", "1000",
                                                      "--balance", "1000000"], 1_000 // scale, 100_000)
    else:
        print("  (b) Lua: no --script option or no strategies/martingale.lua here; skipped")
    throughput("(c) kernel, built-in martingale", KERNEL, 200_000 // scale, 20_000_000)

    print("2. where the generic path's time goes")
    where_the_time_goes(not args.no_profile)

    print("3. peak memory (ru_maxrss of the largest process), flat betting, 20 bets per session, 2 workers")
    for sessions in (10_000 // scale, 100_000 // scale):
        rss, wall = peak_memory(sessions)
        print(f"  {sessions:,} sessions: {rss / 1024:.1f} MiB ({wall:.1f} s)")

    print("4. the risk preview")
    for label, flags in (("martingale, stop-loss 10% (kernel)", {"strategy": "martingale", "stop_loss": "10%"}),
                         ("fibonacci (generic path)", {"strategy": "fibonacci"})):
        seconds, preview = preview_time(flags)
        print(f"  {label}: {seconds:.3f} s for {preview['sessions']:,} sessions of at most "
              f"{preview['max_bets']:,} bets")
    with_preview, without = min(run_wall() for _ in range(3)), min(run_wall("--no-preview") for _ in range(3))
    print(f"  `betbot run --max-bets 1` (martingale): {with_preview:.2f} s with the preview, {without:.2f} s "
          f"without: the preview adds {with_preview - without:.2f} s")


if __name__ == "__main__":
    main()
