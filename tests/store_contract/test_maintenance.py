"""Maintenance: retention, rewriting what was stored in the clear, deferred writes, closing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from monitor.domain.alert import StoryThread, Target
from monitor.domain.feed import PruneReport, Validators
from monitor.domain.poll import PollOutcome
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import NOW, alert_for, commit, item

DAY = timedelta(days=1)


def test_prune_forgets_what_is_older_than_the_cutoff_but_a_feeds_latest_document(
    store: Store,
) -> None:
    gone, kept = item("gone"), item("kept")
    commit(store, [gone, kept], now=NOW)
    commit(store, [kept], now=NOW + DAY)
    commit(store, [item("quiet-1", feed="quiet")], feed="quiet", now=NOW)
    sent, pending = alert_for(item("s")), alert_for(item("p"))
    store.queue_alerts([(sent, Target("#desk")), (pending, Target("#desk"))], now=NOW)
    sent_id, pending_id = (e.id for e in store.outbox(["pending"]))
    store.claim(sent_id, now=NOW)
    store.mark_sent(sent_id, now=NOW, destination="test", ref="p1")
    folded = PollOutcome(
        feed="f",
        url="https://x/feed",
        items=[],
        alerts=[],
        validators=Validators(),
        folded=[(alert_for(item("x")), Target("#desk"), "flood")],
    )
    store.commit_poll(folded, now=NOW)
    story = StoryThread(0, "r", "#desk", None, None, "t", sent_id, "p1")
    store.add_thread(story, now=NOW)
    store.open_incident(feed="f", kind="silent", since=NOW, detail="", alerts=[], now=NOW)
    store.open_incident(feed="quiet", kind="silent", since=NOW, detail="", alerts=[], now=NOW)
    (closed, _) = store.open_incidents()
    store.close_incident(closed.id, alerts=[], now=NOW)

    assert store.prune(NOW) == PruneReport(), "nothing is older than the cutoff"
    report = store.prune(NOW + DAY / 2)
    assert report == PruneReport(seen=1, alerts=2, stories=1, incidents=1)
    assert store.unseen("f", [gone, kept]) == [gone]
    assert store.unseen("quiet", [item("quiet-1", feed="quiet")]) == [], "its latest document"
    assert [e.id for e in store.outbox(["pending", "sent", "silenced"])] == [pending_id]
    assert store.recent_threads(rule_id="r", channel="#desk", since=NOW - DAY) == []
    assert [i.feed for i in store.open_incidents()] == ["quiet"]


def test_redact_stored_rewrites_urls_errors_details_and_the_keys_made_of_urls(
    store: Store,
) -> None:
    secret = "https://x/feed?token=s3cret"
    shown = "https://x/feed?token=***"

    def url(text: str) -> str:
        return text.replace("s3cret", "***")

    # A guid that is no URI is qualified with the feed's URL.
    qualified = replace(item("1"), identity=f"guid:{secret}#1")
    commit(store, [qualified], url=secret)
    store.record_failure(
        feed="f", url=secret, kind="http", message=f"HTTP 500 from {secret}", now=NOW
    )
    store.open_incident(
        feed="f", kind="failing", since=NOW, detail=f"failing: {secret}", alerts=[], now=NOW
    )
    commit(store, [], feed="clean", url="https://y/feed")
    assert store.redact_stored(url, url) == 1
    assert store.redact_stored(url, url) == 0, "nothing left to rewrite"
    state = store.feed_state("f")
    assert state is not None
    assert (state.url, state.last_error) == (shown, f"HTTP 500 from {shown}")
    (incident,) = store.open_incidents()
    assert incident.detail == f"failing: {shown}"
    assert store.unseen("f", [replace(qualified, identity=f"guid:{shown}#1")]) == []


def test_sync_writes_what_is_deferred_and_closing_keeps_it(open_store: OpenStore) -> None:
    store = open_store()
    assert store.sync_period >= timedelta(0)
    store.sync()  # nothing deferred: nothing to do
    store.sync(store.sync_period, wait=False)
    commit(store, [item("a")])
    before = store.feed_state("f")
    assert before is not None
    after = store.record_unchanged(before, now=NOW + timedelta(minutes=5))
    with store:
        pass
    assert open_store().feed_state("f") == after, "closing writes what was deferred"
