"""A strategy plug-in for the Monte Carlo tests, installed the way a user's plug-in is: an entry point.

`install(directory)` writes this module and a `.dist-info` with a `betbot.strategies` entry point into the
directory; putting the directory on sys.path (and PYTHONPATH, for subprocesses) makes `explode` a strategy
name in this process, in spawned worker processes and in Dask workers.
"""

from __future__ import annotations

from pathlib import Path

PLUGIN_SOURCE = '''
from betbot.core.strategy import DiceParams, Strategy


class ExplodeParams(DiceParams):
    explode_at: int = -1  # the session whose strategy raises (by its rng_seed, the session's key)


class Explode(Strategy):
    name = "explode"
    summary = "flat, but raises ValueError at the third bet of one chosen session"
    Params = ExplodeParams
    max_in_flight = None

    def next_bet(self, view):
        if self.context.rng_seed == self.params.explode_at and view.bets == 3:
            raise ValueError("boom in the chosen session")
        return self.dice_bet(self.params.base_bet)
'''


def install(directory: Path) -> Path:
    (directory / "explode_plugin.py").write_text(PLUGIN_SOURCE)
    info = directory / "explode_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: explode-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[betbot.strategies]\nexplode = explode_plugin:Explode\n")
    return directory
