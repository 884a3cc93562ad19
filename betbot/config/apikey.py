"""Where the DuckDice API key comes from, in order, and the one place it is read.

1. an explicit value (`--api-key`, or a value a caller already holds): works, but on the command line it
   is visible to every user of the machine in the process list, so it warns;
2. `--api-key-file PATH` (first line; the file should be readable by its owner only);
3. the environment variable `BETBOT_API_KEY`;
4. a Docker secret at `/run/secrets/betbot_api_key` (`DOCKER_SECRET`, overridable for tests).

The key is returned as a pydantic `SecretStr` and registered with `betbot.redact`, so from here on it is
scrubbed from every log line and message, wherever it turns up.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

import click
from pydantic import SecretStr

from betbot.redact import register_secret

__all__ = ["DOCKER_SECRET", "ENV_VAR", "resolve_api_key"]

ENV_VAR = "BETBOT_API_KEY"
DOCKER_SECRET = Path("/run/secrets/betbot_api_key")

_WHERE = (
    f"put it in a file readable only by you and pass --api-key-file PATH, set {ENV_VAR}, "
    f"or mount a Docker secret at {DOCKER_SECRET}"
)


def _read_key_file(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise click.UsageError(f"{what} {path} does not exist; {_WHERE}") from None
    except OSError as exc:
        raise click.UsageError(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not key:
        raise click.UsageError(f"{what} {path} is empty; {_WHERE}")
    try:
        mode = path.stat().st_mode
    except OSError:  # pragma: no cover - it was just read
        mode = 0
    if stat.S_ISREG(mode) and mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(
            f"warning: {path} can be read by other users (mode {stat.S_IMODE(mode):o}); chmod 600 it",
            err=True,
        )
    return key


def resolve_api_key(
    api_key: SecretStr | None,
    api_key_file: Path | None,
    *,
    warn_cli: bool,
    environ: Mapping[str, str] | None = None,
    docker_secret: Path | None = None,
) -> SecretStr:
    """The API key from the first source that has one (see the module docstring); UsageError (exit 2) if none.

    `warn_cli` says that `api_key` came from the command line: a warning goes to stderr then.
    """
    env = os.environ if environ is None else environ
    secret_path = DOCKER_SECRET if docker_secret is None else docker_secret
    key: str | None = None
    if api_key is not None and api_key.get_secret_value().strip():
        key = api_key.get_secret_value().strip()
        if warn_cli:
            click.echo(
                "warning: an API key given on the command line is visible to other users of this machine "
                f"in the process list; prefer --api-key-file or {ENV_VAR}",
                err=True,
            )
    elif api_key_file is not None:
        key = _read_key_file(api_key_file, "--api-key-file")
    elif env.get(ENV_VAR, "").strip():
        key = env[ENV_VAR].strip()
    elif secret_path.exists():
        key = _read_key_file(secret_path, "the Docker secret")
    if key is None:
        raise click.UsageError(f"no DuckDice API key: {_WHERE}")
    register_secret(key)
    return SecretStr(key)
