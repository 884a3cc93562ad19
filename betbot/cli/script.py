"""`betbot script check FILE`: the linter DiceBot users asked for.

Loads a DiceBot programmer-mode script in its sandbox and plays it against the simulator for a number of
results (100 by default) without betting anything: the same session machine as `betbot run` (the bare
loop), a fixed seed, and the script's files in a throw-away directory (its real one is not touched). It
reports the error with its file and line (exit code 2), or the bets the script would make as a compact
table, what it printed, and how it ended (exit code 0). Before that it says what betbot rewrote of
DiceBot's SharpLua dialect and which DiceBot functions the script calls that betbot skips or lacks;
`--lua` prints the Lua 5.1 text betbot runs, numbered with the lines of the user's file.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from betbot.cli.errors import BadInput

if TYPE_CHECKING:
    from collections.abc import Sequence

    from betbot.core.models import Settled
    from betbot.strategies.lua.dialect import Translation

__all__ = ["check_command", "script_group"]


@click.group("script")
def script_group() -> None:
    """Check a DiceBot Lua script before you run it."""


@dataclass(slots=True)
class _Printed:
    """What the script printed, with the number of results it had seen then."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    seen: int = 0

    def __call__(self, text: str) -> None:
        self.lines.append((self.seen, text))


def _amount(text: str, what: str) -> Decimal:
    from betbot.core.money import AmountError, parse_amount  # noqa: PLC0415 - keep `--help` light

    try:
        value = parse_amount(text, what, allow_zero=False)
    except AmountError as exc:
        raise BadInput(str(exc)) from None
    return value


@script_group.command("check")
@click.argument("script", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--results", type=click.IntRange(1, 100_000), default=100, show_default=True, metavar="N",
              help="Simulated results to play the script through.")
@click.option("--balance", default="100", show_default=True, metavar="AMOUNT", help="Simulated starting balance.")
@click.option("--currency", default="DOGE", show_default=True, metavar="SYMBOL", help="Currency of the bets.")
@click.option("--seed", default="betbot/script-check", show_default=True, metavar="TEXT",
              help="Seed of the simulated rolls (the same seed, the same rolls).")
@click.option("--rows", type=click.IntRange(0, 100_000), default=20, show_default=True, metavar="N",
              help="Bets to show in the table (the first N, then the last few).")
@click.option("--lua", "show_lua", is_flag=True,
              help="Print the Lua 5.1 text betbot runs (SharpLua rewritten), numbered with the script's lines.")
def check_command(script: Path, *, results: int, balance: str, currency: str, seed: str, rows: int,
                  show_lua: bool) -> None:
    """Load a DiceBot Lua script and play it through simulated results, betting nothing.

    \b
    Reports a load or runtime error with the script's file and line (exit code 2), or the bets the
    script would make, what it printed and how it ended (exit code 0). It also says what betbot
    rewrote of DiceBot's SharpLua dialect (`!=`, `+=`, `continue` ...) and which DiceBot functions
    the script calls that betbot skips or lacks.
    Examples:
      betbot script check strategies/martingale.lua
      betbot script check --lua my-dicebot-script.lua
    """
    from betbot.core.bare_loop import play_sync  # noqa: PLC0415 - the engine only when a command runs
    from betbot.core.fairness import SeedPair  # noqa: PLC0415
    from betbot.core.game import SimulatedGame  # noqa: PLC0415
    from betbot.core.models import BetRequest, RefusalKind, Refused, SeedRotation, Settled, StopKind  # noqa: PLC0415
    from betbot.core.session import Limits, Session  # noqa: PLC0415
    from betbot.core.strategy import StrategyContext  # noqa: PLC0415
    from betbot.strategies.lua import LuaParams, LuaStrategy, ScriptLoadError  # noqa: PLC0415
    from betbot.strategies.lua.dialect import DialectError, translate  # noqa: PLC0415
    from betbot.strategies.lua.strategy import read_script  # noqa: PLC0415

    if not script.is_file():
        raise BadInput(f"no such file: {script} (give the path of a DiceBot .lua script)")
    start = _amount(balance, "--balance")
    symbol = currency.strip().upper()
    if not symbol.isalnum():
        raise BadInput(f"--currency {currency!r} must be a symbol such as DOGE")
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    printed = _Printed()
    played: list[Settled] = []
    reseeds: list[int] = []

    class _Recording(SimulatedGame):
        def play(self, seq: int, bet: BetRequest) -> Settled | Refused:
            outcome = super().play(seq, bet)
            if isinstance(outcome, Settled):
                played.append(outcome)
                printed.seen = len(played)
            return outcome

        def rotate(self, from_seq: int, client_seed: str | None = None) -> SeedRotation:
            reseeds.append(from_seq)
            return super().rotate(from_seq, client_seed)

    if show_lua:
        with suppress(ScriptLoadError, DialectError):  # loading the script below reports it
            _print_lua(out, script.name, translate(read_script(script)))
    context = StrategyContext(currency=symbol, starting_balance=start, rng_seed=0)
    with tempfile.TemporaryDirectory(prefix="betbot-script-check-") as scratch:
        try:
            strategy = LuaStrategy(LuaParams(script=script), context, printer=printed, files_dir=Path(scratch))
        except ScriptLoadError as exc:
            raise BadInput(str(exc)) from None
        session = Session(currency=symbol, starting_balance=start, limits=Limits(max_bets=results), started_at=0.0)
        game = _Recording(seeds=SeedPair.derive(seed), balances={symbol: start})
        play_sync(session, strategy, game)

    out.print(f"betbot: {script.name} loaded; {len(played)} simulated result(s), nothing bet (seed {seed!r})")
    _print_dialect(out, strategy.translation)
    if played:
        out.print(_table(played, rows))
    _print_output(out, printed)
    reason = session.stop_reason
    profit = session.profit
    out.print(f"bets {session.bets:,} ({session.wins:,} won, {session.losses:,} lost), profit {profit:+.8f} {symbol}, "
              f"largest bet {max((s.bet.amount for s in played), default=Decimal(0)):.8f} {symbol}"
              + (f", seed rotated before bet(s) {', '.join(map(str, reseeds))}" if reseeds else ""))
    if reason is None:
        return
    script_fault = reason.kind is StopKind.STRATEGY_ERROR or (
        reason.kind is StopKind.STRATEGY and reason.detail != "the script called stop()")
    if script_fault:
        sys.stderr.write(f"betbot: error: {reason.detail.removeprefix('ScriptError: ')}\n")
        sys.exit(2)
    if reason.kind is StopKind.MAX_BETS:
        out.print(f"ok: the script played {len(played)} result(s) without an error")
    elif reason.kind in (StopKind.INSUFFICIENT_BALANCE, StopKind.INVALID_BET) or (
            reason.kind is StopKind.REFUSED and reason.detail.startswith(RefusalKind.BALANCE.value)):
        out.print(f"ok, but the session stopped: {reason}")
    else:
        out.print(f"ok: the session stopped: {reason}")


def _print_lua(out: Console, name: str, translation: Translation) -> None:
    out.print(f"Lua 5.1 that betbot runs (numbered with the lines of {name}):", markup=False)
    numbered = translation.numbered()
    width = len(str(len(numbered)))
    for line, text in numbered:
        out.print(Text(f"{line:>{width}} | {text}"))


def _print_dialect(out: Console, translation: Translation) -> None:
    from betbot.strategies.lua.surface import WHAT_BETBOT_DOES  # noqa: PLC0415 - keep `--help` light

    if translation.rewrites:
        out.print(f"SharpLua rewritten into Lua 5.1: {translation.summary()}", markup=False)
    if translation.stray_line is not None:
        out.print(f"a stray top-level end at line {translation.stray_line}: the rest of the file is ignored, "
                  "as DiceBot ignores it", markup=False)
    for name, line in translation.reached():
        out.print(f"calls {name}() (line {line}), which betbot runs differently: {WHAT_BETBOT_DOES[name]}",
                  markup=False)


def _table(played: Sequence[Settled], rows: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in ("bet", "amount", "chance", "side", "roll", "result", "profit", "balance"):
        table.add_column(name, justify="left" if name in ("side", "result") else "right")
    shown = list(played)
    tail = 3 if len(shown) > rows + 3 else 0
    head = shown if tail == 0 else shown[:rows]
    for settled in head:
        table.add_row(*_row(settled))
    if tail:
        table.add_row("…", f"{len(shown) - rows - tail} more", "", "", "", "", "", "")
        for settled in shown[-tail:]:
            table.add_row(*_row(settled))
    return table


def _row(settled: Settled) -> tuple[str, ...]:
    bet = settled.bet
    side = ("in " if bet.range_in else "out ") + f"{bet.range[0]}-{bet.range[1]}" if bet.range else (
        "high" if bet.high else "low")
    return (str(settled.seq), f"{bet.amount:.8f}", f"{bet.chance:.2f}", side, f"{settled.number / 100:.2f}",
            "win" if settled.win else "loss", f"{settled.profit:+.8f}", f"{settled.balance:.8f}")


def _print_output(out: Console, printed: _Printed, limit: int = 10) -> None:
    if not printed.lines:
        return
    first = f", the first {limit}" if len(printed.lines) > limit else ""
    out.print(f"print() output ({len(printed.lines)} line(s){first}):")
    for seen, text in printed.lines[:limit]:
        line = Text(f"  [after {seen} result(s)] " if seen else "  [top level] ")
        line.append(Text.from_ansi(text))
        out.print(line)
