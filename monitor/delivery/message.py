"""What a post says, in no sink's syntax: one alert, a storm's roll-up, a
channel's digest, or a plain notice.

Pure: entries (or alerts) and ``now`` in, a frozen message out. Each sink
renders a message its own way (Slack Block Kit, a console line), escaping
and cutting it to its own limits; text here is as the feed gave it.
Mentions stay as config writes them (``@here``, ``subteam:S0123``,
``user:U0123``): a sink turns them into whatever notifies there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.delivery.policy import all_mentions
from monitor.domain.alert import Alert, OutboxEntry
from monitor.domain.kinds import FeedbackKind
from monitor.domain.severity import Severity

LIST_LINES = 25
"""Most alerts a roll-up or a digest's rule lists by name; the rest are counted."""
UNTITLED = "(untitled item)"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, visibly (an ellipsis ends it)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_time(value: datetime | None) -> str:
    """A moment as messages and the CLI show it, or that it is unknown."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "date unknown"


def relative_time(value: datetime | None, now: datetime) -> str:
    """How long before ``now`` a moment was ("5 min ago"); empty when unknown."""
    if value is None:
        return ""
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def time_until(value: datetime | None, now: datetime) -> str:
    """How long from ``now`` until a moment ("in 4 min"), "due" once it has
    passed; empty when unknown."""
    if value is None:
        return ""
    seconds = int((value - now).total_seconds())
    if seconds <= 0:
        return "due"
    return f"in {seconds // 60} min" if seconds >= 60 else f"in {seconds} s"


def plural(count: int, noun: str) -> str:
    """``3 alerts``, ``1 alert``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class Mark:
    """What a desk member said of an alert with its buttons, as its post shows it."""

    kind: FeedbackKind
    user_id: str
    """The member's id where the sink knows them (a Slack user id: mentionable)."""
    user_name: str
    at: datetime
    until: datetime | None = None
    """When what it did ends (a muted story is muted until then), if it ends."""


@dataclass(frozen=True, slots=True)
class AlertPost:
    """One alert, posted on its own, as a reply in its story's thread, or as
    the edit of a thread's parent."""

    alert_id: int
    """The outbox's id: a sink that can look its posts up marks the post with it."""
    severity: Severity
    rule_id: str
    rule_title: str
    feed: str
    title: str
    """The item's title as the feed gave it, possibly empty (see :attr:`headline`)."""
    link: str | None
    summary: str
    matched_terms: tuple[str, ...]
    """The rule's terms the item matched, for a sink to emphasise."""
    published: datetime | None
    age: str
    """How long before the post the item was published ("" when undated)."""
    sources: int = 1
    """How many sources the story has (a thread parent's edit counts them)."""
    source_names: tuple[str, ...] = ()
    """Who they are, when the story knows (its independent sources)."""
    mentions: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    """Lines to list under the summary (see :attr:`Alert.details`)."""
    publisher: str | None = None
    """Who published the item, when the feed said (see :attr:`Alert.publisher`)."""
    buttons: tuple[FeedbackKind, ...] = ()
    """What the desk may still say of it with buttons, in this order (none:
    a thread reply, an ops alert, or no interactivity set up)."""
    backfill_of: datetime | None = None
    """When the item was first read, for an alert raised by backfill (see
    :attr:`Alert.backfill_of`): the post says the event is not new."""
    marks: tuple[Mark, ...] = ()
    """What the desk said of it so far, oldest first."""

    @property
    def headline(self) -> str:
        """The title, or a stand-in for an item that has none."""
        return self.title or UNTITLED

    @property
    def shown_publisher(self) -> str | None:
        """The publisher to name beside the feed: None when unknown, or when
        it is only the feed's own name again."""
        if not self.publisher or self.publisher.casefold() == self.feed.casefold():
            return None
        return self.publisher


@dataclass(frozen=True, slots=True)
class Listed:
    """An alert as one line of a longer message (a roll-up, a digest)."""

    severity: Severity
    rule_id: str
    title: str
    link: str | None
    feed: str
    published: datetime | None

    @property
    def headline(self) -> str:
        """The title, or a stand-in for an item that has none."""
        return self.title or UNTITLED


@dataclass(frozen=True, slots=True)
class RollUp:
    """The alerts a storm held back from one channel, said in one post."""

    channel: str
    count: int
    window_minutes: int
    lines: tuple[Listed, ...]
    """The first :data:`LIST_LINES` of them; :attr:`more` counts the rest."""
    mentions: tuple[str, ...]
    """Every mention of every alert it stands for: rolling up never notifies fewer people."""

    @property
    def title(self) -> str:
        """``3 more alerts``."""
        return plural(self.count, "more alert")

    @property
    def heading(self) -> str:
        """What the post is and why, in one sentence."""
        return (
            f"{self.title} for {self.channel}, rolled into one message: "
            f"the channel already had its share in the last {self.window_minutes} min"
        )

    @property
    def more(self) -> int:
        """How many alerts it stands for beyond the lines it lists."""
        return self.count - len(self.lines)


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """A digest's alerts of one rule."""

    severity: Severity
    """The severity of the rule's first alert in the digest."""
    rule_id: str
    rule_title: str
    count: int
    lines: tuple[Listed, ...]
    """The first :data:`LIST_LINES`; :attr:`more` counts the rest."""

    @property
    def more(self) -> int:
        """How many alerts of the rule beyond the lines listed."""
        return self.count - len(self.lines)


@dataclass(frozen=True, slots=True)
class Digest:
    """One channel's digest: the alerts that waited for it, grouped by rule."""

    channel: str
    count: int
    at: datetime
    groups: tuple[RuleGroup, ...]

    @property
    def heading(self) -> str:
        """What the post is, in one line."""
        return f"Digest for {self.channel}: {self.count} alerts ({format_time(self.at)})"


@dataclass(frozen=True, slots=True)
class Notice:
    """A plain message that is no alert (a delivery test)."""

    text: str


Message = AlertPost | RollUp | Digest | Notice
"""Everything a sink is asked to post."""


def alert_post(
    alert: Alert,
    *,
    now: datetime,
    alert_id: int = 0,
    mentions: tuple[str, ...] = (),
    sources: int = 1,
    source_names: tuple[str, ...] = (),
) -> AlertPost:
    """What one alert says when posted at ``now``."""
    return AlertPost(
        alert_id=alert_id,
        severity=alert.severity,
        rule_id=alert.rule_id,
        rule_title=alert.rule_title,
        feed=alert.feed,
        title=alert.title,
        link=alert.link,
        summary=alert.summary,
        matched_terms=alert.matched_terms,
        published=alert.published,
        age=relative_time(alert.published, now),
        sources=sources,
        source_names=source_names,
        mentions=mentions,
        details=alert.details,
        publisher=alert.publisher,
        backfill_of=alert.backfill_of,
    )


def entry_post(
    entry: OutboxEntry, now: datetime, *, sources: int = 1, source_names: tuple[str, ...] = ()
) -> AlertPost:
    """What an outbox entry says, with its mentions, when posted at ``now``."""
    return alert_post(
        entry.alert,
        now=now,
        alert_id=entry.id,
        mentions=entry.mentions,
        sources=sources,
        source_names=source_names,
    )


def listed(alert: Alert) -> Listed:
    """An alert as one line of a longer message."""
    return Listed(
        alert.severity, alert.rule_id, alert.title, alert.link, alert.feed, alert.published
    )


def roll_up(channel: str, entries: Sequence[OutboxEntry], *, window: timedelta) -> RollUp:
    """One message standing for the entries a storm held back in ``channel``
    (``window``: the storm window, which the message names)."""
    return RollUp(
        channel=channel,
        count=len(entries),
        window_minutes=int(window.total_seconds() // 60),
        lines=tuple(listed(e.alert) for e in entries[:LIST_LINES]),
        mentions=all_mentions(e.mentions for e in entries),
    )


def digest(channel: str, alerts: Iterable[Alert], *, now: datetime) -> Digest:
    """A channel's digest at ``now``: its alerts grouped by rule, in the order
    each rule first appears."""
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule_id, []).append(alert)
    groups = tuple(
        RuleGroup(
            severity=rule_alerts[0].severity,
            rule_id=rule_alerts[0].rule_id,
            rule_title=rule_alerts[0].rule_title,
            count=len(rule_alerts),
            lines=tuple(listed(a) for a in rule_alerts[:LIST_LINES]),
        )
        for rule_alerts in by_rule.values()
    )
    return Digest(channel, sum(g.count for g in groups), now, groups)
