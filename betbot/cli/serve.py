"""`betbot serve`: host sessions (from the config's [[sessions]] or started over the API) with a web console."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from betbot.cli.errors import BadInput
from betbot.cli.options import FILE

# The web stack (FastAPI, uvicorn, the engine) is imported when the command runs, never at import:
# `betbot --help` and `betbot health` must stay fast.

__all__ = ["serve_command"]

_EPILOG = """\b
Sessions come from --config FILE: its top level is shared by every session (the journal, the key file),
each [[sessions]] table is one session (name, autostart, a strategy or preset or lua, params, limits...).
More can be started from the console or POST /api/v1/sessions. The token is generated at first start
into the data directory (mode 0600); it is never printed. SIGTERM drains every session, then exits 0;
the next start resumes the sessions that were running."""


@click.command("serve", epilog=_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST", envvar="BETBOT_SERVE_HOST",
              show_envvar=True, help="Address to listen on (anything but loopback requires the token for every "
              "request, reads included).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), metavar="PORT",
              envvar="BETBOT_SERVE_PORT", show_envvar=True, help="Port to listen on (0: any free port).")
@click.option("--config", "config", type=FILE, default=None, envvar="BETBOT_CONFIG", show_envvar=True,
              show_default="none", help="TOML file: shared settings at the top, one [[sessions]] table per session.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              envvar="BETBOT_SERVE_TOKEN_FILE", show_envvar=True,
              show_default="$XDG_DATA_HOME/betbot/serve-token",
              help="The token (created, mode 0600, when missing; a Docker secret works as is).")
@click.option("--read-only", is_flag=True, envvar="BETBOT_SERVE_READ_ONLY", show_envvar=True,
              help="A console to watch: no controls, no new sessions.")
@click.option("--heartbeat-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              envvar="BETBOT_HEARTBEAT_FILE", show_envvar=True, show_default="none",
              help="Write a heartbeat covering every session here, for `betbot health`.")
@click.option("--state-file", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              envvar="BETBOT_SERVE_STATE_FILE", show_envvar=True,
              show_default="$XDG_DATA_HOME/betbot/serve-state.json",
              help="Which sessions run, so a restart resumes them.")
@click.option("--notify", "notify", multiple=True, metavar="URL", show_default="the config's notify, or BETBOT_NOTIFY",
              help="Send notifications here (an Apprise URL: tgram://, discord://, ntfy://, mailto://, json:// ...; "
              "repeatable; replaces the config's `notify`). Each session picks its events with its own notify_on.")
@click.pass_context
def serve_command(ctx: click.Context, *, host: str, port: int, config: Path | None, token_file: Path | None,
                  read_only: bool, heartbeat_file: Path | None, state_file: Path | None,
                  notify: tuple[str, ...]) -> None:
    """Host sessions in one process, with a web console and an HTTP API (127.0.0.1:8765 by default).

    \b
    Examples:
      betbot serve
      betbot serve --config config/serve.example.toml
      betbot serve --host 0.0.0.0 --token-file /run/secrets/betbot_token
    """
    import anyio  # noqa: PLC0415 - start-up time

    from betbot.config.paths import data_dir  # noqa: PLC0415
    from betbot.config.settings import SettingsError, load_settings  # noqa: PLC0415
    from betbot.notify import Notifier  # noqa: PLC0415
    from betbot.observe.logs import configure_logging  # noqa: PLC0415
    from betbot.redact import install_logging_filters  # noqa: PLC0415
    from betbot.serve.auth import TokenError, load_or_create_token  # noqa: PLC0415
    from betbot.serve.server import ServeOptions, serve  # noqa: PLC0415
    from betbot.serve.spec import read_config  # noqa: PLC0415

    try:
        shared, specs = read_config(config)
        if notify:
            shared["notify"] = list(notify)  # flags over the config, as for `betbot run`
        defaults = load_settings(dict(shared))  # the shared settings as a session sees them (the environment too)
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    configure_logging(defaults.log_format, (ctx.obj or {}).get("log_level", defaults.log_level))
    install_logging_filters()
    notifier = Notifier(defaults.notify)  # one for the process; each session's notify_on picks its events
    try:
        anyio.run(notifier.check)  # a bad URL is said before anything is written (the token included)
        token_path = token_file or data_dir() / "serve-token"
        token, created = load_or_create_token(token_path)
        options = ServeOptions(
            host=host, port=port, token=token, token_file=token_path, token_created=created, read_only=read_only,
            shared=shared, specs=specs, state_file=state_file or data_dir() / "serve-state.json",
            journal=defaults.journal, heartbeat_file=heartbeat_file,
            notifier=notifier, notify_on=defaults.notify_on)
        code = anyio.run(serve, options)
    except (SettingsError, TokenError) as exc:
        raise BadInput(str(exc)) from None
    sys.exit(code)
