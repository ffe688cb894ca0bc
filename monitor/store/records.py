"""Stored rows read back as domain records, the same for every store: each
store hands its rows (sqlite3.Row, or psycopg's dict rows) and how it reads
a stored moment back (ISO text on SQLite, timestamptz on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from monitor.domain.alert import Alert, Silence, SilenceScope
from monitor.domain.feed import Incident
from monitor.domain.kinds import FEEDBACK_KINDS
from monitor.domain.severity import Severity
from monitor.domain.story import Feedback, Story, StoryMember
from monitor.errors import StateError


class StoredRow(Protocol):
    """A row whose columns are read by name."""

    def __getitem__(self, key: str, /) -> Any: ...


Moment = Callable[[Any], datetime]
"""A NOT NULL stored moment read back, as UTC."""
OptionalMoment = Callable[[Any], datetime | None]
"""A stored moment that may be absent, read back."""


def silence_of(row: StoredRow, moment: Moment) -> Silence:
    """A ``silences`` row (an empty rule_id is a scope naming no rule)."""
    scope = SilenceScope(
        rule_id=row["rule_id"] or None,
        story_key=row["story_key"],
        feed=row["feed"],
        severity=Severity(row["severity"]) if row["severity"] else None,
        keyword=row["keyword"],
    )
    return Silence(
        id=row["id"],
        scope=scope,
        until=moment(row["until"]),
        reason=row["reason"],
        created_at=moment(row["created_at"]),
        author=row["author"] or "",
    )


def incident_of(row: StoredRow, moment: Moment) -> Incident:
    """An ``incidents`` row."""
    return Incident(
        id=row["id"],
        feed=row["feed"],
        kind=row["kind"],
        since=moment(row["since"]),
        detail=row["detail"],
        opened_at=moment(row["opened_at"]),
    )


def story_of(
    row: StoredRow,
    members: Sequence[StoryMember],
    *,
    sources: object,
    moment: Moment,
    optional_moment: OptionalMoment,
) -> Story:
    """A ``stories`` row with its members; ``sources``: its sources column decoded."""
    return Story(
        key=row["key"],
        rule_id=row["rule_id"],
        title=row["title"],
        severity=Severity(row["severity"]),
        first_seen_at=moment(row["first_seen_at"]),
        last_seen_at=moment(row["last_seen_at"]),
        sources=tuple(str(s) for s in sources) if isinstance(sources, list) else (),
        official=bool(row["official"]),
        escalated_at=optional_moment(row["escalated_at"]),
        members=tuple(members),
    )


def feedback_of(row: StoredRow, moment: Moment) -> Feedback:
    """A ``feedback`` row; a kind this version does not know is lost state."""
    kind = next((k for k in FEEDBACK_KINDS if k == row["kind"]), None)
    if kind is None:
        raise StateError(f"a stored feedback has an unknown kind {row['kind']!r}")
    return Feedback(
        id=row["id"],
        kind=kind,
        alert=Alert.from_json(str(row["alert"])),
        alert_id=row["alert_id"],
        user_id=row["user_id"],
        user_name=row["user_name"],
        at=moment(row["at"]),
    )
