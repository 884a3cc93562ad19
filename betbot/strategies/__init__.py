"""The built-in betting strategies, the advanced mode and its presets, the Lua runner, and the registry.

They are found through `betbot.strategies.registry` (by name, imported on first use; or a Python file as
`path/to/file.py:ClassName`), so importing this package imports none of them. Every built-in bets with the
shared `DiceParams` (base_bet, chance, high) plus its own parameters; `betbot strategies show NAME` lists
them. `advanced` is DiceBot's advanced mode, and martingale, anti-martingale, d'Alembert and Paroli are
presets of it (`betbot.strategies.advanced`); `shipped` finds the strategy files of `strategies/`.

No betting system changes the house edge: each one only reshapes how wins and losses are spread over
time, trading many small wins for rare large losses (martingale, fibonacci, labouchere, d'Alembert,
Oscar's grind, the hunter) or the reverse (anti-martingale, paroli, 1-3-2-6).
"""
