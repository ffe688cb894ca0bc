"""Threads: a thread's parent, with the references its sink gave, and its sources."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain.alert import StoryThread
from monitor.store.ports import Store
from tests.store_contract.records import LATER, NOW, queued


def story(
    parent_alert_id: int, *, rule_id: str = "r", channel: str = "#desk", ref: str
) -> StoryThread:
    return StoryThread(
        id=0,
        rule_id=rule_id,
        channel=channel,
        channel_ref="C1",
        link="https://x/story",
        title="StoryThread",
        parent_alert_id=parent_alert_id,
        parent_ref=ref,
    )


def test_a_story_round_trips_with_its_refs_and_counts_its_sources(store: Store) -> None:
    (parent,) = queued(store, 1)
    store.add_thread(story(parent, ref="p1"), now=NOW)
    (found,) = store.recent_threads(rule_id="r", channel="#desk", since=NOW)
    assert found.id > 0
    assert found == StoryThread(
        id=found.id,
        rule_id="r",
        channel="#desk",
        channel_ref="C1",
        link="https://x/story",
        title="StoryThread",
        parent_alert_id=parent,
        parent_ref="p1",
        sources=1,
    )
    assert store.add_thread_source(found.id, now=LATER) == 2
    assert store.add_thread_source(found.id, now=LATER) == 3
    (found,) = store.recent_threads(rule_id="r", channel="#desk", since=NOW)
    assert found.sources == 3


def test_recent_stories_are_a_rules_in_a_channel_since_a_time_newest_first(store: Store) -> None:
    ids = queued(store, 4)
    store.add_thread(story(ids[0], ref="old"), now=NOW - timedelta(hours=2))
    store.add_thread(story(ids[1], ref="p1"), now=NOW)
    store.add_thread(story(ids[2], ref="p2"), now=LATER)
    store.add_thread(story(ids[3], rule_id="other", ref="p3"), now=LATER)
    store.add_thread(story(ids[3], channel="#else", ref="p4"), now=LATER)
    found = store.recent_threads(rule_id="r", channel="#desk", since=NOW - timedelta(hours=1))
    assert [s.parent_ref for s in found] == ["p2", "p1"]
