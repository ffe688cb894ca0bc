"""Duties: work one instance runs at a time (delivery), held as a lease by
one of the instances sharing the state (issue 19). Each test is run on
every store; a second instance is a second store on the same state with
another owner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from monitor.store.claims import ClaimOwner, this_process
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW
from tests.store_contract.test_feed_leases import a_dead_process

LEASE = timedelta(seconds=30)
ELSEWHERE = ClaimOwner("another-host", 4242, 100, "another-boot", 1)
"""An instance on another host: its duties end only when their leases run out."""


def test_a_free_duty_is_taken_and_kept_by_renewing_it(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert first.hold_duty("delivery", now=NOW, lease=LEASE), "nobody held it"
    assert not second.hold_duty("delivery", now=NOW, lease=LEASE), "one sender at a time"
    halfway = NOW + LEASE / 2
    assert first.hold_duty("delivery", now=halfway, lease=LEASE), "the holder renews it"
    assert not second.hold_duty("delivery", now=NOW + LEASE, lease=LEASE), (
        "the renewal moved the lease's end"
    )
    assert first.duty_holders(now=NOW + LEASE) == {"delivery": str(this_process())}


def test_a_duty_whose_lease_ran_out_passes_to_another_instance(open_store: OpenStore) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert first.hold_duty("delivery", now=NOW, lease=LEASE)
    assert second.hold_duty("delivery", now=NOW + LEASE, lease=LEASE), "the first went silent"
    assert not first.hold_duty("delivery", now=NOW + LEASE, lease=LEASE), (
        "the first, back, finds it taken and stops sending"
    )
    assert second.duty_holders(now=NOW + LEASE) == {"delivery": str(ELSEWHERE)}


def test_a_released_duty_is_free_at_once_but_only_its_holder_releases_it(
    open_store: OpenStore,
) -> None:
    first, second = open_store(), open_store(owner=ELSEWHERE)
    assert first.hold_duty("delivery", now=NOW, lease=LEASE)
    second.release_duty("delivery")
    assert not second.hold_duty("delivery", now=NOW, lease=LEASE), "still the first's"
    first.release_duty("delivery")
    assert first.duty_holders(now=NOW) == {}, "nobody sends now"
    assert second.hold_duty("delivery", now=NOW, lease=LEASE), "the first stopped"


def test_a_gone_holders_duty_is_taken_at_once(open_store: OpenStore) -> None:
    gone = open_store(owner=a_dead_process())
    assert gone.hold_duty("delivery", now=NOW, lease=LEASE)
    here = open_store()
    assert here.hold_duty("delivery", now=NOW, lease=LEASE), "its process no longer runs"
    assert here.duty_holders(now=NOW) == {"delivery": str(this_process())}


def test_a_duty_of_an_instance_elsewhere_is_kept_until_its_lease_ends(
    open_store: OpenStore,
) -> None:
    elsewhere, here = open_store(owner=ELSEWHERE), open_store()
    assert elsewhere.hold_duty("delivery", now=NOW, lease=LEASE)
    assert not here.hold_duty("delivery", now=NOW + LEASE / 2, lease=LEASE), (
        "a process of another host cannot be looked up: its lease stands"
    )


def test_ended_leases_are_not_listed_as_holders(store: Store) -> None:
    assert store.duty_holders(now=NOW) == {}
    assert store.hold_duty("delivery", now=NOW, lease=LEASE)
    assert store.duty_holders(now=NOW + LEASE) == {}, "its lease ended: nobody sends"


def test_instances_asking_at_once_never_both_get_the_duty(open_store: OpenStore) -> None:
    """Six instances on six hosts (six stores, a thread each) ask for the duty at the
    same moment, round after round, each round after the last lease ended:
    each round exactly one of them sends."""
    stores = [open_store(owner=replace(ELSEWHERE, host=f"host-{n}")) for n in range(6)]
    rounds = 10
    barrier = threading.Barrier(len(stores))

    def ask(store: Store) -> list[bool]:
        answers = []
        for n in range(rounds):
            barrier.wait()
            answers.append(store.hold_duty("delivery", now=NOW + n * LEASE, lease=LEASE))
        return answers

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        answers = list(pool.map(ask, stores))
    for n in range(rounds):
        assert sum(instance[n] for instance in answers) == 1, f"round {n}: {answers}"
