"""`betbot verify`: check DuckDice rolls and journaled sessions against revealed server seeds.

Three uses:
  betbot verify --server-seed S --client-seed C --nonce N      (or --nonces A-B): print each roll
  betbot verify --server-seed S --server-seed-hash H           check a revealed seed against its hash
  betbot verify --session ID [--journal PATH] [--server-seed S] re-compute a journaled session's bets

Exit codes: 0 everything checked matches (bets whose seed is not revealed yet are listed, not failed);
1 a mismatch was found (a seed that does not hash to its published hash, a bet that does not re-compute),
or the journal cannot be read; 2 bad input (a flag, a missing journal, an unknown session). The journal is
opened read-only and never created.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from betbot.cli.errors import BadInput
from betbot.cli.journal import JournalFailure, journal_option, no_session, open_journal
from betbot.core.fairness import server_seed_hash
from betbot.core.verify import format_roll, parse_nonces, trace_roll
from betbot.journal import JournalError, UnknownSession, default_journal_path
from betbot.journal.verify import SessionVerification, verify_session

__all__ = ["verify_command"]

_HEX = frozenset("0123456789abcdef")


def _nonces(ctx: click.Context, param: click.Parameter, value: str | None) -> range | None:
    if value is None:
        return None
    try:
        return parse_nonces(value)
    except ValueError as exc:
        raise BadInput(f"--nonces {exc}") from None


@click.command("verify")
@click.option("--server-seed", "server_seed", metavar="S", help="The revealed server seed.")
@click.option("--client-seed", "client_seed", metavar="C", help="The client seed of the pair.")
@click.option("--nonce", type=click.IntRange(min=0), metavar="N", help="The nonce of one bet.")
@click.option("--nonces", callback=_nonces, metavar="A-B", help="A range of nonces (inclusive), e.g. 0-99.")
@click.option("--server-seed-hash", "seed_hash", metavar="H",
              help="The hash the site published before revealing the seed (SHA-256 of its text).")
@click.option("--session", "session_id", type=int, metavar="ID",
              help="Re-compute every bet of this journaled session whose server seed is revealed.")
@journal_option
def verify_command(*, server_seed: str | None, client_seed: str | None, nonce: int | None, nonces: range | None,
                   seed_hash: str | None, session_id: int | None, journal_path: Path | None) -> None:
    """Verify provably-fair rolls: print them from the seeds, check a seed's hash, or check a session.

    Exit code 1 means a mismatch was found; 0 that everything that could be checked matched.
    """
    if session_id is not None:
        if client_seed is not None or nonce is not None or nonces is not None or seed_hash is not None:
            raise BadInput("--session takes only --journal and --server-seed; drop the other flags")
        _verify_session(session_id, journal_path or default_journal_path(), server_seed)
        return
    if server_seed is None:
        raise BadInput("--server-seed is required (or --session ID to verify a journaled session)")
    if nonce is not None and nonces is not None:
        raise BadInput("give --nonce or --nonces, not both")
    wants_rolls = nonce is not None or nonces is not None
    if wants_rolls and client_seed is None:
        raise BadInput("--client-seed is required to compute rolls")
    if not wants_rolls and seed_hash is None:
        raise BadInput("give --nonce N or --nonces A-B to compute rolls, or --server-seed-hash H to check the seed")
    hash_ok = True
    if seed_hash is not None:
        hash_ok = _check_hash(server_seed, seed_hash)
    if wants_rolls:
        assert client_seed is not None  # noqa: S101 - checked above
        _print_rolls(server_seed, client_seed, nonces if nonces is not None else range(nonce or 0, (nonce or 0) + 1))
    if not hash_ok:
        sys.exit(1)


def _check_hash(server_seed: str, published: str) -> bool:
    wanted = published.strip().lower()
    if len(wanted) != 64 or not set(wanted) <= _HEX:
        raise BadInput(f"--server-seed-hash {published!r} is not a SHA-256 hash (64 hexadecimal characters)")
    actual = server_seed_hash(server_seed)
    if actual == wanted:
        click.echo(f"server seed hash: OK, SHA-256 of the server seed is {actual}")
        return True
    click.echo(f"server seed hash: MISMATCH, SHA-256 of the server seed is {actual}, not {wanted}")
    return False


def _print_rolls(server_seed: str, client_seed: str, nonces: range) -> None:
    click.echo("nonce  roll  shown  (roll = first 5-hex window of SHA-512(server+client+nonce) "
               "below 1,000,000, mod 10,000)")
    for n in nonces:
        trace = trace_roll(server_seed, client_seed, n)
        where = f"window at {trace.offset}" if trace.offset is not None else "last 3 characters"
        click.echo(f"{n:5d}  {trace.roll:4d}  {format_roll(trace.roll):>5}  ({where}: {trace.value})")


def _verify_session(session_id: int, path: Path, server_seed: str | None) -> None:
    if not path.exists():
        raise BadInput(f"no journal at {path}; pass --journal PATH (or set BETBOT_JOURNAL)")
    journal = open_journal(path)
    assert journal is not None  # noqa: S101 - the file exists
    try:
        with journal:
            result = verify_session(journal, session_id, () if server_seed is None else (server_seed,))
    except UnknownSession:
        raise no_session(session_id, path) from None
    except JournalError as exc:
        raise JournalFailure(str(exc)) from None
    _report(result)
    if not result.ok:
        sys.exit(1)


def _report(result: SessionVerification) -> None:
    for seed in result.unmatched_seeds:
        click.echo(f"note: the given server seed (SHA-256 {server_seed_hash(seed)}) is not one this session "
                   "played under; it was not used")
    for verdict in result.mismatches:
        click.echo(f"bet {verdict.seq}: MISMATCH: {'; '.join(verdict.problems)}")
    if result.not_revealed:
        click.echo(f"{result.not_revealed} bets not verifiable yet: their server seed is not revealed "
                   "(rotate the seed pair, then pass the revealed seed with --server-seed)")
    click.echo(result.line())
