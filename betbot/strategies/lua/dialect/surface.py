"""The DiceBot 3 functions betbot does not run as DiceBot does, in one place (`script check` reports them).

Each entry: the function's name and what betbot does when a script reaches it. The runtime (prelude.lua)
decides the behaviour; this table only describes it, so keep the two in step when one changes.
"""

from __future__ import annotations

from typing import Final

__all__ = ["NOT_LIKE_DICEBOT"]

_MONEY: Final = "skipped with a warning naming the amount: betbot never moves money out of the account"
_GUI: Final = "not supported: a DiceBot GUI feature (the script stops with a one-line error naming it)"

NOT_LIKE_DICEBOT: Final[dict[str, str]] = {
    "tip": _MONEY,
    "withdraw": _MONEY,
    "invest": _MONEY,
    "alarm": "a no-op (no sound)",
    "ching": "a no-op (no sound)",
    "getHistory": "not supported: DiceBot's bet history",
    "getHistoryByDate": "not supported: DiceBot's bet history",
    "getHistoryByQuery": "not supported: DiceBot's bet history",
    "runsim": _GUI,
    "exportsim": _GUI,
    "read": _GUI,
    "readadv": _GUI,
    "resetbuiltin": _GUI,
    "setvalueint": _GUI,
    "setvaluestring": _GUI,
    "setvaluedecimal": _GUI,
    "setvaluebool": _GUI,
    "getvalue": _GUI,
    "loadstrategy": _GUI,
    "resetpartialprofit": _GUI,
    "vault": _GUI,
    "scriptlog": _GUI,
    "resetchart": _GUI,
}
