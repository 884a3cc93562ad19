"""The Lua VM a script runs in: PUC Lua 5.1 through lupa, with betbot's sandbox installed before any script code.

Why Lua 5.1. Public DiceBot scripts were written for DiceBot's embedded Lua: LuaInterface (Lua 5.1) in the
early versions, MoonSharp (a Lua 5.2 dialect with 5.1's library names kept) in DiceBot 3. What they use
is the common subset: 5.1's syntax, numbers that are all doubles (`print(10/2)` shows `5`, `%d` takes 2.0),
and 5.1's global names (`unpack`, `table.getn`, `math.pow`, `math.mod`, `loadstring`-era code). Lua 5.3+
would print `5.0` and reject `("%d"):format(2.5)`; lupa's 5.2 build lacks `unpack` and `table.getn`; so
5.1 runs the most scripts unmodified, and 5.2's `table.unpack`/`table.pack` are added for MoonSharp-era
scripts. PUC Lua rather than LuaJIT because the sandbox depends on two things LuaJIT does not give: a
memory cap (lupa's `max_memory` works only with PUC Lua's allocator) and an instruction count hook that
fires in every loop (LuaJIT's compiled traces skip count hooks, so an endless loop could not be stopped).

Theory of operation. `prelude.lua` runs once in the runtime's real global table: it keeps the functions it
needs as upvalues, builds the script's environment (`env`, the only table the script can reach) and
returns a control table. The script is compiled with `loadstring` under the chunk name "@<file name>" (so
errors read "martingale.lua:12: ...") and `setfenv`'d to `env`. Every call into script code goes through
the control table, which arms an instruction/CPU-time budget hook, runs the code under `pcall` and reports
(ok, message): script errors never surface as Python exceptions with Lua tracebacks. Python objects never
reach the script: Python callables are wrapped in Lua closures, and lupa's attribute filter refuses every
attribute of a Python object besides.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import lupa.lua51 as lua

from betbot.core.money import money_text, quantize
from betbot.strategies.lua.bits import BIT, BIT32
from betbot.strategies.lua.errors import ScriptError, one_line
from betbot.strategies.lua.files import DEFAULT_DIR_CAP, DEFAULT_FILE_CAP, ScriptFiles
from betbot.strategies.lua.surface import DICEBOT_GAPS, DUCKDICE_CURRENCIES, DUCKDICE_SITE_URL, HISTORY_CAP

__all__ = ["LuaRuntimeConfig", "ScriptRuntime", "strip_controls"]

_PRELUDE: Final = files("betbot.strategies.lua").joinpath("prelude.lua").read_text(encoding="utf-8")


@cache
def _prelude_bytecode() -> bytes:
    """The prelude compiled once per process: loading bytecode skips the parse (0.8 ms per script loaded,
    which a Monte Carlo run of a script pays per session). Only betbot's own code is ever loaded this way."""
    compiler = lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    dump: bytes = compiler.eval("function(s) return string.dump(assert(loadstring(s, '=prelude.lua'))) end")(
        _PRELUDE.encode())
    return dump


@cache
def _patterns_bytecode() -> bytes:
    """patterns.lua (the budgeted pattern matcher) compiled once per process, like the prelude."""
    source = files("betbot.strategies.lua").joinpath("patterns.lua").read_text(encoding="utf-8")
    compiler = lua.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    dump: bytes = compiler.eval("function(s) return string.dump(assert(loadstring(s, '=patterns.lua'))) end")(
        source.encode())
    return dump


MAX_PRINT: Final = 10_000  # characters of one print() kept for the log
MAX_MESSAGE: Final = 500  # characters of a script's error kept for the stop reason (the terminal, the journal)
# Terminal control sequences: CSI (colours, cursor moves), OSC (window titles, hyperlinks, clipboard), the
# string sequences DCS/SOS/PM/APC, any other escape, then every C0/C1 control left (not newline or tab).
_CONTROLS: Final = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LuaRuntimeConfig:
    """The caps and the facts the sandbox is built from."""

    name: str  # the script's file name, as errors show it
    files_dir: Path
    rng_seed: int
    currency: str
    balance: float
    edge: Decimal
    epoch: float  # os.time() of the virtual clock's zero
    max_instructions: int = 10_000_000
    max_seconds: float = 2.0
    max_wall_seconds: float = 5.0  # a wall-clock bound too: CPU time misses a call that waits or is starved
    max_memory: int = 64 * 1024 * 1024
    rep_cap: int = 1024 * 1024
    pattern_work: float = 5e7  # worst case above which string.find & co run budgeted, in Lua (prelude.lua)
    file_cap: int = DEFAULT_FILE_CAP
    dir_cap: int = DEFAULT_DIR_CAP
    origin_dir: Path | None = None  # a batch run's files are read from here, copied on first use


# Handed to the prelude as text (one Lua string each, not a table of Python objects per script loaded).
_CURRENCIES: Final = " ".join(c.lower() for c in DUCKDICE_CURRENCIES)
_GAPS: Final = " ".join(f"{name}={gap.value}" for name, gap in DICEBOT_GAPS.items())
_BIT_LIBRARIES: Final = {"bit": BIT, "bit32": BIT32}
BIT_NAMES: Final = {library: " ".join(sorted(functions)) for library, functions in _BIT_LIBRARIES.items()}


def _bits(library: str, name: str, *args: object) -> object:
    """One Python callable for both bit libraries (the prelude's closures name the function)."""
    return _BIT_LIBRARIES[library][name](*args)


def _refuse_attributes(obj: object, name: object, is_setting: bool) -> object:
    raise AttributeError("Python objects are not reachable from a betbot script")


def strip_controls(text: str) -> str:
    """`text` without terminal control sequences: what a script prints never drives the terminal."""
    return _CONTROLS.sub("", text)


class ScriptRuntime:
    """One script's Lua state: load it, run dobet() after each result, read and write its globals."""

    def __init__(self, config: LuaRuntimeConfig, printer: Callable[[str], None],
                 warn: Callable[[str, str], None] | None = None) -> None:
        self.config = config
        self.printer = printer
        self.warn = warn or (lambda _event, _text: None)
        self.skipped_totals: dict[str, tuple[int, Decimal]] = {}  # function -> (calls, amounts added up)
        self._kept: set[str] = set()
        self._rng = random.Random(config.rng_seed)
        self.files = ScriptFiles(config.files_dir, file_cap=config.file_cap, origin=config.origin_dir)
        self.lua = lua.LuaRuntime(max_memory=config.max_memory, register_eval=False, register_builtins=False,
                                  unpack_returned_tuples=True, attribute_filter=_refuse_attributes)
        table = self.lua.table_from
        bridge = table({
            "print": self._print, "path": self.files.path, "remove": self.files.remove,
            "rename": self.files.rename, "random": self._random, "randomseed": self._randomseed,
            "used": self.files.used, "skipped": self._skipped, "kept": self._kept_previous, "bits": _bits,
        })
        cfg = table({
            "budget": config.max_instructions, "seconds": config.max_seconds, "wall": config.max_wall_seconds,
            "epoch": config.epoch, "chunkname": "@" + config.name, "site_name": "DuckDice",
            "site_edge": float(config.edge), "site_url": DUCKDICE_SITE_URL, "currency": config.currency.lower(),
            "currencies": _CURRENCIES, "balance": config.balance, "rep_cap": config.rep_cap,
            "pattern_work": config.pattern_work, "file_cap": config.file_cap, "dir_cap": config.dir_cap,
            "files_dir": str(config.files_dir), "bit_names": BIT_NAMES["bit"], "bit32_names": BIT_NAMES["bit32"],
            "gaps": _GAPS, "patterns": _patterns_bytecode(), "history_cap": HISTORY_CAP,
        })
        lua_globals = self.lua.globals()
        lua_globals.python = None
        self.control: Any = lua_globals.loadstring(_prelude_bytecode())(bridge, cfg)
        self.env: Any = self.control.env
        self._decision = self.control.decision
        self._rawget, self._rawset = lua_globals.rawget, lua_globals.rawset
        self._collect = lua_globals.collectgarbage  # fetched now: compiling a chunk needs memory

    # -- the bridge's Python side (never raises into Lua) -------------------------------------------
    def _print(self, text: object) -> None:
        line = str(text)
        if len(line) > MAX_PRINT:
            line = line[:MAX_PRINT] + f"… ({len(line) - MAX_PRINT} more characters)"
        self.printer(strip_controls(line))

    def _skipped(self, function: object, amount: object, where: object) -> None:
        """A tip/withdraw/invest the script reached: counted, said, and not done (betbot never moves money)."""
        name = str(function)
        value = None
        if isinstance(amount, int | float) and not isinstance(amount, bool) and math.isfinite(amount):
            value = quantize(Decimal(format(amount, ".15g")))
        count, total = self.skipped_totals.get(name, (0, Decimal(0)))
        self.skipped_totals[name] = (count + 1, total + (value or 0))
        shown = "no amount" if value is None else money_text(value)
        self.warn("script.skipped", f"{strip_controls(str(where))}: {name}({shown}) skipped: betbot never moves "
                                    "money out of the account; the script goes on")

    def _kept_previous(self, name: object, kind: object) -> None:
        if name in self._kept:
            return
        self._kept.add(str(name))
        self.warn("script.kept_previous", f"{self.config.name}: dobet() left {name} {kind}; the previous value is "
                                          "kept, as DiceBot does (said once)")

    def _random(self, m: object = None, n: object = None) -> float | int:
        rng = self._rng
        if m is None:
            return rng.random()
        low, high = (1, m) if n is None else (m, n)
        if not isinstance(low, int | float) or not isinstance(high, int | float):
            return rng.random()  # Lua would fail on the argument; the sandbox never raises from Python
        low_i, high_i = int(low), int(high)
        return rng.randint(low_i, high_i) if low_i <= high_i else low_i

    def _randomseed(self, seed: object) -> None:
        # Reseeding mixes in the session's seed, so `math.randomseed(os.time())` still replays a run.
        self._rng.seed(f"{self.config.rng_seed}/{seed}")

    # -- what the strategy calls --------------------------------------------------------------------
    def load(self, source: str) -> str | None:
        """Run the script's top level; None, or the error message (one line)."""
        ok, message = self._guard(lambda: self.control.load(source))
        return None if ok else str(self.message(message))

    def decision(self) -> tuple[Any, ...]:
        """(ok, nextbet, chance, bethigh, currency, stop, reseed, pause) as the script left them."""
        return tuple(self._decision())

    def failure(self, exc: BaseException) -> ScriptError:
        """A Lua exception out of the control table (the memory cap, mostly) as a one-line ScriptError."""
        if isinstance(exc, lua.LuaMemoryError):
            return ScriptError(self._out_of_memory())
        return self.message(str(exc))

    def _guard(self, call: Callable[[], Any]) -> tuple[bool, str]:
        try:
            result = call()
        except lua.LuaMemoryError:
            return False, self._out_of_memory()
        except lua.LuaError as exc:  # the sandbox's own code failing: still one line, never a traceback
            return False, one_line(str(exc))
        ok, message = (result, "") if not isinstance(result, tuple) else (result[0], result[1])
        return bool(ok), one_line(str(message)) if not ok else ""

    def _out_of_memory(self) -> str:
        with suppress(lua.LuaMemoryError):  # free what the failed call left, if the collector finds room
            self._collect("collect")
        cap = self.config.max_memory // (1024 * 1024)
        return f"{self.config.name}: not enough memory (the sandbox's {cap} MiB cap: an allocation without bound?)"

    def message(self, raw: object) -> ScriptError:
        text = strip_controls(one_line(str(raw)))
        if text == "not enough memory":
            return ScriptError(self._out_of_memory())
        if not text.startswith(self.config.name + ":"):
            text = f"{self.config.name}: {text}"
        if len(text) > MAX_MESSAGE:  # error(string.rep("x", 1e6)) must not become a megabyte of stop reason
            text = text[:MAX_MESSAGE] + f"… ({len(text) - MAX_MESSAGE} more characters)"
        return ScriptError(text)

    def get(self, name: str) -> Any:
        """A global of the script, read raw (no metamethod of the script's runs)."""
        return self._rawget(self.env, name)

    def set(self, name: str, value: object) -> None:
        self._rawset(self.env, name, value)
