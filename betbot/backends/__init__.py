"""Backends: where bets are placed. One small protocol (`betbot.backends.base.Backend`), two homes:
the provably-fair simulator and the DuckDice Bot API."""
