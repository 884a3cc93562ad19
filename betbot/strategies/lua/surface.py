"""DiceBot 3's functions that betbot skips or lacks: the one list, for the sandbox and for `script check`.

DiceBot 3's programmer mode offers functions that act on its window or on the account. betbot gives each
of them one of three answers, and this mapping is the only place that says which:

    SKIP         the call would move money out of the session (tip, withdraw, invest). betbot never does:
                 the call is skipped with a warning naming it and the amount, counted in the summary
                 (`script_skipped`) and the script goes on.
    NOOP         a GUI alert (a sound): leaving it out changes nothing a script can see.
    UNSUPPORTED  a GUI feature with no honest equivalent: the call stops the script with one line naming
                 the function and the script's line (never Lua's "attempt to call a nil value").

`betbot script check` reports which of these a script reaches; the sandbox (prelude.lua) builds the
functions from the same mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

__all__ = ["DICEBOT_GAPS", "DUCKDICE_CURRENCIES", "DUCKDICE_SITE_URL", "Gap"]


class Gap(StrEnum):
    SKIP = "skip"
    NOOP = "noop"
    UNSUPPORTED = "unsupported"


DICEBOT_GAPS: Final[Mapping[str, Gap]] = MappingProxyType({
    "tip": Gap.SKIP,
    "withdraw": Gap.SKIP,
    "invest": Gap.SKIP,
    "alarm": Gap.NOOP,
    "ching": Gap.NOOP,
    **dict.fromkeys((
        "getHistory", "getHistoryByDate", "getHistoryByQuery", "runsim", "exportsim", "read", "readadv",
        "resetbuiltin", "setvalueint", "setvaluestring", "setvaluedecimal", "setvaluebool", "getvalue",
        "loadstrategy", "resetpartialprofit", "vault", "scriptlog", "resetchart",
    ), Gap.UNSUPPORTED),
})

# DiceBot 3's DuckDice site (DuckDice.cs): its currency list and its address.
DUCKDICE_CURRENCIES: Final = ("BTC", "ETH", "LTC", "DOGE", "DASH", "BCH", "XMR", "XRP", "ETC", "BTG", "XLM", "ZEC",
                              "USDT")
DUCKDICE_SITE_URL: Final = "https://duckdice.io"
