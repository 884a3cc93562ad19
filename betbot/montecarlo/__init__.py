"""Monte Carlo: many independent sessions of one configuration, played through the session machine.

    settings ──► SimulationSpec (spec.py) ──► chunks of session indices (plan.py)
                       │                           │ run_chunk(spec, start, stop)  (chunk.py: kernel or generic)
                       │                   executors.py: in-process │ local processes │ Dask
                       ▼                           ▼
                 the driver (driver.py) ──► Aggregates (results.py), CSV rows, balance paths, progress
                       ▼
               table.py / plots.py / the --json document;  preview.py: the risk preview of `betbot run`

Session i depends on (master seed, i) alone (`betbot.core.rolls`), so results are identical for any worker
count, executor and scheduling.
"""
