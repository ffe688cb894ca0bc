"""Backfill as data: which rules count as new or changed (fingerprints), what
they would have raised on archived items, and a broad rule's backfill folded
into one summary instead of dozens of posts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.domain.archive import AlertMark, ArchivedItem
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.pipeline.backfill import (
    backfill_alerts,
    fold_backfill,
    rule_fingerprints,
    rules_to_backfill,
)
from monitor.pipeline.decide import AlertPolicy
from monitor.rules.load import RuleSet, load_rules

SEEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NOW = SEEN + timedelta(hours=2)
POLICY = AlertPolicy(baseline_window=timedelta(hours=6), max_item_age=timedelta(days=3))

KURSK = """\
id: kursk
title: Kursk
severity: warning
description: Fighting around Kursk.
match:
  any: [kursk]
tests:
  - title: Fighting near Kursk
    expect: warning
"""
OTHER = "id: other\ntitle: Other\nseverity: info\nmatch:\n  any: [zzz]\n"


def rules_of(tmp_path: Path, *texts: str) -> RuleSet:
    directory = tmp_path / f"rules{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    for number, text in enumerate(texts):
        (directory / f"r{number}.yaml").write_text(text, encoding="utf-8")
    return load_rules(directory)


def test_editing_words_that_decide_no_verdict_is_no_change(tmp_path: Path) -> None:
    before = rule_fingerprints(rules_of(tmp_path, KURSK).rules)
    reworded = KURSK.replace("title: Kursk", "title: Kursk fighting").replace(
        "Fighting around Kursk.", "Clashes in Kursk oblast."
    )
    reworded += "  - title: Nothing here\n    expect: none\n"
    assert rule_fingerprints(rules_of(tmp_path, reworded).rules) == before
    # Another rule's terms shift the shared term ids; this rule is the same.
    with_other = rule_fingerprints(rules_of(tmp_path, OTHER, KURSK).rules)
    assert with_other["kursk"] == before["kursk"]


@pytest.mark.parametrize(
    ("edit", "what"),
    [
        (("any: [kursk]", "any: [kursk, belgorod]"), "a term added"),
        (("severity: warning", "severity: critical"), "another severity"),
        (("match:", "feed_tags: [news]\nmatch:"), "feed tags"),
    ],
)
def test_what_decides_verdicts_is_a_change(
    tmp_path: Path, edit: tuple[str, str], what: str
) -> None:
    before = rule_fingerprints(rules_of(tmp_path, KURSK).rules)
    after = rule_fingerprints(rules_of(tmp_path, KURSK.replace(*edit)).rules)
    assert after["kursk"] != before["kursk"], what


def test_fingerprints_are_the_same_in_another_process(tmp_path: Path) -> None:
    """Sets are hashed in another order by each process: a restart must not
    take every rule for changed."""
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "k.yaml").write_text(
        KURSK.replace("any: [kursk]", "any: [kursk, belgorod, sumy, bryansk]"), encoding="utf-8"
    )
    code = (
        "from pathlib import Path; from monitor.rules.load import load_rules; "
        "from monitor.pipeline.backfill import rule_fingerprints; "
        f"print(rule_fingerprints(load_rules(Path({str(directory)!r})).rules)['kursk'])"
    )
    printed = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(printed) == 1


def test_new_and_changed_rules_are_backfilled_and_a_first_record_is_not() -> None:
    recorded = {"same": "v1:a", "edited": "v1:b", "dropped": "v1:c"}
    current = {"same": "v1:a", "edited": "v1:B", "added": "v1:d"}
    assert rules_to_backfill(current, recorded) == ("added", "edited")
    assert rules_to_backfill(current, {}) == ()  # nothing recorded: a first start
    # A new way of fingerprinting is not a changed rule.
    assert rules_to_backfill({"same": "v2:x"}, {"same": "v1:a"}) == ()


def archived(key: str, *, seen: datetime = SEEN, alerted: tuple[str, ...] = ()) -> ArchivedItem:
    item = Item(
        feed="news",
        feed_tags=("news",),
        identity=f"guid:{key}",
        guid=key,
        title=f"Kursk report {key}",
        summary="",
        link=f"https://news.example/{key}",
        published=seen,
        updated=None,
    )
    marks = tuple(AlertMark(rule, Severity.WARNING, "sent", "#desk") for rule in alerted)
    return ArchivedItem(item, seen, alerted=marks)


def test_backfill_raises_what_the_rule_did_not_and_marks_it(tmp_path: Path) -> None:
    rules = rules_of(tmp_path, KURSK)
    items = [
        archived("new"),
        archived("done", alerted=("kursk",)),  # raised already: not again
        archived("new"),  # the same item from another feed: judged once
    ]
    alerts = backfill_alerts(items, rules.match, POLICY, rule_ids=["kursk"], now=NOW)
    assert [(a.rule_id, a.item_identity) for a in alerts] == [("kursk", "guid:new")]
    assert alerts[0].backfill_of == SEEN and alerts[0].created_at == NOW
    assert alerts[0].is_backfill
    assert backfill_alerts(items, rules.match, POLICY, rule_ids=["other"], now=NOW) == []


def test_items_are_judged_as_when_they_were_read(tmp_path: Path) -> None:
    rules = rules_of(tmp_path, KURSK)
    fresh_backlog = ArchivedItem(archived("recent").item, SEEN, first_poll=True)
    old_backlog = ArchivedItem(
        replace(archived("old").item, published=SEEN - timedelta(days=1)), SEEN, first_poll=True
    )
    stale = ArchivedItem(replace(archived("stale").item, published=SEEN - timedelta(days=5)), SEEN)
    alerts = backfill_alerts(
        [old_backlog, fresh_backlog, stale], rules.match, POLICY, rule_ids=["kursk"], now=NOW
    )
    # A first read's backlog older than the baseline window was baselined
    # then, and an item past polling.max_item_age never alerts.
    assert [a.item_identity for a in alerts] == ["guid:recent"]


def test_a_broad_rule_is_folded_into_one_summary(tmp_path: Path) -> None:
    rules = rules_of(tmp_path, KURSK)
    items = [archived(f"n{number}") for number in range(25)]
    alerts = backfill_alerts(items, rules.match, POLICY, rule_ids=["kursk"], now=NOW)
    decision = fold_backfill(
        alerts, threshold=20, window=timedelta(hours=6), now=NOW, fingerprints={"kursk": "v1:ab"}
    )
    assert len(decision.alerts) == 1 and len(decision.folds) == 1
    summary = decision.alerts[0]
    assert summary.title.startswith("Backfill: rule “Kursk” would have raised 25 alerts")
    assert "monitor backtest kursk --since 6h" in summary.summary
    assert summary.is_backfill and summary.backfill_of == SEEN
    # One summary per version of the rule, whichever instance folds it, whenever.
    assert summary.item_identity == "backfill:kursk:v1:ab"
    few = fold_backfill(
        alerts[:5], threshold=20, window=timedelta(hours=6), now=NOW, fingerprints={}
    )
    assert few.alerts == tuple(alerts[:5]) and few.folds == ()


def test_an_item_the_superseded_rule_posted_is_not_posted_again(tmp_path: Path) -> None:
    """A sharper rule replacing a broad one must not repeat the broad one's alerts."""
    sharper = KURSK.replace("id: kursk", "id: kursk-sharp").replace(
        "match:", "supersedes: [kursk]\nmatch:"
    )
    rules = rules_of(tmp_path, KURSK, sharper)
    items = [archived("posted", alerted=("kursk",)), archived("unposted")]
    alerts = backfill_alerts(
        items,
        rules.match,
        POLICY,
        rule_ids=["kursk-sharp"],
        now=NOW,
        supersedes={rule.id: rule.supersedes for rule in rules.rules},
    )
    assert [(a.rule_id, a.item_identity) for a in alerts] == [("kursk-sharp", "guid:unposted")]


def test_a_copy_another_feed_carried_is_judged_with_that_feeds_tags(tmp_path: Path) -> None:
    """A rule for official feeds backfills the ministry's copy of an item a
    wire read first, as the ministry's poll would have alerted on it, and once."""
    official = KURSK.replace("match:", "feed_tags: [official]\nmatch:")
    rules = rules_of(tmp_path, official)
    wire = archived("shared")
    ministry = ArchivedItem(
        replace(wire.item, feed="ministry", feed_tags=("official",)), SEEN + timedelta(minutes=5)
    )
    again = ArchivedItem(
        replace(wire.item, feed="mod", feed_tags=("official",)), SEEN + timedelta(minutes=9)
    )
    alerts = backfill_alerts(
        [wire, ministry, again], rules.match, POLICY, rule_ids=["kursk"], now=NOW
    )
    assert [(a.feed, a.item_identity) for a in alerts] == [("ministry", "guid:shared")]
