"""Money parsing and quantisation: Decimal in, Decimal out, no float ever, errors that name the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betbot.core.money import (
    CHANCE_STEP,
    SATOSHI,
    ZERO,
    AmountError,
    money_text,
    parse_amount,
    parse_chance,
    quantize,
    quantize_chance,
    to_satoshis,
)


def same(a: Decimal, b: Decimal) -> bool:
    """Equal value AND the same representation (exponent): 1.5 vs 1.50000000 matters for the API."""
    return a == b and a.as_tuple().exponent == b.as_tuple().exponent


def test_constants() -> None:
    assert Decimal("0.00000001") == SATOSHI
    assert Decimal("0.01") == CHANCE_STEP
    assert ZERO == 0
    assert ZERO.as_tuple().exponent == -8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "1.00000000"),
        ("0", "0E-8"),
        ("0.00000001", "0.00000001"),
        ("  2.5 ", "2.50000000"),
        ("123456.12345678", "123456.12345678"),
        ("1E+2", "100.00000000"),
        ("1.100000000000", "1.10000000"),  # trailing zeros beyond 8 places are not extra precision
        (Decimal("0.5"), "0.50000000"),
        (7, "7.00000000"),
    ],
)
def test_parse_amount_accepts(text: str | Decimal | int, expected: str) -> None:
    value = parse_amount(text)
    assert isinstance(value, Decimal)
    assert same(value, Decimal(expected))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0.000000001", "more than 8 decimal places"),
        ("1.123456789", "more than 8 decimal places"),
        ("1e-9", "more than 8 decimal places"),
        ("-1", "0 or more"),
        ("-0.00000001", "0 or more"),
        ("NaN", "not a finite number"),
        ("sNaN", "not a finite number"),
        ("inf", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("1,5", "not a number"),
        ("0x10", "not a number"),
    ],
)
def test_parse_amount_rejects(text: str, needle: str) -> None:
    with pytest.raises(AmountError, match=needle) as info:
        parse_amount(text, "stake")
    assert str(info.value).startswith("stake: ")  # the message names the field
    assert isinstance(info.value, ValueError)


def test_parse_amount_zero_policy() -> None:
    assert parse_amount("0") == 0
    with pytest.raises(AmountError, match="more than 0"):
        parse_amount("0", allow_zero=False)
    assert parse_amount("0.00000001", allow_zero=False) == SATOSHI


@pytest.mark.parametrize("parser", [parse_amount, parse_chance])
@pytest.mark.parametrize("value", [0.5, 1.0, float("nan"), float("inf")])
def test_float_input_is_a_type_error(parser, value: float) -> None:
    with pytest.raises(TypeError, match="float"):
        parser(value)


# Found by this suite (decimal.InvalidOperation escaped from quantize); fixed in 344545b.
@pytest.mark.parametrize(
    ("parser", "text"),
    [(parse_amount, "1e30"), (parse_amount, "100000000000000000000000"), (parse_chance, "1e30")],
)
def test_huge_values_are_amount_errors(parser, text: str) -> None:
    with pytest.raises(AmountError):
        parser(text)


def test_large_but_representable_amounts_are_fine() -> None:
    assert parse_amount("9" * 19 + ".12345678") == Decimal("9" * 19 + ".12345678")


def test_twenty_digits_before_the_point_is_the_largest_amount() -> None:
    # 20 + 8 digits fill the default 28-digit context exactly; one more digit cannot be quantised.
    largest = "9" * 20 + ".99999999"
    assert same(parse_amount(largest), Decimal(largest))
    assert same(parse_chance("9" * 20), Decimal("9" * 20 + ".00"))


@pytest.mark.parametrize("parser", [parse_amount, parse_chance])
@pytest.mark.parametrize("text", ["1e20", "1" + "0" * 20, "1" + "0" * 20 + ".5"])
def test_twenty_one_digits_before_the_point_is_too_large(parser, text: str) -> None:
    with pytest.raises(AmountError, match="too large") as info:
        parser(text, "stake")
    assert str(info.value).startswith("stake: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("49.5", "49.50"), ("0.01", "0.01"), ("98", "98.00"), (" 77.77 ", "77.77"), (Decimal("12.3"), "12.30"),
     (5, "5.00"), ("49.500", "49.50")],
)
def test_parse_chance_accepts(text: str | Decimal | int, expected: str) -> None:
    assert same(parse_chance(text), Decimal(expected))


@pytest.mark.parametrize(
    ("text", "needle"),
    [("49.555", "more than 2 decimal places"), ("0.001", "more than 2 decimal places"),
     ("NaN", "not a finite number"), ("Infinity", "not a finite number"), ("fifty", "not a number")],
)
def test_parse_chance_rejects(text: str, needle: str) -> None:
    with pytest.raises(AmountError, match=needle):
        parse_chance(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.123456789", "1.12345678"),  # down, never up
        ("1.999999999", "1.99999999"),
        ("-1.123456789", "-1.12345678"),  # toward zero
        ("2", "2.00000000"),
        (3, "3.00000000"),
        (Decimal("0.000000019"), "0.00000001"),
    ],
)
def test_quantize_rounds_down(value: str | int | Decimal, expected: str) -> None:
    assert same(quantize(value), Decimal(expected))


# Found by this suite (quantize(0.3) was 0.29999999); fixed in 344545b.
def test_quantize_refuses_float() -> None:
    with pytest.raises(TypeError, match="float"):
        quantize(0.3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("49.555", "49.56"), ("49.554", "49.55"), ("0.005", "0.01"), ("98", "98.00")],
)
def test_quantize_chance_half_up(value: str, expected: str) -> None:
    assert same(quantize_chance(value), Decimal(expected))


@given(st.decimals(min_value=0, max_value=10**12, places=8, allow_nan=False, allow_infinity=False))
def test_parse_amount_round_trips_any_8_place_amount(value: Decimal) -> None:
    parsed = parse_amount(str(value))
    assert parsed == value
    assert parsed.as_tuple().exponent == -8


@given(st.decimals(min_value=0, max_value=10**6, places=9, allow_nan=False, allow_infinity=False))
def test_parse_amount_never_rounds(value: Decimal) -> None:
    if value == quantize(value):
        assert parse_amount(str(value)) == value
    else:
        with pytest.raises(AmountError):
            parse_amount(str(value))


@pytest.mark.parametrize(("value", "plain", "signed"), [
    ("0E-8", "0.00000000", "+0.00000000"),
    ("-0E-8", "0.00000000", "+0.00000000"),
    ("-0.000000004", "0.00000000", "+0.00000000"),  # rounds to a zero, which has no sign
    ("-3E-8", "-0.00000003", "-0.00000003"),
    ("12.5", "12.50000000", "+12.50000000"),
])
def test_money_text_is_fixed_point_and_zero_has_no_sign(value: str, plain: str, signed: str) -> None:
    assert money_text(Decimal(value)) == plain
    assert money_text(Decimal(value), sign=True) == signed


@pytest.mark.parametrize(("amount", "sats"), [
    ("0E-8", 0), ("0.00000001", 1), ("1.12345678", 112345678), ("-0.00000003", -3), ("21", 2_100_000_000),
])
def test_to_satoshis_is_exact(amount: str, sats: int) -> None:
    assert to_satoshis(Decimal(amount)) == sats


@pytest.mark.parametrize("amount", ["0.000000001", "1.123456789", "-0.000000015"])
def test_to_satoshis_refuses_a_ninth_place(amount: str) -> None:
    # Truncating here would lose money silently where the hot loops count in satoshis.
    with pytest.raises(ValueError, match="more than 8 decimal places"):
        to_satoshis(Decimal(amount))
