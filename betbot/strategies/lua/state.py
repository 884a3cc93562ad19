"""A script's plain-data globals as JSON and back, so `--resume` continues a script where it stopped.

Plain data: numbers (Lua 5.1's are all doubles; non-finite ones are skipped), strings, booleans, and
tables of those (nested, keyed by strings or numbers, without metatables or cycles). Functions, file
handles and the sandbox's own tables are not state and are left out. In JSON a string stays a string, a
number a number, a boolean a boolean; a table becomes {"table": [[key, value], ...]} so numeric and
string keys keep their types (a JSON object only has string keys).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["MAX_DEPTH", "from_json", "to_json"]

MAX_DEPTH: Final = 16
_SKIP: Final = object()


def _encode(value: Any, is_plain_table: Callable[[Any], bool], seen: set[Any], depth: int) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else _SKIP
    if depth >= MAX_DEPTH or not is_plain_table(value) or value in seen:
        return _SKIP
    seen.add(value)
    items: list[list[Any]] = []
    for key, item in value.items():
        encoded_key = _encode(key, is_plain_table, seen, MAX_DEPTH) if isinstance(key, str | int | float) else _SKIP
        encoded = _encode(item, is_plain_table, seen, depth + 1)
        if encoded_key is not _SKIP and encoded is not _SKIP:
            items.append([encoded_key, encoded])
    seen.discard(value)
    return {"table": items}


def to_json(values: Mapping[str, Any], is_plain_table: Callable[[Any], bool]) -> dict[str, Any]:
    """The plain-data ones among `values` (Lua values by name), as JSON-ready values."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        encoded = _encode(value, is_plain_table, set(), 0)
        if encoded is not _SKIP:
            out[name] = encoded
    return out


def from_json(value: Any, new_table: Any) -> Any:
    """A JSON value made by `to_json` back as a Lua value (tables through `new_table()`)."""
    if isinstance(value, dict):
        table = new_table()
        for key, item in value.get("table", []):
            table[from_json(key, new_table)] = from_json(item, new_table)
        return table
    if isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return float(value)
    return None
