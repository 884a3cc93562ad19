"""What a Lua script costs against the same strategy in Python, printed (not asserted): `python bench/bench_lua.py`.

1. The bare loop (`betbot.core.bare_loop.play_sync`: the session machine, the provably-fair simulator): bets/s of
   a DiceBot martingale script (the classic one, below) and of the built-in Python martingale with the same
   rules, by the wall clock and by CPU time (the steadier figure on a shared machine), and their ratio. The
   target: the Lua path at 100,000 bets/s or more, so a script is never the bottleneck of a live session or
   of a Monte Carlo run. Runs alternate Lua/Python and the best of each is kept.
2. The decisions alone: next_bet + on_result per second over the same settled results, without the loop
   and the game (what the strategy itself costs).
3. Loading a script (a fresh sandboxed Lua state, the script's top level): milliseconds each.
4. DiceBot's SharpLua dialect: rewriting a large script into Lua 5.1 (uncached; read back from the disk
   store, as every run of a long script after its first does; and from the in-memory cache a Monte Carlo
   run hits for every session after the first), and the bare loop of the martingale written in SharpLua
   (`!win`, `*=`) against the plain one: the rewrite must not cost the bets/s figure 2 %.
Both paths must bet the same: the bench checks that their profits are equal.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from betbot.core.bare_loop import play_sync
from betbot.core.fairness import SeedPair
from betbot.core.game import SimulatedGame
from betbot.core.models import Settled
from betbot.core.session import Limits, Session
from betbot.core.strategy import Strategy, StrategyContext
from betbot.strategies.lua import LuaParams, LuaStrategy
from betbot.strategies.lua.dialect import translate, translate_now
from betbot.strategies.martingale import Martingale, MartingaleParams

BALANCE = Decimal(1_000_000)
CURRENCY = "DOGE"
MARTINGALE_LUA = """
chance = 49.5
bethigh = true
basebet = 0.00000001
nextbet = basebet
function dobet()
  if win then
    nextbet = basebet
  else
    nextbet = previousbet * 2
  end
end
"""
MARTINGALE_SHARPLUA = MARTINGALE_LUA.replace("if win then", "if !win == false then").replace(
    "nextbet = previousbet * 2", "nextbet = previousbet\n    nextbet *= 2")
# One helper of a large SharpLua script; repeated with numbered names to make thousands of lines.
SHARPLUA_BLOCK = """
function helper{n}(t, k)
  local acc = 0
  for i = 1, #t do
    if t[i] != k then continue end
    acc += t[i] * 2          -- a comment with != and += in it
    t[i] ..= "" .. (i << 1 | k & 3)
  end
  if !acc then return +acc end
  return acc ^^ 5, "a string with != inside", [[a long string += ]]
end
"""


def lua_strategy(script: Path) -> LuaStrategy:
    context = StrategyContext(currency=CURRENCY, starting_balance=BALANCE)
    return LuaStrategy(LuaParams(script=script), context, printer=lambda _text: None)


def python_strategy() -> Martingale:
    context = StrategyContext(currency=CURRENCY, starting_balance=BALANCE)
    params = MartingaleParams(base_bet=Decimal("0.00000001"), multiplier=Decimal(2), max_multiplies=64)
    return Martingale(params, context)


def bare_loop(strategy: Strategy, bets: int) -> tuple[float, float, Decimal]:
    """(bets/s by wall clock, bets/s by CPU time, profit) of one session."""
    session = Session(currency=CURRENCY, starting_balance=BALANCE, limits=Limits(max_bets=bets), started_at=0.0)
    game = SimulatedGame(seeds=SeedPair.derive("bench-lua"), balances={CURRENCY: BALANCE})
    start, cpu = time.perf_counter(), time.process_time()
    play_sync(session, strategy, game)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert session.bets == bets, session.stop_reason
    return bets / wall, bets / cpu, session.profit


def decisions(strategy: Strategy, results: list[Settled], view: Session) -> float:
    """next_bet + on_result per second of CPU time, over results already settled."""
    next_bet, on_result = strategy.next_bet, strategy.on_result
    cpu = time.process_time()
    for result in results:
        next_bet(view)
        on_result(result, view)
    return len(results) / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=100_000, help="bets per bare-loop run")
    parser.add_argument("--rounds", type=int, default=3, help="Lua/Python pairs (best kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="betbot-bench-lua-") as tmp:
        os.environ["XDG_DATA_HOME"] = tmp  # the disk store of long translations, and nothing else of the user's
        script = Path(tmp) / "martingale.lua"
        script.write_text(MARTINGALE_LUA)

        print(f"== the bare loop (play_sync, provably-fair rolls), martingale, {args.bets:,} bets, "
              f"best of {args.rounds}")
        best = {"lua": (0.0, 0.0), "python": (0.0, 0.0)}
        profits: dict[str, Decimal] = {}
        for _ in range(args.rounds):
            for name, make in (("lua", lambda: lua_strategy(script)), ("python", python_strategy)):
                wall, cpu, profit = bare_loop(make(), args.bets)
                best[name] = (max(best[name][0], wall), max(best[name][1], cpu))
                profits[name] = profit
        for name in ("lua", "python"):
            wall, cpu = best[name]
            print(f"  {name:<7} {wall:>10,.0f} bets/s (wall)  {cpu:>10,.0f} bets/s (CPU)")
        ratio_wall = best["lua"][0] / best["python"][0]
        ratio_cpu = best["lua"][1] / best["python"][1]
        print(f"  lua / python: {ratio_wall:.2f} (wall), {ratio_cpu:.2f} (CPU); target: lua >= 100,000 bets/s")
        same = profits["lua"] == profits["python"]
        print(f"  same bets: {'yes' if same else 'NO'} (profit lua {profits['lua']}, python {profits['python']})")

        print("== the decisions alone (next_bet + on_result, no loop, no game), per second of CPU")
        results: list[Settled] = []
        session = Session(currency=CURRENCY, starting_balance=BALANCE, limits=Limits(max_bets=args.bets),
                          started_at=0.0)
        game = SimulatedGame(seeds=SeedPair.derive("bench-lua"), balances={CURRENCY: BALANCE})
        reference = python_strategy()
        for seq in range(1, args.bets + 1):
            bet = reference.next_bet(session)
            outcome = game.play(seq, bet)  # type: ignore[arg-type]
            assert isinstance(outcome, Settled)
            results.append(outcome)
            reference.on_result(outcome, session)
        rates = {"lua": 0.0, "python": 0.0}
        for _ in range(args.rounds):
            rates["lua"] = max(rates["lua"], decisions(lua_strategy(script), results, session))
            rates["python"] = max(rates["python"], decisions(python_strategy(), results, session))
        print(f"  lua     {rates['lua']:>10,.0f} decisions/s\n  python  {rates['python']:>10,.0f} decisions/s\n"
              f"  lua / python: {rates['lua'] / rates['python']:.2f}")

        loads = 200
        start = time.perf_counter()
        for _ in range(loads):
            lua_strategy(script)
        load_ms = (time.perf_counter() - start) / loads * 1000
        print(f"== loading a script (a fresh sandboxed Lua 5.1 state): {load_ms:.2f} ms each")

        head = "nextbet = 0.01\nfunction dobet() end\n"
        translate(head + SHARPLUA_BLOCK.format(n=0))  # warm up: the compiler's Lua state, the patterns
        sizes: dict[str, float] = {}
        for blocks in (25, 400):  # about 300 lines (a long real script) and about 4,400 lines
            text = head + "".join(SHARPLUA_BLOCK.format(n=n) for n in range(blocks))
            rounds = 5
            cpu = time.process_time()
            for _ in range(rounds):
                translated = translate_now(text)
            rewrite_ms = (time.process_time() - cpu) / rounds * 1000
            lines = text.count("\n")
            sizes[f"{lines:,}-line, uncached"] = rewrite_ms
            print(f"== rewriting SharpLua into Lua 5.1: a {lines:,}-line script ({len(text) // 1024} KiB, "
                  f"{translated.summary()}): {rewrite_ms:.1f} ms of CPU uncached")
            translate.cache_clear()
            translate(text)  # rewritten, and stored on disk if the script is long
            cpu = time.process_time()
            for _ in range(rounds):
                translate.cache_clear()
                translate(text)
            stored_ms = (time.process_time() - cpu) / rounds * 1000
            sizes[f"{lines:,}-line, as a later run reads it"] = stored_ms
            print(f"  as a later run of the same script reads it (the disk store, from 32 KiB): {stored_ms:.1f} ms")
        start = time.perf_counter()
        for _ in range(10_000):
            translate(text)
        print(f"  from the cache (a Monte Carlo run's sessions after the first): "
              f"{(time.perf_counter() - start) / 10_000 * 1e6:.1f} µs")
        cpu = time.process_time()
        for _ in range(1000):
            translate.cache_clear()
            translate(MARTINGALE_LUA)
        print(f"  a plain Lua script (no rewrite: one compile shows it is plain Lua 5.1): "
              f"{(time.process_time() - cpu) / 1000 * 1e6:.0f} µs of CPU uncached")
        sharp = Path(tmp) / "martingale-sharplua.lua"
        sharp.write_text(MARTINGALE_SHARPLUA)
        best_sharp = best_plain = 0.0
        sharp_profit = plain_profit = Decimal(0)
        for _ in range(args.rounds):
            translate.cache_clear()  # each session pays the rewrite of its script (a run loads it once)
            _, cpu, sharp_profit = bare_loop(lua_strategy(sharp), args.bets)
            best_sharp = max(best_sharp, cpu)
            _, cpu, plain_profit = bare_loop(lua_strategy(script), args.bets)
            best_plain = max(best_plain, cpu)
        print(f"  same bets: {'yes' if sharp_profit == plain_profit else 'NO'} (SharpLua and plain martingale)")
        print(f"  the martingale in SharpLua {best_sharp:>10,.0f} bets/s (CPU), in plain Lua {best_plain:>10,.0f} "
              f"bets/s (CPU): {100 * (best_plain - best_sharp) / best_plain:+.1f} % (noise included)")
        session_s = args.bets / best_plain
        for size, rewrite_ms in sizes.items():
            print(f"  the rewrite ({size}) against one {args.bets:,}-bet session: "
                  f"{100 * rewrite_ms / 1000 / (session_s + rewrite_ms / 1000):.2f} % of its CPU time (target: < 2 %)")


if __name__ == "__main__":
    main()
