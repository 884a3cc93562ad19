"""The `lua` strategy: a DiceBot "programmer mode" script, unmodified, as a betbot Strategy.

Theory of operation (the contract is docs/dicebot-scripts.md). At construction the whole script runs once
in its sandbox (`ScriptRuntime`); any failure then is a `ScriptLoadError` (exit code 2, nothing started).
`next_bet` turns the script's `nextbet`/`chance`/`bethigh` into a bet; `on_result` sets the globals of
the result (nextbet reset to the previous amount, win computed from the roll, lastBet, currentstreak, ...),
calls `dobet()` in the same Lua call and keeps what it left. What the script asked for on the way is
answered at the next decision, in this order: stop() ends the session (at once, from `on_result`);
resetseed() makes the next decision RESEED; sleep(ms) makes it Pause(ms / 1000); then the bet.

A `nextbet`, `chance` or `bethigh` that dobet() left nil or not a number keeps its previous value (as in
DiceBot, said once in the log). `nextbet = 0` is DiceBot's "watch" bet: a roll with nothing at stake. A bad
`nextbet` (NaN, negative, above the balance) or a changed currency stops the session with the reason; a Lua
error during the session raises `ScriptError` (one line: the file, the line, the message), which the session
machine turns into a STRATEGY_ERROR stop. tip/withdraw/invest are skipped and counted (`summary_notes`).

`max_in_flight` is 1 (a script sees every result before its next bet) unless the script sets a top-level
`inflight_ok = true`, when it is unbounded and the script reads `inflight` to know how many bets are
still unresolved. On resume the script's plain-data globals come back through save_state/restore_state.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, ClassVar, Final

import lupa.lua51 as lua
from pydantic import Field, field_validator

from betbot.config.paths import data_dir
from betbot.core.fairness import bet_wins, winning_numbers
from betbot.core.models import BetRequest, Settled
from betbot.core.money import SATOSHI, money_text, quantize
from betbot.core.strategy import (
    RESEED,
    Decision,
    Pause,
    SessionView,
    StopStrategy,
    Strategy,
    StrategyContext,
    StrategyParams,
)
from betbot.observe.logs import get_logger
from betbot.strategies.lua.dialect import DialectError, Translation, translate
from betbot.strategies.lua.errors import ScriptLoadError
from betbot.strategies.lua.runtime import LuaRuntimeConfig, ScriptRuntime, strip_controls
from betbot.strategies.lua.state import from_json, to_json

__all__ = ["LuaParams", "LuaStrategy", "batch_mode", "read_script", "script_decimal"]

_CHANCE_STEP: Final = Decimal("0.01")
_CACHE_LIMIT: Final = 4096
# Globals betbot sets before every dobet(): not the script's state, so not saved for a resume.
_PROVIDED: Final = frozenset({
    "win", "currentprofit", "currentstreak", "previousbet", "balance", "profit", "wagered", "bets", "wins",
    "losses", "currentroll", "lastBet", "lastbet", "site", "inflight", "_G", "_VERSION",
})
MAX_SCRIPT_BYTES: Final = 1024 * 1024


class LuaParams(StrategyParams):
    script: Path = Field(description="the DiceBot Lua script to play (classic programmer mode)")
    max_instructions: int = Field(
        default=10_000_000, ge=10_000, le=2_000_000_000,
        description="Lua instructions one call (the top level, one dobet) may run before it is stopped",
    )
    max_memory_mb: int = Field(default=64, ge=4, le=4096, description="memory cap of the script's Lua state")

    @field_validator("script")
    @classmethod
    def _existing_file(cls, value: Path) -> Path:
        path = value.expanduser()
        if not path.is_file():
            raise ValueError(f"no such file: {value} (give the path of a .lua script)")
        return path.absolute()


def read_script(script: Path) -> str:
    """A script's text as betbot loads it (UTF-8, a byte-order mark dropped); ScriptLoadError if unreadable."""
    try:
        data = script.read_bytes()
    except OSError as exc:
        raise ScriptLoadError(f"{script}: cannot read the script: {exc.strerror}") from None
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptLoadError(f"{script}: {len(data)} bytes is too big for a script (at most {MAX_SCRIPT_BYTES})")
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def script_decimal(value: float) -> Decimal:
    """A Lua number as DiceBot turned it into money: C#'s double-to-decimal conversion keeps 15 significant
    digits, so `5 * 0.000001` (4.9999999999999996e-06 as a double) is 0.000005, as the script meant."""
    return Decimal(format(value, ".15g"))


_BATCH: ContextVar[Path | None] = ContextVar("betbot_lua_batch", default=None)


@contextmanager
def batch_mode() -> Iterator[None]:
    """Scripts loaded inside play many simulated sessions (a Monte Carlo run, the risk preview): their print()
    goes nowhere and their files to a throw-away directory, never the script's own (a log a live run wrote
    is not overwritten by two thousand simulated sessions)."""
    with tempfile.TemporaryDirectory(prefix="betbot-lua-batch-") as scratch:
        token = _BATCH.set(Path(scratch))
        try:
            yield
        finally:
            _BATCH.reset(token)


def _discard(_text: str) -> None:
    return None


def _log_print(name: str) -> Callable[[str], None]:
    log = get_logger()

    def emit(text: str) -> None:  # the runtime has stripped terminal control sequences already
        log.info("script.print", script=name, text=text)

    return emit


def _log_warning(name: str) -> Callable[[str, str], None]:
    def emit(event: str, text: str) -> None:  # the logger is fetched when needed: most scripts never warn
        get_logger().warning(event, script=name, detail=text)

    return emit


def _discard_warning(_event: str, _text: str) -> None:
    return None


class LuaStrategy(Strategy):
    """Runs a DiceBot programmer-mode Lua script in a sandbox: dobet() after every result."""

    name = "lua"
    summary = "a DiceBot programmer-mode Lua script, unmodified (betbot run --script FILE)"
    Params = LuaParams
    max_in_flight: ClassVar[int | None] = 1

    params: LuaParams

    def __init__(self, params: StrategyParams, context: StrategyContext, *,
                 printer: Callable[[str], None] | None = None, epoch: float | None = None,
                 files_dir: Path | None = None, origin_dir: Path | None = None) -> None:
        super().__init__(params, context)
        script = self.params.script
        self.script_name = script.name
        self._amounts: dict[float, Decimal] = {}
        self._chances: dict[float, Decimal] = {}
        self._facts: dict[Decimal, tuple[float, int]] = {}
        self._bets: dict[tuple[object, object, object], BetRequest] = {}
        window = context.range_window
        self._reuse_bets = window is None or window.at is not None  # a random window is drawn per bet
        self._pending = False  # stop(), resetseed() or sleep() to answer before the next bet
        self._reseed = False
        self._pause = 0.0
        self._stop: str | None = None
        source = self._read(script)
        try:  # DiceBot 3's SharpLua into Lua 5.1, line for line (so errors name the user's lines)
            self.translation: Translation = translate(source)
        except DialectError as exc:
            raise ScriptLoadError(f"{self.script_name}:{exc.line}: {exc}") from None
        batch = _BATCH.get()
        origin = None
        if files_dir is None and batch is not None:
            # The run's own directory, read through a copy: the preview plays what the run will play.
            files_dir, origin = batch / script.stem, data_dir() / "scripts" / script.stem
        config = LuaRuntimeConfig(
            name=self.script_name, files_dir=files_dir or data_dir() / "scripts" / script.stem,
            origin_dir=origin if origin_dir is None else origin_dir, rng_seed=context.rng_seed,
            currency=context.currency, balance=float(context.starting_balance), edge=context.rules.edge,
            epoch=time.time() if epoch is None else epoch, max_instructions=self.params.max_instructions,
            max_memory=self.params.max_memory_mb * 1024 * 1024,
        )
        self.runtime = ScriptRuntime(config, printer or (_discard if batch else _log_print(self.script_name)),
                                     warn=_discard_warning if batch else _log_warning(self.script_name))
        self._step = self.runtime.control.step
        self._currency = context.currency.lower()
        env = self.runtime.env
        self._baseline = {str(key) for key in env}  # the sandbox's own globals
        error = self.runtime.load(self.translation.text)
        if error is not None:
            raise ScriptLoadError(error)
        get = self.runtime.get  # raw reads: a script's metatable on _G (strict mode) is not run from here
        if lua.lua_type(get("dobet")) != "function":
            raise ScriptLoadError(f"{self.script_name}: the script defines no dobet() function (DiceBot calls it "
                                  "after every bet)")
        if get("nextbet") is None:
            raise ScriptLoadError(f"{self.script_name}: the script never sets nextbet (the amount of the first bet)")
        if get("basebet") is None:
            self.runtime.set("basebet", get("nextbet"))  # what martingale(win) and friends go back to
        if get("inflight_ok") is True:
            # The class says 1; this script declared it tolerates lag. An instance attribute shadows the
            # ClassVar for `effective_concurrency`, which reads `strategy.max_in_flight`.
            vars(self)["max_in_flight"] = None
        self._take(self.runtime.decision())
        problem = self._check(self._nextbet, context.starting_balance)
        if problem is not None:
            raise ScriptLoadError(f"{self.script_name}: {problem}")

    def _read(self, script: Path) -> str:
        return read_script(script)

    # -- what the script left ---------------------------------------------------------------------------
    def _take(self, decision: tuple[Any, ...]) -> None:
        if not decision[0]:
            raise self.runtime.message(decision[1])
        _, self._nextbet, self._chance, self._high, currency, stop, reseed, pause = decision
        if stop:
            self._stop = "the script called stop()"
        if reseed:
            self._reseed = True
        if pause:
            self._pause += float(pause)
        if currency is not None and str(currency).lower() != self._currency:
            shown = strip_controls(str(currency))  # the script's text: never a terminal control sequence
            self._stop = (f"{self.script_name}: the script switched currency to {shown}; a session plays one "
                          f"currency ({self.context.currency})")
        self._pending = self._stop is not None or self._reseed or self._pause > 0

    def _check(self, nextbet: object, balance: Decimal) -> str | None:
        """Why `nextbet` cannot be bet, or None."""
        if isinstance(nextbet, bool) or not isinstance(nextbet, int | float):
            kind = lua.lua_type(nextbet) or type(nextbet).__name__
            return f"nextbet must be a number, not {'nil' if nextbet is None else kind}"
        if math.isnan(nextbet):
            return "nextbet is NaN (not a number)"
        amount = self._amount(float(nextbet))
        if amount < 0:
            return f"nextbet is {nextbet!r}: it must not be negative (0 is a watch bet: a roll with nothing at stake)"
        if amount > balance:
            return f"nextbet {amount} is above the balance {balance}"
        return None

    def _amount(self, value: float) -> Decimal:
        cached = self._amounts.get(value)
        if cached is None:
            if math.isinf(value):
                return Decimal("Infinity") if value > 0 else Decimal("-Infinity")
            cached = quantize(script_decimal(value)) if value >= 0 else script_decimal(value).quantize(SATOSHI)
            if len(self._amounts) >= _CACHE_LIMIT:
                self._amounts.clear()
            self._amounts[value] = cached
        return cached

    def _chance_of(self, value: object) -> Decimal | str:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"chance must be a number, not {value!r}"
        cached = self._chances.get(float(value))
        if cached is None:
            cached = script_decimal(float(value)).quantize(_CHANCE_STEP, rounding=ROUND_HALF_EVEN)
            if len(self._chances) >= _CACHE_LIMIT:
                self._chances.clear()
            self._chances[float(value)] = cached
        return cached

    # -- the Strategy protocol ----------------------------------------------------------------------------
    def next_bet(self, view: SessionView) -> Decision:
        if self._pending:
            return self._pending_decision()
        nextbet = self._nextbet
        key = (nextbet, self._chance, self._high)
        bet = self._bets.get(key) if nextbet.__class__ is float or nextbet.__class__ is int else None
        if bet is not None and bet.amount <= view.balance:
            return bet
        problem = self._check(nextbet, view.balance)
        if problem is not None:
            return StopStrategy(f"{self.script_name}: {problem}")
        chance = self._chance_of(self._chance)
        if isinstance(chance, str):
            return StopStrategy(f"{self.script_name}: {chance}")
        bet = self.dice_bet(self._amount(nextbet), chance, self._high is not False and self._high is not None)
        if self._reuse_bets:  # a bet is frozen data: the same choice can be answered with the same object
            if len(self._bets) >= _CACHE_LIMIT:
                self._bets.clear()
            self._bets[key] = bet
        return bet

    def _pending_decision(self) -> Decision:
        self._pending = False
        if self._stop is not None:
            self._pending = True
            return StopStrategy(self._stop)
        if self._reseed:
            self._reseed = False
            self._pending = self._pause > 0
            return RESEED
        seconds, self._pause = self._pause, 0.0
        return Pause(seconds)

    def on_result(self, result: Settled, view: SessionView) -> StopStrategy | None:
        bet = result.bet
        facts = self._facts.get(bet.amount)
        if facts is None:
            facts = self._facts_of(bet.amount)
        amount, _ = facts
        chance, wins_from = self._facts.get(bet.chance) or self._facts_of(bet.chance)
        number = result.number
        if bet.range is not None:
            won = bet_wins(bet, number)
        else:  # the contract's rule, on the integer roll: high wins above 99.99 - chance, low below chance
            won = number >= 10000 - wins_from if bet.high else number < wins_from
        try:
            nextbet, chance, high, status = self._step(
                amount, won, float(result.profit), number / 100, chance, bet.high, result.nonce, result.bet_hash,
                float(result.balance), float(view.profit), float(view.wagered), view.bets, view.wins, view.losses,
                view.streak, view.in_flight, self._currency, result.server_seed_hash, result.client_seed,
            )
        except lua.LuaError as exc:  # the memory cap (or the sandbox itself failing): one line all the same
            raise self.runtime.failure(exc) from None
        if status is False:  # the common case: the script only chose its next bet
            self._nextbet, self._chance, self._high = nextbet, chance, high
            return None
        if status is not True:
            raise self.runtime.message(status)
        self._take(self.runtime.decision())
        if self._stop is not None:
            return StopStrategy(self._stop)
        return None

    def summary_notes(self) -> dict[str, Any]:
        """The summary's `script_skipped`: per function betbot skipped (tip, withdraw, invest), how many calls
        and their amounts added up; with the summary it is journaled too."""
        return {"script_skipped": {
            name: {"calls": count, "amount": money_text(total)}
            for name, (count, total) in sorted(self.runtime.skipped_totals.items())
        }}

    def _facts_of(self, value: Decimal) -> tuple[float, int]:
        """An amount or a chance as the script sees it (a double) and, for a chance, its winning rolls."""
        if len(self._facts) >= _CACHE_LIMIT:
            self._facts.clear()
        facts = self._facts[value] = (float(value), winning_numbers(value))
        return facts

    def __deepcopy__(self, memo: dict[int, Any]) -> LuaStrategy:
        """A Lua state cannot be copied: a copy is the script loaded afresh, then given this one's state."""
        config = self.runtime.config
        twin = type(self)(self.params, self.context, printer=self.runtime.printer, epoch=config.epoch,
                          files_dir=config.files_dir, origin_dir=config.origin_dir)
        twin.restore_state(self.save_state())
        return twin

    # -- resume ---------------------------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        runtime = self.runtime
        getmetatable = runtime.lua.globals().getmetatable

        def plain(value: Any) -> bool:
            return lua.lua_type(value) == "table" and getmetatable(value) is None

        mine = {
            str(key): value for key, value in runtime.env.items()  # a raw walk: no metamethod runs
            if isinstance(key, str) and key not in _PROVIDED
            and (key not in self._baseline or lua.lua_type(value) not in ("table", "function"))
        }
        sandbox = runtime.control.state()
        return {"globals": to_json(mine, plain),
                "sandbox": to_json({key: sandbox[key] for key in ("vclock", "base", "helpers")}, plain),
                **self.summary_notes()}

    def restore_state(self, state: dict[str, Any]) -> None:
        runtime = self.runtime
        new_table = runtime.lua.table
        for name, value in dict(state.get("globals", {})).items():
            runtime.set(name, from_json(value, new_table))
        sandbox = {key: from_json(value, new_table) for key, value in dict(state.get("sandbox", {})).items()}
        runtime.control.restore(runtime.lua.table_from(sandbox))
        for name, entry in dict(state.get("script_skipped", {})).items():  # a resumed session counts them all
            runtime.skipped_totals[str(name)] = (int(entry["calls"]), Decimal(str(entry["amount"])))
        self._take(self.runtime.decision())
