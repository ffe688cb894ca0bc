"""Claimed polling (monitor.pipeline.feed_claims) on every store: an
instance polls the feeds due that it claimed, releases each with its next
poll stored, shares the feeds with another instance on the same state,
returns what it has not started at a stop, and keeps its leases while a
poll runs long. A second instance is a second store with another owner.

The polls here store their outcome through the real store (the next poll
included) without fetching anything: fetching is the poller's, tested with
the feed server elsewhere."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from monitor.errors import StateError
from monitor.pipeline.feed_claims import ClaimSettings, FeedClaims
from monitor.pipeline.poll_report import PollReport
from monitor.settings import FeedSettings
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW
from tests.store_contract.test_feed_leases import ELSEWHERE, poll
from tests.support.setup import FakeClock

LEASE = timedelta(minutes=2)
INTERVAL = timedelta(minutes=5)


def feeds(count: int) -> list[FeedSettings]:
    return [
        FeedSettings(name=f"feed-{n:02}", url=f"https://host-{n % 3}.example/feed-{n}")
        for n in range(count)
    ]


@dataclass
class Polls:
    """Polls that store their outcome (due again after INTERVAL) and may be
    held until released, as a slow feed would hold them."""

    store: Store
    clock: FakeClock
    hold: threading.Event = field(default_factory=threading.Event)
    started: list[str] = field(default_factory=list)
    store_nothing: bool = False
    """Polls whose outcome could not be stored (the state was out of reach)."""

    def __post_init__(self) -> None:
        self.hold.set()

    def __call__(self, feed: FeedSettings) -> PollReport:
        self.started.append(feed.name)
        self.hold.wait(timeout=30)
        if self.store_nothing:
            return PollReport(feed=feed.name, next_poll_at=None)
        due = self.clock.now + INTERVAL
        poll(self.store, feed.name, now=self.clock.now, next_poll_at=due)
        return PollReport(feed=feed.name, next_poll_at=due)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


MakeClaims = Callable[..., tuple[FeedClaims, Polls]]


@pytest.fixture
def make_claims(open_store: OpenStore, clock: FakeClock) -> Iterator[MakeClaims]:
    made: list[FeedClaims] = []

    def make(
        configured: list[FeedSettings], *, store: Store | None = None, workers: int = 2
    ) -> tuple[FeedClaims, Polls]:
        store = store or open_store()
        polls = Polls(store, clock)
        settings = ClaimSettings(
            feeds=configured,
            intervals=[(feed.name, INTERVAL) for feed in configured],
            lease=LEASE,
            hosts={feed.name: feed.url.split("/")[2] for feed in configured},
        )
        claims = FeedClaims(
            leases=store,
            poll=polls,
            after_poll=lambda report: None,
            settings=lambda: settings,
            clock=clock,
            workers=workers,
            per_host=workers,
        )
        made.append(claims)
        return claims, polls

    yield make
    for claims in made:
        claims.stop()
        claims.join()


def test_an_instance_polls_the_feeds_due_and_releases_each_with_its_next_poll(
    make_claims: MakeClaims, clock: FakeClock
) -> None:
    configured = feeds(3)
    claims, polls = make_claims(configured)
    clock.advance(seconds=10)  # past the spread of first polls from the instance's start
    assert claims.claim() == 3
    claims.wait_until_idle()
    assert sorted(polls.started) == ["feed-00", "feed-01", "feed-02"]
    assert claims.in_hand == {}, "every lease is released once the poll is stored"

    assert claims.claim() == 0, "nothing is due before the next poll the state holds"
    clock.advance(minutes=5)
    assert claims.claim() == 3, "each feed is due again at its stored next poll"
    claims.wait_until_idle()
    assert len(polls.started) == 6


def test_a_second_instance_on_the_same_state_polls_none_of_the_first_ones_feeds(
    make_claims: MakeClaims, open_store: OpenStore, clock: FakeClock
) -> None:
    configured = feeds(10)
    first, first_polls = make_claims(configured, workers=2)
    second, second_polls = make_claims(configured, store=open_store(owner=ELSEWHERE), workers=2)
    first_polls.hold.clear()
    second_polls.hold.clear()
    clock.advance(seconds=10)
    assert first.claim() == 4, "twice its threads: two polls run, two wait"
    assert second.claim() == 4
    assert first.claim() == 0, "no room until a poll ends"
    assert not set(first.in_hand) & set(second.in_hand), "no feed claimed by both"
    first_polls.hold.set()
    second_polls.hold.set()
    # The claims were full, so a finished poll claims again at once: the two
    # feeds left go to whichever instance asks first.
    assert _eventually(lambda: len(first_polls.started) + len(second_polls.started) == 10)
    first.wait_until_idle()
    second.wait_until_idle()
    assert first.claim() + second.claim() == 0
    started = first_polls.started + second_polls.started
    assert sorted(started) == sorted(feed.name for feed in configured), (
        "each feed polled once in its interval, by one instance"
    )


def test_a_stop_returns_the_feeds_not_yet_started_to_the_other_instances(
    make_claims: MakeClaims, open_store: OpenStore, clock: FakeClock
) -> None:
    configured = feeds(4)
    stopping, polls = make_claims(configured, workers=1)
    polls.hold.clear()
    clock.advance(seconds=10)
    assert stopping.claim() == 2
    running = polls.started
    assert _eventually(lambda: len(running) == 1)
    other = open_store(owner=ELSEWHERE)

    assert stopping.stop() == 1, "the poll waiting is dropped"
    taken = other.claim_due_feeds(
        {feed.name: clock.now for feed in configured}, now=clock.now, limit=10, lease=LEASE
    )
    assert running[0] not in taken, "the poll under way keeps its lease"
    assert len(taken) == 3, "the dropped feed is free at once, with the two never claimed"
    polls.hold.set()
    stopping.join()
    assert polls.started == running, "nothing starts after a stop"


def test_a_long_poll_keeps_its_lease_and_one_not_stored_keeps_it_to_its_end(
    make_claims: MakeClaims, open_store: OpenStore, clock: FakeClock
) -> None:
    configured = feeds(2)
    claims, polls = make_claims(configured, workers=2)
    polls.hold.clear()
    clock.advance(seconds=10)
    assert claims.claim() == 2
    other = open_store(owner=ELSEWHERE)
    names = {feed.name: clock.now for feed in configured}

    clock.advance(seconds=50)  # over a third of the lease: the next claim renews
    claims.claim()
    clock.advance(seconds=80)  # past the first lease's end, inside the renewed one
    assert other.claim_due_feeds(names, now=clock.now, limit=10, lease=LEASE) == [], (
        "a poll running long keeps its feed"
    )

    polls.store_nothing = True
    polls.hold.set()
    claims.wait_until_idle()
    assert other.claim_due_feeds(names, now=clock.now, limit=10, lease=LEASE) == [], (
        "a poll whose outcome was not stored leaves its feed leased until the lease ends"
    )
    clock.advance(seconds=LEASE.total_seconds())
    assert sorted(other.claim_due_feeds(names, now=clock.now, limit=10, lease=LEASE)) == [
        "feed-00",
        "feed-01",
    ]


def test_a_state_out_of_reach_is_logged_once_and_the_next_claim_after_it_says_so(
    make_claims: MakeClaims, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    claims, polls = make_claims(feeds(2))
    real_claim = polls.store.claim_due_feeds
    failing = True

    def claim_or_fail(*args: object, **kwargs: object) -> list[str]:
        if failing:
            raise StateError("cannot reach the state database postgresql://db:5432/monitor")
        return real_claim(*args, **kwargs)  # type: ignore[arg-type]

    polls.store.claim_due_feeds = claim_or_fail  # type: ignore[method-assign]
    clock.advance(seconds=10)
    with caplog.at_level(logging.INFO, logger="monitor.claims"):
        assert claims.claim() == 0
        assert claims.claim() == 0
        failing = False
        assert claims.claim() == 2
    messages = [record.getMessage() for record in caplog.records]
    assert (
        messages.count(
            "cannot claim feeds to poll: cannot reach the state database "
            "postgresql://db:5432/monitor; trying again"
        )
        == 1
    ), messages
    assert "claiming feeds again: the state answers" in messages


def _eventually(condition: Callable[[], bool]) -> bool:
    done = threading.Event()
    for _ in range(300):
        if condition():
            return True
        done.wait(0.01)
    return condition()
