"""Which story each new alert belongs to, decided without I/O.

A poll's alerts are grouped into stories across feeds before they are
queued (:func:`assign_stories`): an alert joins the recent story of its
rule that reports the same event (:func:`monitor.stories.similarity.best_story`),
or begins one. The alert that begins a story posts at the top of the
channel, after the hold its severity allows (a critical one at once); a
joining alert goes quietly into the story's thread. Each story counts its
independent sources: publishers, not feeds, a near-verbatim copy of a
member counting once; a feed of official notices confirms. A rule may
raise a story's severity once it is corroborated enough: that escalation
is an alert of its own, posted once with the rule's mentions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.story import ESCALATION_PREFIX, Story, StoryMember, StoryUpdate
from monitor.rules.compiled import Escalation
from monitor.stories.similarity import STORY_WINDOW, StoryText, best_story, similarity

COPY_SIMILARITY = 0.99
"""A member this similar to an earlier one is a copy of it (a wire story
republished): the same source told twice."""


@dataclass(frozen=True)
class Storied:
    """A poll's alerts placed in stories."""

    alerts: tuple[Alert, ...]
    """The alerts, each naming its story (``Alert.story``)."""
    leads: frozenset[str]
    """Item identities of the alerts that begin a story (posted at the top)."""
    updates: tuple[StoryUpdate, ...]
    """Each story touched, as it now stands, with its new members."""
    escalations: tuple[Alert, ...]
    """Alerts for stories corroboration raised now."""


def story_key(rule_id: str, item_identity: str) -> str:
    """A story's key: from its rule and its first item, so that a poll redone
    after a crash finds the same key."""
    return hashlib.sha256(f"{rule_id}\n{item_identity}".encode()).hexdigest()[:24]


def assign_stories(
    alerts: Sequence[Alert],
    items: Mapping[str, Item],
    recent: Mapping[str, Sequence[Story]],
    *,
    official_feeds: frozenset[str],
    escalations: Mapping[str, Escalation],
    now: datetime,
    window: timedelta = STORY_WINDOW,
) -> Storied:
    """Place ``alerts`` (of the ``items`` by identity) in the rules' ``recent``
    stories or new ones. Alerts whose item is not in ``items`` (an official
    list's publication) stand alone."""
    working: dict[str, list[_Open]] = {
        rule: [_Open.of(story) for story in stories] for rule, stories in recent.items()
    }
    placed: list[Alert] = []
    leads: set[str] = set()
    touched: dict[str, _Open] = {}
    for alert in alerts:
        item = items.get(alert.item_identity)
        if item is None:
            placed.append(alert)
            continue
        text = StoryText.of(item.title, item.summary, item.timestamp or now)
        member = StoryMember(
            item_identity=item.identity,
            feed=item.feed,
            publisher=item.publisher,
            link=item.link,
            title=item.title,
            seen_at=now,
            text=text.to_json(),
        )
        stories = working.setdefault(alert.rule_id, [])
        found = best_story(text, [story.texts for story in stories], window=window)
        official = item.feed in official_feeds
        if found is None:
            story = _Open.begin(alert, member, text, official=official, now=now)
            stories.append(story)
            leads.add(alert.item_identity)
        else:
            story = stories[found]
            story.join(member, text, official=official, now=now)
        touched[story.story.key] = story
        placed.append(replace(alert, story=story.story.key))
    raised: list[Alert] = []
    for story in touched.values():
        rule = escalations.get(story.story.rule_id)
        if rule is not None:
            escalation = story.escalate(rule, placed, now=now)
            if escalation is not None:
                raised.append(escalation)
    return Storied(
        alerts=tuple(placed),
        leads=frozenset(leads),
        updates=tuple(StoryUpdate(s.story, tuple(s.new_members)) for s in touched.values()),
        escalations=tuple(raised),
    )


@dataclass
class _Open:
    """A story being updated by this poll."""

    story: Story
    texts: list[StoryText]
    new_members: list[StoryMember]

    @classmethod
    def of(cls, story: Story) -> _Open:
        texts = [StoryText.from_json(member.text) for member in story.members]
        return cls(story, texts, [])

    @classmethod
    def begin(
        cls, alert: Alert, member: StoryMember, text: StoryText, *, official: bool, now: datetime
    ) -> _Open:
        story = Story(
            key=story_key(alert.rule_id, alert.item_identity),
            rule_id=alert.rule_id,
            title=alert.title,
            severity=alert.severity,
            first_seen_at=now,
            last_seen_at=now,
            sources=(_source(member),),
            official=official,
        )
        return cls(story, [text], [member])

    def join(self, member: StoryMember, text: StoryText, *, official: bool, now: datetime) -> None:
        copy = any(similarity(text, seen) >= COPY_SIMILARITY for seen in self.texts)
        sources = self.story.sources
        name = _source(member)
        if not copy and name.casefold() not in {s.casefold() for s in sources}:
            sources = (*sources, name)
        self.story = replace(
            self.story,
            sources=sources,
            official=self.story.official or official,
            last_seen_at=max(self.story.last_seen_at, now),
            title=member.title if official and not self.story.official else self.story.title,
        )
        self.texts.append(text)
        self.new_members.append(member)

    def escalate(self, rule: Escalation, alerts: Sequence[Alert], *, now: datetime) -> Alert | None:
        story = self.story
        if story.escalated_at is not None or story.severity.rank >= rule.to.rank:
            return None
        corroborated = (rule.sources is not None and len(story.sources) >= rule.sources) or (
            rule.official and story.official
        )
        if not corroborated:
            return None
        self.story = replace(story, severity=rule.to, escalated_at=now)
        latest = next(a for a in reversed(alerts) if a.story == story.key)
        why = (
            f"confirmed by an official source and told by {len(story.sources)}"
            if rule.official and story.official
            else f"told by {len(story.sources)} independent sources"
        )
        return replace(
            latest,
            severity=rule.to,
            item_identity=f"{ESCALATION_PREFIX}{story.key}",
            item_guid=None,
            title=story.title,
            summary=f"Raised to {rule.to.value}: {why} ({', '.join(story.sources)}).",
            created_at=now,
        )


def _source(member: StoryMember) -> str:
    """Who told it: the publisher, else the feed (a feed of one outlet)."""
    return " ".join((member.publisher or member.feed).split())
