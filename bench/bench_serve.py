"""`betbot serve`'s costs, printed (not asserted): run `python bench/bench_serve.py`.

1. Console overhead: the bets/s of one simulated session (flat, no latency) hosted by `betbot serve` with 5
   subscribers to its event stream (each a process of its own, as a browser is) against the same session run
   by `betbot run` (no console). Goal: a ratio of at least 0.95. The same session hosted with nobody watching
   is measured too: it separates the cost of hosting from the cost of the subscribers. Each round measures
   the three in turn (the order reversed every other round, so a drifting load falls on each alike), each in
   a fresh process with a fresh journal (as `betbot run` has); the best of the rounds is compared. Every
   figure is the session's own bets/s from its summary (bets over the engine's run time, both sides alike).
2. Ten simulated sessions at once (N = 5, 50 ms latency each) in one `serve`, against ten `betbot run`
   processes at once: the total bets/s (each session's own rate, from its summary, summed), and serve's
   event-loop lag (p99 and max of how late a 10 ms sleep woke, from /metrics). Goals: a ratio of at least
   0.9, a p99 lag under 10 ms.
Every process journals into its own temporary directory. The figures depend on the machine's load: the load
average is printed with each round and with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SHORT = 2000  # bets of the short session whose CPU is taken off a measured one's (start-up, fixed costs)
ADDRESS = re.compile(r"console and API on (http://127\.0\.0\.1:\d+)/")

# A browser stand-in: imports first, says so, then subscribes as soon as the session exists (404 before).
_SUBSCRIBER = """
import sys, time, httpx
print("ready", flush=True)
events = 0
while True:
    with httpx.stream("GET", sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]}, timeout=None) as reply:
        if reply.status_code == 404:
            time.sleep(0.01)
            continue
        for line in reply.iter_lines():
            events += line.startswith("event:")
    break
print(events)
"""


def environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}
    env.update({"XDG_DATA_HOME": str(tmp / "xdg"), "BETBOT_LOG_LEVEL": "warning", "BETBOT_LOG_FORMAT": "json"})
    return env


def start_serve(tmp: Path, config: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    log = tmp / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "betbot", "serve", "--port", "0", "--config", str(config),
                                    "--token-file", str(tmp / "token"), "--state-file", str(tmp / "state.json")],
                                   stdout=out, stderr=subprocess.STDOUT, env=environment(tmp))
    while not (found := ADDRESS.search(log.read_text(errors="replace"))):
        if process.poll() is not None:
            raise SystemExit(f"serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    return process, found.group(1), (tmp / "token").read_text().strip()


def get(url: str, token: str) -> Any:
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).json()


def wait_ended(url: str, token: str, count: int, bets: int) -> tuple[list[dict[str, Any]], str]:
    """Every session's detail once all have ended, and /metrics as read while they all still ran (the loop's
    lag then covers the sessions running, not their start-up)."""
    metrics = ""
    while True:
        rows = get(url + "/api/v1/sessions", token)["sessions"]
        if len(rows) == count and all(row["state"] in ("ended", "failed") for row in rows):
            return [get(f"{url}/api/v1/sessions/{row['name']}", token) for row in rows], metrics
        if len(rows) == count and all(row["state"] == "running" and row.get("bets", 0) > bets // 2 for row in rows):
            metrics = httpx.get(url + "/metrics", timeout=30).text
        time.sleep(0.2)


def session_table(name: str, **values: object) -> str:
    lines = [f'[[sessions]]\nname = "{name}"\nautostart = true\npreview = false']
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def run_process(tmp: Path, name: str, **values: object) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "betbot", "run", "--no-preview", "--dashboard", "off",
            "--journal", str(tmp / f"{name}.sqlite3"), "--summary-json", str(tmp / f"{name}.json")]
    for key, value in values.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment(tmp))


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system, every thread) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hosted_rate(url: str, token: str, name: str, bets: int, subscribers: int,
                pid: int) -> tuple[float, float, list[int]]:
    """The bets/s of one session hosted by the serve at `url` (process `pid`), with this many event-stream
    subscribers; the serve's CPU seconds from its start to its end; the events each subscriber read."""
    procs = [subprocess.Popen([sys.executable, "-c", _SUBSCRIBER, f"{url}/api/v1/sessions/{name}/events", token],
                              stdout=subprocess.PIPE, text=True) for _ in range(subscribers)]
    for proc in procs:  # every subscriber has started (its imports done) before the session does
        if proc.stdout is None or proc.stdout.readline().strip() != "ready":
            raise SystemExit("a subscriber did not start")
    cpu = process_cpu(pid)
    httpx.post(url + "/api/v1/sessions", headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
        "name": name, "strategy": "flat", "settings": {"max_bets": bets, "seed": "bench", "preview": False}})
    # The overview (no chart, no last bets) twice a second: little next to a page's stream of ticks.
    while not any(row["name"] == name and row["state"] in ("ended", "failed")
                  for row in get(url + "/api/v1/sessions", token)["sessions"]):
        time.sleep(0.05 if bets < 10_000 else 0.5)
    cpu = process_cpu(pid) - cpu
    events = [int(proc.communicate(timeout=60)[0] or 0) for proc in procs]
    detail = get(f"{url}/api/v1/sessions/{name}", token)
    if detail["state"] != "ended":
        raise SystemExit(f"the hosted session did not end well: {detail.get('error')}")
    return detail["summary"]["bets_per_second"], cpu, events


def served_rate(bets: int, subscribers: int) -> tuple[float, float, list[int]]:
    """One session in a fresh `serve` (its own journal, as each `betbot run` has its own): its bets/s, the
    serve's CPU microseconds per bet (the CPU of the session less that of a short one, over the bets between:
    start-up and the per-session fixed costs drop out), and the events each subscriber read."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = tmp / "serve.toml"
        config.write_text(f'journal = "{tmp / "journal.sqlite3"}"\n')
        serve, url, token = start_serve(tmp, config)
        try:
            hosted_rate(url, token, "warm-up", SHORT, subscribers, serve.pid)  # a first session's imports
            _, short_cpu, _ = hosted_rate(url, token, "short", SHORT, subscribers, serve.pid)
            rate, cpu, events = hosted_rate(url, token, "bench", bets, subscribers, serve.pid)
            return rate, (cpu - short_cpu) / (bets - SHORT) * 1e6, events
        finally:
            serve.terminate()
            serve.wait(60)


def run_once(bets: int) -> tuple[float, float]:
    """One session as `betbot run` (no dashboard), in a fresh journal: its bets/s and the process's CPU
    seconds."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        process = run_process(tmp, "alone", strategy="flat", max_bets=bets, seed="bench")
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit("betbot run failed")
        rate: float = json.loads((tmp / "alone.json").read_text())["bets_per_second"]
        return rate, usage.ru_utime + usage.ru_stime


def run_rate(bets: int) -> tuple[float, float]:
    """`betbot run`'s bets/s, and its CPU microseconds per bet (less a short run's: start-up drops out)."""
    _, short_cpu = run_once(SHORT)
    rate, cpu = run_once(bets)
    return rate, (cpu - short_cpu) / (bets - SHORT) * 1e6


def console_overhead(bets: int, rounds: int) -> None:
    """Rounds of the three (betbot run, serve unwatched, serve with 5 subscribers), each round's order the
    reverse of the last's; the best of each is kept, and every round is printed with the load. Besides the
    rate, each side's CPU per bet: the work, which the machine's load moves much less than the rate."""
    sides = ("run", "unwatched", "watched")
    best = dict.fromkeys(sides, 0.0)
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    events: list[int] = []
    for i in range(rounds):
        load = os.getloadavg()[0]
        found: dict[str, float] = {}
        for side in sides if i % 2 == 0 else sides[::-1]:
            if side == "run":
                found[side], per_bet = run_rate(bets)
            else:
                found[side], per_bet, seen = served_rate(bets, 5 if side == "watched" else 0)
                events = seen or events
            cpu[side].append(per_bet)
            best[side] = max(best[side], found[side])
        print(f"  round {i + 1} (load {load:.2f}): betbot run {found['run']:,.0f}, serve unwatched "
              f"{found['unwatched']:,.0f}, serve + 5 subscribers {found['watched']:,.0f} bets/s (ratio "
              f"{found['watched'] / found['run']:.3f}); CPU per bet {cpu['run'][-1]:.1f}, "
              f"{cpu['unwatched'][-1]:.1f}, {cpu['watched'][-1]:.1f} µs", flush=True)
    least = {side: min(values) for side, values in cpu.items()}
    print(f"console overhead ({bets:,} bets, flat, no latency, best of {rounds}): betbot run {best['run']:,.0f} "
          f"bets/s; in serve, nobody watching {best['unwatched']:,.0f} bets/s, 5 subscribers "
          f"{best['watched']:,.0f} bets/s ({min(events)}..{max(events)} events each); ratio watched / betbot run "
          f"{best['watched'] / best['run']:.3f}, unwatched / betbot run {best['unwatched'] / best['run']:.3f}, "
          f"watched / unwatched {best['watched'] / best['unwatched']:.3f}")
    print(f"CPU per bet (the least of {rounds}; every thread of the process, the journal's writer and the "
          f"verification included): betbot run {least['run']:.1f} µs; serve nobody watching "
          f"{least['unwatched']:.1f} µs, 5 subscribers {least['watched']:.1f} µs; run / watched "
          f"{least['run'] / least['watched']:.3f}")


def ten_sessions(bets: int) -> None:
    session = {"strategy": "flat", "max_bets": bets, "parallel": True, "max_concurrent": 5, "sim_latency": "50ms"}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        began = time.perf_counter()
        runs = [run_process(tmp, f"run{i}", **session, seed=f"s{i}") for i in range(10)]
        for run in runs:
            run.wait()
        run_wall = time.perf_counter() - began
        alone = [json.loads((tmp / f"run{i}.json").read_text()) for i in range(10)]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        config = tmp / "serve.toml"
        config.write_text(f'journal = "{tmp / "journal.sqlite3"}"\n' + "".join(
            session_table(f"s{i}", **session, seed=f"s{i}") for i in range(10)))
        began = time.perf_counter()
        serve, url, token = start_serve(tmp, config)
        try:
            details, metrics = wait_ended(url, token, 10, bets)
            serve_wall = time.perf_counter() - began
        finally:
            serve.terminate()
            serve.wait(60)
    lag = dict(re.findall(r'betbot_event_loop_lag_seconds\{quantile="([\d.]+)"\} ([\d.e-]+)', metrics))
    run_rate = sum(summary["bets_per_second"] for summary in alone)
    serve_rate = sum(detail["summary"]["bets_per_second"] for detail in details)
    print(f"ten sessions (N=5, 50 ms, {bets} bets each): ten betbot run {run_rate:,.0f} bets/s in all "
          f"({run_wall:.1f} s wall); one serve {serve_rate:,.0f} bets/s in all ({serve_wall:.1f} s wall, start-up "
          f"included); ratio {serve_rate / run_rate:.3f}")
    print(f"serve's event-loop lag during the ten: p99 {float(lag.get('0.99', 'nan')) * 1000:.2f} ms, "
          f"max {float(lag.get('1', 'nan')) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bets", type=int, default=200_000, help="bets of the console-overhead session")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the console overhead (0: skip it)")
    parser.add_argument("--ten-bets", type=int, default=3000, help="bets of each of the ten sessions (0: skip them)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    if args.rounds:
        console_overhead(args.bets, args.rounds)
    if args.ten_bets:
        ten_sessions(args.ten_bets)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
