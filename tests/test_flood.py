"""One source must not delay the others: a feed that suddenly shows thousands
of new matching items posts one flood alert and one ops notice instead of a
message each, and whatever is queued, critical alerts go first and every feed
and rule gets its turn in each delivery run."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.delivery.render import SNIPPET_CHARS, TITLE_CHARS
from monitor.domain.alert import Alert, Target
from monitor.domain.feed import Validators
from monitor.domain.ops import FLOOD_RULE_ID
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.pipeline.flood import EXAMPLES, flood_notice, fold_floods
from monitor.store.sqlite import SQLiteStore
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FeedSpec, run_monitor, write_config
from tests.support.slack_emulator import SlackEmulator

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def alert(
    number: int,
    *,
    feed: str = "wire",
    rule: str = "watch",
    severity: Severity = Severity.WARNING,
) -> Alert:
    return Alert(
        rule_id=rule,
        rule_title=f"Rule {rule}",
        severity=severity,
        feed=feed,
        item_identity=f"{feed}:{number}",
        item_guid=None,
        title=f"Item number {number} of {feed}",
        link=f"https://{feed}.example/{number}",
        summary="",
        published=NOW,
        matched_terms=(f"term{number % 3}",),
        created_at=NOW,
    )


# --- the decision, pure -------------------------------------------------------------


def test_a_group_at_the_threshold_passes_and_one_more_is_folded_into_one_flood_alert() -> None:
    at_limit = [alert(n) for n in range(5)]
    assert fold_floods(at_limit, threshold=5, now=NOW).alerts == tuple(at_limit)

    over = [alert(n) for n in range(6)]
    decision = fold_floods(over, threshold=5, now=NOW)
    (flood,) = decision.floods
    assert decision.alerts == (flood.alert,)
    assert flood.folded == tuple(over)
    assert flood.count == 6
    assert flood.alert.rule_id == "watch" and flood.alert.feed == "wire"
    assert "6 new items from feed wire" in flood.alert.title
    assert flood.alert.link is None
    assert "6 alerts for this rule from feed wire" in flood.folded_reason()


def test_only_the_flooding_feed_and_rule_are_folded_and_the_order_of_the_rest_is_kept() -> None:
    flooding = [alert(n) for n in range(30)]
    other_rule = alert(100, rule="other")
    other_feed = alert(101, feed="agency")
    mixed = [other_rule, *flooding[:10], other_feed, *flooding[10:]]
    decision = fold_floods(mixed, threshold=20, now=NOW)
    (flood,) = decision.floods
    assert decision.alerts == (other_rule, flood.alert, other_feed)


def test_a_flood_alert_carries_the_highest_severity_a_few_examples_and_fits_slack() -> None:
    group = [alert(n) for n in range(50)]
    group[7] = replace(group[7], severity=Severity.CRITICAL)
    (flood,) = fold_floods(group, threshold=10, now=NOW).floods
    assert flood.alert.severity is Severity.CRITICAL
    for example in group[:EXAMPLES]:
        assert example.title in flood.alert.summary
    assert group[EXAMPLES].title not in flood.alert.summary
    assert f"and {50 - EXAMPLES} more" in flood.alert.summary
    assert len(flood.alert.title) <= TITLE_CHARS
    assert len(flood.alert.summary) <= SNIPPET_CHARS
    assert set(flood.alert.matched_terms) == {"term0", "term1", "term2"}


def test_each_polls_flood_is_a_new_alert_and_the_ops_notice_names_every_flooding_rule() -> None:
    group = [alert(n) for n in range(30)]
    first = fold_floods(group, threshold=10, now=NOW).floods[0]
    later = fold_floods(group, threshold=10, now=NOW + timedelta(minutes=5)).floods[0]
    assert first.alert.item_identity != later.alert.item_identity

    floods = fold_floods(
        [*group, *(alert(n, rule="other") for n in range(40))], threshold=10, now=NOW
    ).floods
    notice = flood_notice(floods, NOW)
    assert notice.rule_id == FLOOD_RULE_ID
    assert notice.severity is Severity.WARNING
    assert "Feed wire raised 70 alerts in one poll" in notice.title
    assert "watch (30)" in notice.summary and "other (40)" in notice.summary


# --- the outbox's order, on a real SQLite store -------------------------------------------


def queue(store: SQLiteStore, alerts: Sequence[Alert], feed: str) -> None:
    store.commit_poll(
        PollOutcome(
            feed=feed,
            url=f"https://{feed}.example/feed",
            items=[],
            alerts=[(a, Target("#desk")) for a in alerts],
            validators=Validators(),
        ),
        now=NOW,
    )


def test_due_alerts_serve_critical_first_then_take_turns_across_feeds_and_rules(
    tmp_path: Path,
) -> None:
    with SQLiteStore(tmp_path / "state.db") as store:
        queue(store, [alert(n) for n in range(500)], "wire")
        queue(store, [alert(n, rule="other") for n in range(3)], "wire")
        queue(store, [alert(n, feed="agency") for n in range(2)], "agency")
        queue(store, [alert(9, feed="ministry", severity=Severity.CRITICAL)], "ministry")

        due = store.due_alerts(NOW, 6)

    assert [(e.alert.feed, e.alert.rule_id, e.alert.item_identity) for e in due] == [
        ("ministry", "watch", "ministry:9"),  # critical, though queued last
        ("wire", "watch", "wire:0"),  # then the first of each group, oldest group first
        ("wire", "other", "wire:0"),
        ("agency", "watch", "agency:0"),
        ("wire", "watch", "wire:1"),  # then the second of each
        ("wire", "other", "wire:1"),
    ]


# --- as the user meets it: `monitor once` with the Slack emulator ----------------------

RULES = {
    "watch.yaml": "id: watch\ntitle: Border watch\nseverity: warning\nmatch:\n  any: [border]\n",
    "urgent.yaml": "id: urgent\ntitle: Urgent strike\nseverity: critical\nmatch:\n  any: [strike]\n",
}


def desk(
    tmp_path: Path,
    feed_server: FeedServer,
    slack: SlackEmulator,
    feeds: Sequence[str],
    extra: str = "",
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    for name, text in RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    write_config(
        tmp_path,
        [FeedSpec(name, feed_server.url(f"/{name}")) for name in feeds],
        slack_api_url=slack.base_url,
        rules_dir=rules,
        slack_extra='min_interval = "0s"\nstorm_threshold = 1000',
        extra=extra,
    )


def border_items(count: int, published: datetime) -> list[Entry]:
    return [
        Entry(
            f"Border incident number {n} reported",
            link=f"https://wire.example/border/{n}",
            guid=f"wire-border-{n}",
            published=published,
        )
        for n in range(count)
    ]


def once(tmp_path: Path, slack: SlackEmulator) -> None:
    result = run_monitor("once", cwd=tmp_path, slack_token=slack.token)
    assert result.returncode == 0, result.stderr


@pytest.mark.e2e
def test_a_feed_showing_two_thousand_new_matches_posts_one_flood_alert_and_one_ops_notice(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """The desk sees one flood alert (count and examples) and ops one notice,
    not 2,000 messages; `monitor outbox --all` still lists every folded alert."""
    now = datetime.now(UTC)
    feed_server.set("/wire", rss([]))
    desk(tmp_path, feed_server, slack_emulator, ["wire"])
    once(tmp_path, slack_emulator)  # the first read: an empty feed, baselined

    feed_server.set("/wire", rss(border_items(2000, now - timedelta(minutes=5))))
    result = run_monitor("once", cwd=tmp_path, slack_token=slack_emulator.token)
    assert result.returncode == 0, result.stderr
    assert "FLOOD: 2000 alerts for rule watch in one poll" in result.stderr

    texts = [m.text for m in slack_emulator.messages]
    assert len(texts) == 2, texts
    assert any("Flood: 2000 new items from feed wire" in t for t in texts), texts
    assert any("Feed wire raised 2000 alerts in one poll" in t for t in texts), texts

    outbox = run_monitor("outbox", "--all", cwd=tmp_path)
    lines = outbox.stdout.splitlines()
    assert sum("folded into a flood alert" in line for line in lines) > 900
    assert "2000 silenced" in lines[-1]
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM alerts WHERE last_error LIKE 'folded into a flood alert%'"
        ).fetchone()
    assert count == 2000

    once(tmp_path, slack_emulator)  # the same items again: nothing new
    assert len(slack_emulator.messages) == 2


@pytest.mark.e2e
def test_with_two_thousand_alerts_queued_by_one_feed_other_feeds_go_out_in_the_next_run(
    tmp_path: Path, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    """A backlog of 2,000 alerts from one feed (the flood limit raised above
    it) no longer delays others: the next delivery run posts another feed's
    critical alert and a third feed's ordinary one, besides its turn of the backlog."""
    now = datetime.now(UTC)
    feed_server.set("/wire", rss([]))
    feed_server.set("/ministry", rss([]))
    feed_server.set("/agency", rss([]))
    names = ["wire", "ministry", "agency"]
    desk(tmp_path, feed_server, slack_emulator, names, extra="[polling]\nflood_threshold = 5000")
    once(tmp_path, slack_emulator)  # first reads, all empty

    feed_server.set("/wire", rss(border_items(2000, now - timedelta(minutes=5))))
    once(tmp_path, slack_emulator)  # one delivery run: 50 of the 2,000 go out
    assert len(slack_emulator.messages) == 50

    feed_server.set(
        "/ministry",
        rss([Entry("Missile strike on the capital", guid="m-1", published=now)]),
    )
    feed_server.set(
        "/agency",
        rss([Entry("Border crossing closed overnight", guid="a-1", published=now)]),
    )
    once(tmp_path, slack_emulator)

    run = [m.text for m in slack_emulator.messages[50:]]
    assert len(run) == 50
    assert any("Missile strike on the capital" in t for t in run)
    assert any("Border crossing closed overnight" in t for t in run)
