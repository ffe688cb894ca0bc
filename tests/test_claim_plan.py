"""The decisions of claimed polling (monitor.pipeline.claim_plan): pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.pipeline.claim_plan import (
    beyond_host_cap,
    claim_room,
    first_due,
    hosts_with_room,
    refill_now,
    renewal_due,
)

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_first_polls_spread_over_five_seconds_or_half_a_short_interval() -> None:
    due = first_due(
        [("a", timedelta(minutes=5)), ("b", timedelta(minutes=5)), ("fast", timedelta(seconds=2))],
        START,
    )
    assert due == {
        "a": START,
        "b": START + timedelta(seconds=5) / 3,
        "fast": START + timedelta(seconds=1) * 2 / 3,
    }, "a feed polled every 2s is first due within 1s, never after its interval"
    assert first_due([], START) == {}


def test_an_instance_claims_for_every_thread_and_as_many_waiting_never_more() -> None:
    assert claim_room(workers=4, in_hand=0) == 8
    assert claim_room(workers=4, in_hand=5) == 3
    assert claim_room(workers=4, in_hand=9) == 0


def test_a_finished_poll_claims_again_only_while_feeds_were_left_due_and_half_are_done() -> None:
    assert refill_now(workers=4, in_hand=4, more_due=True)
    assert not refill_now(workers=4, in_hand=5, more_due=True), "a batch, not one feed a claim"
    assert not refill_now(workers=4, in_hand=0, more_due=False), "the timer finds new due feeds"


def test_leases_are_renewed_every_third_of_their_length() -> None:
    lease = timedelta(minutes=2)
    assert renewal_due(None, START, lease)
    assert not renewal_due(START, START + timedelta(seconds=39), lease)
    assert renewal_due(START, START + timedelta(seconds=40), lease)


HOSTS = {"slow-1": "slow", "slow-2": "slow", "slow-3": "slow", "fast-1": "fast", "file": None}


def test_a_host_at_its_cap_is_not_named_and_what_a_claim_brings_past_it_goes_back() -> None:
    """per_host 1: one running and one waiting per host at most, so a slow
    host due first cannot fill the room the other hosts need."""
    assert hosts_with_room(HOSTS, ["slow-1", "slow-2"], per_host=1) == {"fast-1", "file"}
    assert hosts_with_room(HOSTS, ["slow-1"], per_host=1) == set(HOSTS)
    claimed = ["slow-1", "slow-2", "slow-3", "fast-1", "file"]
    assert beyond_host_cap(claimed, HOSTS, [], per_host=1) == ["slow-3"], (
        "the soonest due two of the slow host are kept; a local file has no host"
    )
    assert beyond_host_cap(["slow-3"], HOSTS, ["slow-1", "slow-2"], per_host=1) == ["slow-3"]
