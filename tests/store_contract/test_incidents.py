"""Incidents: one open per feed and kind, opened and closed with their notices."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain.alert import Target
from monitor.domain.kinds import IncidentKind
from monitor.domain.severity import Severity
from monitor.store.ports import Store
from tests.store_contract.records import LATER, NOW, alert_for, commit, item

OPS = Target("#ops")


def test_an_incident_opens_once_with_its_ops_alert(store: Store) -> None:
    commit(store, [], feed="down")
    failing = alert_for(item("ops-1", feed="down"), "ops.feed-failing", Severity.CRITICAL)
    since = NOW - timedelta(hours=1)
    assert store.open_incident(
        feed="down",
        kind="failing",
        since=since,
        detail="HTTP 503",
        alerts=[(failing, OPS)],
        now=NOW,
    )
    again = alert_for(item("ops-2", feed="down"), "ops.feed-failing", Severity.CRITICAL)
    assert not store.open_incident(
        feed="down", kind="failing", since=NOW, detail="HTTP 503", alerts=[(again, OPS)], now=LATER
    ), "one of that kind is open already"
    assert [e.alert for e in store.outbox(["pending"])] == [failing], (
        "nothing queued the second time"
    )
    (incident,) = store.open_incidents()
    assert (incident.feed, incident.kind, incident.since, incident.detail, incident.opened_at) == (
        "down",
        "failing",
        since,
        "HTTP 503",
        NOW,
    )
    state = store.feed_state("down")
    assert state is not None and state.open_incidents == {"failing"}


def test_incidents_of_other_kinds_and_feeds_are_apart(store: Store) -> None:
    opening: list[tuple[str, IncidentKind]] = [("a", "failing"), ("a", "silent"), ("b", "silent")]
    for feed, kind in opening:
        assert store.open_incident(feed=feed, kind=kind, since=NOW, detail="", alerts=[], now=NOW)
    assert [(i.feed, i.kind) for i in store.open_incidents()] == [
        ("a", "failing"),
        ("a", "silent"),
        ("b", "silent"),
    ]
    assert [i.kind for i in store.open_incidents("a")] == ["failing", "silent"]
    assert store.open_incidents("c") == []


def test_an_incident_closes_once_with_its_recovery_notice(store: Store) -> None:
    store.open_incident(feed="a", kind="silent", since=NOW, detail="quiet", alerts=[], now=NOW)
    (incident,) = store.open_incidents()
    recovered = alert_for(item("ops-r", feed="a"), "ops.feed-recovered", Severity.INFO)
    assert store.close_incident(incident.id, alerts=[(recovered, OPS)], now=LATER)
    again = alert_for(item("ops-r2", feed="a"), "ops.feed-recovered", Severity.INFO)
    assert not store.close_incident(incident.id, alerts=[(again, OPS)], now=LATER)
    assert [e.alert for e in store.outbox(["pending"])] == [recovered]
    assert store.open_incidents() == []
    assert store.open_incident(
        feed="a", kind="silent", since=LATER, detail="quiet again", alerts=[], now=LATER
    ), "a closed incident does not stop a new one"
