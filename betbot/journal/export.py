"""Exports of a session's bets as CSV or JSON Lines: streamed row by row, in constant memory.

One row per bet, the columns of `BET_COLUMNS` in that order. Money stays the journal's exact decimal
text; `decided_at` is ISO 8601 in UTC with microseconds; booleans are `true`/`false`; an absent value is
an empty field (CSV) or `null` (JSONL). `parse_row` reads a row of either format back into the very
`BetRecord` the journal holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from betbot.atomicfile import atomic_write
from betbot.journal.records import BetRecord, bet_record, datetime_to_micros, micros_to_datetime, parse_utc, utc_iso
from betbot.journal.schema import BET_COLUMNS
from betbot.journal.store import Journal

__all__ = ["FORMATS", "ExportFormat", "export_session", "export_to_file", "parse_row", "write_rows"]

ExportFormat = Literal["csv", "jsonl"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("csv", "jsonl")

_TIME_INDEX: Final = BET_COLUMNS.index("decided_at")
_BOOL_INDEXES: Final = tuple(BET_COLUMNS.index(name) for name in ("high", "faucet", "range_in", "win"))
_INTS: Final = frozenset({"session_id", "seq", "range_lo", "range_hi", "nonce", "roll"})
_BOOLS: Final = frozenset({"high", "faucet", "range_in", "win"})


def _values(row: Sequence[Any], true: Any, false: Any) -> list[Any]:
    values = list(row)
    values[_TIME_INDEX] = utc_iso(micros_to_datetime(values[_TIME_INDEX]))
    for index in _BOOL_INDEXES:
        value = values[index]
        if value is not None:
            values[index] = true if value else false
    return values


def write_rows(rows: Iterable[Sequence[Any]], out: TextIO, fmt: ExportFormat) -> int:
    """Write raw journal rows (`Journal.bet_rows`) to `out`; returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(BET_COLUMNS)
        for row in rows:
            writer.writerow(_values(row, "true", "false"))  # None is written as an empty field
            count += 1
    elif fmt == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        write = out.write
        for row in rows:
            write(dumps(dict(zip(BET_COLUMNS, _values(row, True, False), strict=True))))
            write("\n")
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return count


def export_session(journal: Journal, session_id: int, out: TextIO, fmt: ExportFormat) -> int:
    """Stream every bet of a session to `out`; UnknownSession before anything is written."""
    return write_rows(journal.bet_rows(session_id), out, fmt)


def export_to_file(journal: Journal, session_id: int, path: Path, fmt: ExportFormat) -> int:
    """As `export_session`, into a file that appears whole or not at all (a temp file, then os.replace)."""
    rows = journal.bet_rows(session_id)  # an unknown session fails here, before a file is made
    with atomic_write(path, durable=True) as out:
        return write_rows(rows, out, fmt)


def _bool(value: Any) -> int:
    return int(value) if isinstance(value, bool) else int(value == "true")


def _column(name: str) -> Callable[[Any], Any]:
    if name in _INTS:
        return int
    if name in _BOOLS:
        return _bool
    if name == "decided_at":
        return lambda text: datetime_to_micros(parse_utc(text))
    if name == "latency_ms":
        return float
    return str


_PARSERS: Final = tuple((name, _column(name)) for name in BET_COLUMNS)


def parse_row(row: Mapping[str, Any]) -> BetRecord:
    """A row of a CSV (all text) or JSONL (typed) export, back as the journal's record."""
    values = []
    for name, parse in _PARSERS:
        value = row[name]
        values.append(None if value is None or value == "" else parse(value))
    return bet_record(values)
