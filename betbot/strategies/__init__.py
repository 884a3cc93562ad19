"""The built-in betting strategies, one module each.

They are found through `betbot.strategies.registry` (by name, imported on first use), so importing this package
imports none of them. Every one bets Original Dice with the shared `DiceParams` (base_bet, chance,
high) plus its own parameters; `betbot strategies show NAME` lists them.

No betting system changes the house edge: each one only reshapes how wins and losses are spread over
time, trading many small wins for rare large losses (martingale, fibonacci, labouchere, d'Alembert,
Oscar's grind) or the reverse (anti-martingale, paroli, 1-3-2-6).
"""
