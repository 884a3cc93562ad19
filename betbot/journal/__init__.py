"""The bet journal: every session and every bet in one SQLite file, so the record says what happened.

`Journal` is the engine's hooks (a bet is written before it is sent, and again when it resolves), the
session log (start, stop reason, summary, strategy state, seed pairs), and what restart reconciliation
reads (unfinished sessions, pending and unknown bets). `betbot.journal.export` streams a session's bets
as CSV or JSON Lines. See `betbot.journal.store` for the durability modes, `betbot.journal.schema` for the
tables and their migrations, and `betbot.journal.lease` for the lease that gives each session one runner.
"""

from betbot.journal.records import BetRecord, SeedPairRecord, SessionRecord
from betbot.journal.schema import SCHEMA_VERSION, BetStatus, JournalError
from betbot.journal.store import DEFAULT_BATCH_SIZE, Journal, UnknownSession, default_journal_path

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "SCHEMA_VERSION",
    "BetRecord",
    "BetStatus",
    "Journal",
    "JournalError",
    "SeedPairRecord",
    "SessionRecord",
    "UnknownSession",
    "default_journal_path",
]
