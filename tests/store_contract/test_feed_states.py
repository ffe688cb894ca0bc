"""FeedStates: what a poll leaves is what the next poll, and the next process, reads."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain.alert import Target
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import LATER, NOW, URL, alert_for, commit, item


def test_a_poll_outcome_round_trips_and_survives_a_restart(open_store: OpenStore) -> None:
    store = open_store()
    assert store.feed_state("f") is None
    outcome = PollOutcome(
        feed="f",
        url=URL,
        items=[item("a")],
        alerts=[],
        validators=Validators('"v1"', "Tue, 01 Dec 2026 11:59:00 GMT"),
        body_hash="sha256:1",
        publish_gap=timedelta(minutes=15),
        newest_item_at=NOW - timedelta(minutes=3),
        next_poll_at=NOW + timedelta(minutes=10),
    )
    assert store.commit_poll(outcome, now=NOW) == 0
    state = store.feed_state("f")
    assert state is not None
    assert (state.name, state.url, state.validators) == ("f", URL, outcome.validators)
    assert state.body_hash == "sha256:1" and state.publish_gap == timedelta(minutes=15)
    assert state.first_success_at == state.last_success_at == NOW
    assert state.last_item_at == NOW - timedelta(minutes=3)
    assert state.next_poll_at == NOW + timedelta(minutes=10)
    assert (state.consecutive_failures, state.last_error) == (0, None)
    assert state.open_incidents == frozenset()
    store.close()
    assert open_store().feed_state("f") == state


def test_a_later_poll_keeps_what_it_does_not_say_and_moves_the_newest_item_only_forward(
    store: Store,
) -> None:
    first = PollOutcome(
        feed="f",
        url=URL,
        items=[],
        alerts=[],
        validators=Validators('"v1"'),
        publish_gap=timedelta(minutes=15),
        newest_item_at=NOW,
        next_poll_at=NOW + timedelta(minutes=10),
    )
    store.commit_poll(first, now=NOW)
    later = PollOutcome(
        feed="f", url=URL, items=[], alerts=[], validators=Validators(), newest_item_at=NOW
    )
    store.commit_poll(later, now=LATER)
    state = store.feed_state("f")
    assert state is not None
    assert state.publish_gap == timedelta(minutes=15) and state.next_poll_at == first.next_poll_at
    assert state.first_success_at == NOW and state.last_success_at == LATER
    assert state.validators == Validators(), "validators are replaced"
    older = PollOutcome(
        feed="f",
        url=URL,
        items=[],
        alerts=[],
        validators=Validators(),
        newest_item_at=NOW - timedelta(days=1),
    )
    store.commit_poll(older, now=LATER)
    state = store.feed_state("f")
    assert state is not None and state.last_item_at == NOW


def test_a_feed_moved_to_another_url_is_watched_afresh(store: Store) -> None:
    commit(store, [], now=NOW)
    commit(store, [], url="https://elsewhere/feed", now=LATER)
    state = store.feed_state("f")
    assert state is not None
    assert state.url == "https://elsewhere/feed" and state.first_success_at == LATER


def test_failures_count_until_a_poll_succeeds(store: Store) -> None:
    store.record_failure(feed="f", url=URL, kind="timeout", message="timed out", now=NOW)
    store.record_failure(
        feed="f",
        url=URL,
        kind="http",
        message="HTTP 502",
        now=LATER,
        next_poll_at=LATER + timedelta(minutes=2),
    )
    state = store.feed_state("f")
    assert state is not None
    assert (state.consecutive_failures, state.last_error, state.last_error_kind) == (
        2,
        "HTTP 502",
        "http",
    )
    assert state.failing_since == NOW and state.first_success_at is None
    assert state.next_poll_at == LATER + timedelta(minutes=2)
    commit(store, [], now=LATER + timedelta(minutes=5))
    state = store.feed_state("f")
    assert state is not None
    assert (state.consecutive_failures, state.last_error, state.failing_since) == (0, None, None)


def test_a_poll_finding_nothing_new_returns_the_state_it_leaves(store: Store) -> None:
    commit(store, [item("a")])
    store.record_failure(feed="f", url=URL, kind="http", message="502", now=NOW)
    assert store.open_incident(
        feed="f", kind="failing", since=NOW, detail="HTTP 502", alerts=[], now=NOW
    )
    later = NOW + timedelta(minutes=20)
    state = store.record_not_modified(
        feed="f", url=URL, now=later, next_poll_at=later + timedelta(hours=1)
    )
    assert state == store.feed_state("f")
    assert state is not None and state.consecutive_failures == 0
    assert state.open_incidents == {"failing"}
    assert state.last_success_at == later and state.next_poll_at == later + timedelta(hours=1)
    (incident,) = store.open_incidents("f")
    store.close_incident(incident.id, alerts=[], now=later)
    state = store.feed_state("f")
    assert state is not None and state.open_incidents == set()
    # A feed repointed elsewhere is left alone: its state belongs to the old URL.
    assert store.record_not_modified(feed="f", url="https://y/feed", now=later) is None


def test_an_unchanged_poll_is_read_back_at_once_and_kept_once_synced(
    open_store: OpenStore,
) -> None:
    store = open_store()
    commit(store, [item("a")])
    before = store.feed_state("f")
    assert before is not None
    after = store.record_unchanged(before, now=LATER, next_poll_at=LATER + timedelta(hours=1))
    assert after.last_success_at == LATER and after.next_poll_at == LATER + timedelta(hours=1)
    assert store.feed_state("f") == after
    assert store.feed_states() == [after]
    store.sync()
    assert open_store().feed_state("f") == after


def test_a_failing_feed_unchanged_recovers(store: Store) -> None:
    commit(store, [item("a")])
    store.record_failure(feed="f", url=URL, kind="http", message="502", now=NOW)
    failing = store.feed_state("f")
    assert failing is not None
    after = store.record_unchanged(failing, now=LATER)
    assert after.consecutive_failures == 0 and after.failing_since is None
    assert after.last_error is None and store.feed_state("f") == after


def test_feed_states_list_every_feed_by_name_as_feed_state_shows_it(store: Store) -> None:
    for name in ("b", "a", "c"):
        commit(store, [], feed=name)
    store.record_failure(feed="d", url=URL, kind="dns", message="no such host", now=NOW)
    states = store.feed_states()
    assert [s.name for s in states] == ["a", "b", "c", "d"]
    assert states == [store.feed_state(s.name) for s in states]


def test_feed_health_counts_items_and_alerts_and_names_open_incidents(store: Store) -> None:
    items = [item("a", link="https://x/a"), item("b")]
    commit(store, items, [alert_for(items[0]), alert_for(items[0], "other"), alert_for(items[1])])
    ops = alert_for(item("ops-1"), "ops.feed-silent")
    store.open_incident(
        feed="f", kind="silent", since=NOW, detail="quiet", alerts=[(ops, Target("#ops"))], now=NOW
    )
    (health,) = store.feed_health()
    assert (health.name, health.url, health.items_seen, health.alerts_raised) == ("f", URL, 2, 3)
    assert health.incidents == ("silent",) and health.first_success_at == NOW
