"""Small builders for the frozen records, for unit tests of pure logic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.domain.feed import FeedState, Validators
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.rules.compiled import Condition, Match, Rule, TermRef


def make_item(
    title: str = "",
    summary: str = "",
    *,
    tags: tuple[str, ...] = ("news",),
    guid: str = "urn:x",
    link: str | None = None,
    published: datetime | None = None,
) -> Item:
    return Item(
        feed="f",
        feed_tags=tags,
        identity=f"guid:{guid}",
        guid=guid,
        title=title,
        summary=summary,
        link=link,
        published=published,
        updated=None,
    )


def make_rule(rule_id: str = "r", severity: Severity = Severity.CRITICAL) -> Rule:
    return Rule(
        id=rule_id,
        title=rule_id.upper(),
        severity=severity,
        description="",
        feed_tags=frozenset(),
        condition=Condition(any=(TermRef(0, "x"),)),
        tiers=(),
        guards=(),
        cases=(),
        source=f"rules/{rule_id}.yaml",
        supersedes=frozenset(),
        positive_terms=frozenset({0}),
        term_texts={0: "x"},
        required=(frozenset({0}),),
    )


def make_match(item: Item, rule: Rule | None = None) -> Match:
    rule = rule or make_rule()
    return Match(rule=rule, item=item, severity=rule.severity, matched={"title": ("x",)})


FEED_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
"""The moment make_feed_state's defaults are relative to."""


def make_feed_state(**changes: Any) -> FeedState:
    """A healthy feed's state at FEED_NOW, watched for 30 days (long enough
    to judge silence), its last item an hour old; ``changes`` override."""
    default = FeedState(
        name="wire",
        url="https://news.example/rss",
        validators=Validators(),
        first_success_at=FEED_NOW - timedelta(days=30),
        last_success_at=FEED_NOW,
        last_error=None,
        last_error_kind=None,
        consecutive_failures=0,
        last_item_at=FEED_NOW - timedelta(hours=1),
    )
    return replace(default, **changes)
