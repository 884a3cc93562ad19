"""The search space: which parameters `optimize` varies, over what, checked against the strategy's own model.

Theory of operation. `-p NAME=SPEC` names a parameter of the strategy's pydantic model (`Params`); SPEC is
    lo..hi        a range (a whole-number field gives whole numbers, a decimal field decimals)
    lo..hi:log    a range searched on a log scale (lo > 0): base bets, multipliers
    lo..hi:int    whole numbers only
    a,b,c         a choice among values (reset,multiply / true,false / 1,2,5)
and anything else is a fixed value, exactly as `betbot run -p` takes it. A candidate is a plain dict of
parameter values as the model takes them from the command line (decimal text, whole numbers, words), so
the preset written for the winner and the cache of evaluated candidates use the very same values.

Decimals are rounded to 4 significant digits (and to the field's own decimal places, e.g. a chance's 0.01):
a stake of 0.01234 and one of 0.012345678 play alike, and equal rounded candidates are evaluated once.

The checks use the model itself, not a copy of its bounds: every end of a range and every choice is built
into the strategy (`check`), so "multiplier=0.5..4" fails with the model's own words ("greater than 1").
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import UnionType
from typing import Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["Dimension", "SearchSpace", "SpaceError", "candidate_key", "load_space_file", "looks_searched",
           "split_params"]

SIGNIFICANT: Final = 4
DEFAULT_PLACES: Final = 8  # amounts: the currency's 8 places
_RANGE: Final = re.compile(r"^\s*([^.][^:]*?)\s*\.\.\s*([^:]+?)\s*(?::\s*(log|int)\s*)?$")

Kind = Literal["decimal", "int", "choice"]


class SpaceError(ValueError):
    """A search space that makes no sense: one line naming the parameter and the fix."""


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter."""

    name: str
    kind: Kind
    spec: str  # as given, for messages and the study's record
    low: Decimal | None = None
    high: Decimal | None = None
    log: bool = False
    choices: tuple[str, ...] = ()
    places: int = DEFAULT_PLACES

    def bounds(self) -> tuple[Decimal, Decimal]:
        """A range's ends (a choice has none)."""
        if self.low is None or self.high is None:
            raise TypeError(f"{self.name} is a choice, not a range")
        return self.low, self.high

    def value(self, raw: float | int | str) -> str | int:
        """The candidate's value for what the sampler drew: rounded, inside the range, as the model takes it."""
        if self.kind == "choice":
            return str(raw)
        if self.kind == "int":
            return int(raw)
        low, high = self.bounds()
        number = Decimal(repr(float(raw)))
        if number:
            exponent = number.adjusted() - SIGNIFICANT + 1
            number = number.quantize(Decimal(1).scaleb(max(exponent, -self.places)))
        number = min(max(number, low), high)
        return f"{number.normalize():f}"

    def grid(self, points: int) -> list[str | int]:
        """Values for `--grid`: every whole number, every choice, or `points` values spread over the range."""
        if self.kind == "choice":
            return list(self.choices)
        ends = self.bounds()
        if self.kind == "int":
            return list(range(int(ends[0]), int(ends[1]) + 1))
        low, high = float(ends[0]), float(ends[1])
        if points == 1:
            return [self.value(low)]
        if self.log:
            step = (math.log(high) - math.log(low)) / (points - 1)
            raws = [math.exp(math.log(low) + step * k) for k in range(points)]
        else:
            raws = [low + (high - low) * k / (points - 1) for k in range(points)]
        return list(dict.fromkeys(self.value(raw) for raw in raws))

    def ends(self) -> list[str | int]:
        """The values `check` builds: both ends of a range, every choice."""
        if self.kind == "choice":
            return list(self.choices)
        low, high = self.bounds()
        if self.kind == "int":
            return [int(low), int(high)]
        return [f"{low:f}", f"{high:f}"]


@dataclass(frozen=True, slots=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # How a candidate's values become the strategy's parameters, when not simply put in place (a Lua
    # script's parameters become a variant of the script: `betbot.optimize.script_params`).
    render: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def candidate(self, values: Mapping[str, str | int]) -> dict[str, Any]:
        """The strategy's parameters for one candidate: the fixed ones, then the searched ones."""
        if self.render is not None:
            return self.render(values)
        return {**self.fixed, **values}

    def first(self) -> dict[str, str | int]:
        """A candidate's values: every range at its lower end, every choice at its first value."""
        return {dimension.name: dimension.ends()[0] for dimension in self.dimensions}

    def describe(self) -> dict[str, str]:
        return {dimension.name: dimension.spec for dimension in self.dimensions}

    def check(self, build: Callable[[dict[str, Any]], None]) -> None:
        """Build the strategy at every end of every range and every choice (the others at their first value);
        `build` raises ValueError with the model's own message, re-raised as SpaceError naming the -p."""
        first = self.first()
        for dimension in self.dimensions:
            for value in dimension.ends():
                try:
                    build(self.candidate({**first, dimension.name: value}))
                except ValueError as exc:
                    raise SpaceError(f"-p {dimension.name}={dimension.spec}: at {value}: {exc}") from None


def candidate_key(params: Mapping[str, Any]) -> str:
    """One text per distinct candidate (its parameters, in name order)."""
    return json.dumps(dict(sorted(params.items())), default=str, separators=(",", ":"))


def _annotation_kind(annotation: Any) -> tuple[Kind | None, tuple[str, ...]]:
    """What a field holds, for searching: a decimal, a whole number, one of some words; None: not searchable."""
    if get_origin(annotation) in (Union, UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _annotation_kind(inner[0]) if len(inner) == 1 else (None, ())
    if annotation is bool:
        return "choice", ("true", "false")
    if annotation is int:
        return "int", ()
    if annotation is Decimal or annotation is float:
        return "decimal", ()
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(arg) for arg in get_args(annotation))
    return None, ()


def _places(model: type[BaseModel], name: str) -> int:
    for item in model.model_fields[name].metadata:
        places = getattr(item, "decimal_places", None)
        if isinstance(places, int):
            return places
    return DEFAULT_PLACES


def _number(text: str, name: str, spec: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise SpaceError(f"-p {name}={spec}: {text.strip()!r} is not a number; a range is lo..hi, e.g. 1.5..4"
                         ) from None
    if not number.is_finite():
        raise SpaceError(f"-p {name}={spec}: the ends of a range must be finite numbers")
    return number


def _numbers(*texts: str) -> bool:
    try:
        return all(Decimal(text.strip()).is_finite() for text in texts)
    except InvalidOperation:
        return False


def _dimension(model: type[BaseModel], name: str, spec: str) -> Dimension | None:
    """The dimension `-p name=spec` asks for, or None when spec is a fixed value."""
    kind, words = _annotation_kind(model.model_fields[name].annotation)
    matched = _RANGE.match(spec)
    if matched is not None and (kind is not None or _numbers(matched.group(1), matched.group(2))):
        low_text, high_text, scale = matched.groups()
        if kind is None or kind == "choice":
            what = f"one of {', '.join(words)}: list the ones to try, e.g. {','.join(words[:2])}" if words else \
                "no number"
            raise SpaceError(f"-p {name}={spec}: {name} takes {what}, not a range")
        low, high = _number(low_text, name, spec), _number(high_text, name, spec)
        if low >= high:
            raise SpaceError(f"-p {name}={spec}: the range is empty; give the lower end first, lo..hi with lo < hi")
        if scale == "log" and low <= 0:
            raise SpaceError(f"-p {name}={spec}: a log range needs a lower end above 0")
        whole = kind == "int" or scale == "int"
        if whole and (low != low.to_integral_value() or high != high.to_integral_value()):
            raise SpaceError(f"-p {name}={spec}: a whole-number range needs whole ends, e.g. 1..5")
        return Dimension(name=name, kind="int" if whole else "decimal", spec=spec, low=low, high=high,
                         log=scale == "log", places=_places(model, name))
    if "," in spec and not spec.lstrip().startswith(("[", "{")) and kind is not None:
        choices = tuple(dict.fromkeys(part.strip() for part in spec.split(",")))
        if any(not choice for choice in choices):
            raise SpaceError(f"-p {name}={spec}: an empty choice; list the values as a,b,c")
        if len(choices) < 2:
            raise SpaceError(f"-p {name}={spec}: give at least two different values to choose from")
        return Dimension(name=name, kind="choice", spec=spec, choices=choices)
    return None


def looks_searched(spec: str) -> bool:
    """Whether a -p value is a range or a choice (before the strategy, and so the field, is known)."""
    matched = _RANGE.match(spec)
    if matched is not None and _numbers(matched.group(1), matched.group(2)):
        return True
    return "," in spec and not spec.lstrip().startswith(("[", "{"))


def split_params(items: Iterable[tuple[str, str]], model: type[BaseModel], strategy: str, *,
                 listed: str | None = None) -> tuple[list[Dimension], dict[str, str]]:
    """`-p name=spec` pairs as the searched dimensions and the fixed values (as text, for the model).

    `strategy` names what takes the parameters in messages; `listed` says where they are listed."""
    dimensions: list[Dimension] = []
    fixed: dict[str, str] = {}
    for raw_name, spec in items:
        name = raw_name.strip().replace("-", "_")
        if name not in model.model_fields:
            known = ", ".join(sorted(model.model_fields)) or "none"
            where = listed or f"`betbot strategies show {strategy}`"
            raise SpaceError(f"-p {raw_name}: {strategy} has no parameter {name!r}; it takes {known} ({where})")
        if name in fixed or any(dimension.name == name for dimension in dimensions):
            raise SpaceError(f"-p {raw_name}: given twice; give each parameter once")
        dimension = _dimension(model, name, spec)
        if dimension is None:
            fixed[name] = spec
        else:
            dimensions.append(dimension)
    return dimensions, fixed


def load_space_file(path: Path) -> list[tuple[str, str]]:
    """`--space FILE.toml`: a `[space]` table of `name = "lo..hi"`, `name = ["a", "b"]` or a fixed value."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpaceError(f"--space {path} does not exist; give a TOML file with a [space] table") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"--space {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"--space {path} is not valid TOML: {exc}") from None
    table = document.get("space")
    if not isinstance(table, dict) or not table or set(document) != {"space"}:
        raise SpaceError(f"--space {path}: put the parameters in one [space] table, e.g. multiplier = \"1.5..4\"")
    items: list[tuple[str, str]] = []
    for name, value in table.items():
        if isinstance(value, list):
            text = ",".join(_toml_text(item) for item in value)
        elif isinstance(value, dict):
            raise SpaceError(f"--space {path}: {name} is a table; give a range text, a list or a value")
        else:
            text = _toml_text(value)
        items.append((name, text))
    return items


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
