"""DiceBot's getHistory() and getHistoryByDate(): the bets settled since the script was loaded, shaped like
DiceBot's .NET array (indexed from 0, `Length` rows, oldest first), each row with lastBet's fields."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from betbot.core.models import StopKind
from betbot.strategies.lua import LuaStrategy
from tests.lua_support import load, play, write

D = Decimal


def _lua(tmp_path: Path, text: str) -> LuaStrategy:
    return load(write(tmp_path, text), files_dir=tmp_path / "files")


def _rows(table: Any, n: int) -> list[Any]:
    return [table[i] for i in range(n)]


def test_get_history_holds_every_settled_bet_oldest_first_with_last_bets_fields(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        chance = 40
        lengths = {}
        function dobet()
          local h = getHistory()
          lengths[#lengths + 1] = h.Length
          agrees = h[h.Length - 1].Roll == lastBet.Roll and h[h.Length - 1].id == lastBet.Id
          rolls, ids, profits, wins = {}, {}, {}, {}
          for i = 0, h.Length - 1 do
            rolls[i], ids[i], profits[i], wins[i] = h[i].roll, h[i].Id, h[i].Profit, h[i].PlayerWin
          end
          first_guid, first_chance, first_date = h[0].Guid, h[0].CHANCE, h[0].date.Year
          if win then nextbet = 0.01 else nextbet = previousbet * 2 end
        end
    """)
    session, settled = play(strategy, bets=12)
    env = strategy.runtime.env
    assert [env.lengths[i] for i in range(1, 13)] == list(range(1, 13))
    assert env.agrees is True
    assert _rows(env.rolls, 12) == [s.number / 100 for s in settled]
    assert _rows(env.ids, 12) == [s.bet_hash for s in settled]
    assert [D(str(p)).quantize(D("1e-8")) for p in _rows(env.profits, 12)] == [s.profit for s in settled]
    assert _rows(env.wins, 12) == [s.win for s in settled]
    assert (env.first_guid, env.first_chance, env.first_date) == (settled[0].bet_hash, 40, 2023)
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.MAX_BETS


def test_the_history_is_bounded_to_the_last_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("betbot.strategies.lua.runtime.HISTORY_CAP", 5)
    strategy = _lua(tmp_path, """
        nextbet = 0.01
        function dobet()
          local h = getHistory()
          n, oldest, newest = h.Length, h[0].nonce, h[h.Length - 1].nonce
        end
    """)
    settled = play(strategy, bets=9)[1]
    env = strategy.runtime.env
    assert (env.n, env.oldest, env.newest) == (5, settled[4].nonce, settled[8].nonce)


@pytest.mark.parametrize(("since", "until", "rows"), [
    ("2023-11-01", "2023-12-01 00:00:00", 6),  # the bets' virtual clock starts at 2023-11-14 22:13:20 UTC
    ("11/01/2023", "12/01/2023 23:59", 6),  # DiceBot's invariant culture: month first
    ("2023-01-01", "2023-02-01", 0),
    ("2023-12-01", "2023-11-01", 0),
])
def test_get_history_by_date_keeps_the_bets_between_the_two_dates(tmp_path: Path, since: str, until: str,
                                                                  rows: int) -> None:
    strategy = _lua(tmp_path, f"""
        nextbet = 0.01
        function dobet() n = getHistoryByDate("{since}", "{until}").Length end
    """)
    play(strategy, bets=6)
    assert strategy.runtime.env.n == rows


def test_a_date_get_history_by_date_cannot_read_stops_with_one_line(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet()\n  if bets == 3 then\n"
                              "    getHistoryByDate('yesterday', '2030-01-01')\n  end\nend\n")
    session, settled = play(strategy, bets=10)
    assert len(settled) == 3
    assert session.stop_reason is not None
    assert session.stop_reason.kind is StopKind.STRATEGY_ERROR
    assert session.stop_reason.detail == ("ScriptError: script.lua:4: getHistoryByDate() cannot read the date "
                                          "'yesterday': write it as 'YYYY-MM-DD HH:MM:SS'")


def test_get_history_by_query_is_not_supported_naming_the_function_and_line(tmp_path: Path) -> None:
    strategy = _lua(tmp_path, "nextbet = 0.01\nfunction dobet()\n  getHistoryByQuery('select * from bet')\nend\n")
    session, settled = play(strategy, bets=5)
    assert len(settled) == 1
    assert session.stop_reason is not None
    assert session.stop_reason.detail == ("ScriptError: script.lua:3: getHistoryByQuery() is not supported by "
                                          "betbot (SQL over DiceBot's own bet database)")
