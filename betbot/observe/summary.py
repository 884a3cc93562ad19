"""The end-of-session summary: one dict with stable keys (the `--summary-json` contract) and its table.

Keys (money as decimal strings, never floats): stop_reason, stop_kind, bets, wins, losses, profit,
wagered, balance, starting_balance, currency, largest_bet, largest_win, largest_loss,
longest_win_streak, longest_loss_streak, max_drawdown, luck_percent, bets_per_second, elapsed_seconds,
concurrency, strategy, backend, unresolved_bets, server_seed_hash, server_seed (revealed at the end of
a simulated session; null live), client_seed, first_nonce, seed_pairs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from betbot.atomicfile import atomic_write
from betbot.core.session import SessionSnapshot

__all__ = ["SUMMARY_KEYS", "build_summary", "summary_table", "write_summary_json"]

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
) -> dict[str, Any]:
    """The end-of-session summary. `run_bets`: bets of this run, when it resumed a session (for the rate)."""
    first = seed_pairs[0] if seed_pairs else {}
    reason = snap.stop_reason
    return {
        "stop_reason": str(reason) if reason else None,
        "stop_kind": reason.kind.value if reason else None,
        "bets": snap.bets,
        "wins": snap.wins,
        "losses": snap.losses,
        "profit": str(snap.profit),
        "wagered": str(snap.wagered),
        "balance": str(snap.balance),
        "starting_balance": str(snap.starting_balance),
        "currency": snap.currency,
        "largest_bet": str(snap.largest_bet),
        "largest_win": str(snap.largest_win),
        "largest_loss": str(snap.largest_loss),
        "longest_win_streak": snap.longest_win_streak,
        "longest_loss_streak": snap.longest_loss_streak,
        "max_drawdown": str(snap.max_drawdown),
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


def summary_table(summary: dict[str, Any]) -> Table:
    cur = summary["currency"]
    table = Table(title="betbot session summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")  # seeds are for copying: fold them, never cut them
    luck = summary["luck_percent"]
    rate = summary["bets_per_second"]
    rows = [
        ("stop reason", summary["stop_reason"] or "-"),
        ("strategy", f"{summary['strategy']} on {summary['backend']}, concurrency {summary['concurrency']}"),
        ("bets", f"{summary['bets']} ({summary['wins']} won, {summary['losses']} lost)"),
        ("profit", f"{summary['profit']} {cur}"),
        ("balance", f"{summary['balance']} {cur} (started {summary['starting_balance']})"),
        ("wagered", f"{summary['wagered']} {cur}"),
        ("largest bet", f"{summary['largest_bet']} {cur}"),
        ("largest win / loss", f"{summary['largest_win']} / {summary['largest_loss']} {cur}"),
        ("longest streaks", f"{summary['longest_win_streak']} wins, {summary['longest_loss_streak']} losses"),
        ("max drawdown", f"{summary['max_drawdown']} {cur}"),
        ("luck", "-" if luck is None else f"{luck:.2f} %"),
        ("speed", f"{'-' if rate is None else f'{rate:,.1f}'} bets/s over {summary['elapsed_seconds']:.1f} s"),
    ]
    if summary["unresolved_bets"]:
        rows.append(("UNRESOLVED", f"{summary['unresolved_bets']} bet(s) of unknown outcome: reconcile"))
    for pair in summary["seed_pairs"]:
        rows.append(("server seed hash", pair["server_seed_hash"]))
        if pair.get("server_seed"):
            rows.append(("server seed", pair["server_seed"]))
        rows.append(("client seed / first nonce", f"{pair['client_seed']} / {pair['first_nonce']}"))
    for what, value in rows:
        table.add_row(what, str(value))
    return table


def write_summary_json(path: Path, summary: dict[str, Any]) -> None:
    """Atomically: a reader never sees half a file, and a failure leaves the old file as it was."""
    with atomic_write(path) as out:
        json.dump(summary, out, indent=2)
        out.write("\n")
