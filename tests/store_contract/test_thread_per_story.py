"""One thread per story and channel in a window, kept by a unique key
(issue 19): two senders recording a story's thread at once never record
two; the one that loses gets the winner's thread back. Each test is run on
every store; a second instance is a second store on the same state with
another owner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.domain.alert import StoryThread
from monitor.store.claims import ClaimOwner
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW, queued

WINDOW = timedelta(hours=1)
ELSEWHERE = ClaimOwner("another-host", 4242, 100, "another-boot", 1)


def thread(parent_alert_id: int, *, ref: str, key: str | None = "story-1") -> StoryThread:
    """The thread a top-level post of alert ``parent_alert_id`` begins."""
    return StoryThread(
        id=0,
        rule_id="r",
        channel="#desk",
        channel_ref="C1",
        link="https://x/story",
        title="Story",
        parent_alert_id=parent_alert_id,
        parent_ref=ref,
        story_key=key,
    )


def begin(store: Store, parent: int, ref: str, at: datetime = NOW) -> StoryThread:
    return store.add_thread(thread(parent, ref=ref), now=at, since=at - WINDOW)


def test_a_story_begun_by_another_sender_keeps_its_thread(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    a, b = queued(first, 2)
    won = begin(first, a, "p-a")
    assert (won.parent_alert_id, won.parent_ref, won.sources) == (a, "p-a", 1)
    lost = begin(second, b, "p-b", NOW + timedelta(seconds=1))
    assert lost == won, "the second sender is given the first's thread"
    assert second.thread_of_story("story-1", "#desk", since=NOW - WINDOW) == won
    assert [
        t.parent_ref for t in second.recent_threads(rule_id="r", channel="#desk", since=NOW)
    ] == ["p-a"], "one thread recorded"


def test_past_its_window_a_story_begins_its_next_thread(store: Store) -> None:
    a, b, c = queued(store, 3)
    begin(store, a, "p-a")
    later = NOW + WINDOW + timedelta(minutes=1)
    second = begin(store, b, "p-b", later)
    assert second.parent_ref == "p-b", "the first thread's window has passed"
    assert begin(store, c, "p-c", later + timedelta(seconds=5)) == second
    assert store.thread_of_story("story-1", "#desk", since=later - WINDOW) == second


def test_without_a_window_any_earlier_thread_of_the_story_wins(store: Store) -> None:
    a, b = queued(store, 2)
    first = store.add_thread(thread(a, ref="p-a"), now=NOW)
    assert store.add_thread(thread(b, ref="p-b"), now=NOW + timedelta(days=3)) == first


def test_threads_of_alerts_without_a_story_are_each_recorded(store: Store) -> None:
    """Alerts queued before stories (no key) are grouped by title: nothing
    to keep unique, each thread is recorded as before."""
    a, b = queued(store, 2)
    one = store.add_thread(thread(a, ref="p-a", key=None), now=NOW, since=NOW - WINDOW)
    two = store.add_thread(thread(b, ref="p-b", key=None), now=NOW, since=NOW - WINDOW)
    assert one.id != two.id
    assert (one.parent_ref, two.parent_ref) == ("p-a", "p-b")


def test_instances_recording_a_story_at_once_record_one_thread(open_store: OpenStore) -> None:
    """Six instances each posted the story at the top at the same moment and
    record its thread at once: one is recorded, and every one is told which."""
    stores = [open_store(owner=replace(ELSEWHERE, host=f"host-{n}")) for n in range(6)]
    parents = queued(stores[0], len(stores))
    barrier = threading.Barrier(len(stores))

    def record(n: int) -> StoryThread:
        barrier.wait()
        return begin(stores[n], parents[n], f"p-{n}")

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        recorded = list(pool.map(record, range(len(stores))))
    assert len(set(recorded)) == 1, recorded
    assert recorded[0].parent_alert_id in parents
    assert stores[0].recent_threads(rule_id="r", channel="#desk", since=NOW) == [recorded[0]]
