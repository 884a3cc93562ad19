"""betbot: an async betting bot daemon for DuckDice, with a provably-fair simulator."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # The version is read on first use: importlib.metadata costs ~10 ms, and `betbot --help` must start fast.
    if name != "__version__":
        raise AttributeError(f"module 'betbot' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        found = version("betbot-duckdice")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
