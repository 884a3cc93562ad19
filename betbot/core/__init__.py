"""The sans-IO core: money, the game and its provably-fair roll, the session machine, the strategy protocol
and reconciliation arithmetic. Nothing here does I/O, reads a clock or logs; nothing here imports the rest
of betbot."""
