"""The item archive: every new item's text as a poll first read it, kept for
``archive.retention`` for search (``monitor search``) and backtests
(``monitor backtest``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain.item import Item
from monitor.domain.kinds import OutboxStatus
from monitor.domain.severity import Severity

QUERY_HELP = (
    "words match as written, in any order (all must appear); put a phrase, or a word "
    'with punctuation, in double quotes ("drone strike", "Kursk-region"); end a word '
    "with * for a prefix (sanction*); combine with AND, OR, NOT and parentheses; "
    "title:WORD or summary:WORD looks in one field"
)
"""How a search query is written (SQLite's FTS5 syntax, which another store
translates to its own): the help of ``monitor search``, and the end of every
query error."""


MAX_SEARCH_SPAN = timedelta(days=3650)
"""The longest ``--since`` a search or backtest takes: past it, a date would not fit."""


@dataclass(frozen=True)
class AlertMark:
    """One alert an archived item raised, as the outbox holds it (one per channel)."""

    rule_id: str
    severity: Severity
    status: OutboxStatus
    channel: str


@dataclass(frozen=True)
class ArchivedItem:
    """An item as a poll first read it, with what it alerted."""

    item: Item
    first_seen_at: datetime
    """When a poll first read it (the poll's time)."""
    first_poll: bool = False
    """Read by the first poll of its feed at that URL, whose backlog is
    baselined: a backtest judges it as that poll did."""
    alerted: tuple[AlertMark, ...] = ()
    """The alerts it raised, while the outbox keeps them (see Maintenance.prune)."""

    @property
    def alerted_rules(self) -> tuple[str, ...]:
        """The rules that alerted on it, each once, in the order stored."""
        return tuple(dict.fromkeys(mark.rule_id for mark in self.alerted))
