"""The live backend's error, importable without the HTTP stack: `betbot run` catches it, and a simulated run
never loads httpx and the DuckDice client (a quarter of a second at start-up)."""

from __future__ import annotations

from betbot.redact import redact

__all__ = ["DuckDiceError"]


class DuckDiceError(Exception):
    """A call other than a bet failed. The message is already redacted; `status` is the HTTP status if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(redact(message))
        self.status = status
