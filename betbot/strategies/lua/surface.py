"""DiceBot 3's functions that betbot does not run as DiceBot does: the one list, for the sandbox and for
`script check`.

DiceBot 3's programmer mode offers functions that act on its window, on its own bet database or on the
account. betbot gives each of them one answer, and this mapping is the only place that says which:

    SKIP         the call would move money out of the session (tip, withdraw, invest). betbot never does:
                 the call is skipped with a warning naming it and the amount, counted in the summary
                 (`script_skipped`) and the script goes on.
    NOOP         a GUI alert (a sound): leaving it out changes nothing a script can see.
    SESSION      DiceBot's bet history (getHistory, getHistoryByDate): betbot answers from the bets this
                 script has seen settle since it was loaded (the last HISTORY_CAP of them), not from a
                 database of every bet ever placed on the site.
    UNSUPPORTED  no honest equivalent (a GUI feature, SQL over DiceBot's database): the call stops the
                 script with one line naming the function and the script's line (never Lua's "attempt to
                 call a nil value").

The sandbox (prelude.lua) builds the functions from this mapping; `script check` says, for each one a
script reaches, what `WHAT_BETBOT_DOES` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = ["DICEBOT_GAPS", "DUCKDICE_CURRENCIES", "DUCKDICE_SITE_URL", "HISTORY_CAP", "WHAT_BETBOT_DOES", "Gap"]

HISTORY_CAP: Final = 10_000  # settled bets getHistory() can return (a bounded ring, oldest dropped first)


class Gap(StrEnum):
    SKIP = "skip"
    NOOP = "noop"
    SESSION = "session"
    UNSUPPORTED = "unsupported"


DICEBOT_GAPS: Final[Mapping[str, Gap]] = MappingProxyType({
    "tip": Gap.SKIP,
    "withdraw": Gap.SKIP,
    "invest": Gap.SKIP,
    "alarm": Gap.NOOP,
    "ching": Gap.NOOP,
    "getHistory": Gap.SESSION,
    "getHistoryByDate": Gap.SESSION,
    **dict.fromkeys((
        "getHistoryByQuery", "runsim", "exportsim", "read", "readadv", "resetbuiltin", "setvalueint",
        "setvaluestring", "setvaluedecimal", "setvaluebool", "getvalue", "loadstrategy", "resetpartialprofit",
        "vault", "scriptlog", "resetchart",
    ), Gap.UNSUPPORTED),
})

_GUI: Final = "not supported: a DiceBot GUI feature (the script stops with a one-line error naming it)"
_DESCRIBED: Final = {
    Gap.SKIP: "skipped with a warning naming the amount: betbot never moves money out of the account",
    Gap.NOOP: "a no-op (no sound)",
    Gap.SESSION: f"the bets settled since the script was loaded (the last {HISTORY_CAP:,}), not DiceBot's "
                 "database of every bet",
}
WHAT_BETBOT_DOES: Final[Mapping[str, str]] = MappingProxyType({
    name: _DESCRIBED.get(gap, _GUI) for name, gap in DICEBOT_GAPS.items()
} | {"getHistoryByQuery": "not supported: SQL over DiceBot's own bet database (the script stops with a "
                          "one-line error naming it)"})

# DiceBot 3's DuckDice site (DuckDice.cs): its currency list and its address.
DUCKDICE_CURRENCIES: Final = ("BTC", "ETH", "LTC", "DOGE", "DASH", "BCH", "XMR", "XRP", "ETC", "BTG", "XLM", "ZEC",
                              "USDT")
DUCKDICE_SITE_URL: Final = "https://duckdice.io"
