"""Commands that talk to DuckDice (or its fake): `balance`, `stats`, `seed rotate`, and `fake-server`.

Registered on the main group by `register(group)`. The key comes from `betbot.config.apikey.resolve_api_key`
(flag, file, environment, Docker secret). A failed call prints `error: <redacted message>` on stderr and
exits 1, never a traceback: httpx exceptions carry URLs, and every URL carries the key.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import anyio
import click
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from betbot.backends.duckdice import DEFAULT_BASE_URL, DuckDiceBackend, DuckDiceError
from betbot.cli.errors import BadInput
from betbot.config.apikey import resolve_api_key
from betbot.redact import redact

__all__ = ["register"]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


def _key_options(func: _F) -> _F:
    func = click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10),
                        help="Retries of a connect error, rate limit or challenge before giving up.")(func)
    func = click.option("--base-url", envvar="BETBOT_BASE_URL", default=DEFAULT_BASE_URL, show_default=True,
                        help="DuckDice API base URL (env BETBOT_BASE_URL).")(func)
    func = click.option("--api-key-file", type=click.Path(dir_okay=False, path_type=Path),
                        help="File holding the API key (first line).")(func)
    return click.option("--api-key", "api_key", metavar="KEY",
                        help="API key (visible to other users in the process list: prefer --api-key-file, "
                             "BETBOT_API_KEY or /run/secrets/betbot_api_key).")(func)


def _backend(api_key: str | None, api_key_file: Path | None, base_url: str, retries: int) -> DuckDiceBackend:
    key = resolve_api_key(SecretStr(api_key) if api_key else None, api_key_file, warn_cli=api_key is not None)
    return DuckDiceBackend(api_key=key, base_url=base_url, max_connections=1, retries=retries)


def _call(backend: DuckDiceBackend, action: Callable[[DuckDiceBackend], Awaitable[_T]]) -> _T:
    """Run one call; a DuckDiceError becomes `error: ...` on stderr and exit code 1."""

    async def run() -> _T:
        async with backend:
            return await action(backend)

    try:
        return anyio.run(run)
    except DuckDiceError as exc:
        click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:f}"


@click.command("balance")
@click.option("--currency", help="Only this currency.")
@_key_options
def balance_command(*, currency: str | None, api_key: str | None, api_key_file: Path | None, base_url: str,
                    retries: int) -> None:
    """Show the account's balances per currency (GET /bot/user-info)."""
    backend = _backend(api_key, api_key_file, base_url, retries)
    info = _call(backend, lambda b: b.user_info())
    table = Table(title=f"Balances of {info.username or 'the account'}")
    table.add_column("currency")
    table.add_column("main", justify="right")
    table.add_column("faucet", justify="right")
    entries = info.balances
    if currency is not None:
        entries = [entry for entry in entries if entry.currency.upper() == currency.upper()]
    for entry in sorted(entries, key=lambda e: e.currency):
        table.add_row(entry.currency, _money(entry.main), _money(entry.faucet))
    Console().print(table)


@click.command("stats")
@click.option("--currency", required=True, help="Currency symbol, e.g. DOGE.")
@_key_options
def stats_command(*, currency: str, api_key: str | None, api_key_file: Path | None, base_url: str,
                  retries: int) -> None:
    """Show the site's bet count, profit and balances for one currency (GET /bot/stats/SYMBOL)."""
    backend = _backend(api_key, api_key_file, base_url, retries)
    stats = _call(backend, lambda b: b.stats(currency))
    table = Table(title=f"Stats for {stats.currency}")
    table.add_column("field")
    table.add_column("value", justify="right")
    for name, value in (("bets", str(stats.bets)), ("wins", str(stats.wins)), ("profit", _money(stats.profit)),
                        ("volume", _money(stats.volume)), ("main balance", _money(stats.balance)),
                        ("faucet balance", _money(stats.faucet_balance))):
        table.add_row(name, value)
    Console().print(table)


@click.group("seed")
def seed_group() -> None:
    """The provably-fair seed pair."""


@seed_group.command("rotate")
@click.option("--client-seed", help="The new client seed (default: a random one).")
@_key_options
def seed_rotate_command(*, client_seed: str | None, api_key: str | None, api_key_file: Path | None,
                        base_url: str, retries: int) -> None:
    """Rotate the seed pair (POST /randomize); the old server seed is revealed for verification."""
    backend = _backend(api_key, api_key_file, base_url, retries)
    rotation = _call(backend, lambda b: b.rotate_seed(client_seed))
    table = Table(title="Seed rotated")
    table.add_column("field")
    table.add_column("value")
    table.add_row("previous server seed", rotation.previous_server_seed or "(not in the reply)")
    table.add_row("previous server seed hash", rotation.previous_server_seed_hash or "(not in the reply)")
    table.add_row("new server seed hash", rotation.server_seed_hash or "(not in the reply)")
    table.add_row("client seed", rotation.client_seed)
    Console().print(table)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only "
              "unless --allow-remote).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535))
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host.")
@click.option("--latency", default="0", show_default=True, help="Fixed reply latency, e.g. 50ms.")
@click.option("--jitter", default="0", show_default=True, help="Extra latency, uniform in [0, jitter).")
@click.option("--faults", default="", help="Fault rates, e.g. 429=0.02,challenge=0.01,5xx=0.01,"
              "drop-after-execute=0.01,slow-after-execute=0.01,malformed=0.01,json-error=0.01.")
@click.option("--balance", "balances", multiple=True, metavar="CUR=AMOUNT",
              help="Starting main balance; repeatable (default DOGE=100).")
@click.option("--min-bet", "min_bets", multiple=True, metavar="CUR=AMOUNT", help="Minimum bet; repeatable.")
@click.option("--api-key", "fake_key", envvar="BETBOT_FAKE_API_KEY", default="fake-api-key", show_default=True,
              help="The one key the fake accepts (env BETBOT_FAKE_API_KEY).")
@click.option("--seed", default="fake", show_default=True, help="Seeds the rolls, the faults and the jitter.")
@click.option("--retry-after", default="0", show_default=True, help="Retry-After of a 429 fault (seconds).")
@click.option("--slow-delay", default="30s", show_default=True, help="How long a slow-after-execute reply waits.")
@click.option("--legacy-shape", is_flag=True, help="Answer bets with the older isHigh + threshold fields.")
def fake_server_command(*, host: str, port: int, allow_remote: bool, latency: str, jitter: str, faults: str,
                        balances: tuple[str, ...], min_bets: tuple[str, ...], fake_key: str, seed: str,
                        retry_after: str, slow_delay: str, legacy_shape: bool) -> None:
    """Serve a fake DuckDice API (no real money) for trying betbot and for tests.

    \b
    Example:
      betbot fake-server --latency 50ms --jitter 20ms --faults 429=0.02,challenge=0.01 --balance DOGE=100
      BETBOT_API_KEY=fake-api-key betbot balance --base-url http://127.0.0.1:8787
    """
    from betbot.testing.fakeserver import (  # noqa: PLC0415 - keeps the other commands free of uvicorn
        FakeServerConfig,
        parse_balances,
        parse_faults,
        parse_latency,
        run_fake_server,
    )

    if not _is_loopback(host) and not allow_remote:
        raise BadInput(f"--host {host} is not a loopback address: the fake server would be reachable from other "
                       "machines; pass --allow-remote if that is really what you want")
    try:
        config = FakeServerConfig(
            api_key=fake_key,
            balances=parse_balances(balances) if balances else {"DOGE": Decimal(100)},
            min_bets=parse_balances(min_bets),
            latency=parse_latency(latency),
            jitter=parse_latency(jitter),
            faults=parse_faults(faults),
            seed=seed,
            retry_after=retry_after or None,
            slow_delay=parse_latency(slow_delay),
            legacy_shape=legacy_shape,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    try:
        import uvicorn  # noqa: F401, PLC0415 - only to say what is missing
    except ImportError:
        raise click.ClickException("the fake server needs uvicorn: pip install 'betbot-duckdice[fake]'") from None
    shown = f"[{host}]" if ":" in host else host
    key_note = "the default key fake-api-key" if fake_key == "fake-api-key" else "the key from --api-key"
    click.echo(f"fake DuckDice on http://{shown}:{port} (accepts {key_note}; faults {config.faults or 'none'}); "
               "Ctrl+C stops it", err=True)
    try:
        run_fake_server(config, host, port)
    except OSError as exc:
        raise click.ClickException(redact(f"cannot listen on {host}:{port}: {exc.strerror or exc}")) from None


def register(group: click.Group) -> None:
    """Add `balance`, `stats`, `seed rotate` and `fake-server` to the main command group."""
    group.add_command(balance_command)
    group.add_command(stats_command)
    group.add_command(seed_group)
    group.add_command(fake_server_command)
