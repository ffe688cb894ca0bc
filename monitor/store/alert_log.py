"""The alert log: the outbox's alerts as the read-only web console lists them.

A narrow read port of its own (not one of :mod:`monitor.store.ports`): the
recent alerts, filtered and paged by id, each with its delivery state and
its story; and how many alerts each rule raised per day. Pure types: a
store implements :class:`AlertLog` next to its other ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from monitor.domain.alert import Alert
from monitor.domain.kinds import OutboxStatus
from monitor.domain.severity import Severity


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts to list: those matching every field given."""

    rule_id: str | None = None
    severity: Severity | None = None
    channel: str | None = None
    text: str | None = None
    """Found in the alert's title or summary, whatever the case."""
    before_id: int | None = None
    """Only alerts older than this one (a smaller id): the next page."""

    def column_tests(self) -> list[tuple[str, object]]:
        """The tests on plain columns, as (``column operator``, value), for a
        store to join with its own parameter mark; the text test is each store's."""
        tests: list[tuple[str, object]] = []
        if self.rule_id is not None:
            tests.append(("rule_id =", self.rule_id))
        if self.severity is not None:
            tests.append(("severity =", self.severity.value))
        if self.channel is not None:
            tests.append(("channel =", self.channel))
        if self.before_id is not None:
            tests.append(("id <", self.before_id))
        return tests


@dataclass(frozen=True)
class StoryBrief:
    """The story an alert belongs to, as far as the store still holds it."""

    key: str
    title: str | None
    """None once the story itself is pruned (the alert still names it)."""
    sources: tuple[str, ...]
    """Who told it: each member's publisher, else its feed, each once, in the order they came."""
    members: int
    """How many items the story holds."""


@dataclass(frozen=True)
class LoggedAlert:
    """One alert of the outbox (one per channel) with its delivery state."""

    id: int
    alert: Alert
    channel: str
    created_at: datetime
    """When it entered the outbox."""
    status: OutboxStatus
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    """When it was sent, or settled as silenced; None while it waits."""
    digest: str | None
    """The cron schedule of the digest it waits for, if it is not posted alone."""
    backfill: bool
    """Raised by a new or changed rule over archived items, not by a poll."""
    story: StoryBrief | None


@dataclass(frozen=True)
class DailyAlertCount:
    """How many items one rule alerted on in one day (UTC)."""

    rule_id: str
    day: date
    alerts: int


@runtime_checkable
class AlertLog(Protocol):
    """The outbox read as a log (the web console's alerts and rules pages)."""

    def recent_alerts(self, query: AlertQuery, *, limit: int = 50) -> list[LoggedAlert]:
        """Up to ``limit`` alerts matching ``query``, newest first (by id)."""
        ...

    def daily_alert_counts(self, *, since: datetime) -> list[DailyAlertCount]:
        """Per rule and UTC day, the items alerted on from ``since`` on (an
        item routed to two channels counts once), by rule then day."""
        ...
