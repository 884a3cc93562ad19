"""Test support shipped with betbot: a fake DuckDice API server (`betbot.testing.fakeserver`) for tests,
benchmarks and trying the live backend without money."""
