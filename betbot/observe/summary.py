"""The end-of-session summary: one dict with stable keys (the `--summary-json` contract) and its table.

Keys (money as fixed-point decimal strings with 8 places, never floats or exponents, e.g. "0.00000000"):
stop_reason, stop_kind, bets, wins, losses, profit,
wagered, balance, starting_balance, currency, largest_bet, largest_win, largest_loss,
longest_win_streak, longest_loss_streak, max_drawdown, luck_percent, bets_per_second, elapsed_seconds,
concurrency, strategy, backend, unresolved_bets, server_seed_hash, server_seed (revealed at the end of
a simulated session; null live), client_seed, first_nonce, seed_pairs.
Added when they apply: concurrency_auto (true under `-n auto`; `concurrency` is then its cap), risk_preview
(the preview's figures), script_skipped (a Lua script's tip/withdraw/
invest calls that betbot skipped: per function, {"calls": N, "amount": "0.00000000"}).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from betbot.atomicfile import atomic_write
from betbot.core.money import money_text
from betbot.core.session import SessionSnapshot
from betbot.observe.view import concurrency_words

__all__ = [
    "SUMMARY_KEYS", "build_summary", "elapsed_text", "print_summary", "rate_text", "seed_lines", "streaks_text",
    "summary_rows", "summary_table", "write_summary_json",
]

SUMMARY_KEYS = (
    "stop_reason", "stop_kind", "bets", "wins", "losses", "profit", "wagered", "balance",
    "starting_balance", "currency", "largest_bet", "largest_win", "largest_loss", "longest_win_streak",
    "longest_loss_streak", "max_drawdown", "luck_percent", "bets_per_second", "elapsed_seconds",
    "concurrency", "strategy", "backend", "unresolved_bets", "server_seed_hash", "server_seed",
    "client_seed", "first_nonce", "seed_pairs", "session_id",
)


def build_summary(
    snap: SessionSnapshot,
    *,
    elapsed: float,
    concurrency: int,
    strategy: str,
    backend: str,
    seed_pairs: list[dict[str, Any]],
    run_bets: int | None = None,
    session_id: int | None = None,
    auto_concurrency: bool = False,
) -> dict[str, Any]:
    """The end-of-session summary. `run_bets`: bets of this run, when it resumed a session (for the rate)."""
    first = seed_pairs[0] if seed_pairs else {}
    reason = snap.stop_reason
    summary = {
        "stop_reason": str(reason) if reason else None,
        "stop_kind": reason.kind.value if reason else None,
        "bets": snap.bets,
        "wins": snap.wins,
        "losses": snap.losses,
        "profit": money_text(snap.profit),
        "wagered": money_text(snap.wagered),
        "balance": money_text(snap.balance),
        "starting_balance": money_text(snap.starting_balance),
        "currency": snap.currency,
        "largest_bet": money_text(snap.largest_bet),
        "largest_win": money_text(snap.largest_win),
        "largest_loss": money_text(snap.largest_loss),
        "longest_win_streak": snap.longest_win_streak,
        "longest_loss_streak": snap.longest_loss_streak,
        "max_drawdown": money_text(snap.max_drawdown),
        "luck_percent": None if snap.luck is None else round(snap.luck, 2),
        "bets_per_second": round((snap.bets if run_bets is None else run_bets) / elapsed, 1) if elapsed > 0 else None,
        "elapsed_seconds": round(elapsed, 3),
        "concurrency": concurrency,
        "strategy": strategy,
        "backend": backend,
        "unresolved_bets": snap.unresolved,
        "server_seed_hash": first.get("server_seed_hash"),
        "server_seed": first.get("server_seed"),
        "client_seed": first.get("client_seed"),
        "first_nonce": first.get("first_nonce"),
        "seed_pairs": seed_pairs,
        "session_id": session_id,
    }
    if auto_concurrency:
        summary["concurrency_auto"] = True
    return summary


def elapsed_text(seconds: float) -> str:
    """A duration as a person reads it: `0.004 s`, `5.2 s` under a minute, else `2:03` or `1:02:03`."""
    if seconds < 1:
        return f"{seconds:.3f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.1f}"


def _count(count: int, noun: str, plural: str | None = None) -> str:
    """`1 win`, `2 wins`, `1,000 losses`: a count with its noun, never `1 wins` or `bet(s)`."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def streaks_text(wins: int, losses: int) -> str:
    return f"{_count(wins, 'win')}, {_count(losses, 'loss', 'losses')}"


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary's figures as (label, text): the table, and the dashboard's final frame, show these."""
    cur = summary["currency"]
    luck = summary["luck_percent"]
    profit = summary["profit"]
    rows = [
        ("stop reason", summary["stop_reason"] or "-"),
        ("strategy", f"{summary['strategy']} on {summary['backend']}, concurrency "
                     f"{concurrency_words(summary['concurrency'], auto=bool(summary.get('concurrency_auto')))}"),
        ("bets", f"{summary['bets']:,} ({summary['wins']:,} won, {summary['losses']:,} lost)"),
        ("profit", f"{'' if profit.startswith('-') else '+'}{profit} {cur}"),
        ("balance", f"{summary['balance']} {cur} (started {summary['starting_balance']})"),
        ("wagered", f"{summary['wagered']} {cur}"),
        ("largest bet", f"{summary['largest_bet']} {cur}"),
        ("largest win / loss", f"{summary['largest_win']} / {summary['largest_loss']} {cur}"),
        ("longest streaks", streaks_text(summary["longest_win_streak"], summary["longest_loss_streak"])),
        ("max drawdown", f"{summary['max_drawdown']} {cur}"),
        ("luck", "-" if luck is None else f"{luck:.2f} %"),
        ("speed", f"{rate_text(summary['bets_per_second'])} bets/s over {elapsed_text(summary['elapsed_seconds'])}"),
    ]
    skipped = summary.get("script_skipped")
    if skipped:
        rows.append(("skipped calls", ", ".join(
            f"{name} x{entry['calls']} ({entry['amount']} {cur})" for name, entry in skipped.items())
            + ": betbot never moves money out of the account"))
    if summary["unresolved_bets"]:
        rows.append(("UNRESOLVED", f"{_count(summary['unresolved_bets'], 'bet')} of unknown outcome: "
                                   "`betbot run --resume` reconciles them with the site's books"))
    return rows


def summary_table(summary: dict[str, Any]) -> Table:
    """The figures as a table; the seeds are printed below it by `print_summary`, one whole line each."""
    table = Table(title="betbot session summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value")
    for what, value in summary_rows(summary):
        table.add_row(what, value)
    return table


def seed_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for pair in summary["seed_pairs"]:
        lines.append(f"server seed hash: {pair['server_seed_hash']}")
        if pair.get("server_seed"):
            lines.append(f"server seed: {pair['server_seed']}")
        lines.append(f"client seed: {pair['client_seed']}  first nonce: {pair['first_nonce']}")
    return lines


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    """The table, then each seed on a line of its own that is never broken: a narrow terminal wraps it
    softly, so it is copied whole (in a table cell it would be cut into pieces with borders between)."""
    console.print(summary_table(summary))
    for line in seed_lines(summary):
        console.print(line, soft_wrap=True, highlight=False)


def write_summary_json(path: Path, summary: dict[str, Any]) -> None:
    """Atomically: a reader never sees half a file, and a failure leaves the old file as it was."""
    with atomic_write(path) as out:
        json.dump(summary, out, indent=2)
        out.write("\n")
