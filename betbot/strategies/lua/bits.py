"""The `bit` and `bit32` libraries a DiceBot script may call (SharpLua loads both; Lua 5.1 has neither).

    bit    LuaBitOp's names (tobit, tohex, bnot, band, bor, bxor, lshift, rshift, arshift, rol, ror, bswap):
           every result is a signed 32-bit number (-2^31 .. 2^31 - 1), shift counts are taken mod 32.
    bit32  Lua 5.2's library (band, bor, bxor, bnot, btest, lshift, rshift, arshift, lrotate, rrotate,
           extract, replace): every result is unsigned (0 .. 2^32 - 1), a shift by 32 or more gives 0.

An argument becomes a 32-bit integer as both libraries do it: rounded to the nearest integer (ties to even),
then taken modulo 2^32. A function answers its result, or (None, what is wrong with an argument), which the
sandbox's Lua closure raises at the script's line: nothing here raises into Lua.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

__all__ = ["BIT", "BIT32"]

_MASK: Final = 0xFFFFFFFF
Result = float | str | bool | tuple[None, str]


def _u32(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return round(value) & _MASK


def _signed(value: int) -> float:
    return float(value - (1 << 32) if value & 0x80000000 else value)


def _args(values: tuple[object, ...], at_least: int) -> list[int] | str:
    if len(values) < at_least:
        return "number expected, got no value"
    out: list[int] = []
    for i, value in enumerate(values, 1):
        u = _u32(value)
        if u is None:
            return f"#{i}: number expected, got {type(value).__name__ if value is not None else 'nil'}"
        out.append(u)
    return out


def _fold(op: Callable[[int, int], int], start: int, signed: bool) -> Callable[..., Result]:
    def fn(*values: object) -> Result:
        args = _args(values, 0 if not signed else 1)
        if isinstance(args, str):
            return None, args
        acc = start
        for a in args:
            acc = op(acc, a)
        return _signed(acc) if signed else float(acc)
    return fn


def _unary(op: Callable[[int], int], signed: bool) -> Callable[..., Result]:
    def fn(*values: object) -> Result:
        args = _args(values[:1], 1)
        if isinstance(args, str):
            return None, args
        result = op(args[0]) & _MASK
        return _signed(result) if signed else float(result)
    return fn


def _shift(op: Callable[[int, int], int], signed: bool) -> Callable[..., Result]:
    def fn(*values: object) -> Result:
        if len(values) < 2:
            return None, "number expected, got no value"
        x = _u32(values[0])
        n = values[1]
        if x is None or isinstance(n, bool) or not isinstance(n, int | float) or not math.isfinite(n):
            return None, "number expected"
        result = op(x, round(n)) & _MASK
        return _signed(result) if signed else float(result)
    return fn


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & _MASK


def _sar(x: int, n: int) -> int:
    return (x - (1 << 32) if x & 0x80000000 else x) >> n


def _lshift32(x: int, n: int) -> int:
    if n < 0:
        return _rshift32(x, -n)
    return 0 if n >= 32 else x << n


def _rshift32(x: int, n: int) -> int:
    if n < 0:
        return _lshift32(x, -n)
    return 0 if n >= 32 else x >> n


def _arshift32(x: int, n: int) -> int:
    if n < 0:
        return _lshift32(x, -n)
    return _sar(x, min(n, 31))


def _tohex(*values: object) -> Result:
    x = _u32(values[0]) if values else None
    if x is None:
        return None, "number expected"
    digits = values[1] if len(values) > 1 else 8
    if isinstance(digits, bool) or not isinstance(digits, int | float) or not math.isfinite(digits):
        return None, "number expected"
    count = round(digits)
    width = min(abs(count), 8) or 8
    text = f"{x & ((1 << (4 * width)) - 1):0{width}x}"
    return text.upper() if count < 0 else text


def _extract(*values: object) -> Result:
    args = _args(values[:3] if len(values) >= 3 else (*values[:2], 1), 2)
    if isinstance(args, str):
        return None, args
    x, field, width = args
    if field > 31 or width < 1 or field + width > 32:
        return None, "trying to access non-existent bits"
    return float((x >> field) & ((1 << width) - 1))


def _replace(*values: object) -> Result:
    args = _args(values[:4] if len(values) >= 4 else (*values[:3], 1), 3)
    if isinstance(args, str):
        return args
    x, v, field, width = args
    if field > 31 or width < 1 or field + width > 32:
        return None, "trying to access non-existent bits"
    mask = ((1 << width) - 1) << field
    return float((x & ~mask & _MASK) | ((v << field) & mask))


def _btest(*values: object) -> Result:
    result = _fold(lambda a, b: a & b, _MASK, signed=False)(*values)
    return result if isinstance(result, tuple) else result != 0


BIT: Final[dict[str, Callable[..., object]]] = {
    "tobit": _unary(lambda x: x, signed=True),
    "tohex": _tohex,
    "bnot": _unary(lambda x: ~x, signed=True),
    "band": _fold(lambda a, b: a & b, _MASK, signed=True),
    "bor": _fold(lambda a, b: a | b, 0, signed=True),
    "bxor": _fold(lambda a, b: a ^ b, 0, signed=True),
    "lshift": _shift(lambda x, n: x << (n % 32), signed=True),
    "rshift": _shift(lambda x, n: x >> (n % 32), signed=True),
    "arshift": _shift(lambda x, n: _sar(x, n % 32), signed=True),
    "rol": _shift(_rotl, signed=True),
    "ror": _shift(lambda x, n: _rotl(x, -n), signed=True),
    "bswap": _unary(lambda x: int.from_bytes(x.to_bytes(4, "little"), "big"), signed=True),
}

BIT32: Final[dict[str, Callable[..., object]]] = {
    "band": _fold(lambda a, b: a & b, _MASK, signed=False),
    "bor": _fold(lambda a, b: a | b, 0, signed=False),
    "bxor": _fold(lambda a, b: a ^ b, 0, signed=False),
    "bnot": _unary(lambda x: ~x, signed=False),
    "btest": _btest,
    "lshift": _shift(_lshift32, signed=False),
    "rshift": _shift(_rshift32, signed=False),
    "arshift": _shift(_arshift32, signed=False),
    "lrotate": _shift(_rotl, signed=False),
    "rrotate": _shift(lambda x, n: _rotl(x, -n), signed=False),
    "extract": _extract,
    "replace": _replace,
}
