"""How local worker processes start: from a fresh interpreter, never a fork of this process and its threads.

Where the platform has a fork server (POSIX), workers are forked from it: the server is spawned once and
imports what a chunk needs once (about a second: the settings, the strategies, NumPy), so each worker starts
at once, and exits without unwinding the interpreter when the pool closes. Elsewhere they are spawned, and
each imports everything itself.

`start_early` starts the server (it imports in the background) while `betbot simulate` is still reading its
settings, so the two overlap on a machine with two cores. This module imports nothing of betbot's: starting
early must not wait for the imports it is meant to overlap.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver

__all__ = ["start_early", "worker_context"]

# What every worker runs, imported once in the fork server.
PRELOAD = ["betbot.montecarlo.chunk", "betbot.montecarlo.kernel"]


def worker_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context local workers start in (a fork server's, else spawn)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_early() -> None:
    """Start the fork server now, if workers will fork from one; it returns at once (the server imports on
    its own) and does nothing if the server runs already."""
    if worker_context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()
