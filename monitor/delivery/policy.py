"""Delivery policy: where an alert goes, when to retry it, which stories and silences apply.

Pure functions: ``now`` and data in, decisions out. No I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.delivery.ports import RoutingSettings
from monitor.domain.alert import Alert, OutboxEntry, Silence, SilenceScope, StoryThread, Target
from monitor.domain.ops import is_ops_alert
from monitor.domain.severity import Severity
from monitor.text import fold_for_matching


def retry_delay(
    attempts: int, *, initial: timedelta, maximum: timedelta, jitter: float
) -> timedelta:
    """Exponential backoff with a cap: initial × 2^(attempts-1), ±20 % by ``jitter`` in [0, 1).

    Jitter keeps many alerts that failed together from retrying in lockstep.
    """
    base = initial * (1 << min(30, max(0, attempts - 1)))
    capped = min(base, maximum)
    return capped * (0.8 + 0.4 * jitter)


def route(alert: Alert, slack: RoutingSettings) -> tuple[Target, ...]:
    """The channels an alert goes to, with the mentions for each.

    Every route that applies to the alert's rule and severity adds its
    channels (or the default channel, if it names none) with its mentions
    and digest schedule; an alert no route claims goes to the default
    channel. Mentions per severity are added in every channel. Where two
    routes send to one channel, posting alone wins over a digest.
    """
    targets: dict[str, tuple[list[str], list[str | None]]] = {}
    for candidate in slack.routes:
        if candidate.applies(alert.rule_id, alert.severity):
            for channel in candidate.channels or (slack.channel,):
                mentions, digests = targets.setdefault(channel, ([], []))
                mentions.extend(candidate.mentions)
                digests.append(candidate.digest)
    if not targets:
        targets[slack.channel] = ([], [None])
    by_severity = slack.mentions.get(alert.severity, ())
    return tuple(
        Target(
            channel,
            tuple(dict.fromkeys([*mentions, *by_severity])),
            None if None in digests else sorted(d for d in digests if d)[0],
        )
        for channel, (mentions, digests) in targets.items()
    )


def may_roll_up(alert: Alert) -> bool:
    """Whether a storm may fold this alert into a summary message: never a
    critical one, which must notify on its own however busy the channel.
    (Ops alerts are never rolled up either; the delivery loop knows them.)"""
    return alert.severity is not Severity.CRITICAL


def all_mentions(mentions: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Every mention of several alerts, once each, in the order first seen:
    one message standing for them notifies everyone they would have."""
    return tuple(dict.fromkeys(m for group in mentions for m in group))


def as_reply(entry: OutboxEntry) -> OutboxEntry:
    """The alert as its story's thread gets it: without any mention. A later
    source is no news to whoever the story's first alert notified, whatever
    its severity or whether that first alert is still on record; raising a
    story's severity, and notifying for it, is an escalation's job, not a reply's."""
    return replace(entry, mentions=()) if entry.mentions else entry


def silence_for(alert: Alert, silences: Iterable[Silence], now: datetime) -> Silence | None:
    """The first of ``silences`` covering the alert at ``now``, if any."""
    return next((s for s in silences if s.until > now and silence_covers(s.scope, alert)), None)


def silence_covers(scope: SilenceScope, alert: Alert) -> bool:
    """Whether every field the scope gives matches the alert: its rule,
    story, feed, severity (exactly, not "at least"), and the keyword as a
    phrase of the title or of the summary, both folded (case, accents and
    punctuation aside). A scope that gives nothing covers nothing. The
    monitor's own alerts (a feed failing, a silence ended) are covered only
    by a scope naming their rule: silencing a feed's news must not hide
    that the feed went blind."""
    if scope == SilenceScope():
        return False
    if is_ops_alert(alert) and scope.rule_id != alert.rule_id:
        return False
    return (
        (scope.rule_id is None or scope.rule_id == alert.rule_id)
        and (scope.story_key is None or scope.story_key == alert.story)
        and (scope.feed is None or scope.feed == alert.feed)
        and (scope.severity is None or scope.severity is alert.severity)
        and (scope.keyword is None or _holds_phrase(scope.keyword, alert.title, alert.summary))
    )


def _holds_phrase(keyword: str, *texts: str) -> bool:
    phrase = fold_for_matching(keyword)
    # Padded with spaces so that the phrase matches whole words only.
    return bool(phrase) and any(f" {phrase} " in f" {fold_for_matching(t)} " for t in texts)


_PUBLISHER_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")


def _title_words(title: str) -> set[str]:
    # Google News and others end titles with " - Publisher": not part of the story.
    return set(fold_for_matching(_PUBLISHER_SUFFIX.sub("", title)).split())


def same_story(title: str, link: str | None, other_title: str, other_link: str | None) -> bool:
    """The same link, or near-identical titles (most words shared)."""
    if link and other_link and link == other_link:
        return True
    words, other = _title_words(title), _title_words(other_title)
    if not words or not other:
        return False
    return len(words & other) / len(words | other) >= 0.75


def find_story(alert: Alert, stories: Iterable[StoryThread]) -> StoryThread | None:
    """The first of ``stories`` the alert is a later source of, if any."""
    return next((s for s in stories if same_story(alert.title, alert.link, s.title, s.link)), None)
