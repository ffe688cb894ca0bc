"""Channel pacing and holds, shared by every sender on the state (issue 19):
posts to one channel are booked an interval apart whichever instance books
them, and a hold one sender set is seen by the next. Each test is run on
every store; a second instance is a second store on the same state with
another owner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.store.claims import ClaimOwner
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW

SECOND = timedelta(seconds=1)
ELSEWHERE = ClaimOwner("another-host", 4242, 100, "another-boot", 1)


def book(store: Store, channel: str = "#desk", *, at: datetime = NOW) -> datetime:
    return store.reserve_post(channel, now=at, interval=SECOND)


def test_posts_to_a_channel_are_booked_an_interval_apart(store: Store) -> None:
    assert book(store) == NOW, "the first post goes at once"
    assert book(store) == NOW + SECOND
    assert book(store, at=NOW + SECOND / 2) == NOW + 2 * SECOND, "after the last booked"
    assert book(store, "#other") == NOW, "channels do not wait for each other"
    later = NOW + timedelta(minutes=1)
    assert book(store, at=later) == later, "an interval long past: at once"


def test_a_second_instance_books_after_the_first(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert book(first) == NOW
    assert book(second) == NOW + SECOND, "its post waits for the first's interval"
    assert book(first) == NOW + 2 * SECOND


def test_a_booking_far_ahead_is_taken_for_a_wrong_clock(store: Store) -> None:
    """A sender whose clock ran an hour ahead booked the channel then: the
    next sender, with the right time, is not held for that hour."""
    assert book(store, at=NOW + timedelta(hours=1)) == NOW + timedelta(hours=1)
    assert book(store) == NOW
    assert book(store) == NOW + SECOND


def test_instances_booking_at_once_get_slots_an_interval_apart(open_store: OpenStore) -> None:
    """Six instances (six stores, a thread each) book five posts each to one
    channel at the same moment: thirty slots, no two closer than the interval."""
    stores = [open_store(owner=replace(ELSEWHERE, host=f"host-{n}")) for n in range(6)]
    barrier = threading.Barrier(len(stores))

    def book_five(store: Store) -> list[datetime]:
        barrier.wait()
        return [book(store) for _ in range(5)]

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        slots = sorted(slot for booked in pool.map(book_five, stores) for slot in booked)
    assert slots == [NOW + n * SECOND for n in range(30)]


def test_a_hold_set_by_one_instance_is_seen_by_another(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert second.holds(NOW) == (None, {})
    first.hold_channel("#desk", NOW + timedelta(seconds=30))
    first.hold_channel("#ops", NOW + timedelta(seconds=5))
    assert second.holds(NOW) == (
        None,
        {"#desk": NOW + timedelta(seconds=30), "#ops": NOW + timedelta(seconds=5)},
    )
    assert second.holds(NOW + timedelta(seconds=5)).channels == {
        "#desk": NOW + timedelta(seconds=30)
    }, "a hold that ended is left out"
    first.hold_all(NOW + timedelta(minutes=2))
    holds = second.holds(NOW + timedelta(minutes=1))
    assert holds.everything == NOW + timedelta(minutes=2), "the destination is down"
    assert holds.channels == {}
    assert second.holds(NOW + timedelta(minutes=2)) == (None, {}), "every hold ended"


def test_a_hold_is_never_shortened(store: Store) -> None:
    store.hold_channel("#desk", NOW + timedelta(minutes=1))
    store.hold_channel("#desk", NOW + timedelta(seconds=10))
    assert store.holds(NOW).channels == {"#desk": NOW + timedelta(minutes=1)}
    store.hold_all(NOW + timedelta(minutes=5))
    store.hold_all(NOW + timedelta(minutes=1))
    assert store.holds(NOW).everything == NOW + timedelta(minutes=5)
    later = NOW + timedelta(minutes=10)
    store.hold_channel("#desk", later + timedelta(seconds=20))
    store.hold_all(later + timedelta(seconds=20))
    assert store.holds(later) == (
        later + timedelta(seconds=20),
        {"#desk": later + timedelta(seconds=20)},
    ), "a new hold after the last one ended"


def test_pacing_and_holds_survive_a_restart(open_store: OpenStore) -> None:
    before = open_store()
    assert book(before) == NOW
    before.hold_channel("#ops", NOW + timedelta(seconds=30))
    before.close()
    after = open_store()
    assert book(after) == NOW + SECOND, "the restarted sender keeps the channel's pace"
    assert after.holds(NOW).channels == {"#ops": NOW + timedelta(seconds=30)}
