"""Five scripts written for these tests in the style of public DiceBot 3 programmer-mode scripts
(tests/lua/dicebot3/): SharpLua's `!=`, `!`, `+=`, `..=`, `%=`, bit operators, unary `+`, `continue`, a stray
top-level `end`; DiceBot's globals (`site`, `lastBet`, `currentstreak`) and functions (`resetstats`,
`resetseed`, `tip`, `withdraw`, `invest`, `getHistory`, `string.split`, `table.copy`, `math.round`), a file
log and a busy-wait pause. Each plays 300 bets as DiceBot would; `betbot run` takes each as a user would."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest

from betbot.core.models import Settled, StopKind
from betbot.strategies.lua import LuaStrategy
from tests.lua.test_lua_cli import _betbot
from tests.lua_support import ROOT, load, play

SCRIPTS = ROOT / "tests" / "lua" / "dicebot3"
NAMES = sorted(path.name for path in SCRIPTS.glob("*.lua"))
BETS = 300


def _played(name: str, tmp_path: Path) -> tuple[LuaStrategy, list[Settled], list[str]]:
    printed: list[str] = []
    strategy = load(SCRIPTS / name, printer=printed.append, files_dir=tmp_path / "files")
    session, settled = play(strategy, bets=BETS)
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS, session.stop_reason
    assert len(settled) == BETS
    assert session.profit == sum((s.profit for s in settled), Decimal(0))  # no money moved but by the bets
    return strategy, settled, printed


def test_there_are_five_and_each_needs_sharpluas_rewriting() -> None:
    assert len(NAMES) == 5
    for name in NAMES:
        assert load(SCRIPTS / name).translation.rewrites, name


def test_the_hunter_watches_with_zero_bets_then_hunts(tmp_path: Path) -> None:
    _, settled, printed = _played("lowchance-hunter.lua", tmp_path)
    amounts = [s.bet.amount for s in settled]
    assert amounts[0] == 0
    assert 0 in amounts[1:]
    assert any(amount > 0 for amount in amounts)
    assert {(s.bet.chance, s.bet.high) for s in settled} == {(Decimal(8), False)}
    assert printed[0] == "hunting on DuckDice (edge 1%, max roll 99.99)"


def test_the_auto_tip_is_skipped_and_counted_and_the_martingale_goes_on(tmp_path: Path) -> None:
    strategy, settled, _ = _played("autotip-martingale.lua", tmp_path)
    calls, amount = strategy.runtime.skipped_totals["tip"]
    assert calls >= 1
    assert amount == Decimal("0.00000100") * calls  # 10 % of each 0.00001 milestone
    assert "withdraw" not in strategy.runtime.skipped_totals  # site.canwithdraw is false on DuckDice
    for before, after in itertools.pairwise(settled):
        if not before.win and after.bet.amount != Decimal("0.00000100"):
            assert after.bet.amount == before.bet.amount * 2


def test_the_bit_walker_picks_sides_and_amounts_as_its_bits_say(tmp_path: Path) -> None:
    _, settled, _ = _played("bit-pattern.lua", tmp_path)
    base = Decimal("0.00000050")
    mask = 0
    expected = [(base, True)]
    for counter, result in enumerate(settled[:-1], start=1):
        mask = ((mask << 1) | int(result.win)) & 255
        high = (((counter >> 1) ^ (mask & 1)) & 1) == 1
        streak = 0
        for k in range(8):
            if mask >> k & 1:
                break
            streak += 1
        expected.append((base * streak if streak >= 2 else base, high))
    assert [(s.bet.amount, s.bet.high) for s in settled] == expected


def test_labouchere_reseeds_every_100_bets_and_ignores_the_text_after_its_stray_end(tmp_path: Path) -> None:
    strategy, settled, printed = _played("labouchere-reseed.lua", tmp_path)
    text = (SCRIPTS / "labouchere-reseed.lua").read_text(encoding="utf-8").splitlines()
    stray = next(k for k, line in enumerate(text, start=1) if line.startswith("-- everything below the stray end")) - 1
    assert text[stray - 2:stray] == ["end", "end"]  # dobet's own end, then the stray one
    assert strategy.translation.stray_line == stray
    assert strategy.runtime.env.line_text == "1,2,3,2,1"
    assert len({s.server_seed_hash for s in settled}) == 3
    assert sum(line.startswith("seed reset") for line in printed) == 3
    assert settled[0].bet.amount == Decimal("0.00000200")  # (1 + 1) units of the line "1,2,3,2,1"


def test_the_profit_stopper_logs_every_bet_and_reads_its_history(tmp_path: Path) -> None:
    _, settled, printed = _played("profit-stopper.lua", tmp_path)
    log = (tmp_path / "files" / "profit-stopper.log").read_text(encoding="utf-8").splitlines()
    assert log[0] == "bet,roll,profit"
    assert len(log) == 1 + BETS
    assert log[1].split(",")[:2] == ["1", str(settled[0].number / 100)]
    rates = [line for line in printed if line.startswith("win rate")]
    first = sum(s.win for s in settled[:50])
    assert rates[0] == f"win rate {100 * first / 50:.1f}% over 50 bets"
    assert [line.rsplit(" ", 2)[1] for line in rates] == [str(n) for n in range(50, BETS + 1, 50)]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_betbot_run_takes_each_script_as_a_user_would(name: str, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    result = _betbot("run", "--script", str(SCRIPTS / name), "--currency", "BTC", "--balance", "0.05",
                     "--max-bets", str(BETS), "--journal", str(tmp_path / "journal.sqlite3"),
                     "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(summary.read_text(encoding="utf-8"))
    assert (figures["bets"], figures["stop_kind"]) == (BETS, "max_bets")
