"""Stories across feeds: written with a poll's alerts, read back with their
members, kept across restarts, pruned with their members."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from monitor.domain.alert import Target
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.domain.story import Story, StoryMember, StoryUpdate
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import LATER, NOW, URL, alert_for, item


def member(key: str, publisher: str | None, *, feed: str = "f") -> StoryMember:
    return StoryMember(
        item_identity=f"guid:urn:{key}",
        feed=feed,
        publisher=publisher,
        link=f"https://news.example/{key}",
        title=f"Headline {key}",
        seen_at=NOW,
        text={"words": [key]},
    )


STORY = Story(
    key="s1",
    rule_id="r",
    title="Headline a",
    severity=Severity.WARNING,
    first_seen_at=NOW,
    last_seen_at=NOW,
    sources=("Outlet A",),
)


def poll(store: Store, updates: list[StoryUpdate], keys: list[str], *, feed: str = "f") -> int:
    alerts = [replace(alert_for(item(key, feed=feed)), story="s1") for key in keys]
    return store.commit_poll(
        PollOutcome(
            feed=feed,
            url=URL + feed,
            items=[],
            alerts=[(a, Target("#desk")) for a in alerts],
            validators=Validators(),
            stories=updates,
        ),
        now=NOW,
    )


def test_a_story_is_written_with_its_alert_and_read_back_with_its_members(store: Store) -> None:
    poll(store, [StoryUpdate(STORY, (member("a", "Outlet A"),))], ["a"])
    (found,) = store.recent_stories(rule_id="r", since=NOW - timedelta(hours=1))
    assert found == replace(STORY, members=(member("a", "Outlet A"),))
    assert store.story("s1") == found
    assert store.story("nope") is None
    (entry,) = store.outbox(["pending"])
    assert entry.alert.story == "s1"


def test_a_later_source_joins_and_the_story_keeps_across_a_restart(
    open_store: OpenStore,
) -> None:
    first = open_store()
    poll(first, [StoryUpdate(STORY, (member("a", "Outlet A"),))], ["a"])
    first.close()
    again = open_store()
    joined = replace(STORY, sources=("Outlet A", "Outlet B"), last_seen_at=LATER)
    poll(again, [StoryUpdate(joined, (member("b", "Outlet B", feed="g"),))], ["b"], feed="g")
    found = again.story("s1")
    assert found is not None
    assert found.sources == ("Outlet A", "Outlet B") and found.last_seen_at == LATER
    assert [m.item_identity for m in found.members] == ["guid:urn:a", "guid:urn:b"]
    assert again.recent_stories(rule_id="r", since=LATER) == [found]
    assert again.recent_stories(rule_id="other", since=NOW) == []


def test_an_escalation_is_kept_once_and_old_stories_are_pruned(store: Store) -> None:
    escalated = replace(STORY, severity=Severity.CRITICAL, escalated_at=NOW)
    poll(store, [StoryUpdate(escalated, (member("a", "Outlet A"),))], ["a"])
    later = replace(escalated, escalated_at=LATER, last_seen_at=LATER)
    poll(store, [StoryUpdate(later, ())], [])
    found = store.story("s1")
    assert found is not None and found.escalated_at == NOW
    store.prune(LATER + timedelta(days=1))
    assert store.story("s1") is None
    assert store.recent_stories(rule_id="r", since=NOW - timedelta(days=1)) == []


def test_feedback_is_recorded_with_the_alert_as_it_was_and_read_by_kind_and_alert(
    store: Store,
) -> None:
    poll(store, [StoryUpdate(STORY, (member("a", "Outlet A"),))], ["a", "b"])
    first, second = (e.id for e in store.outbox(["pending"]))
    said = store.record_feedback(
        "false-alarm", alert_id=first, user_id="U1", user_name="ana", now=NOW
    )
    assert said is not None and said.alert.item_identity == "guid:urn:a"
    store.record_feedback("acknowledged", alert_id=second, user_id="U2", user_name="bo", now=LATER)
    assert store.record_feedback("muted", alert_id=999, user_id="U", user_name="x", now=NOW) is None
    assert [f.user_name for f in store.feedback(["false-alarm", "acknowledged"])] == ["bo", "ana"]
    assert [f.kind for f in store.feedback(["false-alarm"])] == ["false-alarm"]
    assert [
        f.user_name for f in store.feedback(["acknowledged", "false-alarm"], alert_id=first)
    ] == ["ana"]


def test_a_storys_later_alert_waits_for_an_untried_first_but_not_for_a_digest(
    store: Store,
) -> None:
    def queue(key: str, target: Target) -> None:
        alert = replace(alert_for(item(key)), story="s1")
        store.commit_poll(
            PollOutcome(
                feed="f", url=URL, items=[], alerts=[(alert, target)], validators=Validators()
            ),
            now=NOW,
        )

    queue("a", Target("#desk", not_before=LATER))
    queue("b", Target("#desk"))
    first, second = (e.id for e in store.outbox(["pending"]))
    assert store.story_waits("s1", "#desk", before_id=second) == LATER
    assert store.story_waits("s1", "#other", before_id=second) is None
    assert store.story_waits("s1", "#desk", before_id=first) is None
    queue("c", Target("#digest", digest="0 8 * * *"))
    queue("d", Target("#digest"))
    last = max(e.id for e in store.outbox(["pending"]))
    assert store.story_waits("s1", "#digest", before_id=last) is None, "a digest is not waited for"
    assert store.release_held("s1", now=NOW) == 1
    assert store.story_waits("s1", "#desk", before_id=second) == NOW
