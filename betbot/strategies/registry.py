"""Where strategies are found: the built-ins, any package's `betbot.strategies` entry points, and files.

A name is looked up in that order: a built-in, then an installed plug-in's entry point. A name of the form
`path/to/file.py:ClassName` is a Python file: it is imported under a private module name (never added to
`sys.path`) and `ClassName` must be a concrete `betbot.core.strategy.Strategy` subclass. Every way that
can go wrong (no such file, a syntax error, an exception while importing, no such class, not a Strategy)
raises `StrategyFileError`, a `StrategyNotFound` with a one-line message naming the file and, when
Python knows it, the line: the CLI turns it into exit code 2 like any other bad strategy name.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import sys
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from betbot.core.strategy import Strategy

__all__ = [
    "BUILTIN_STRATEGIES",
    "ENTRY_POINT_GROUP",
    "StrategyFileError",
    "StrategyNotFound",
    "available_strategies",
    "file_spec",
    "is_file_spec",
    "load_strategy",
    "load_strategy_file",
]

ENTRY_POINT_GROUP = "betbot.strategies"

# Also declared as entry points in pyproject.toml; listed here so a source checkout works uninstalled.
BUILTIN_STRATEGIES: dict[str, str] = {
    "flat": "betbot.strategies.flat:Flat",
    "martingale": "betbot.strategies.martingale:Martingale",
    "anti-martingale": "betbot.strategies.anti_martingale:AntiMartingale",
    "dalembert": "betbot.strategies.dalembert:DAlembert",
    "fibonacci": "betbot.strategies.fibonacci:Fibonacci",
    "labouchere": "betbot.strategies.labouchere:Labouchere",
    "paroli": "betbot.strategies.paroli:Paroli",
    "oscars-grind": "betbot.strategies.oscars_grind:OscarsGrind",
    "one-three-two-six": "betbot.strategies.one_three_two_six:OneThreeTwoSix",
    "advanced": "betbot.strategies.advanced:AdvancedStrategy",
    "preset-list": "betbot.strategies.preset_list:PresetList",
    "kelly": "betbot.strategies.sizing:KellyCapped",
    "percent-of-balance": "betbot.strategies.sizing:PercentOfBalance",
    "hunter": "betbot.strategies.hunter:Hunter",
    "lua": "betbot.strategies.lua:LuaStrategy",
}


class StrategyNotFound(LookupError):
    """No strategy has that name; the message suggests the nearest ones."""


class StrategyFileError(StrategyNotFound):
    """A `FILE.py:ClassName` strategy could not be loaded; the message names the file and the line."""


def _import(target: str) -> type[Strategy]:
    module_name, _, attr = target.partition(":")
    loaded = getattr(import_module(module_name), attr)
    if not (isinstance(loaded, type) and issubclass(loaded, Strategy)):
        raise TypeError(f"{target} is not a betbot Strategy subclass")
    return loaded


@cache
def _entry_point_targets() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_strategies() -> list[str]:
    """Every strategy name, built-ins first, then third-party ones in name order."""
    extra = sorted(set(_entry_point_targets()) - set(BUILTIN_STRATEGIES))
    return [*BUILTIN_STRATEGIES, *extra]


def is_file_spec(name: str) -> bool:
    """Whether a strategy name is a Python file (`path/to/file.py:ClassName`) rather than a registered name."""
    path, sep, _ = name.rpartition(":")
    return bool(sep) and path.endswith(".py")


def file_spec(name: str) -> str:
    """A file strategy's `FILE.py:ClassName` with the file's absolute path (what a journal keeps)."""
    path, _, class_name = name.rpartition(":")
    return f"{Path(path).resolve()}:{class_name}"


def load_strategy(name: str) -> type[Strategy]:
    """The strategy class registered under `name` (built-ins win over a third party's same name), or the
    class `ClassName` of the file for `path/to/file.py:ClassName`."""
    if is_file_spec(name) or name.endswith(".py"):
        return load_strategy_file(name)
    target = BUILTIN_STRATEGIES.get(name) or _entry_point_targets().get(name)
    if target is None:
        close = difflib.get_close_matches(name, available_strategies(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise StrategyNotFound(
            f"unknown strategy {name!r}{hint} (`betbot strategies` lists them all)"
        )
    return _import(target)


def load_strategy_file(spec: str) -> type[Strategy]:
    """The Strategy subclass `ClassName` defined in the Python file of `spec` (`path/to/file.py:ClassName`)."""
    path_text, sep, class_name = spec.rpartition(":")
    if not sep or not path_text.endswith(".py") or not class_name.isidentifier():
        raise StrategyFileError(
            f"strategy {spec!r}: name the class too, as path/to/file.py:ClassName"
        )
    path = Path(path_text)
    if not path.is_file():
        raise StrategyFileError(f"strategy file {path} does not exist")
    module = _exec_file(path)
    found = getattr(module, class_name, None)
    if found is None:
        candidates = sorted(
            attr for attr, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Strategy) and value is not Strategy
            and value.__module__ == module.__name__
        )
        hint = f"; it defines {', '.join(candidates)}" if candidates else "; it defines no Strategy subclass"
        raise StrategyFileError(f"strategy file {path} has no class {class_name}{hint}")
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise StrategyFileError(
            f"{path}:{class_name} is not a betbot Strategy subclass (subclass betbot.core.strategy.Strategy)"
        )
    if inspect.isabstract(found):
        missing = ", ".join(sorted(getattr(found, "__abstractmethods__", ())))
        raise StrategyFileError(f"{path}:{class_name} does not implement {missing}")
    for attribute in ("name", "summary", "Params"):
        if not hasattr(found, attribute):
            raise StrategyFileError(f"{path}:{class_name} does not set the class attribute {attribute}")
    return found


def _exec_file(path: Path) -> ModuleType:
    """Import a file as a private module; its own errors become one line naming the file and the line."""
    resolved = path.resolve()
    module_name = "betbot_strategy_file_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    loaded = sys.modules.get(module_name)
    if isinstance(loaded, ModuleType):
        return loaded
    try:
        source = resolved.read_bytes()
    except OSError as exc:
        raise StrategyFileError(f"strategy file {path} cannot be read: {exc.strerror or exc}") from None
    module = ModuleType(module_name)
    module.__file__ = str(resolved)
    sys.modules[module_name] = module  # pydantic resolves the module's annotations through sys.modules
    try:
        # Compiled here rather than imported: no __pycache__ is written next to the user's file.
        code = compile(source, str(resolved), "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - running the user's own strategy file is the point
    except SyntaxError as exc:
        del sys.modules[module_name]
        raise StrategyFileError(f"strategy file {path}, line {exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - whatever the file raises becomes one line for the user
        del sys.modules[module_name]
        line = _line_in(exc, resolved)
        where = f", line {line}" if line is not None else ""
        detail = " ".join(str(exc).split())  # one line, whatever the exception's text
        raise StrategyFileError(
            f"strategy file {path}{where}: {type(exc).__name__}{': ' + detail if detail else ''}"
        ) from None
    return module


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The line of `path` where the exception passed last (the innermost frame of that file)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
