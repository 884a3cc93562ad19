"""DiceBot "programmer mode" Lua scripts, unmodified, on a sandboxed Lua 5.1 VM (lupa).

    strategy.py  the `lua` Strategy: lifecycle, globals, decisions, resume
    runtime.py   the Lua state, the prelude that builds the sandbox, the budget (why Lua 5.1: see there)
    prelude.lua  the sandbox itself, in Lua: the script's environment and the calls Python drives
    files.py     file I/O confined to one directory per script (capped; copy-on-read in batch runs)
    surface.py   DiceBot 3's functions betbot does not run as DiceBot does (DICEBOT_GAPS), DuckDice's site facts
    bits.py      the `bit` and `bit32` libraries
    dialect/     DiceBot 3's SharpLua dialect rewritten into Lua 5.1, line for line; other dialects refused
    state.py     plain-data globals to JSON and back
    errors.py    ScriptLoadError (exit code 2) and ScriptError (a STRATEGY_ERROR stop)
"""

from betbot.strategies.lua.errors import ScriptError, ScriptLoadError
from betbot.strategies.lua.strategy import LuaParams, LuaStrategy, batch_mode

__all__ = ["LuaParams", "LuaStrategy", "ScriptError", "ScriptLoadError", "batch_mode"]
