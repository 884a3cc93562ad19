"""betbot: an async betting bot daemon for DuckDice, with a provably-fair simulator."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("betbot-duckdice")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
