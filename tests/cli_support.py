"""`betbot` run as a user runs it: a subprocess whose environment holds none of the caller's BETBOT_* settings.

`ENV` is read at import, after tests/conftest.py has pointed XDG_DATA_HOME at a throw-away directory, so no
subprocess reaches the user's own journal or caches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["BETBOT", "ENV", "betbot"]

BETBOT: list[str] = [sys.executable, "-m", "betbot"]
ENV: dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith("BETBOT_")}


def betbot(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120,
           cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`betbot ARGS` to its end, output captured as text. `env` is laid over `ENV` (it adds and overrides)."""
    return subprocess.run([*BETBOT, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd,
                          env={**ENV, **(env or {})})
