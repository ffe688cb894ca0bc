"""Instances sharing one state, as ``monitor status`` lists them: each one's
heartbeats and the feeds it holds (issue 19). Run on every store."""

from __future__ import annotations

from datetime import timedelta

from monitor.store.claims import ClaimOwner, this_process
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW

LEASE = timedelta(minutes=15)
ELSEWHERE = ClaimOwner("another-host", 4242, 100, "another-boot", 1)


def test_each_instance_is_listed_with_its_heartbeats_and_the_feeds_it_holds(
    open_store: OpenStore,
) -> None:
    here, there = open_store(), open_store(owner=ELSEWHERE)
    assert here.instances(now=NOW) == [], "none before a heartbeat"
    here.heartbeat(now=NOW, version="1.0")
    there.heartbeat(now=NOW + timedelta(seconds=5), version="1.0")
    here.heartbeat(now=NOW + timedelta(seconds=10), version="1.1")
    named = {f"feed-{n}": NOW for n in range(5)}
    assert len(here.claim_due_feeds(named, now=NOW, limit=3, lease=LEASE)) == 3
    assert len(there.claim_due_feeds(named, now=NOW, limit=3, lease=LEASE)) == 2

    listed = here.instances(now=NOW + timedelta(seconds=10))
    me = this_process()
    assert [(i.host, i.pid) for i in listed] == [(me.host, me.pid), ("another-host", 4242)], (
        "newest heartbeat first"
    )
    mine, other = listed
    assert mine.started_at == NOW, "the first heartbeat is kept as its start"
    assert mine.last_heartbeat == NOW + timedelta(seconds=10)
    assert mine.version == "1.1", "the version of its last heartbeat"
    assert (mine.feeds_claimed, other.feeds_claimed) == (3, 2)
    assert [i.feeds_claimed for i in here.instances(now=NOW + LEASE)] == [0, 0], (
        "leases that ran out are not counted"
    )


def test_instances_not_heard_of_since_a_time_are_forgotten_and_nothing_else(
    open_store: OpenStore,
) -> None:
    here, there = open_store(), open_store(owner=ELSEWHERE)
    there.heartbeat(now=NOW, version="1.0")
    assert there.claim_due_feeds({"a": NOW}, now=NOW, limit=5, lease=LEASE) == ["a"]
    here.heartbeat(now=NOW + timedelta(minutes=5), version="1.0")

    assert here.forget_instances(before=NOW + timedelta(minutes=1)) == 1
    assert [i.host for i in here.instances(now=NOW)] == [this_process().host]
    assert here.claim_due_feeds({"a": NOW}, now=NOW, limit=5, lease=LEASE) == [], (
        "the forgotten instance's lease runs on"
    )
    assert here.forget_instances(before=NOW + timedelta(minutes=1)) == 0


def test_an_instance_that_stops_cleanly_leaves_the_list_and_only_itself(
    open_store: OpenStore,
) -> None:
    here, there = open_store(), open_store(owner=ELSEWHERE)
    here.heartbeat(now=NOW, version="1.0")
    there.heartbeat(now=NOW, version="1.0")
    here.leave()
    assert [i.host for i in there.instances(now=NOW)] == ["another-host"], (
        "a clean stop is not shown as a silent instance"
    )
    here.leave()  # twice, or never heard of: nothing to do
