"""How the journal's values are written: one spelling per kind of value, shared by `history`, `export` and
`report`, so the same bet reads the same wherever a person (or a program) meets it.

- Money: fixed-point text with the currency's 8 places, `-1.00000000`, never `0E-8` nor `1E+2`.
- Rolls: the site's 0.00..99.99, `27.14`, wherever a person reads one. The integer 0..9999 the API calls
  `number` appears only in machine formats, in a column named `roll_hundredths`.
- Percentages (chances, win rates, luck): two places and a spaced sign, `51.20 %`. A chance in an export
  is the number alone with its two places, `49.50`, in a column named `chance` (percent, as the site's).
- Latencies: milliseconds to two places, `53.53` (measured to the microsecond, meaningful to about that).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from betbot.core.money import money_text
from betbot.core.verify import format_roll as roll_text  # the roll as the site shows it: 2714 -> 27.14

__all__ = [
    "LATENCY_PLACES",
    "chance_text",
    "latency_ms",
    "latency_text",
    "money",
    "percent",
    "roll_from_text",
    "roll_text",
]

_TWO: Final = Decimal("0.01")
_LEADS: Final = frozenset("-0123456789")
LATENCY_PLACES: Final = 2


def money(value: Decimal | str | int) -> str:
    """An amount as fixed-point text with 8 places: `12.5` -> `12.50000000`, `0E-8` -> `0.00000000`.

    The journal's texts are mostly plain decimals already: those are padded as text (an export writes
    millions), anything else goes through Decimal."""
    if isinstance(value, str) and value[-1:].isdigit() and value[:1] in _LEADS and "E" not in value:
        if not value.strip("-0."):
            return "0.00000000"  # a zero, perhaps negative
        point = value.find(".")
        if point < 0:
            return value + ".00000000"
        places = len(value) - point - 1
        if places <= 8:
            return value + "0" * (8 - places)
    return money_text(Decimal(value))


def roll_from_text(text: str) -> int:
    """`27.14` -> 2714, exactly (the inverse of `roll_text`)."""
    return int(Decimal(text).scaleb(2).to_integral_exact())


def chance_text(chance: Decimal | str) -> str:
    """A chance as a number with its two places, `49.5` -> `49.50` (machine formats; people get `percent`)."""
    return f"{Decimal(chance).quantize(_TWO):f}"


def percent(value: Decimal | float | str) -> str:
    """A percentage for people: `51.20 %`."""
    if isinstance(value, float):
        return f"{value:.2f} %"
    return f"{Decimal(value).quantize(_TWO):f} %"


def latency_ms(value: float) -> float:
    """A latency rounded to the places it is written with."""
    return round(value, LATENCY_PLACES)


def latency_text(value: float | None, *, unit: bool = False) -> str:
    """`53.53` (or `53.53 ms`); `-` when there is none."""
    if value is None:
        return "-"
    return f"{value:.{LATENCY_PLACES}f}{' ms' if unit else ''}"
