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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.listing import LISTED_NOTE
from monitor.domain.story import ESCALATION_PREFIX, Story, StoryMember, StoryUpdate
from monitor.rules.compiled import Escalation
from monitor.stories.similarity import STORY_WINDOW, StoryText, best_story, similarity

COMPARED_MEMBERS = 20
"""The members of a stored story an item is compared with: its first and
its latest."""
COPY_SIMILARITY = 0.99
"""A member this similar to an earlier one is a copy of it (a wire story
republished): the same source told twice."""


@dataclass(frozen=True)
class Storied:
    """A poll's alerts placed in stories."""

    alerts: tuple[Alert, ...]
    """The alerts, each naming its story (``Alert.story``)."""
    leads: frozenset[tuple[str, str]]
    """(rule id, item identity) of the alerts that begin a story (posted at the top)."""
    updates: tuple[StoryUpdate, ...]
    """Each story touched, as it now stands, with its new members."""
    escalations: tuple[Alert, ...]
    """Alerts for stories corroboration raised now."""


def member_text(member: StoryMember) -> StoryText | None:
    """A stored member's text; None if it cannot be read (the member then
    counts for nothing, rather than failing every poll of its rule)."""
    try:
        return StoryText.from_json(member.text)
    except (ValueError, TypeError, KeyError):
        return None


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
    texts: Callable[[StoryMember], StoryText | None] = member_text,
) -> Storied:
    """Place ``alerts`` (of the ``items`` by identity) in the rules' ``recent``
    stories or new ones. Alerts whose item is not in ``items`` (an official
    list's publication) stand alone. ``texts`` reads a stored member's text
    (a caller may cache them: members never change)."""
    working: dict[str, list[_Open]] = {
        rule: [_Open.of(story, texts) for story in stories] for rule, stories in recent.items()
    }
    placed: list[Alert] = []
    leads: set[tuple[str, str]] = set()
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
        # An official feed tells it, or an official list added a party it names.
        official = item.feed in official_feeds or any(LISTED_NOTE in d for d in alert.details)
        if found is None:
            story = _Open.begin(alert, member, text, official=official, now=now)
            stories.append(story)
            leads.add((alert.rule_id, alert.item_identity))
        else:
            story = stories[found]
            story.join(member, text, official=official, now=now)
            if alert.severity.rank > story.story.severity.rank:
                story.raised_by = alert
        touched[story.story.key] = story
        placed.append(replace(alert, story=story.story.key))
    raised: list[Alert] = []
    for story in touched.values():
        escalation = story.escalate(escalations.get(story.story.rule_id), placed, now=now)
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
    raised_by: Alert | None = None
    """A later alert more severe than the story: the story rises to its severity."""

    @classmethod
    def of(cls, story: Story, texts: Callable[[StoryMember], StoryText | None]) -> _Open:
        # Its first report and its latest say what a story is about; a busy
        # story's middle adds cost, not judgement.
        members = story.members
        kept = (
            members
            if len(members) <= COMPARED_MEMBERS
            else (members[:1] + members[-(COMPARED_MEMBERS - 1) :])
        )
        read = [text for text in map(texts, kept) if text is not None]
        return cls(story, read, [])

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

    def escalate(
        self, rule: Escalation | None, alerts: Sequence[Alert], *, now: datetime
    ) -> Alert | None:
        """The alert raising the story, if a more severe report joined it or
        the rule's corroboration is reached: once per severity it rises to."""
        story = self.story
        target, why = story.severity, ""
        if self.raised_by is not None and self.raised_by.severity.rank > target.rank:
            target = self.raised_by.severity
            why = f"a later report is {target.value}"
        if rule is not None and rule.to.rank > target.rank:
            corroborated = (rule.sources is not None and len(story.sources) >= rule.sources) or (
                rule.official and story.official
            )
            if corroborated:
                target = rule.to
                why = (
                    f"confirmed by an official source and told by {len(story.sources)}"
                    if rule.official and story.official
                    else f"told by {len(story.sources)} independent sources"
                )
        if target.rank <= story.severity.rank:
            return None
        self.story = replace(story, severity=target, escalated_at=now)
        trigger = self.raised_by or next(a for a in reversed(alerts) if a.story == story.key)
        return replace(
            trigger,
            severity=target,
            item_identity=f"{ESCALATION_PREFIX}{story.key}:{target.value}",
            item_guid=None,
            story=story.key,
            summary=f"Raised to {target.value}: {why} ({', '.join(story.sources)}). "
            f"The story: {story.title}",
            created_at=now,
        )


def _source(member: StoryMember) -> str:
    """Who told it: the publisher, else the feed (a feed of one outlet)."""
    return " ".join((member.publisher or member.feed).split())
