"""Small builders for the frozen records, for unit tests of pure logic."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.rules.match import Condition, Match, Rule, TermRef


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
