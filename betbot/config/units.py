"""Parsers for the human units in flags and config: durations ("250ms", "5m", "1h30m"), limit amounts
given absolutely or as a percentage of the starting balance ("10", "10%"), and HOST:PORT addresses."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from betbot.core.money import AmountError, parse_amount, quantize

__all__ = ["AmountOrPercent", "is_loopback", "parse_amount_or_percent", "parse_duration", "parse_host_port"]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DURATION_DAYS = 366  # any longer "duration" is a typo or an overflow (1e308), never a plan
_MAX_PERCENT_DIGITS = 9  # digits before the point: up to 999,999,999 %


def parse_duration(text: str | float | int, *, require_unit: bool = False) -> float:
    """Seconds from "90", "1.5s", "250ms", "5m", "1h30m" or "2d"; a bare number is seconds.

    `require_unit`: a bare number other than 0 is an error whose message suggests the units, because
    `--sim-latency 50` meaning 50 seconds surprises everyone who meant milliseconds.
    """
    compact = str(text).strip().lower().replace(" ", "")
    try:
        seconds = float(compact)
    except ValueError:
        parts = _DURATION_PART.findall(compact)
        if not parts or "".join(n + u for n, u in parts) != compact:
            hint = "" if require_unit else "a number of seconds or "
            raise ValueError(f"{text!r} is not a duration; use {hint}units like 250ms, 30s, 5m, 1h30m") from None
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    else:
        if require_unit and math.isfinite(seconds) and seconds != 0:
            raise ValueError(f"{compact!r} has no unit: write {compact}ms or {compact}s (units: ms, s, m, h, d)")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{text!r} must be a finite duration of 0 or more")
    if seconds > MAX_DURATION_DAYS * _UNIT_SECONDS["d"]:
        raise ValueError(f"{text!r} is longer than {MAX_DURATION_DAYS} days; give a shorter duration")
    return seconds


@dataclass(frozen=True, slots=True)
class AmountOrPercent:
    """A limit amount, absolute or as a percentage of the starting balance."""

    value: Decimal
    percent: bool = False

    def resolve(self, starting_balance: Decimal) -> Decimal:
        return quantize(starting_balance * self.value / 100) if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


def parse_amount_or_percent(text: str | Decimal | int | AmountOrPercent) -> AmountOrPercent:
    if isinstance(text, AmountOrPercent):
        return text
    if isinstance(text, str) and text.strip().endswith("%"):
        number = text.strip()[:-1]
        try:
            value = Decimal(number)
        except ArithmeticError:
            raise ValueError(f"{text!r} is not a percentage like 10%") from None
        if not value.is_finite() or value <= 0:
            raise ValueError(f"{text!r} must be a percentage above 0, like 10%")
        if value.adjusted() >= _MAX_PERCENT_DIGITS:  # 1e400% would overflow when resolved to an amount
            raise ValueError(f"{text!r} is too large a percentage")
        return AmountOrPercent(value, percent=True)
    try:
        return AmountOrPercent(parse_amount(text, "amount", allow_zero=False))
    except AmountError as exc:
        raise ValueError(f"{exc}; give an amount like 5 or a percentage of the balance like 10%") from None


def parse_host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9108` for IPv6) as (host, port); ValueError naming what is wrong."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:9108")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        # An empty host would bind every interface: the opposite of what an empty-looking address suggests.
        if not host:
            raise ValueError(f"{text!r} has no host inside the brackets, e.g. [::1]:9108")
    elif ":" in host:
        # Without brackets `::1` would read as host ':' port 1, so an IPv6 host must be bracketed.
        raise ValueError(f"{text!r}: put an IPv6 address in brackets, e.g. [::1]:9108")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"port {port_text!r} must be a number from 1 to 65535, e.g. 127.0.0.1:9108")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    import ipaddress  # noqa: PLC0415 - a few ms that `betbot health` and `--help` need not pay

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
