"""Stories: one real-world event across feeds and outlets.

Items that match a rule are grouped into stories before they alert (see
:mod:`monitor.pipeline.story_assign`): ten outlets telling one event are
one story, posted once, its later sources joining its thread. A story is a
record of its own, whatever the sink: its members, when it was first and
last seen, its independent sources, its best title, and its severity,
which corroboration may raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from monitor.domain.alert import Alert
from monitor.domain.kinds import FeedbackKind
from monitor.domain.severity import Severity

ESCALATION_PREFIX = "escalation:"
"""How the identity of an alert announcing a story's escalation begins."""


def is_escalation(alert: Alert) -> bool:
    """Whether the alert announces a story's escalation: posted once, at the
    top of the channel with the rule's mentions, never in a thread."""
    return alert.item_identity.startswith(ESCALATION_PREFIX)


@dataclass(frozen=True)
class StoryMember:
    """One item of a story, with what clustering compares (``text``: the
    clustering's own JSON form, opaque to everything else)."""

    item_identity: str
    feed: str
    publisher: str | None
    """Who published it, when known: sources are counted by publisher, not feed."""
    link: str | None
    title: str
    seen_at: datetime
    text: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """A story as it stands; ``members`` are filled where they were asked for."""

    key: str
    """Stable: derived from the rule and the story's first item."""
    rule_id: str
    title: str
    severity: Severity
    first_seen_at: datetime
    last_seen_at: datetime
    sources: tuple[str, ...] = ()
    """Its independent sources, in the order they told it."""
    official: bool = False
    """An official source (a sanctions list, a government feed) told it."""
    escalated_at: datetime | None = None
    """When corroboration raised its severity (once)."""
    members: tuple[StoryMember, ...] = ()


@dataclass(frozen=True)
class StoryUpdate:
    """What a poll writes of one story: the story as it now stands (its
    ``members`` unused) and the members it gained."""

    story: Story
    new_members: tuple[StoryMember, ...]


@dataclass(frozen=True)
class Feedback:
    """What a desk member said of an alert with its buttons, for ops."""

    id: int
    kind: FeedbackKind
    alert: Alert
    alert_id: int
    user_id: str
    user_name: str
    at: datetime
