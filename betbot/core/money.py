"""Money: `Decimal` quantised to the currency's 8 places, and the parsers that make it from text.

No float ever becomes a balance, a stake or a profit. Amounts enter as strings (from the API, the
command line, a config file) and stay `Decimal` from there on.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "CHANCE_STEP",
    "SATOSHI",
    "ZERO",
    "AmountError",
    "money_text",
    "parse_amount",
    "parse_chance",
    "quantize",
    "quantize_chance",
    "to_satoshis",
]

SATOSHI = Decimal("0.00000001")
CHANCE_STEP = Decimal("0.01")
ZERO = Decimal("0E-8")
# The default decimal context holds 28 digits; with 8 after the point, 20 may stand before it.
_MAX_DIGITS_BEFORE_POINT = 20


class AmountError(ValueError):
    """A piece of text is not a usable amount; the message names what was wrong."""


def quantize(value: Decimal | int | str) -> Decimal:
    """An amount to 8 places, rounded down: a stake is never rounded up past what was asked."""
    if isinstance(value, float):  # its binary value is not the number its author wrote
        raise TypeError("quantize: got a float; money must come from a string or a Decimal")
    return Decimal(value).quantize(SATOSHI, rounding=ROUND_DOWN)


def to_satoshis(amount: Decimal) -> int:
    """An amount with at most 8 places as exact integer satoshis (ValueError if it has more)."""
    scaled = amount.scaleb(8)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than 8 decimal places")
    return int(scaled)


def money_text(value: Decimal, *, sign: bool = False) -> str:
    """An amount as fixed-point text with exactly 8 places: `0.00000000`, `-0.00000003`, never `0E-8`.

    `sign`: always show the sign (`+0.00000000`), as a profit is written. Exact for any amount of up to
    8 places (`format` never rounds those); more places are rounded half-even, which never happens to
    money that came through `quantize` or `parse_amount`.
    """
    text = format(value, "+.8f" if sign else ".8f")
    if text[0] == "-" and not text.strip("-0."):
        text = text.replace("-", "+" if sign else "", 1)  # a negative zero, or what rounds to it, is zero
    return text


def quantize_chance(value: Decimal | int | str) -> Decimal:
    """A win chance to the site's 0.01 % step (half-up, as the site displays it)."""
    return Decimal(value).quantize(CHANCE_STEP, rounding=ROUND_HALF_UP)


def _to_decimal(text: str | Decimal | int, what: str) -> Decimal:
    if isinstance(text, float):  # a float here means a bug upstream: refuse rather than round silently
        raise TypeError(f"{what}: got a float; money must come from a string or a Decimal")
    try:
        value = Decimal(text) if not isinstance(text, str) else Decimal(text.strip())
    except InvalidOperation:
        raise AmountError(f"{what}: {text!r} is not a number") from None
    if not value.is_finite():
        raise AmountError(f"{what}: {text!r} is not a finite number")
    return value


def parse_amount(text: str | Decimal | int, what: str = "amount", *, allow_zero: bool = True) -> Decimal:
    """Parse a non-negative amount with at most 8 decimal places (more is an error, not a rounding)."""
    value = _to_decimal(text, what)
    if value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "more than 0"
        raise AmountError(f"{what}: {text!r} must be {bound}")
    if value.adjusted() >= _MAX_DIGITS_BEFORE_POINT:
        raise AmountError(f"{what}: {text!r} is too large")
    if value != value.quantize(SATOSHI, rounding=ROUND_DOWN):
        raise AmountError(f"{what}: {text!r} has more than 8 decimal places")
    return value.quantize(SATOSHI)


def parse_chance(text: str | Decimal | int, what: str = "chance") -> Decimal:
    """Parse a win chance in percent with at most 2 decimal places (range checks are the game's)."""
    value = _to_decimal(text, what)
    if value.adjusted() >= _MAX_DIGITS_BEFORE_POINT:
        raise AmountError(f"{what}: {text!r} is too large")
    if value != value.quantize(CHANCE_STEP, rounding=ROUND_DOWN):
        raise AmountError(f"{what}: {text!r} has more than 2 decimal places (the site's step is 0.01 %)")
    return value.quantize(CHANCE_STEP)
