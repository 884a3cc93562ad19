"""`betbot optimize` and `betbot compare`: which configuration to play, answered by `simulate` many times.

    -p name=lo..hi[:log|:int] / a,b,c ──► SearchSpace (space.py), checked against the strategy's own model
                  │  a candidate: concrete parameter values
                  ▼
    search.py: Optuna's TPE (or a grid) asks for candidates; successive halving stops the poor ones early
                  │  evaluate sessions first..n of one candidate
                  ▼
    evaluate.py: betbot.montecarlo.driver.simulate on one executor kept open (kernel or generic path,
                 local processes or Dask) ──► per-session columns (figures.py): objective, constraints,
                 standard errors, the paired comparison of the best two on the common seeds
                  ▼
    report.py (ranked table, --json, --write-preset), plot.py (P(target) against P(ruin), the Pareto front)

Common random numbers come free: session i of every candidate rolls from (master seed, i) alone
(`betbot.core.rolls`), so every candidate plays the very same sessions and a difference between two
candidates is the parameters', not the luck's. Optuna is imported by search.py alone, and only by the
`optimize` command.
"""
