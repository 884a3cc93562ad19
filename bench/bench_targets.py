"""The whole-process speed targets, printed (not asserted): `python bench/bench_targets.py [--baseline DIR]`.

1. `betbot run`, simulated, 300,000 bets at N = 5 with the journal (the run's provably-fair self-verification
   at the end included): bets/s by the wall clock, start-up included. Target 75,000.
   Also per CPU second of the process, and the self-verification alone (`verify_session` over a journal of
   that run written by the same code, in a fresh process).
2. `betbot simulate --no-kernel`, the built-in martingale, 2 workers, 3,000 sessions of up to 1,000 bets:
   bets/s counting the bets actually played. Target 500,000. Also the generic path's per-bet cost alone: bets
   per CPU second of one chunk in one process.

`--compiled DIR` measures a compiled copy of this checkout too (`.ci/compiled-copy DIR` makes one: the machine, the
session, the simulated house and the bare loop compiled with mypyc, as `HATCH_BUILD_HOOK_ENABLE_MYPYC=true pip
install .` installs them).

The machine is shared, so a figure alone says little: with `--baseline DIR` (another checkout of betbot, e.g.
`git worktree add /tmp/base main`) every measurement runs against that code too, alternately in the same
rounds, and the ratio of the two is printed beside the load average. The goals of issue 19 are ratios to the
code that measured 62,000 and 298,000 bets/s (6bda483): `git worktree add /tmp/base6bda 6bda483`, then
`--baseline /tmp/base6bda`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_BETS = 300_000
# What 6bda483 measured on the quiet machine, against each target: the goal is the target's ratio to it.
RUN_MEASURED, SIMULATE_MEASURED = 62_000, 298_000
RUN = ["run", "--parallel", "--max-concurrent", "5", "--sim-latency", "0", "--sim-jitter", "0",
       "--balance", "1000000", "--dashboard", "off", "--log-level", "warning"]
SIMULATE = ["simulate", "-s", "martingale", "--max-bets", "1000", "--balance", "1000000", "--no-kernel",
            "--workers", "2", "--seed", "bench"]
VERIFY = ("import sys, time\n"
          "from betbot.journal.store import Journal\n"
          "from betbot.journal.verify import verify_session\n"
          "with Journal.open(sys.argv[1], durable=False, readonly=True) as journal:\n"
          "    began, cpu = time.perf_counter(), time.process_time()\n"
          "    result = verify_session(journal, 1)\n"
          "    print(time.perf_counter() - began, time.process_time() - cpu, result.checked, result.ok)\n")


CHUNK = ("import sys, time\n"
         "from betbot.config.settings import load_settings\n"
         "from betbot.montecarlo.chunk import run_chunk\n"
         "from betbot.montecarlo.spec import SimulationSpec\n"
         "settings = load_settings({'strategy': 'martingale', 'max_bets': '1000', 'balance': '1000000'})\n"
         "spec = SimulationSpec.create(settings, sessions=1000, master_seed='bench', use_kernel=False)\n"
         "run_chunk(spec, 900, 905)\n"
         "began = time.process_time()\n"
         "result = run_chunk(spec, 0, int(sys.argv[1]))\n"
         "print(result.bets / (time.process_time() - began))\n")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _env(code: Path) -> dict[str, str]:
    # PYTHONSAFEPATH: a `python -c` child would otherwise put its working directory first on sys.path, and run
    # from a checkout it would import that checkout's betbot on both sides.
    return {**os.environ, "PYTHONPATH": str(code), "PYTHONSAFEPATH": "1"}


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run_rates(code: Path, tmp: Path, bets: int) -> tuple[float, float]:
    """bets/s of a whole `betbot run` process of `bets` bets with the journal (a fresh file each time), by the
    wall clock and per CPU second of the process (the steadier figure on a shared machine)."""
    journal = tmp / "journal.sqlite3"
    for stale in tmp.glob("journal.sqlite3*"):
        if stale.is_file():
            stale.unlink()
    cpu = _children_cpu()
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "betbot", *RUN, "--max-bets", str(bets), "--journal", str(journal)],
                   check=True, capture_output=True, env=_env(code), cwd=tmp)
    return bets / (time.perf_counter() - began), bets / (_children_cpu() - cpu)


def verify_rates(code: Path, journal: Path) -> tuple[float, float]:
    """bets/s of `verify_session` alone over a journal (the same file for both sides): by the wall clock and per
    CPU second."""
    out = subprocess.run([sys.executable, "-c", VERIFY, str(journal)], check=True, capture_output=True, text=True,
                         env=_env(code)).stdout.split()
    seconds, cpu, checked, ok = float(out[0]), float(out[1]), int(out[2]), out[3] == "True"
    if not ok:
        raise SystemExit(f"{code}: the verification found mismatches")
    return checked / seconds, checked / cpu


def simulate_rate(code: Path, tmp: Path, sessions: int) -> float:
    """bets/s (bets played) of a whole `betbot simulate --no-kernel` process, martingale, 2 workers."""
    out = tmp / "simulate.json"
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "betbot", *SIMULATE, "--sessions", str(sessions), "--json", str(out)],
                   check=True, capture_output=True, env=_env(code), cwd=tmp)
    wall = time.perf_counter() - began
    bets: int = json.loads(out.read_text())["bets"]
    return bets / wall


def chunk_rate(code: Path, sessions: int) -> float:
    """bets per CPU second of one chunk of the generic path (martingale) in a fresh process: the per-bet cost
    alone, without start-up or workers."""
    out = subprocess.run([sys.executable, "-c", CHUNK, str(sessions)], check=True, capture_output=True, text=True,
                         env=_env(code)).stdout
    return float(out)


def compare(label: str, measure: Callable[[Path], float | tuple[float, ...]], sides: dict[str, Path], rounds: int,
            units: tuple[str, ...], target: float | None = None, measured: float | None = None) -> None:
    """`rounds` measurements per side, alternating (so both meet the same load); best and median of each figure
    (`units` names them), and the ratio of the two sides."""
    figures: dict[str, list[tuple[float, ...]]] = {name: [] for name in sides}
    load_before = _load()
    for _ in range(rounds):
        for name, code in sides.items():
            value = measure(code)
            figures[name].append(value if isinstance(value, tuple) else (value,))
    aim = "" if target is None else f"; target {target:,.0f} bets/s"
    print(f"{label} (load average {load_before} before, {_load()} after; {rounds} round(s){aim}):")
    for k, unit in enumerate(units):
        for name, rows in figures.items():
            values = [row[k] for row in rows]
            print(f"  {name:>8}: best {max(values):>10,.0f} {unit}, median {statistics.median(values):>10,.0f}")
        if "baseline" not in figures:
            continue
        old = [row[k] for row in figures["baseline"]]
        goal = "" if target is None or measured is None else \
            f"; goal {target / measured:.2f} ({target:,.0f} / {measured:,.0f}, with 6bda483 as the baseline)"
        for name in (name for name in figures if name != "baseline"):
            new = [row[k] for row in figures[name]]
            paired = [n / o for n, o in zip(new, old, strict=True)]
            print(f"  {name} / baseline, {unit}: {max(new) / max(old):.2f} (best to best), "
                  f"{statistics.median(paired):.2f} (median of the rounds' ratios){goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another betbot checkout to measure alternately")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the bets and sessions (a smoke run)")
    parser.add_argument("--only", choices=["run", "simulate"], help="one target only")
    parser.add_argument("--compiled", type=Path, help="a compiled copy of this checkout (`.ci/compiled-copy DIR`) "
                        "to measure alongside it: the build `HATCH_BUILD_HOOK_ENABLE_MYPYC=true pip install .` makes")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    sides = {"this": ROOT}
    if args.compiled is not None:
        sides["compiled"] = args.compiled.resolve()
    if args.baseline is not None:
        sides["baseline"] = args.baseline.resolve()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="betbot-targets-") as name:
        tmp = Path(name)
        if args.only in (None, "run"):
            bets = RUN_BETS // scale
            compare(f"1. betbot run, {bets:,} bets, N = 5, journal on, self-verification included",
                    lambda code: run_rates(code, tmp, bets), sides, args.rounds, ("bets/s", "bets per CPU s"),
                    75_000, RUN_MEASURED)
            # Each side verifies a journal its own code wrote (the same bets: the seed is fixed); an older side
            # may not read a newer journal's schema.
            written = {code: tmp / name for name, code in sides.items()}
            for code, folder in written.items():
                folder.mkdir()
                run_rates(code, folder, bets)
            compare(f"   the self-verification alone ({bets:,} bets re-computed from the revealed seed)",
                    lambda code: verify_rates(code, written[code] / "journal.sqlite3"), sides, args.rounds,
                    ("bets/s", "bets per CPU s"))
        if args.only in (None, "simulate"):
            sessions = 3_000 // scale
            compare(f"2. betbot simulate --no-kernel, martingale, 2 workers, {sessions:,} sessions of <= 1,000 bets",
                    lambda code: simulate_rate(code, tmp, sessions), sides, args.rounds, ("bets/s",), 500_000,
                    SIMULATE_MEASURED)
            compare("   the generic path's per-bet cost: one chunk of 300 martingale sessions in one process",
                    lambda code: chunk_rate(code, 300 // scale), sides, args.rounds, ("bets per CPU s",))


if __name__ == "__main__":
    main()
