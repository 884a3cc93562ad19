"""Start-up time of the light commands, whole process (what a shell, or Docker's HEALTHCHECK, waits for).

Each command runs several times in a fresh process; the median wall time is printed, with the median CPU
time (user + system) of the process beside it (steadier than wall time on a busy machine), and a bare
`python -c pass` for scale. The target (issue 10) is 0.15 s for `--help`, `health` and `run --help`.

    python bench/bench_startup.py [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.15


def betbot_command() -> list[str]:
    """The installed `betbot` script next to this interpreter, as users run it; else `python -m betbot`."""
    script = Path(sys.executable).with_name("betbot")
    if script.exists():
        return [str(script)]
    found = shutil.which("betbot")
    return [found] if found else [sys.executable, "-m", "betbot"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_seconds(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall time and median CPU time of a whole process running `argv`."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per command (the median is printed)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    betbot = betbot_command()
    with tempfile.TemporaryDirectory() as tmp:
        beat = Path(tmp) / "beat.json"
        now = time.time()
        beat.write_text(f'{{"pid": 1, "time": {now}, "state": "betting", "bets": 10, "in_flight": 1, '
                        f'"last_progress": {now}, "stop_reason": null}}')
        cases = [
            ("python -c pass (scale)", [sys.executable, "-c", "pass"]),
            ("betbot --help", [*betbot, "--help"]),
            ("betbot health", [*betbot, "health", "--heartbeat-file", str(beat)]),
            ("betbot run --help", [*betbot, "run", "--help"]),
            ("betbot --version", [*betbot, "--version"]),
            ("betbot config show", [*betbot, "config", "show"]),
        ]
        median_seconds(cases[1][1], 2, env)  # warm the file cache and the bytecode
        print(f"start-up, median of {args.runs} runs, whole process ({' '.join(betbot)}); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs:")
        print(f"  {'command':<24} {'wall':>7}  {'cpu':>7}")
        for name, argv in cases:
            wall, cpu = median_seconds(argv, args.runs, env)
            light = name in ("betbot --help", "betbot health", "betbot run --help")
            verdict = ("ok" if wall <= TARGET else "OVER") + f" (target {TARGET:.2f} s wall)" if light else ""
            print(f"  {name:<24} {wall:5.3f} s  {cpu:5.3f} s  {verdict}")


if __name__ == "__main__":
    main()
