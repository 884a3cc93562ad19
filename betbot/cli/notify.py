"""`betbot notify test`: send a test notification, to check a URL before a week-long run relies on it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import FILE, SettingOption

__all__ = ["notify_group"]


@click.group("notify")
def notify_group() -> None:
    """Notifications: send a test to a notification URL (Apprise)."""


@notify_group.command("test")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option("--config", "config", cls=SettingOption, env="BETBOT_CONFIG", shows="none", type=FILE,
              envvar="BETBOT_CONFIG", help="TOML settings file: its notify URLs, when no URL is given.")
@click.option("--timeout", metavar="DURATION", default="10s", show_default=True,
              help="How long to wait for each target (e.g. 500ms, 10s).")
def test_command(urls: tuple[str, ...], config: Path | None, timeout: str) -> None:
    """Send a test notification to each URL (default: the notify URLs of the settings: config, BETBOT_NOTIFY).

    Exit 0 when every target took it, 1 when one did not; a URL is shown by its scheme only (it may be a
    secret).

    \b
    Examples:
      betbot notify test ntfy://my-betbot-topic
      betbot notify test json://127.0.0.1:8000/hook
    """
    import anyio  # noqa: PLC0415 - start-up time

    from betbot.config.settings import SettingsError, load_settings  # noqa: PLC0415
    from betbot.config.units import parse_duration  # noqa: PLC0415
    from betbot.notify import Notifier  # noqa: PLC0415
    from betbot.notify.events import test_notice  # noqa: PLC0415
    from betbot.observe.logs import configure_logging  # noqa: PLC0415

    try:
        seconds = parse_duration(timeout, require_unit=True)
    except ValueError as exc:
        raise BadInput(f"--timeout: {exc}") from None
    if not 0 < seconds <= 300:
        raise BadInput(f"--timeout {timeout}: give a duration above 0 and at most 5m")
    try:
        settings = load_settings({"notify": list(urls)} if urls else {}, config)
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    if not settings.notify:
        raise BadInput("no notification URL: give one (betbot notify test ntfy://my-topic), or set notify in "
                       "the config file or BETBOT_NOTIFY")
    configure_logging(settings.log_format, "warning")
    notifier = Notifier(settings.notify, timeout=seconds, attempts=1)
    try:
        results = anyio.run(notifier.send_now, test_notice())
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    for label, ok in zip(notifier.labels, results, strict=True):
        click.echo(f"{label}: {'sent' if ok else 'FAILED'}")
    sys.exit(0 if all(results) else 1)
