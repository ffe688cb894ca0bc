"""Rules' versions and a backfill's commit: recorded across restarts,
replaced whole, and a backfill's alert queued once, marked, with its folded
alerts kept unposted."""

from __future__ import annotations

from dataclasses import replace

from monitor.domain.backfill import BackfillOutcome
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import DESK, LATER, NOW, alert_for, item


def test_versions_are_kept_across_a_restart_and_replaced_whole(open_store: OpenStore) -> None:
    store = open_store()
    assert store.rule_versions() == {}
    store.commit_backfill(BackfillOutcome({"a": "v1:1", "b": "v1:2"}), now=NOW)
    store.close()
    again = open_store()
    assert again.rule_versions() == {"a": "v1:1", "b": "v1:2"}
    again.commit_backfill(BackfillOutcome({"b": "v1:3", "c": "v1:4"}), now=LATER)
    assert again.rule_versions() == {"b": "v1:3", "c": "v1:4"}  # a is no longer loaded


def test_a_backfill_alert_is_queued_once_and_marked(open_store: OpenStore) -> None:
    store = open_store()
    alert = replace(alert_for(item("x"), rule="r"), backfill_of=NOW)
    folded = replace(alert_for(item("y"), rule="r"), backfill_of=NOW)
    outcome = BackfillOutcome(
        {"r": "v1:1"}, alerts=[(alert, DESK)], folded=[(folded, DESK, "folded into a summary")]
    )
    assert store.commit_backfill(outcome, now=LATER) == 1
    assert store.commit_backfill(outcome, now=LATER) == 0  # one per rule, item and channel
    pending = store.outbox(["pending"])
    assert [entry.alert.item_identity for entry in pending] == [alert.item_identity]
    assert pending[0].alert.backfill_of == NOW and pending[0].alert.is_backfill
    silenced = store.outbox(["silenced"])
    assert [(e.alert.item_identity, e.last_error) for e in silenced] == [
        (folded.item_identity, "folded into a summary")
    ]
