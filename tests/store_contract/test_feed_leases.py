"""Feed leases: instances sharing one state take the due feeds among them,
and no feed is polled by two of them at once (issue 19). Each test is run
on every store; a second instance is a second store on the same state with
another owner."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.store.claims import ClaimOwner, this_process
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW, URL

LEASE = timedelta(minutes=15)
ELSEWHERE = ClaimOwner("another-host", 4242, 100, "another-boot", 1)
"""An instance on another host: its leases end only when they run out."""


def poll(store: Store, feed: str, *, now: datetime, next_poll_at: datetime) -> None:
    """A poll of ``feed`` that found its items, due again at ``next_poll_at``."""
    store.commit_poll(
        PollOutcome(
            feed=feed,
            url=URL,
            items=[],
            alerts=[],
            validators=Validators('"e"'),
            next_poll_at=next_poll_at,
        ),
        now=now,
    )


def claim(
    store: Store, due_first: dict[str, datetime], *, now: datetime = NOW, limit: int = 100
) -> list[str]:
    return store.claim_due_feeds(due_first, now=now, limit=limit, lease=LEASE)


def a_dead_process() -> ClaimOwner:
    """An owner on this host whose pid runs no process: known to be gone."""
    here = this_process()
    if here.started is None or here.pid_namespace is None:
        pytest.skip("this system's /proc cannot tell whether a process runs")
    pid = next(pid for pid in range(4_000_000, 1, -1) if not Path(f"/proc/{pid}").exists())
    return replace(here, pid=pid)


def test_a_feed_never_polled_is_due_when_first_named(store: Store) -> None:
    later = NOW + timedelta(minutes=1)
    assert claim(store, {"a": later}) == [], "not due before the time it was given"
    assert claim(store, {"a": later}, now=later) == ["a"], "due at that time"


def test_a_polled_feed_is_due_at_its_stored_next_poll(store: Store) -> None:
    poll(store, "a", now=NOW - timedelta(minutes=10), next_poll_at=NOW + timedelta(minutes=5))
    poll(store, "b", now=NOW - timedelta(minutes=10), next_poll_at=NOW - timedelta(minutes=1))
    named = {"a": NOW - timedelta(hours=1), "b": NOW + timedelta(hours=1)}
    assert claim(store, named) == ["b"], "the next poll stored overrides the first due time"
    assert claim(store, named, now=NOW + timedelta(minutes=5)) == ["a"]


def test_the_soonest_due_come_first_up_to_the_limit(store: Store) -> None:
    named = {
        name: NOW - timedelta(minutes=minutes)
        for name, minutes in zip("abcde", [1, 5, 3, 4, 2], strict=True)
    }
    assert claim(store, named, limit=3) == ["b", "d", "c"]
    assert claim(store, named, limit=3) == ["e", "a"], "the rest; those held are not given again"
    assert claim(store, named) == []


def test_a_feed_not_named_is_never_claimed(store: Store) -> None:
    poll(store, "removed", now=NOW - timedelta(hours=1), next_poll_at=NOW - timedelta(minutes=30))
    assert claim(store, {"kept": NOW}) == ["kept"], (
        "a feed gone from the configuration stays unpolled"
    )


def test_a_second_instance_gets_none_of_the_feeds_the_first_holds(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    named = {f"feed-{n}": NOW for n in range(6)}
    taken = claim(first, named, limit=4)
    assert len(taken) == 4
    rest = claim(second, named)
    assert sorted(rest) == sorted(set(named) - set(taken)), "the second takes only the others"
    assert claim(first, named) == [], "every feed is held by one instance"


def test_a_lease_that_ran_out_passes_to_another_instance(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert claim(first, {"a": NOW}) == ["a"]
    assert claim(second, {"a": NOW}, now=NOW + LEASE - timedelta(seconds=1)) == []
    assert claim(second, {"a": NOW}, now=NOW + LEASE) == ["a"], "the first instance went silent"
    first.release_feed("a")
    assert claim(first, {"a": NOW}, now=NOW + LEASE) == [], (
        "a late release frees nothing of the other's"
    )


def test_a_renewed_lease_stays_with_its_owner(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert sorted(claim(first, {"a": NOW, "b": NOW})) == ["a", "b"]
    halfway = NOW + LEASE / 2
    assert first.renew_feed_leases(["b", "a"], now=halfway, lease=LEASE) == ["b", "a"]
    assert claim(second, {"a": NOW, "b": NOW}, now=NOW + LEASE) == [], "a long poll keeps its feeds"
    assert claim(second, {"a": NOW}, now=halfway + LEASE) == ["a"]
    assert first.renew_feed_leases(["a", "b"], now=halfway + LEASE, lease=LEASE) == ["b"], (
        "a lease taken over is not renewed"
    )


def test_a_released_feed_is_free_at_once(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert claim(first, {"a": NOW}) == ["a"]
    second.release_feed("a")
    assert claim(second, {"a": NOW}) == [], "only its owner ends a lease"
    first.release_feed("a")
    assert claim(second, {"a": NOW}) == ["a"], "never polled, so still due"


def test_a_gone_instances_lease_is_taken_at_once(open_store: OpenStore) -> None:
    gone = open_store(owner=a_dead_process())
    assert claim(gone, {"a": NOW, "b": NOW}, limit=1) == ["a"]
    here = open_store()
    assert claim(here, {"a": NOW, "b": NOW}) == ["a", "b"], "its process no longer runs"


def test_a_feed_polled_and_released_waits_for_its_next_poll(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    named = {"a": NOW, "b": NOW}
    assert claim(first, named) == ["a", "b"]
    after = NOW + timedelta(seconds=10)
    poll(first, "a", now=after, next_poll_at=after + timedelta(minutes=5))
    state = first.feed_state("a")
    assert state is not None
    # The next poll found nothing new: a write this store may defer.
    first.record_unchanged(state, now=after, next_poll_at=after + timedelta(minutes=10))
    poll(first, "b", now=after, next_poll_at=after + timedelta(minutes=3))
    first.release_feed("a")
    first.release_feed("b")
    for instance in (first, second):
        assert claim(instance, named, now=after + timedelta(minutes=1)) == [], (
            "not due again before the next poll stored"
        )
    assert claim(second, named, now=after + timedelta(minutes=5)) == ["b"]
    assert claim(first, named, now=after + timedelta(minutes=10)) == ["a"]


def test_a_feed_whose_lease_ran_out_during_its_poll_waits_for_the_next_poll_it_stored(
    store: Store,
) -> None:
    assert claim(store, {"a": NOW}) == ["a"]
    poll(store, "a", now=NOW, next_poll_at=NOW + timedelta(minutes=5))
    state = store.feed_state("a")
    assert state is not None
    # A second poll finding nothing new, which this store may keep in memory a while.
    store.record_unchanged(state, now=NOW + LEASE, next_poll_at=NOW + LEASE * 2)
    assert claim(store, {"a": NOW}, now=NOW + LEASE) == [], "the lease is over, not the interval"
    assert claim(store, {"a": NOW}, now=NOW + LEASE * 2) == ["a"]


def test_instances_claiming_at_once_never_share_a_feed(open_store: OpenStore) -> None:
    stores = [open_store(), open_store(owner=ELSEWHERE)]
    named = {f"feed-{n:03}": NOW - timedelta(seconds=n) for n in range(200)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(store: Store) -> None:
        for _ in range(200):
            with lock:
                if len(claimed) >= len(named):
                    return
            taken = store.claim_due_feeds(named, now=NOW, limit=7, lease=LEASE)
            with lock:
                claimed.extend(taken)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for future in [pool.submit(claimer, stores[n % 2]) for n in range(6)]:
            future.result()
    counts = Counter(claimed)
    assert set(counts) == set(named), "every feed is claimed"
    assert {feed: n for feed, n in counts.items() if n > 1} == {}, "none by two claims"
