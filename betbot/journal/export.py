"""Exports of a session's bets as CSV or JSON Lines: streamed row by row, in constant memory.

One row per bet, the columns of `EXPORT_COLUMNS` in that order: the journal's `BET_COLUMNS`, with the roll
twice. Values are spelled as `betbot.journal.formats` says, the same as `history` and `report` show them:
money (amount, profit, balance_after) fixed-point with 8 places; the chance in percent with its 2 places;
`roll` as the site shows it (`27.14`) and `roll_hundredths` as the API's integer 0..9999 (2714);
`latency_ms` to 2 places; `decided_at` ISO 8601 in UTC with microseconds; booleans `true`/`false`; an
absent value is an empty field (CSV) or `null` (JSONL). `parse_row` reads a row of either format back into
the journal's `BetRecord` (with the latency as rounded).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from betbot.atomicfile import atomic_write
from betbot.journal.formats import chance_text, latency_ms, latency_text, money, roll_text
from betbot.journal.records import BetRecord, bet_record, datetime_to_micros, micros_to_datetime, parse_utc, utc_iso
from betbot.journal.schema import BET_COLUMNS
from betbot.journal.store import Journal

__all__ = [
    "EXPORT_COLUMNS",
    "FORMATS",
    "ExportFormat",
    "RowWrapper",
    "as_is",
    "export_session",
    "export_to_file",
    "parse_row",
    "write_rows",
]

ExportFormat = Literal["csv", "jsonl"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("csv", "jsonl")

_ROLL: Final = BET_COLUMNS.index("roll")
EXPORT_COLUMNS: Final = (*BET_COLUMNS[: _ROLL + 1], "roll_hundredths", *BET_COLUMNS[_ROLL + 1 :])

_TIME_INDEX: Final = BET_COLUMNS.index("decided_at")
_BOOL_INDEXES: Final = tuple(BET_COLUMNS.index(name) for name in ("high", "faucet", "range_in", "win"))
_REPEATED_MONEY: Final = tuple(BET_COLUMNS.index(name) for name in ("amount", "profit"))
_BALANCE_INDEX: Final = BET_COLUMNS.index("balance_after")
_CHANCE_INDEX: Final = BET_COLUMNS.index("chance")
_LATENCY_INDEX: Final = BET_COLUMNS.index("latency_ms")
_INTS: Final = frozenset({"session_id", "seq", "range_lo", "range_hi", "nonce", "roll_hundredths"})
_BOOLS: Final = frozenset({"high", "faucet", "range_in", "win"})
_REPEATS_KEPT: Final = 4096  # distinct chance and money texts remembered (stakes and profits repeat)


def _row_writer(latency_value: Callable[[float], Any]) -> Callable[[Sequence[Any], Any, Any], list[Any]]:
    """A function from a raw journal row to the export's values; it remembers the spelling of repeated
    chances and amounts (a progression's few stakes), not of every balance."""
    spelled_money: dict[str, str] = {}
    spelled_chances: dict[str, str] = {}

    def spell(text: str, how: Callable[[str], str], spelled: dict[str, str]) -> str:
        done = spelled.get(text)
        if done is None:
            done = how(text)
            if len(spelled) < _REPEATS_KEPT:
                spelled[text] = done
        return done

    def values(row: Sequence[Any], true: Any, false: Any) -> list[Any]:
        out = list(row)
        out[_TIME_INDEX] = utc_iso(micros_to_datetime(out[_TIME_INDEX]))
        for index in _BOOL_INDEXES:
            value = out[index]
            if value is not None:
                out[index] = true if value else false
        for index in _REPEATED_MONEY:
            value = out[index]
            if value is not None:
                out[index] = spell(value, money, spelled_money)
        balance = out[_BALANCE_INDEX]
        if balance is not None:
            out[_BALANCE_INDEX] = money(balance)  # a new one each bet: not worth remembering
        out[_CHANCE_INDEX] = spell(out[_CHANCE_INDEX], chance_text, spelled_chances)
        latency = out[_LATENCY_INDEX]
        if latency is not None:
            out[_LATENCY_INDEX] = latency_value(latency)
        roll = out[_ROLL]
        out.insert(_ROLL + 1, roll)
        if roll is not None:
            out[_ROLL] = roll_text(roll)
        return out

    return values


def write_rows(rows: Iterable[Sequence[Any]], out: TextIO, fmt: ExportFormat) -> int:
    """Write raw journal rows (`Journal.bet_rows`) to `out`; returns how many."""
    count = 0
    if fmt == "csv":
        values = _row_writer(latency_text)  # text with its 2 places, "53.50"
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow(values(row, "true", "false"))  # None is written as an empty field
            count += 1
    elif fmt == "jsonl":
        values = _row_writer(latency_ms)  # a number rounded to 2 places, 53.5
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        write = out.write
        for row in rows:
            write(dumps(dict(zip(EXPORT_COLUMNS, values(row, True, False), strict=True))))
            write("\n")
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return count


RowWrapper = Callable[[Iterable[Any]], Iterable[Any]]  # wraps a stream of rows on its way (a progress bar)


def as_is(rows: Iterable[Any]) -> Iterable[Any]:
    """The RowWrapper that leaves the rows alone."""
    return rows


def export_session(journal: Journal, session_id: int, out: TextIO, fmt: ExportFormat,
                   watch: RowWrapper = as_is) -> int:
    """Stream every bet of a session to `out`; UnknownSession before anything is written. `watch` wraps the
    rows on their way (a progress bar counts them)."""
    return write_rows(watch(journal.bet_rows(session_id)), out, fmt)


def export_to_file(journal: Journal, session_id: int, path: Path, fmt: ExportFormat,
                   watch: RowWrapper = as_is) -> int:
    """As `export_session`, into a file that appears whole or not at all (a temp file, then os.replace)."""
    rows = journal.bet_rows(session_id)  # an unknown session fails here, before a file is made
    with atomic_write(path, durable=True) as out:
        return write_rows(watch(rows), out, fmt)


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


# The roll is read back from its integer column; the text beside it says the same.
_PARSERS: Final = tuple(
    (name if name != "roll" else "roll_hundredths", _column(name if name != "roll" else "roll_hundredths"))
    for name in BET_COLUMNS
)


def parse_row(row: Mapping[str, Any]) -> BetRecord:
    """A row of a CSV (all text) or JSONL (typed) export, back as the journal's record."""
    values = []
    for name, parse in _PARSERS:
        value = row[name]
        values.append(None if value is None or value == "" else parse(value))
    return bet_record(values)
