"""The alert record: what was decided, frozen, and stored in the outbox as JSON.

An alert carries everything needed to render it, so delivery never depends
on the rule still existing or the feed still serving the item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.domain.kinds import OutboxStatus
from monitor.domain.severity import Severity


@dataclass(frozen=True, slots=True)
class Alert:
    rule_id: str
    rule_title: str
    severity: Severity
    feed: str
    item_identity: str
    item_guid: str | None
    title: str
    link: str | None
    summary: str
    published: datetime | None
    matched_terms: tuple[str, ...]
    created_at: datetime
    publisher: str | None = None
    """Who published the item (see :attr:`Item.publisher`), shown beside the feed's name."""
    story: str | None = None
    """The key of the story the item belongs to (see monitor.domain.story)."""
    details: tuple[str, ...] = ()
    """Lines shown as a list under the summary: the entities an official
    list's publication named, or what the lists say of a party a news item
    names (see monitor.pipeline.list_poll and list_mentions)."""
    backfill_of: datetime | None = None
    """Set on an alert raised by backfill (a new or changed rule run over
    archived items, see monitor.pipeline.backfill): when a poll first read
    the item. The alert says so, since the event is not new."""

    @property
    def is_backfill(self) -> bool:
        """Raised by backfill, not by the poll that read the item."""
        return self.backfill_of is not None

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "severity": self.severity.value,
            "feed": self.feed,
            "item_identity": self.item_identity,
            "item_guid": self.item_guid,
            "title": self.title,
            "link": self.link,
            "summary": self.summary,
            "published": self.published.isoformat() if self.published else None,
            "matched_terms": list(self.matched_terms),
            "created_at": self.created_at.isoformat(),
        }
        if self.details:
            data["details"] = list(self.details)
        if self.publisher:
            data["publisher"] = self.publisher
        if self.story:
            data["story"] = self.story
        if self.backfill_of is not None:
            data["backfill_of"] = self.backfill_of.isoformat()
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Alert:
        data = json.loads(text)
        return cls(
            rule_id=data["rule_id"],
            rule_title=data["rule_title"],
            severity=Severity(data["severity"]),
            feed=data["feed"],
            item_identity=data["item_identity"],
            item_guid=data["item_guid"],
            title=data["title"],
            link=data["link"],
            summary=data["summary"],
            published=datetime.fromisoformat(data["published"]) if data["published"] else None,
            matched_terms=tuple(data["matched_terms"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            details=tuple(data.get("details", ())),
            publisher=data.get("publisher"),
            story=data.get("story"),
            backfill_of=(
                datetime.fromisoformat(data["backfill_of"]) if data.get("backfill_of") else None
            ),
        )


@dataclass(frozen=True, slots=True)
class Target:
    """One place an alert goes: a channel, and who to notify there."""

    channel: str
    mentions: tuple[str, ...] = ()
    digest: str | None = None
    """The cron schedule of the digest this alert waits for, if it is not posted alone."""
    not_before: datetime | None = None
    """Held until then (a story's first alert gathering sources); None: at once."""


RoutedAlert = tuple[Alert, Target]

FoldedAlert = tuple[Alert, Target, str]
"""An alert recorded but never to be sent, with why (see monitor.pipeline.flood)."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An alert as the outbox holds it, for one channel, with its delivery state."""

    id: int
    alert: Alert
    attempts: int
    channel: str
    mentions: tuple[str, ...] = ()
    status: OutboxStatus = "pending"
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    digest: str | None = None
    uncertain: bool = False
    """An earlier attempt's outcome is unknown (timed out, or its sender died):
    Slack may already have the post, so look before posting again."""


@dataclass(frozen=True, slots=True)
class StoryThread:
    """The first alert of a story in a channel, whose thread later sources join."""

    id: int
    rule_id: str
    channel: str
    channel_ref: str | None
    """The sink's own reference for the channel (as its answer gave it), if any."""
    link: str | None
    title: str
    parent_alert_id: int
    parent_ref: str
    """The sink's reference for the parent post: the thread later sources join."""
    sources: int = 1
    story_key: str | None = None
    """The story (monitor.domain.story) whose thread this is, when the alerts name one."""


@dataclass(frozen=True, slots=True)
class SilenceScope:
    """What a silence covers: alerts matching every field given (at least one is)."""

    rule_id: str | None = None
    story_key: str | None = None
    feed: str | None = None
    severity: Severity | None = None
    keyword: str | None = None
    """Folded words the alert's title or summary must hold."""


@dataclass(frozen=True, slots=True)
class Silence:
    """Alerts its scope covers are recorded but not sent until ``until``."""

    id: int
    scope: SilenceScope
    until: datetime
    reason: str
    created_at: datetime
    author: str
    """Who set it: a desk member, or whoever ran `monitor silence` (empty for
    silences set before authors were recorded)."""

    @property
    def rule_id(self) -> str | None:
        """The rule it covers, if its scope names one."""
        return self.scope.rule_id
