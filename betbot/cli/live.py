"""Commands that talk to DuckDice (or its fake): `account`, `balance`, `stats`, `seed rotate`, `fake-server`.

Registered on the main group by `register(group)`. The key comes from `betbot.config.apikey.resolve_api_key`
(flag, file, environment, Docker secret). A failed call prints `error: <redacted message>` on stderr and
exits 1, never a traceback: httpx exceptions carry URLs, and every URL carries the key.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import DURATION, SYMBOL, URL, SettingOption
from betbot.extras import install_hint

if TYPE_CHECKING:
    from rich.table import Table

    from betbot.backends.api_models import CurrentSeeds, Offer, UserInfo
    from betbot.backends.duckdice import DuckDiceBackend

# httpx, anyio, pydantic and rich are imported when a command runs, not for its --help (start-up time).

__all__ = ["DEFAULT_BASE_URL", "register"]

#: betbot.backends.duckdice.DEFAULT_BASE_URL, written out so that --help imports no httpx (a test compares).
DEFAULT_BASE_URL = "https://duckdice.io/api"

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


def _key_options(func: _F) -> _F:
    func = click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10), metavar="INT",
                        help="Retries of a connect error, rate limit or challenge before giving up.")(func)
    func = click.option("--base-url", envvar="BETBOT_BASE_URL", show_envvar=True, default=DEFAULT_BASE_URL,
                        show_default=True, type=URL, help="DuckDice API base URL.")(func)
    func = click.option("--api-key-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                        envvar="BETBOT_API_KEY_FILE", cls=SettingOption, env="BETBOT_API_KEY_FILE", shows="none",
                        help="File holding the API key (first line).")(func)
    # The key's env var is read by resolve_api_key (after the flag and the file), not by click.
    return click.option("--api-key", "api_key", metavar="KEY", cls=SettingOption, env="BETBOT_API_KEY",
                        shows="/run/secrets/betbot_api_key if present",
                        help="API key (visible to other users in the process list: prefer --api-key-file, "
                             "the env var or the Docker secret).")(func)


def _json_option(func: _F) -> _F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (money as exact "
                        "decimal text).")(func)


def _backend(api_key: str | None, api_key_file: Path | None, base_url: str, retries: int) -> DuckDiceBackend:
    from pydantic import SecretStr  # noqa: PLC0415 - see the imports above

    from betbot.backends.duckdice import DuckDiceBackend  # noqa: PLC0415
    from betbot.config.apikey import resolve_api_key  # noqa: PLC0415

    key = resolve_api_key(SecretStr(api_key) if api_key else None, api_key_file, warn_cli=api_key is not None)
    return DuckDiceBackend(api_key=key, base_url=base_url, max_connections=1, retries=retries)


def _call(backend: DuckDiceBackend, action: Callable[[DuckDiceBackend], Awaitable[_T]]) -> _T:
    """Run one call; a DuckDiceError becomes `error: ...` on stderr and exit code 1."""
    import anyio  # noqa: PLC0415 - see the imports above

    from betbot.backends.duckdice import DuckDiceError  # noqa: PLC0415

    async def run() -> _T:
        async with backend:
            return await action(backend)

    try:
        return anyio.run(run)
    except DuckDiceError as exc:
        click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _table(title: str) -> Table:
    from rich.table import Table  # noqa: PLC0415 - see the imports above

    return Table(title=title)


def _print(table: Table) -> None:
    from rich.console import Console  # noqa: PLC0415 - see the imports above

    Console().print(table)


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:f}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, ".8f")


@click.command("balance")
@click.option("--currency", type=SYMBOL, cls=SettingOption, env="", shows="all", help="Only this currency.")
@_json_option
@_key_options
def balance_command(*, currency: str | None, as_json: bool, api_key: str | None, api_key_file: Path | None,
                    base_url: str, retries: int) -> None:
    """Show the account's balances per currency (GET /bot/user-info)."""
    backend = _backend(api_key, api_key_file, base_url, retries)
    info = _call(backend, lambda b: b.user_info())
    if as_json:
        shown = [entry for entry in info.balances if currency is None or entry.currency.upper() == currency.upper()]
        click.echo(json.dumps({"username": info.username, "balances": [
            {"currency": entry.currency, "main": _text(entry.main), "faucet": _text(entry.faucet)}
            for entry in sorted(shown, key=lambda e: e.currency)]}, indent=2))
        return
    table = _table(f"Balances of {info.username or 'the account'}")
    table.add_column("currency")
    table.add_column("main", justify="right")
    table.add_column("faucet", justify="right")
    entries = info.balances
    if currency is not None:
        entries = [entry for entry in entries if entry.currency.upper() == currency.upper()]
    for entry in sorted(entries, key=lambda e: e.currency):
        table.add_row(entry.currency, _money(entry.main), _money(entry.faucet))
    _print(table)


@click.command("account")
@_json_option
@_key_options
def account_command(*, as_json: bool, api_key: str | None, api_key_file: Path | None, base_url: str,
                    retries: int) -> None:
    """The account: balances per currency and mode, time-limited events and wagering bonuses, the seed pair."""
    backend = _backend(api_key, api_key_file, base_url, retries)

    async def read(b: DuckDiceBackend) -> tuple[UserInfo, CurrentSeeds | None]:
        return await b.user_info(), await b.current_seeds()

    info, seeds = _call(backend, read)
    balances = sorted(info.balances, key=lambda e: e.currency)
    events, bonuses = info.events(), info.bonuses()
    if as_json:
        click.echo(json.dumps({
            "username": info.username,
            "balances": [{"currency": entry.currency, "main": _text(entry.main), "faucet": _text(entry.faucet),
                          "bonus": _text(entry.bonus)} for entry in balances],
            "events": [_offer_json(offer) for offer in events],
            "wagering_bonuses": [_offer_json(offer) for offer in bonuses],
            "seeds": None if seeds is None else {"server_seed_hash": seeds.server_seed_hash,
                                                 "client_seed": seeds.client_seed, "nonce": seeds.nonce},
        }, indent=2))
        return
    table = _table(f"Balances of {info.username or 'the account'}")
    for name in ("currency", "main", "faucet", "bonus"):
        table.add_column(name, justify="left" if name == "currency" else "right")
    for entry in balances:
        table.add_row(entry.currency, _money(entry.main), _money(entry.faucet), _money(entry.bonus))
    _print(table)
    for title, offers, flag in (("Time-limited events", events, "--tle"),
                                ("Wagering bonuses", bonuses, "--wagering-bonus")):
        offered = _table(f"{title} (bet toward one with {flag} HASH)")
        for name in ("hash", "name", "status", "details"):
            offered.add_column(name)
        for offer in offers:
            details = ", ".join(f"{key} {value}" for key, value in offer.details.items())
            offered.add_row(offer.hash, offer.name or "-", offer.status or "-", details or "-")
        if not offers:
            offered.add_row("(none)", "", "", "")
        _print(offered)
    if seeds is None:
        click.echo("seed pair: the site did not say (GET /randomize)")
    else:
        click.echo(f"seed pair: server seed hash {seeds.server_seed_hash}, client seed {seeds.client_seed or '-'}, "
                   f"next nonce {'-' if seeds.nonce is None else seeds.nonce}")


def _offer_json(offer: Offer) -> dict[str, Any]:
    return {"hash": offer.hash, "name": offer.name, "status": offer.status, "active": offer.active,
            "details": offer.details}


@click.command("stats")
@click.option("--currency", type=SYMBOL, default="DOGE", show_default=True, envvar="BETBOT_CURRENCY",
              show_envvar=True, help="Currency symbol.")
@_json_option
@_key_options
def stats_command(*, currency: str, as_json: bool, api_key: str | None, api_key_file: Path | None, base_url: str,
                  retries: int) -> None:
    """Show the site's bet count, profit and balances for one currency (GET /bot/stats/SYMBOL)."""
    backend = _backend(api_key, api_key_file, base_url, retries)
    stats = _call(backend, lambda b: b.stats(currency.upper()))
    if as_json:
        click.echo(json.dumps({"currency": stats.currency, "bets": stats.bets, "wins": stats.wins,
                               "profit": _text(stats.profit), "volume": _text(stats.volume),
                               "balance": _text(stats.balance), "faucet_balance": _text(stats.faucet_balance)},
                              indent=2))
        return
    table = _table(f"Stats for {stats.currency}")
    table.add_column("field")
    table.add_column("value", justify="right")
    for name, value in (("bets", str(stats.bets)), ("wins", str(stats.wins)), ("profit", _money(stats.profit)),
                        ("volume", _money(stats.volume)), ("main balance", _money(stats.balance)),
                        ("faucet balance", _money(stats.faucet_balance))):
        table.add_row(name, value)
    _print(table)


@click.group("seed")
def seed_group() -> None:
    """The provably-fair seed pair."""


@seed_group.command("rotate")
@click.option("--client-seed", cls=SettingOption, env="", shows="random", help="The new client seed.")
@_key_options
def seed_rotate_command(*, client_seed: str | None, api_key: str | None, api_key_file: Path | None,
                        base_url: str, retries: int) -> None:
    """Rotate the seed pair (POST /randomize); the old server seed is revealed for verification."""
    backend = _backend(api_key, api_key_file, base_url, retries)
    rotation = _call(backend, lambda b: b.rotate_seed(client_seed))
    table = _table("Seed rotated")
    table.add_column("field")
    table.add_column("value")
    table.add_row("previous server seed", rotation.previous_server_seed or "(not in the reply)")
    table.add_row("previous server seed hash", rotation.previous_server_seed_hash or "(not in the reply)")
    table.add_row("new server seed hash", rotation.server_seed_hash or "(not in the reply)")
    table.add_row("client seed", rotation.client_seed)
    _print(table)


def _is_loopback(host: str) -> bool:
    from betbot.config.units import is_loopback  # noqa: PLC0415 - see the imports above

    return is_loopback(host.strip("[]"))


@click.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST",
              help="Address to listen on (loopback only unless --allow-remote).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), metavar="PORT",
              help="Port to listen on (0: any free port).")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host.")
@click.option("--latency", default="0s", show_default=True, type=DURATION, help="Fixed reply latency, e.g. 50ms.")
@click.option("--jitter", default="0s", show_default=True, type=DURATION,
              help="Extra latency, uniform in [0, jitter).")
@click.option("--faults", default="", cls=SettingOption, env="", shows="none", metavar="KIND=RATE,...",
              help="Fault rates, e.g. 429=0.02,challenge=0.01,5xx=0.01,"
              "drop-after-execute=0.01,slow-after-execute=0.01,malformed=0.01,json-error=0.01.")
@click.option("--balance", "balances", multiple=True, metavar="CUR=AMOUNT", cls=SettingOption, env="",
              shows="DOGE=100", help="Starting main balance; repeatable.")
@click.option("--min-bet", "min_bets", multiple=True, metavar="CUR=AMOUNT", cls=SettingOption, env="",
              shows="none", help="Minimum bet; repeatable.")
@click.option("--api-key", "fake_key", envvar="BETBOT_FAKE_API_KEY", show_envvar=True, default="fake-api-key",
              show_default=True, metavar="KEY", help="The one key the fake accepts.")
@click.option("--seed", default="fake", show_default=True, help="Seeds the rolls, the faults and the jitter.")
@click.option("--retry-after", default="0", show_default=True, metavar="SECONDS",
              help="Retry-After header of a 429 fault, in whole seconds as the header has it.")
@click.option("--slow-delay", default="30s", show_default=True, type=DURATION,
              help="How long a slow-after-execute reply waits.")
@click.option("--legacy-shape", is_flag=True, help="Answer bets with the older isHigh + threshold fields.")
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="BETS/S",
              show_default="none", help="The site's own rate limit: bets arriving faster get a 429 and do not run.")
@click.option("--rate-burst", type=click.FloatRange(min=1), default=None, metavar="BETS",
              show_default="a quarter second of --rate-limit, at least 1",
              help="How many bets may arrive at once under --rate-limit (its token bucket's size).")
def fake_server_command(*, host: str, port: int, allow_remote: bool, latency: str, jitter: str, faults: str,
                        balances: tuple[str, ...], min_bets: tuple[str, ...], fake_key: str, seed: str,
                        retry_after: str, slow_delay: str, legacy_shape: bool, rate_limit: float | None,
                        rate_burst: float | None) -> None:
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
        for flag, value in (("--latency", latency), ("--jitter", jitter), ("--slow-delay", slow_delay)):
            _require_unit(flag, value)
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
            rate_limit=rate_limit,
            # A burst of 1 would refuse two bets that merely arrive together: no site limits that way.
            rate_burst=rate_burst or max(1.0, (rate_limit or 0) / 4),
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    try:
        import uvicorn  # noqa: F401, PLC0415 - only to say what is missing
    except ImportError:
        hint = install_hint("fake", "uvicorn httptools")
        raise click.ClickException(f"the fake server needs uvicorn: {hint}") from None
    shown = f"[{host}]" if ":" in host else host
    key_note = "the default key fake-api-key" if fake_key == "fake-api-key" else "the key from --api-key"
    click.echo(f"fake DuckDice on http://{shown}:{port} (accepts {key_note}; faults {config.faults or 'none'}); "
               "Ctrl+C stops it", err=True)
    try:
        run_fake_server(config, host, port)
    except OSError as exc:
        from betbot.redact import redact  # noqa: PLC0415 - only on the error path

        raise click.ClickException(redact(f"cannot listen on {host}:{port}: {exc.strerror or exc}")) from None


def _require_unit(flag: str, value: str) -> None:
    from betbot.config.units import parse_duration  # noqa: PLC0415 - light, but only this command needs it

    try:
        parse_duration(value, require_unit=True)
    except ValueError as exc:
        raise ValueError(f"invalid {flag}: {exc}") from None


def register(group: click.Group) -> None:
    """Add `account`, `balance`, `stats`, `seed rotate` and `fake-server` to the main command group."""
    group.add_command(account_command)
    group.add_command(balance_command)
    group.add_command(stats_command)
    group.add_command(seed_group)
    group.add_command(fake_server_command)
