"""`-n auto` against the best fixed N, printed (not asserted): run `python bench/bench_auto_n.py`.

For each reply latency (20, 50 and 200 ms by default) the fake DuckDice server runs in a child process with
its own rate limit (`--site-rate` bets/s, a quarter second's worth of burst; bets above it get a 429 with
`Retry-After: 1`, so every 429 episode pauses all bets for a second), replies of the latency +-10 %. The engine with
DuckDiceBackend and a flat strategy then plays for `--seconds` at each fixed N of a scan, and with `auto`
(cap `--cap`, no --max-rate: the site's limit is not known to it), and with `auto --max-rate` set a little
below the site's limit (an operator who knows it). Each line: bets/s, 429s received, and for the auto
lines the ratio to the best fixed N of the same latency, the final N, the rate ceiling auto learned from
the site's push-backs and its changes by reason. `--runs K` plays auto K times per latency (its figure moves
from run to run: the first 429 comes at a different moment each time) and prints the least, mean and most
of its ratios, `eps` the push-back episodes (a 429 and the refusals of the bets already on their way: one
`Retry-After` pause each). After each auto run, `auto, rate remembered` is the next session on the same site:
it starts at the rate ceiling the run before held, as `betbot run` does from its journal. The goal: auto at
least 0.9 of the best fixed N, with fewer 429s. Give each run 30 s or more (`--seconds`): the learning takes
the first seconds of each.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import time
from decimal import Decimal
from functools import partial

import anyio
import structlog
from bench_live import KEY, start_server, wait_ready  # bench/ is the script's own folder on sys.path
from pydantic import SecretStr

from betbot.backends.duckdice import DuckDiceBackend, Timeouts
from betbot.core.session import Limits, Session
from betbot.core.strategy import StrategyContext
from betbot.engine.loop import Engine
from betbot.engine.pacing import Pacer
from betbot.engine.ratelimit import TokenBucket
from betbot.strategies.registry import load_strategy
from betbot.testing.fakeserver import FakeDuckDice, FakeServerConfig

BALANCE = Decimal(1_000_000)


def _serve(sock: socket.socket, latency: float, site_rate: float) -> None:
    """The child: the fake server, with its rate limit, on the inherited socket until terminated."""
    from betbot.testing.fakeserver import _uvicorn_server  # noqa: PLC0415

    # A quarter second's worth of burst, and replies that vary by a fifth of the latency: with fixed replies
    # and a burst of a few bets, N bets sent together come back together and are resent together, and a
    # burst limit (not the rate) is all any N runs into.
    app = FakeDuckDice(FakeServerConfig(api_key=KEY, balances={"DOGE": BALANCE}, latency=latency * 0.9,
                                        jitter=latency * 0.2, seed="bench", rate_limit=site_rate,
                                        rate_burst=max(1.0, site_rate / 4), retry_after="1"))
    server = _uvicorn_server(app, "127.0.0.1", sock.getsockname()[1], handle_signals=True)
    server.run(sockets=[sock])


async def one_run(base_url: str, seconds: float, *, fixed: int | None, cap: int, rate: float | None = None,
                  remembered: float | None = None) -> tuple[float, int, Pacer | None]:
    """(bets/s, 429s and challenges received, the pacer if auto) of one run of `seconds`; `remembered`: auto
    starts at this rate ceiling, as a session does after an earlier one on the same site held it."""
    n = fixed or cap
    backend = DuckDiceBackend(api_key=SecretStr(KEY), base_url=base_url, max_connections=n, trust_env=False,
                              timeouts=Timeouts(read=10))
    async with backend:
        context = StrategyContext(currency="DOGE", starting_balance=BALANCE)
        session = Session(currency="DOGE", starting_balance=BALANCE, limits=Limits(max_duration=seconds),
                          started_at=time.monotonic())
        pacer = None if fixed is not None else Pacer(ceiling=cap, target_rate=rate,
                                                     on_read_timeout=backend.set_read_timeout)
        if pacer is not None and remembered is not None:
            pacer.start_at_rate(remembered, "the run before")
        flat = load_strategy("flat").from_options({"base_bet": "0.01"}, context)
        engine = Engine(session=session, strategy=flat, backend=backend, max_concurrent=n, pacer=pacer,
                        rate_limit=None if rate is None else TokenBucket(rate))
        await engine.run()
    return session.bets / engine.elapsed, engine.retries, pacer


def _pacer_text(pacer: Pacer | None) -> str:
    """The N at the end, the learned rate ceiling, the push-back episodes, and how many changes of each reason."""
    if pacer is None:
        return ""
    learned = "-" if pacer.learned_rate is None else f"{pacer.learned_rate:.1f}"
    reasons: dict[str, int] = {}
    for change in pacer.changes:
        reasons[change.reason] = reasons.get(change.reason, 0) + 1
    # An episode: a push-back and the refusals of the bets already on their way (one Retry-After pause).
    episodes = sum(change.detail.startswith("the site answered") for change in pacer.changes)
    return f"{pacer.limit:>6} {learned:>8} {episodes:>4}  " + " ".join(f"{k}:{v}" for k, v in sorted(reasons.items()))


def _auto_line(label: str, rate: float, refused: int, best_rate: float, pacer: Pacer | None, *,
               changes: bool) -> None:
    print(f"{label:>22} {rate:>8.1f} {refused:>6} {rate / best_rate:>8.3f} {_pacer_text(pacer)}")
    if changes and pacer is not None:
        started = pacer.changes[0].at if pacer.changes else 0.0
        for change in pacer.changes:
            print(f"{change.at - started:>30.3f} {change.old:>3} -> {change.new:<3} {change.reason:<10} "
                  f"{change.detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run (default 8)")
    parser.add_argument("--latency", type=float, nargs="*", default=[0.02, 0.05, 0.2], help="reply latencies, s")
    parser.add_argument("--site-rate", type=float, default=120.0, help="the fake site's rate limit, bets/s")
    parser.add_argument("--cap", type=int, default=64, help="auto's cap (default 64)")
    parser.add_argument("--runs", type=int, default=1, help="auto runs per latency (default 1): auto's figure "
                        "moves from run to run")
    parser.add_argument("--no-max-rate", action="store_true", help="skip the auto --max-rate runs")
    parser.add_argument("--no-remembered", action="store_true", help="skip the runs that start at the rate "
                        "ceiling the auto run before them held")
    parser.add_argument("--changes", action="store_true", help="print each auto run's changes of N and ceiling")
    parser.add_argument("--scan", type=float, nargs="*", default=[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
                        help="the fixed N scanned, as multiples of the site's Little's N (rate x latency)")
    args = parser.parse_args()
    # A back-off line per 429 episode would bury the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"== client pid {os.getpid()}, {args.seconds:g} s per run, site limit {args.site_rate:g} bets/s, "
          f"load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    for latency in args.latency:
        process, base_url = start_server(latency, args.site_rate, serve=_serve)
        try:
            anyio.run(wait_ready, base_url)
            little = args.site_rate * latency
            print(f"-- latency {latency * 1000:.0f} ms (Little's N for the site's limit: "
                  f"{little:.1f})")
            print(f"{'run':>22} {'bets/s':>8} {'429s':>6} {'of best':>8} {'N end':>6} {'ceiling':>8} {'eps':>4}  "
                  "changes")
            best_rate, best_n, best_429 = 0.0, 0, 0
            for n in sorted({max(1, round(little * factor)) for factor in args.scan}):
                rate, refused, _ = anyio.run(partial(one_run, base_url, args.seconds, fixed=n, cap=n))
                print(f"{'fixed N=' + str(n):>22} {rate:>8.1f} {refused:>6}")
                if rate > best_rate:
                    best_rate, best_n, best_429 = rate, n, refused
            print(f"{'best fixed: N=' + str(best_n):>22} {best_rate:>8.1f} {best_429:>6}")
            target = round(args.site_rate * 0.95, 1)
            runs = [("auto", None)] * args.runs
            if not args.no_max_rate:
                runs.append((f"auto --max-rate {target:g}", target))
            ratios: dict[str, list[float]] = {"auto": [], "remembered": []}
            refusals: dict[str, list[int]] = {"auto": [], "remembered": []}
            for label, target_rate in runs:
                rate, refused, pacer = anyio.run(partial(one_run, base_url, args.seconds, fixed=None, cap=args.cap,
                                                         rate=target_rate))
                _auto_line(label, rate, refused, best_rate, pacer, changes=args.changes)
                if target_rate is not None or pacer is None:
                    continue
                ratios["auto"].append(rate / best_rate)
                refusals["auto"].append(refused)
                if args.no_remembered or pacer.held_rate is None:
                    continue
                # The next session on the same site: it starts at the ceiling this one held (the journal's).
                rate, refused, pacer = anyio.run(partial(one_run, base_url, args.seconds, fixed=None, cap=args.cap,
                                                         remembered=pacer.held_rate))
                _auto_line("auto, rate remembered", rate, refused, best_rate, pacer, changes=args.changes)
                ratios["remembered"].append(rate / best_rate)
                refusals["remembered"].append(refused)
            for kind, figures in ratios.items():
                if len(figures) > 1:
                    print(f"{kind + ' of best':>22} min {min(figures):.3f} mean {sum(figures) / len(figures):.3f} "
                          f"max {max(figures):.3f} over {len(figures)} runs; 429s {min(refusals[kind])}-"
                          f"{max(refusals[kind])} a run")
        finally:
            process.terminate()
            process.join(timeout=10)
    print(f"== load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
