"""`betbot health`: is the betbot writing this heartbeat alive, and betting or idle by choice?

Made for Docker's HEALTHCHECK: one line, exit 0 when healthy, 1 when not, 2 for bad input.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import DURATION, FILE, SettingOption
from betbot.config.units import parse_duration

__all__ = ["health_command"]


@click.command("health")
@click.option("--heartbeat-file", type=FILE, envvar="BETBOT_HEARTBEAT_FILE", cls=SettingOption,
              env="BETBOT_HEARTBEAT_FILE", shows="none", help="The file `betbot run --heartbeat-file` writes.")
@click.option("--max-age", default="60s", show_default=True, type=DURATION,
              help="Unhealthy when the last beat, or the last resolved bet with bets in flight, is older.")
def health_command(heartbeat_file: Path | None, max_age: str) -> None:
    """Check the heartbeat of a running betbot: exit 0 healthy, 1 unhealthy, with one line saying why."""
    from betbot.observe.heartbeat import DEFAULT_INTERVAL, check  # noqa: PLC0415 - `health --help` stays light

    if heartbeat_file is None:
        raise BadInput("no heartbeat file: pass --heartbeat-file PATH or set BETBOT_HEARTBEAT_FILE")
    try:
        limit = parse_duration(max_age, require_unit=True)
    except ValueError as exc:
        raise BadInput(f"invalid --max-age: {exc}") from None
    if limit < 2 * DEFAULT_INTERVAL:
        raise BadInput(f"--max-age must be at least {2 * DEFAULT_INTERVAL:g}s: betbot beats every "
                       f"{DEFAULT_INTERVAL:g}s")
    healthy, why = check(heartbeat_file, max_age=limit, now=time.time())
    click.echo(f"betbot: {'healthy' if healthy else 'UNHEALTHY'}: {why}")
    sys.exit(0 if healthy else 1)
