"""What a Monte Carlo run simulates: one frozen, picklable description that every worker receives.

A worker (another process, a Dask worker on another machine) needs nothing but the spec and a range of
session indices to compute its sessions, so the spec carries the validated settings themselves (rebuilt as
a plain `Settings`, without the API key: simulating needs no key and a cluster must never see one). Each
session is then built from them exactly as `betbot run` builds its session (`betbot.config.build`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from decimal import Decimal

from betbot.config.build import build_limits, build_strategy, game_rules, strategy_context
from betbot.config.settings import Settings
from betbot.core.rolls import RollSource, session_key
from betbot.core.session import Limits
from betbot.core.strategy import StrategyContext

__all__ = ["SimulationSpec", "random_master_seed"]

_SECRET_FIELDS = ("api_key", "api_key_file")


def random_master_seed() -> str:
    """A master seed for a run without --seed (printed and written to the results, so it replays)."""
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationSpec:
    """Sessions 0..sessions-1 of one configuration. `max_bets_cap` bounds each session's bets on top of the
    settings' own max_bets (the risk preview's budget); `paths` is how many leading sessions (indices
    0..paths-1) record their balance path for the fan chart."""

    settings: Settings
    sessions: int
    master_seed: str
    rolls: RollSource = RollSource.FAST
    max_bets_cap: int | None = None
    paths: int = 0
    use_kernel: bool = True  # False: every session on the generic path (to compare, or to rule the kernel out)

    @classmethod
    def create(cls, settings: Settings, *, sessions: int, master_seed: str, rolls: RollSource = RollSource.FAST,
               max_bets_cap: int | None = None, paths: int = 0, use_kernel: bool = True) -> SimulationSpec:
        """A spec from loaded settings; builds one session's strategy so bad parameters fail here (SettingsError)
        and not in a worker."""
        values = {name: getattr(settings, name) for name in Settings.model_fields}
        values.update(dict.fromkeys(_SECRET_FIELDS), live=False)
        plain = Settings.model_construct(**values)  # already validated; a plain class pickles
        spec = cls(settings=plain, sessions=sessions, master_seed=master_seed, rolls=rolls,
                   max_bets_cap=max_bets_cap, paths=paths, use_kernel=use_kernel)
        build_strategy(plain, spec.context(0))
        return spec

    @property
    def balance(self) -> Decimal:
        return self.settings.balance

    def limits(self) -> Limits:
        limits = build_limits(self.settings, self.balance)
        cap = self.max_bets_cap
        if cap is not None and (limits.max_bets is None or limits.max_bets > cap):
            limits = replace(limits, max_bets=cap)
        return limits

    def context(self, index: int) -> StrategyContext:
        """Session `index`'s strategy context; the strategy's own randomness is seeded from its key."""
        context = strategy_context(self.settings, self.balance, game_rules(self.settings))
        return replace(context, rng_seed=session_key(self.master_seed, index))
