"""The pure backtest: archived items judged as the poll that first read them
judged them (baseline, age limit), against what they alerted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.domain.archive import AlertMark, ArchivedItem
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.pipeline.backtest import backtest
from monitor.pipeline.decide import AlertPolicy
from monitor.rules.load import RuleSet, load_rules

SEEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = AlertPolicy(baseline_window=timedelta(hours=6), max_item_age=timedelta(days=3))


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    (tmp_path / "kursk.yaml").write_text(
        "id: kursk\ntitle: Kursk\nseverity: warning\nmatch:\n  any: [kursk]\n", encoding="utf-8"
    )
    return load_rules(tmp_path)


def archived(
    key: str,
    *,
    age: timedelta = timedelta(0),
    first_poll: bool = False,
    alerted: tuple[AlertMark, ...] = (),
) -> ArchivedItem:
    item = Item(
        feed="news",
        feed_tags=("news",),
        identity=f"guid:{key}",
        guid=key,
        title=f"Kursk report {key}",
        summary="",
        link=None,
        published=SEEN - age,
        updated=None,
    )
    return ArchivedItem(item, SEEN, first_poll=first_poll, alerted=alerted)


def mark(rule_id: str, severity: Severity = Severity.WARNING) -> AlertMark:
    return AlertMark(rule_id, severity, "sent", "#desk")


def test_items_are_judged_as_their_first_poll_judged_them(rules: RuleSet) -> None:
    items = [
        archived("fresh", alerted=(mark("kursk"),)),
        archived("backlog", age=timedelta(days=1), first_poll=True),  # baselined then
        archived("recent-backlog", age=timedelta(hours=1), first_poll=True),  # news then
        archived("stale", age=timedelta(days=5)),  # past max_item_age
        archived("ops", alerted=(mark("kursk"), mark("ops.feed-flood"))),
    ]
    report = backtest(items, rules.match, POLICY)
    assert [(r.change, r.archived.item.guid) for r in report.rows] == [("added", "recent-backlog")]
    assert (report.items, report.would, report.did) == (5, 3, 2)


def test_lost_changed_and_only_the_rules_asked(rules: RuleSet) -> None:
    items = [
        archived("a", alerted=(mark("kursk", Severity.CRITICAL), mark("gone"))),
        archived("b", alerted=(mark("gone"),)),
    ]
    report = backtest(items, rules.match, POLICY)
    assert [(r.change, r.rule_id, r.would, r.did) for r in report.rows] == [
        ("lost", "gone", None, Severity.WARNING),
        ("changed", "kursk", Severity.WARNING, Severity.CRITICAL),
        ("lost", "gone", None, Severity.WARNING),
        ("added", "kursk", Severity.WARNING, None),
    ]
    only = backtest(items, rules.match, POLICY, rule_ids=["gone"])
    assert [r.change for r in only.rows] == ["lost", "lost"]
    assert (only.would, only.did) == (0, 2)
