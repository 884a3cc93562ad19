"""The observers' fan-out: every observer of an event called, in the order given, with two or with more."""

from __future__ import annotations

from typing import Any

import pytest

from betbot.engine.hooks import combine


class Recorder:
    def __init__(self, name: str, calls: list[tuple[str, str, tuple[Any, ...]]]) -> None:
        self.name = name
        self.calls = calls

    def released(self, *args: Any) -> None:
        self.calls.append((self.name, "released", args))

    def stopped(self, *args: Any) -> None:
        self.calls.append((self.name, "stopped", args))


@pytest.mark.parametrize("count", [2, 3])
def test_each_observer_is_called_in_order_with_the_events_arguments(count: int) -> None:
    calls: list[tuple[str, str, tuple[Any, ...]]] = []
    hooks = combine(*(Recorder(f"o{i}", calls) for i in range(count)), None)
    hooks.released("outcome", 1.5)
    hooks.stopped("reason", 2.0)
    assert calls == ([(f"o{i}", "released", ("outcome", 1.5)) for i in range(count)]
                     + [(f"o{i}", "stopped", ("reason", 2.0)) for i in range(count)])


def test_one_observer_is_called_directly() -> None:
    calls: list[tuple[str, str, tuple[Any, ...]]] = []
    only = Recorder("only", calls)
    assert combine(None, only) is only


def test_a_failing_observer_stops_the_fan_out_there() -> None:
    calls: list[tuple[str, str, tuple[Any, ...]]] = []

    class Failing(Recorder):
        def released(self, *args: Any) -> None:
            raise RuntimeError("disk full")

    hooks = combine(Failing("first", calls), Recorder("second", calls))
    with pytest.raises(RuntimeError, match="disk full"):
        hooks.released("outcome", 1.0)
    assert calls == []  # the journal goes first: a bet it could not write is seen by no other observer
