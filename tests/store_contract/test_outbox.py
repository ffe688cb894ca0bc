"""Outbox and OutboxReview: each alert queued once, sent once, in a fair order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.domain.alert import Silence, SilenceScope, Target
from monitor.domain.feed import Validators
from monitor.domain.poll import PollOutcome
from monitor.domain.severity import Severity
from monitor.store.ports import SEND_LEASE, Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import DESK, LATER, NOW, alert_for, commit, item, queued

ALL_STATUSES = ("pending", "sending", "sent", "failed", "silenced")


def counts(**nonzero: int) -> dict[str, int]:
    return {status: nonzero.get(status, 0) for status in ALL_STATUSES}


def test_an_alert_is_queued_once_per_rule_item_and_channel(store: Store) -> None:
    first = item("a", link="https://x/story")
    assert commit(store, [first], [alert_for(first)]) == 1
    assert commit(store, [first], [alert_for(first)]) == 0, "same rule and item"
    assert commit(store, [first], [alert_for(first, rule="other")]) == 1, "another rule may alert"
    assert commit(store, [first], [alert_for(first)], target=Target("#other")) == 1
    assert store.queue_alerts([(alert_for(first), DESK)], now=NOW) == 0
    assert store.queue_alerts([(alert_for(item("b")), DESK)], now=NOW) == 1
    assert store.outbox_counts() == counts(pending=4)


def test_an_entry_carries_its_alert_and_target(store: Store) -> None:
    it = item("a", link="https://x/a")
    alert = alert_for(it, severity=Severity.CRITICAL)
    store.queue_alerts([(alert, Target("#desk", ("@oncall", "@lead"), "0 8 * * *"))], now=NOW)
    (entry,) = store.outbox(["pending"])
    assert entry == store.entry(entry.id)
    assert (entry.alert, entry.channel, entry.mentions, entry.digest) == (
        alert,
        "#desk",
        ("@oncall", "@lead"),
        "0 8 * * *",
    )
    assert (entry.status, entry.attempts, entry.uncertain, entry.next_attempt_at) == (
        "pending",
        0,
        False,
        NOW,
    )
    assert store.entry(entry.id + 1000) is None


def test_a_claimed_alert_is_not_due_until_its_lease_expires(store: Store) -> None:
    (alert_id,) = queued(store, 1)
    assert [e.id for e in store.due_alerts(NOW, limit=10)] == [alert_id]
    assert store.claim(alert_id, now=NOW)
    assert not store.claim(alert_id, now=NOW), "a second sender is refused"
    assert store.due_alerts(NOW + SEND_LEASE - timedelta(seconds=1), limit=10) == []
    (lapsed,) = store.due_alerts(NOW + SEND_LEASE, limit=10)
    assert lapsed.id == alert_id and lapsed.uncertain, "its sender may have sent it"
    assert store.claim(alert_id, now=NOW + SEND_LEASE), "an abandoned claim can be taken over"


def test_the_claim_lease_is_the_stores_setting(open_store: OpenStore) -> None:
    store = open_store(claim_lease=timedelta(minutes=1))
    (alert_id,) = queued(store, 1)
    assert store.claim(alert_id, now=NOW)
    assert [e.id for e in store.due_alerts(NOW + timedelta(minutes=1), limit=10)] == [alert_id]


def test_a_second_store_on_the_same_state_cannot_claim_a_claimed_alert(
    open_store: OpenStore,
) -> None:
    running, other = open_store(), open_store()
    (alert_id,) = queued(running, 1)
    assert running.claim(alert_id, now=NOW)
    assert not other.claim(alert_id, now=NOW + timedelta(seconds=1))


def test_settled_or_unknown_alerts_cannot_be_claimed(store: Store) -> None:
    sent, failed = queued(store, 2)
    assert store.claim(sent, now=NOW)
    store.mark_sent(sent, now=NOW, destination="test", ref="p1")
    store.mark_failed(failed, attempts=1, now=NOW, error="refused")
    assert not store.claim(sent, now=LATER)
    assert not store.claim(failed, now=LATER)
    assert not store.claim(sent + failed + 1000, now=LATER)


def test_outbox_lifecycle(store: Store) -> None:
    items = [item(name) for name in "abc"]
    commit(store, items, [alert_for(i) for i in items])
    due = store.due_alerts(NOW, limit=10)
    assert [e.alert.title for e in due] == ["a", "b", "c"] and all(e.attempts == 0 for e in due)
    for entry in due:
        assert store.claim(entry.id, now=NOW)
    assert store.outbox_counts() == counts(sending=3)

    store.mark_sent(due[0].id, now=NOW, destination="slack:#d", ref="1.2")
    store.reschedule(
        due[1].id, attempts=1, next_attempt_at=NOW + timedelta(minutes=1), error="HTTP 500"
    )
    store.mark_failed(due[2].id, attempts=1, now=NOW, error="channel_not_found")
    assert store.due_alerts(NOW, limit=10) == []
    (retry,) = store.due_alerts(NOW + timedelta(minutes=1), limit=10)
    assert retry.alert.title == "b" and retry.attempts == 1 and retry.last_error == "HTTP 500"
    assert store.outbox_counts() == counts(pending=1, sent=1, failed=1)
    (failed,) = store.outbox(["failed"])
    assert (failed.id, failed.attempts, failed.last_error) == (due[2].id, 1, "channel_not_found")
    (sent,) = store.outbox(["sent"])
    assert (sent.attempts, sent.last_error, sent.uncertain) == (1, None, False)


def test_an_uncertain_attempt_stays_uncertain_until_sent(store: Store) -> None:
    (alert_id,) = queued(store, 1)
    store.claim(alert_id, now=NOW)
    store.reschedule(alert_id, attempts=1, next_attempt_at=NOW, error="timed out", uncertain=True)
    store.claim(alert_id, now=NOW)
    store.reschedule(alert_id, attempts=2, next_attempt_at=NOW, error="HTTP 503")
    entry = store.entry(alert_id)
    assert entry is not None and entry.uncertain and entry.attempts == 2
    store.claim(alert_id, now=NOW)
    store.mark_sent(alert_id, now=NOW, destination="test", ref="p1")
    entry = store.entry(alert_id)
    assert entry is not None and not entry.uncertain and entry.status == "sent"


def test_a_silenced_alert_is_settled_with_the_silence_named(store: Store) -> None:
    (alert_id,) = queued(store, 1)
    silence = Silence(
        7, SilenceScope(rule_id="r"), NOW + timedelta(hours=1), "maintenance window", NOW, "ops"
    )
    store.mark_silenced(alert_id, now=NOW, silence=silence)
    assert store.due_alerts(LATER, limit=10) == []
    (entry,) = store.outbox(["silenced"])
    assert entry.id == alert_id
    assert entry.last_error == "silenced by silence 7: maintenance window"


def test_folded_alerts_are_recorded_as_silenced_and_never_due(store: Store) -> None:
    flood = [alert_for(item(f"x{n}")) for n in range(3)]
    outcome = PollOutcome(
        feed="f",
        url="https://x/feed",
        items=[],
        alerts=[],
        validators=Validators(),
        folded=[(a, Target("#desk", ("@oncall",)), "folded into a flood alert") for a in flood],
    )
    assert store.commit_poll(outcome, now=NOW) == 0
    assert store.due_alerts(LATER, limit=10) == []
    silenced = store.outbox(["silenced"])
    assert [e.alert for e in silenced] == flood
    assert all(e.last_error == "folded into a flood alert" for e in silenced)
    assert all(e.mentions == () for e in silenced), "a folded alert notifies nobody"


def test_due_alerts_are_critical_first_then_in_turns_across_feeds_and_rules(store: Store) -> None:
    def queue(feed: str, rule: str, count: int, severity: Severity = Severity.WARNING) -> None:
        alerts = [
            alert_for(item(f"{feed}-{rule}-{n}", feed=feed), rule, severity) for n in range(count)
        ]
        commit(store, [], alerts, feed=feed)

    queue("flood", "r", 4)
    queue("quiet", "r", 1)
    queue("flood", "other", 2)
    queue("late", "r", 1, Severity.CRITICAL)
    due = store.due_alerts(NOW, limit=100)
    assert [(e.alert.feed, e.alert.rule_id, e.alert.item_identity[-1]) for e in due] == [
        ("late", "r", "0"),
        ("flood", "r", "0"),
        ("quiet", "r", "0"),
        ("flood", "other", "0"),
        ("flood", "r", "1"),
        ("flood", "other", "1"),
        ("flood", "r", "2"),
        ("flood", "r", "3"),
    ]
    assert [e.id for e in store.due_alerts(NOW, limit=3)] == [e.id for e in due[:3]]


def test_due_alerts_leave_out_skipped_channels_and_digests(store: Store) -> None:
    store.queue_alerts(
        [
            (alert_for(item("a")), Target("#desk")),
            (alert_for(item("b")), Target("#held")),
            (alert_for(item("c")), Target("#desk", digest="0 8 * * *")),
            (alert_for(item("d")), Target("#desk", digest="0 8 * * *")),
            (alert_for(item("e")), Target("#other", digest="0 8 * * *")),
        ],
        now=NOW,
    )
    assert [e.alert.title for e in store.due_alerts(NOW, 10, skip_channels=["#held"])] == ["a"]
    digest = store.digest_queue("#desk", "0 8 * * *", NOW)
    assert [e.alert.title for e in digest] == ["c", "d"]
    assert store.claim(digest[0].id, now=NOW)
    assert [e.alert.title for e in store.digest_queue("#desk", "0 8 * * *", NOW)] == ["d"]
    lapsed = store.digest_queue("#desk", "0 8 * * *", NOW + SEND_LEASE)
    assert [e.alert.title for e in lapsed] == ["c", "d"]
    assert store.digest_queue("#desk", "0 9 * * *", NOW) == []


def test_top_level_posts_leave_out_replies_and_count_a_roll_up_once(store: Store) -> None:
    ids = queued(store, 5)
    for alert_id in ids:
        store.claim(alert_id, now=NOW)
    store.mark_sent(ids[0], now=NOW, destination="test", ref="p1", channel_ref="C1")
    store.mark_sent(ids[1], now=NOW, destination="test", ref="p2", thread_ref="p1")
    store.mark_sent(ids[2], now=NOW, destination="test", ref="roll-up")
    store.mark_sent(ids[3], now=NOW, destination="test", ref="roll-up")
    store.mark_sent(ids[4], now=NOW - timedelta(hours=1), destination="test", ref="p0")
    assert store.top_level_posts("#desk", NOW - timedelta(minutes=1)) == 2
    assert store.top_level_posts("#desk", NOW - timedelta(hours=2)) == 3
    assert store.top_level_posts("#other", NOW - timedelta(hours=2)) == 0


def test_the_latest_channel_ref_a_sink_gave_is_known(store: Store) -> None:
    assert store.known_channel_ref("#desk") is None
    first, second, third = queued(store, 3)
    for alert_id in (first, second, third):
        store.claim(alert_id, now=NOW)
    store.mark_sent(first, now=NOW, destination="test", ref="p1", channel_ref="C-old")
    store.mark_sent(second, now=NOW, destination="test", ref="p2", channel_ref="C-new")
    store.mark_sent(third, now=NOW, destination="test", ref="p3")
    assert store.known_channel_ref("#desk") == "C-new"
    assert store.known_channel_ref("#other") is None


def test_the_outbox_lists_by_status_oldest_first_up_to_a_limit(store: Store) -> None:
    ids = queued(store, 4)
    store.claim(ids[1], now=NOW)
    store.mark_failed(ids[1], attempts=1, now=NOW, error="refused")
    assert [e.id for e in store.outbox(["pending"])] == [ids[0], ids[2], ids[3]]
    assert [e.id for e in store.outbox(["pending", "failed"], limit=2)] == ids[:2]
    assert store.outbox(["sent", "silenced"]) == []


@pytest.mark.parametrize("which", ["named", "all"])
def test_requeue_puts_failed_alerts_back_from_scratch(store: Store, which: str) -> None:
    ids = queued(store, 3)
    for alert_id in ids[:2]:
        store.claim(alert_id, now=NOW)
        store.mark_failed(alert_id, attempts=5, now=NOW, error="refused")
    chosen = [ids[0], ids[2]] if which == "named" else []
    assert store.requeue(chosen, now=LATER) == (1 if which == "named" else 2)
    requeued = store.entry(ids[0])
    assert requeued is not None
    assert (requeued.status, requeued.attempts, requeued.next_attempt_at) == ("pending", 0, LATER)
    assert store.outbox_counts() == (
        counts(pending=2, failed=1) if which == "named" else counts(pending=3)
    )
