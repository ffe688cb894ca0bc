"""Floods: one poll raising more alerts for one rule from one feed than any
news day does. A feed that suddenly shows thousands of new matching items is
broken, re-dated or hostile; posting each would bury the desk's channel and,
queued, delay every other feed's alerts behind it. Such a group becomes one
flood alert (the count and a few examples) and one ops notice; the alerts it
stands for are kept in the outbox as folded, never posted.

Pure: alerts and ``now`` in, decisions out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.delivery.message import truncate
from monitor.delivery.render import SNIPPET_CHARS, TITLE_CHARS
from monitor.domain.alert import Alert
from monitor.domain.ops import FLOOD_RULE_ID
from monitor.domain.severity import Severity
from monitor.pipeline.feed_health import counted

EXAMPLES = 3
"""How many of a flood's items its alert names."""

MATCHED_TERMS = 10


@dataclass(frozen=True, slots=True)
class Flood:
    """One rule's alerts from one feed in one poll, too many to post."""

    alert: Alert
    """The one alert posted for them all."""
    folded: tuple[Alert, ...]
    """Every alert it stands for, in the order the poll raised them."""

    @property
    def feed(self) -> str:
        return self.alert.feed

    @property
    def rule_id(self) -> str:
        return self.alert.rule_id

    @property
    def count(self) -> int:
        return len(self.folded)

    def folded_reason(self) -> str:
        """What the outbox says of each folded alert."""
        return (
            f"folded into a flood alert: {self.count} alerts for this rule from feed "
            f"{self.feed} in one poll"
        )


@dataclass(frozen=True, slots=True)
class FloodDecision:
    alerts: tuple[Alert, ...]
    """What to post: the alerts of groups within the limit, and one alert per flood."""
    floods: tuple[Flood, ...]


def fold_floods(alerts: Sequence[Alert], *, threshold: int, now: datetime) -> FloodDecision:
    """Fold every group of more than ``threshold`` alerts for one rule from
    one feed into one flood alert, which takes the place of the group's
    first alert; groups within the limit pass unchanged."""
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.feed, alert.rule_id), []).append(alert)
    floods = {key: _flood(group, now) for key, group in groups.items() if len(group) > threshold}
    if not floods:
        return FloodDecision(tuple(alerts), ())
    kept: list[Alert] = []
    for alert in alerts:
        key = (alert.feed, alert.rule_id)
        flood = floods.get(key)
        if flood is None:
            kept.append(alert)
        elif alert is flood.folded[0]:
            kept.append(flood.alert)
    return FloodDecision(tuple(kept), tuple(floods.values()))


def standing_for(
    group: Sequence[Alert], *, kind: str, title: str, advice: str, now: datetime
) -> Alert:
    """One alert standing for ``group`` (alerts of one rule): its title, a
    few of the group's titles as examples and ``advice``; the group's
    highest severity, and an identity unique to the group and ``now``
    (``kind:feed:now:digest``), so another group is another message."""
    first = group[0]
    identities = "\n".join(alert.item_identity for alert in group)
    examples = "; ".join(f"“{truncate(a.title, 70)}”" for a in group[:EXAMPLES])
    more = len(group) - min(len(group), EXAMPLES)
    return Alert(
        rule_id=first.rule_id,
        rule_title=first.rule_title,
        severity=max((a.severity for a in group), key=lambda s: s.rank),
        feed=first.feed,
        item_identity=(
            f"{kind}:{first.feed}:{now.isoformat()}:"
            f"{hashlib.sha256(identities.encode()).hexdigest()[:16]}"
        ),
        item_guid=None,
        title=truncate(title, TITLE_CHARS),
        link=None,
        summary=truncate(
            f"Examples: {examples}"
            + (f" and {counted(more, 'more')}" if more else "")
            + ". "
            + advice,
            SNIPPET_CHARS,
        ),
        published=now,
        matched_terms=tuple(dict.fromkeys(t for a in group for t in a.matched_terms))[
            :MATCHED_TERMS
        ],
        created_at=now,
    )


def _flood(group: Sequence[Alert], now: datetime) -> Flood:
    first = group[0]
    alert = standing_for(
        group,
        kind="flood",
        title=f"Flood: {len(group)} new items from feed {first.feed} matched "
        f"“{first.rule_title}” in one poll, posted as this one alert",
        advice="No news day brings this many at once: the feed may be broken, re-dated or "
        "hostile. monitor outbox --all lists every one.",
        now=now,
    )
    return Flood(alert, tuple(group))


def flood_notice(floods: Sequence[Flood], now: datetime) -> Alert:
    """One ops notice for the floods of one poll of one feed: the desk got one
    alert per flood, and whoever runs the feed should look at it."""
    feed = floods[0].feed
    rules = ", ".join(f"{f.rule_id} ({f.count})" for f in floods)
    total = sum(f.count for f in floods)
    return Alert(
        rule_id=FLOOD_RULE_ID,
        rule_title="Feed flood",
        severity=Severity.WARNING,
        feed=feed,
        item_identity=f"ops:flood:{feed}:{now.isoformat()}",
        item_guid=None,
        title=truncate(
            f"Feed {feed} raised {counted(total, 'alert')} in one poll: "
            f"posted as {counted(len(floods), 'flood alert')}",
            TITLE_CHARS,
        ),
        link=None,
        summary=truncate(
            f"Per rule: {rules}. Check the feed: a sudden flood of new matching items is "
            "usually a broken, re-dated or hostile feed. The folded alerts are in monitor "
            "outbox --all.",
            SNIPPET_CHARS,
        ),
        published=now,
        matched_terms=(),
        created_at=now,
    )
