"""The project's Lua corpus (strategies/*.lua) runs unmodified and bets exactly as the same rules in Python.

Each script is played through the bare loop (the session machine) against the provably-fair simulator;
its Python twin below, written from the script's comments, is played over the same rolls by the reference
harness (tests/lua_support.py). The bet sequences (amount, chance, side) must be equal, bet for bet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lua_support import CORPUS, Globals, bets_of, load, play, reference_bets

BETS = 300
U = 0.000001  # the corpus' base unit, 0.00000100


def _martingale(g: Globals) -> None:
    if g.win:
        g.nextbet = U
    else:
        if g.currentstreak <= -12:
            g.stopped = True
        g.nextbet = g.previousbet * 2


def _double_on_loss(g: Globals) -> None:
    g.nextbet = U if g.win else g.previousbet * 2


def _dalembert(g: Globals) -> None:
    if g.win:
        g.nextbet = g.previousbet - U
        if g.nextbet < U:
            g.nextbet = U
    else:
        g.nextbet = g.previousbet + U


def _hunter(g: Globals) -> None:
    if g.win:
        g.v["dry"] = 0
        g.nextbet = U
        if g.profit >= 0.0005:
            g.stopped = True
    else:
        g.v["dry"] = g.v.get("dry", 0) + 1
        if g.v["dry"] % 50 == 0:
            g.nextbet = g.previousbet * 1.25


def _follow_the_roll(g: Globals) -> None:
    g.bethigh = g.currentroll >= 50
    g.nextbet = U if g.win else g.previousbet * 2


def _streak_breaker(g: Globals) -> None:
    if g.currentstreak > 0:
        g.nextbet = U
    elif g.currentstreak <= -3:
        g.nextbet = g.previousbet * 2
    else:
        g.nextbet = U


def _fib(n: int) -> int:
    a, b = 1, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return a


def _fibonacci(g: Globals) -> None:
    step = g.v.get("step", 1)
    step = max(1, step - 2) if g.win else step + 1
    g.v["step"] = step
    g.nextbet = U * _fib(step)


def _paroli(g: Globals) -> None:
    g.nextbet = g.previousbet * 2 if g.win and g.currentstreak < 3 else U


def _labouchere_stake(line: list[float]) -> float:
    return line[0] * U if len(line) == 1 else (line[0] + line[-1]) * U


def _labouchere(g: Globals) -> None:
    line: list[float] = g.v.setdefault("line", [1, 2, 3, 4])
    if g.win:
        line.pop()
        if line:
            line.pop(0)
        if not line:
            line[:] = [1, 2, 3, 4]
    else:
        line.append(g.previousbet / U)
    g.nextbet = _labouchere_stake(line)


def _zigzag(g: Globals) -> None:
    if g.win:
        g.nextbet = U
    else:
        g.nextbet = g.previousbet * 2
        if g.currentstreak % 2 == 0:
            g.bethigh = not g.bethigh


def _busywait(g: Globals) -> None:
    g.nextbet = U if g.win else g.previousbet * 3


def _ansi(g: Globals) -> None:
    if g.profit >= 0.000003:
        g.stopped = True


def _random_side(g: Globals) -> None:
    g.bethigh = g.rng.random() < 0.5
    g.chance = g.rng.randint(40, 60)
    g.nextbet = U if g.win else g.previousbet * 2


def _start(chance: float, high: bool, nextbet: float = U) -> Callable[[Globals], None]:
    def init(g: Globals) -> None:
        g.chance, g.bethigh, g.nextbet = chance, high, nextbet

    return init


REFERENCES: dict[str, tuple[Callable[[Globals], None], Callable[[Globals], None]]] = {
    "martingale.lua": (_start(49.5, True), _martingale),
    "dalembert.lua": (_start(49.5, False), _dalembert),
    "one-percent-hunter.lua": (_start(1, True), _hunter),
    "follow-the-roll.lua": (_start(49.5, True), _follow_the_roll),
    "streak-breaker.lua": (_start(49.5, False), _streak_breaker),
    "fibonacci.lua": (_start(49.5, True), _fibonacci),
    "paroli.lua": (_start(49.5, True), _paroli),
    "labouchere.lua": (_start(49.5, False, 5 * U), _labouchere),
    "zigzag.lua": (_start(49.5, True), _zigzag),
    "busywait-sleep.lua": (_start(66, False), _busywait),
    "file-log.lua": (_start(49.5, True), _double_on_loss),
    "ansi-print.lua": (_start(60, False), _ansi),
    "tip-guarded.lua": (_start(49.5, True), _double_on_loss),
    "random-side.lua": (_start(49.5, True), _random_side),
}


def test_the_corpus_has_a_dozen_scripts_and_a_reference_for_each() -> None:
    scripts = sorted(path.name for path in CORPUS.glob("*.lua"))
    assert len(scripts) >= 12
    assert sorted(REFERENCES) == scripts


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_script_bets_as_its_python_reference(name: str, tmp_path: Path) -> None:
    strategy = load(CORPUS / name, files_dir=tmp_path)
    session, settled = play(strategy, bets=BETS)
    init, dobet = REFERENCES[name]
    expected = reference_bets(init, dobet, count=BETS)
    assert bets_of(settled) == expected
    assert len(expected) >= 10  # every script really plays
    assert session.stop_reason is not None
    assert session.stop_reason.kind.value in ("max_bets", "strategy"), session.stop_reason


def test_the_references_tell_the_scripts_apart() -> None:
    """The comparison can fail: two different progressions differ within the first bets."""
    martingale = reference_bets(*REFERENCES["martingale.lua"], count=BETS)
    dalembert = reference_bets(_start(49.5, True), _dalembert, count=BETS)
    assert martingale != dalembert
