"""The alert log (monitor.store.alert_log) as the web console reads it: the
newest alerts first, filtered by rule, severity, channel and text, paged by
id, each with its delivery state, its backfill mark and its story's
sources; and each rule's items alerted on per day."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from monitor.domain.alert import Alert, Target
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.domain.story import Story, StoryMember, StoryUpdate
from monitor.store.alert_log import AlertLog, AlertQuery
from monitor.store.ports import Store
from tests.store_contract.records import DESK, NOW, URL, alert_for, commit, item


def log_of(store: Store) -> AlertLog:
    """The store's alert log: every store the console reads keeps one."""
    assert isinstance(store, AlertLog)
    return store


def alert(
    key: str,
    rule: str = "r",
    severity: Severity = Severity.WARNING,
    *,
    title: str | None = None,
    summary: str = "",
    story: str | None = None,
) -> Alert:
    raised = alert_for(item(key), rule, severity)
    return replace(raised, title=title or raised.title, summary=summary, story=story)


EVERYTHING = AlertQuery()


def titles(store: Store, query: AlertQuery = EVERYTHING, limit: int = 50) -> list[str]:
    return [found.alert.title for found in log_of(store).recent_alerts(query, limit=limit)]


def test_the_newest_alert_comes_first_with_its_delivery_state(store: Store) -> None:
    commit(store, [], [alert("a", title="First"), alert("b", title="Second")])
    newest, oldest = log_of(store).recent_alerts(AlertQuery())
    assert (newest.alert.title, oldest.alert.title) == ("Second", "First")
    assert newest.id > oldest.id
    assert newest.channel == "#desk" and newest.created_at == NOW
    assert (newest.status, newest.attempts, newest.last_error, newest.sent_at) == (
        "pending",
        0,
        None,
        None,
    )
    assert newest.backfill is False and newest.story is None and newest.digest is None

    store.mark_failed(oldest.id, attempts=3, now=NOW, error="channel_not_found")
    assert store.claim(newest.id, now=NOW)
    store.mark_sent(newest.id, now=NOW + timedelta(minutes=1), destination="slack", ref="1.2")
    sent, failed = log_of(store).recent_alerts(AlertQuery())
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, NOW + timedelta(minutes=1))
    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        3,
        "channel_not_found",
    )


def test_filters_by_rule_severity_and_channel_together(store: Store) -> None:
    commit(store, [], [alert("a", "r1", title="r1 warning desk")])
    commit(store, [], [alert("b", "r2", Severity.CRITICAL, title="r2 critical desk")])
    commit(
        store,
        [],
        [alert("c", "r2", Severity.CRITICAL, title="r2 critical ops")],
        target=Target("#ops"),
    )
    assert titles(store, AlertQuery(rule_id="r2")) == ["r2 critical ops", "r2 critical desk"]
    assert titles(store, AlertQuery(severity=Severity.WARNING)) == ["r1 warning desk"]
    assert titles(store, AlertQuery(rule_id="r2", channel="#desk")) == ["r2 critical desk"]
    assert titles(store, AlertQuery(rule_id="nope")) == []


def test_text_is_found_in_title_or_summary_whatever_the_case(store: Store) -> None:
    commit(
        store,
        [],
        [
            alert("a", title="Troops near KURSK", summary=""),
            alert("b", title="Quiet day", summary="Shelling reported in Kursk region"),
            alert("c", title="ÜBERRASCHUNG in Berlin", summary=""),
            alert("d", title="Nothing here", summary="50% of nothing"),
        ],
    )
    assert titles(store, AlertQuery(text="kursk")) == ["Quiet day", "Troops near KURSK"]
    assert titles(store, AlertQuery(text="überraschung")) == ["ÜBERRASCHUNG in Berlin"]
    assert titles(store, AlertQuery(text="50%")) == ["Nothing here"], "% is no wildcard"
    assert titles(store, AlertQuery(text="_")) == [], "_ is no wildcard"


def test_pages_go_back_by_id(store: Store) -> None:
    commit(store, [], [alert(f"k{n}", title=f"alert {n}") for n in range(5)])
    first = log_of(store).recent_alerts(AlertQuery(), limit=2)
    assert [a.alert.title for a in first] == ["alert 4", "alert 3"]
    second = log_of(store).recent_alerts(AlertQuery(before_id=first[-1].id), limit=2)
    assert [a.alert.title for a in second] == ["alert 2", "alert 1"]
    last = log_of(store).recent_alerts(AlertQuery(before_id=second[-1].id), limit=2)
    assert [a.alert.title for a in last] == ["alert 0"]


def test_a_backfill_alert_is_marked(store: Store) -> None:
    store.queue_alerts(
        [(replace(alert("old"), backfill_of=NOW - timedelta(hours=2)), DESK)], now=NOW
    )
    (found,) = log_of(store).recent_alerts(AlertQuery())
    assert found.backfill is True


def member(key: str, feed: str, publisher: str | None) -> StoryMember:
    return StoryMember(
        item_identity=f"guid:urn:{key}",
        feed=feed,
        publisher=publisher,
        link=None,
        title=f"Headline {key}",
        seen_at=NOW,
    )


def test_an_alert_shows_its_story_and_the_sources_that_told_it(store: Store) -> None:
    story = Story(
        key="s1",
        rule_id="r",
        title="Forty-two firms listed",
        severity=Severity.WARNING,
        first_seen_at=NOW,
        last_seen_at=NOW,
        sources=("Outlet A", "outlet-b"),
    )
    members = (member("a", "wire", "Outlet A"), member("b", "outlet-b", None))
    store.commit_poll(
        PollOutcome(
            feed="wire",
            url=URL,
            items=[],
            alerts=[(alert("a", story="s1"), DESK)],
            validators=Validators(),
            stories=[StoryUpdate(story, members)],
        ),
        now=NOW,
    )
    commit(store, [], [alert("lone")])
    lone, told = log_of(store).recent_alerts(AlertQuery())
    assert lone.story is None
    assert told.story is not None
    assert told.story.key == "s1" and told.story.title == "Forty-two firms listed"
    assert told.story.sources == ("Outlet A", "outlet-b"), "publisher, else the feed"
    assert told.story.members == 2


def test_an_alert_whose_story_is_gone_still_names_it(store: Store) -> None:
    commit(store, [], [alert("a", story="pruned-story")])
    (found,) = log_of(store).recent_alerts(AlertQuery())
    assert found.story is not None
    assert (found.story.key, found.story.title, found.story.sources) == ("pruned-story", None, ())


def test_daily_counts_are_items_per_rule_and_utc_day(store: Store) -> None:
    day_one = datetime(2026, 11, 30, 23, 30, tzinfo=NOW.tzinfo)
    day_two = day_one + timedelta(hours=1)
    commit(store, [], [alert("a"), alert("b")], now=day_one)
    # The same item in a second channel is still one item alerted on.
    commit(store, [], [alert("a")], now=day_one, target=Target("#ops"))
    commit(store, [], [alert("c"), alert("c", "other")], now=day_two)
    commit(store, [], [alert("too-old")], now=day_one - timedelta(days=3))
    counts = log_of(store).daily_alert_counts(since=day_one - timedelta(days=1))
    assert [(c.rule_id, c.day, c.alerts) for c in counts] == [
        ("other", date(2026, 12, 1), 1),
        ("r", date(2026, 11, 30), 2),
        ("r", date(2026, 12, 1), 1),
    ]
    assert log_of(store).daily_alert_counts(since=day_two + timedelta(days=1)) == []
