"""Where betbot keeps its files by default: the user's data directory (XDG)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir"]


def data_dir() -> Path:
    """`$XDG_DATA_HOME/betbot`, or `~/.local/share/betbot` (a relative XDG_DATA_HOME is ignored, per the spec)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "betbot"
