"""What to type to install an optional extra, for the way this betbot was installed.

`pip install 'betbot-duckdice[report]'` is right for an install from the package index and wrong for one from
a clone (pip would fetch the package index's betbot beside the clone's). The distribution's `direct_url.json`
(PEP 610) says where betbot came from: a local directory (editable or not) gets the extra from that
directory; anything else from the index. The command names this interpreter's pip, so it installs into the
environment betbot runs in.
"""

from __future__ import annotations

import json
import shlex
import sys
from urllib.parse import unquote, urlparse

__all__ = ["DISTRIBUTION", "install_hint"]

DISTRIBUTION = "betbot-duckdice"


def _source() -> tuple[str, bool] | None:
    """(the local directory betbot was installed from, whether editably), or None."""
    from importlib import metadata  # noqa: PLC0415 - only on the error path (`--help` must not pay for it)

    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        origin = json.loads(text)
    except ValueError:
        return None
    url = urlparse(str(origin.get("url", "")))
    if url.scheme != "file" or "dir_info" not in origin:
        return None
    return unquote(url.path), bool(origin["dir_info"].get("editable"))


def install_hint(extra: str, packages: str) -> str:
    """`python -m pip install ...` that adds `extra` (which provides `packages`) to this betbot."""
    from importlib import metadata  # noqa: PLC0415 - only on the error path (`--help` must not pay for it)

    pip = f"{shlex.quote(sys.executable)} -m pip install"
    try:
        metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree on PYTHONPATH: only the packages will do
        return f"{pip} {packages}"
    source = _source()
    if source is None:
        return f"{pip} {shlex.quote(f'{DISTRIBUTION}[{extra}]')}"
    directory, editable = source
    return f"{pip} {'-e ' if editable else ''}{shlex.quote(f'{directory}[{extra}]')}"
