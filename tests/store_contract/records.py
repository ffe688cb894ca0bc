"""Records for the contract tests: items, alerts and poll outcomes at fixed times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitor.domain.alert import Alert, RoutedAlert, Target
from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.store.ports import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
DESK = Target("#desk")
URL = "https://x/feed"


def item(key: str, *, feed: str = "f", link: str | None = None, title: str = "") -> Item:
    """An item with guid ``urn:<key>`` (and a second seen key when it has a link)."""
    return Item(
        feed=feed,
        feed_tags=("news",),
        identity=f"guid:urn:{key}",
        guid=f"urn:{key}",
        title=title or key,
        summary="",
        link=link,
        published=NOW,
        updated=None,
    )


def alert_for(
    it: Item, rule: str = "r", severity: Severity = Severity.WARNING, at: datetime = NOW
) -> Alert:
    """The alert ``rule`` raises on ``it``."""
    return Alert(
        rule_id=rule,
        rule_title=rule.upper(),
        severity=severity,
        feed=it.feed,
        item_identity=it.identity,
        item_guid=it.guid,
        title=it.title,
        link=it.link,
        summary="",
        published=it.published,
        matched_terms=(),
        created_at=at,
    )


def commit(
    store: Store,
    items: Sequence[Item],
    alerts: Sequence[Alert] = (),
    *,
    feed: str = "f",
    url: str = URL,
    now: datetime = NOW,
    target: Target = DESK,
) -> int:
    """A poll of ``feed`` that read ``items`` and raised ``alerts`` (all to ``target``)."""
    routed: list[RoutedAlert] = [(a, target) for a in alerts]
    return store.commit_poll(
        PollOutcome(feed=feed, url=url, items=items, alerts=routed, validators=Validators('"e"')),
        now=now,
    )


def queued(store: Store, count: int, rule: str = "r") -> list[int]:
    """Queue alerts of ``rule`` on ``count`` new items of feed f; their ids, oldest first."""
    before = {e.id for e in store.outbox(["pending"], limit=10_000)}
    commit(store, [], [alert_for(item(f"{rule}-{n}"), rule) for n in range(count)])
    return [e.id for e in store.outbox(["pending"], limit=10_000) if e.id not in before]
