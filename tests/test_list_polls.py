"""Official lists polled as a desk runs them: a real monitor on a real SQLite
state, reading OFAC-format lists from a loopback server and posting to the
Slack emulator, with the shipped rules.

What the desk sees: the first snapshot of a list alerts nothing; a
publication adding entries in China and Hong Kong is one Slack post naming
them, however many entries; additions elsewhere, removals and changes are
recorded but do not alert `sanctions-chinese-firms`; a truncated or
malformed download never turns into a mass event, and ops hear of it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.domain.ops import LIST_REFUSED_RULE_ID
from tests.support.feed_server import FeedServer
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import SlackEmulator

FIXTURES = Path(__file__).parent / "fixtures" / "lists"
SERVICE_PATH = "/api/PublicationPreview/exports/SDN.XML"


def sdn(name: str) -> bytes:
    return (FIXTURES / f"ofac-sdn-{name}.xml").read_bytes()


def ofac_feed(feed_server: FeedServer, **extra: str) -> list[FeedSpec]:
    return [
        FeedSpec(
            "ofac-sdn",
            feed_server.url(SERVICE_PATH),
            tags=("sanctions",),
            type="ofac-sdn",
            **extra,
        )
    ]


def chinese_firm_alerts(monitor: Monitor) -> list[str]:
    return [
        e.alert.title
        for e in monitor.store.outbox(["pending", "sent", "sending", "failed", "silenced"])
        if e.alert.rule_id == "sanctions-chinese-firms"
    ]


def test_a_first_snapshot_is_a_silent_baseline(
    make_monitor: MonitorMaker, feed_server: FeedServer, slack_emulator: SlackEmulator
) -> None:
    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml")
    monitor = make_monitor(ofac_feed(feed_server))
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.ok and report.first_read and report.alerts == 0
    assert slack_emulator.messages == []
    snapshot = monitor.store.list_snapshot("ofac-sdn")
    assert snapshot is not None and len(snapshot) == 8


def test_additions_in_china_and_hong_kong_alert_once_grouped_per_publication(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml")
    monitor = make_monitor(ofac_feed(feed_server))
    monitor.poll_all()
    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml")
    clock.advance(minutes=10)
    (report,) = monitor.poll_all()
    monitor.deliver_due()

    assert report.ok and report.new == 5  # 3 added, 1 removed, 1 changed
    (post,) = slack_emulator.messages
    text = str(post.text) + str(post.blocks)
    assert "OFAC added 3 entries, 2 in China or Hong Kong (RUSSIA-EO14024)" in text
    assert "SHENZHEN BRIGHTSTAR MICROELECTRONICS" in text and "LUMEN HK TRADING" in text
    # Kyrgyzstan is not what this rule watches: counted, never named.
    assert "KALIMA" not in text

    # Read again (the same publication): nothing more.
    clock.advance(minutes=10)
    monitor.poll_all()
    monitor.deliver_due()
    assert len(slack_emulator.messages) == 1

    history = monitor.store.listing_history(since=clock.now - timedelta(days=1))
    assert {(r.change, r.entry.key) for r in history} == {
        ("added", "2001"),
        ("added", "2002"),
        ("added", "2003"),
        ("removed", "1005"),
        ("changed", "1006"),
    }
    added_on = {r.entry.key: r.on for r in history if r.change == "added"}
    assert added_on["2001"] is not None and added_on["2001"].isoformat() == "2026-12-01"


def test_additions_elsewhere_removals_and_changes_do_not_alert_the_chinese_firms_rule(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    # Going from b back to a: three entries removed (two of them Chinese),
    # one (1005) back, one changed. Three of eight is more than the default
    # guard lets through in a list this small.
    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml")
    monitor = make_monitor(ofac_feed(feed_server), extra="[polling]\nlist_max_loss_share = 0.5")
    monitor.poll_all()
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml")
    clock.advance(minutes=10)
    (report,) = monitor.poll_all()
    assert report.ok and report.new == 5
    assert chinese_firm_alerts(monitor) == []
    removed = monitor.store.listing_history(since=clock.now, changes=("removed",))
    assert {r.entry.key for r in removed} == {"2001", "2002", "2003"}


def test_a_truncated_list_is_refused_with_an_ops_alert_and_the_last_good_snapshot_stays(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml")
    monitor = make_monitor(ofac_feed(feed_server))
    monitor.poll_all()

    # A well-formed list that lost four of its six entries: a half-served
    # file, not a mass delisting.
    truncated = _keep_entries(sdn("a"), 2)
    feed_server.set(SERVICE_PATH, truncated, content_type="application/xml")
    clock.advance(minutes=10)
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.error is not None and report.error.kind == "refused"
    assert "lost 4 of the last snapshot's 6 entries" in str(report.error)
    (ops,) = slack_emulator.messages
    assert "new publication refused, last good snapshot kept" in str(ops.text) + str(ops.blocks)
    assert [e.alert.rule_id for e in monitor.store.outbox(["sent"])] == [LIST_REFUSED_RULE_ID]
    assert monitor.store.listing_history(since=clock.now - timedelta(days=1)) == []
    snapshot = monitor.store.list_snapshot("ofac-sdn")
    assert snapshot is not None and len(snapshot) == 6

    # A document cut off mid-entry fails to parse: the same, no event.
    feed_server.set(SERVICE_PATH, sdn("b")[: len(sdn("b")) // 2], content_type="application/xml")
    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.error is not None and report.error.kind == "parse"
    assert monitor.store.listing_history(since=clock.now - timedelta(days=1)) == []
    refusals = [m for m in slack_emulator.messages if "ops.list-refused" in str(m.blocks)]
    assert len(refusals) == 2
    assert "malformed or truncated" in str(refusals[-1].blocks)
    clock.advance(hours=1)  # the same broken file again: no second notice
    monitor.poll_all()
    monitor.deliver_due()
    assert len([m for m in slack_emulator.messages if "ops.list-refused" in str(m.blocks)]) == 2

    # The next good publication is diffed against the last good snapshot.
    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml")
    clock.advance(hours=2)
    (report,) = monitor.poll_all()
    assert report.ok and report.new == 5
    assert len(chinese_firm_alerts(monitor)) == 1


def test_a_restart_between_two_snapshots_loses_nothing(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml")
    first = make_monitor(ofac_feed(feed_server))
    first.poll_all()
    first.close()

    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml")
    clock.advance(hours=3)
    second = make_monitor(ofac_feed(feed_server))
    (report,) = second.poll_all()
    second.deliver_due()
    assert report.ok and not report.first_read and report.new == 5
    (post,) = slack_emulator.messages
    assert "2 in China or Hong Kong" in str(post.text) + str(post.blocks)


def test_the_service_redirect_is_followed_and_the_service_url_kept(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    signed = "/signed/SDN.XML?X-Amz-Expires=60&X-Amz-Signature=0123456789abcdef"
    feed_server.redirect(SERVICE_PATH, signed, status=302)
    feed_server.set("/signed/SDN.XML", sdn("a"), content_type="application/xml", etag='"v1"')
    monitor = make_monitor(ofac_feed(feed_server))
    (report,) = monitor.poll_all()
    assert report.ok
    state = monitor.store.feed_state("ofac-sdn")
    assert state is not None and state.url == feed_server.url(SERVICE_PATH)

    # Unchanged: the ETag goes with the request through the redirect; a 304.
    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    assert report.not_modified
    assert "0123456789abcdef" not in caplog.text


def test_a_publication_already_read_costs_only_the_probe(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    history = '[{"publicationID": 101, "datePublished": "2026-11-28T16:00:00"}]'
    feed_server.set("/changes/history", history, content_type="application/json")
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml")
    monitor = make_monitor(ofac_feed(feed_server, probe_url=feed_server.url("/changes/history")))
    monitor.poll_all()
    assert feed_server.hits(SERVICE_PATH) == 1

    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    assert report.not_modified
    assert feed_server.hits(SERVICE_PATH) == 1  # the list was not downloaded again
    assert feed_server.hits("/changes/history") == 2

    later = history[:-1] + ', {"publicationID": 102, "datePublished": "2026-12-01T16:00:00"}]'
    feed_server.set("/changes/history", later, content_type="application/json")
    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml")
    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    assert report.ok and report.new == 5
    assert feed_server.hits(SERVICE_PATH) == 2


def _keep_entries(document: bytes, count: int) -> bytes:
    """The document with only its first ``count`` entries (and a matching
    Record_Count), still well-formed."""
    text = document.decode("utf-8")
    head, _, rest = text.partition("<sdnEntry>")
    entries = ("<sdnEntry>" + rest).split("</sdnEntry>")
    kept = "</sdnEntry>".join(entries[:count]) + "</sdnEntry>"
    tail = "</sdnList>"
    head = head.replace("<Record_Count>6</Record_Count>", f"<Record_Count>{count}</Record_Count>")
    return (head + kept + "\n" + tail + "\n").encode("utf-8")


def test_a_publication_announced_before_its_file_is_served_is_read_when_it_comes(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    history = '[{"publicationID": 101, "datePublished": "2026-11-28T16:00:00"}]'
    feed_server.set("/changes/history", history, content_type="application/json")
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml", etag='"a"')
    monitor = make_monitor(ofac_feed(feed_server, probe_url=feed_server.url("/changes/history")))
    monitor.poll_all()

    # The history names publication 102 of 1 December; the file is still
    # the one of 28 November for a while.
    announced = history[:-1] + ', {"publicationID": 102, "datePublished": "2026-12-01T16:00:00"}]'
    feed_server.set("/changes/history", announced, content_type="application/json")
    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    assert report.not_modified  # a 304: the old file
    feed_server.set(SERVICE_PATH, sdn("b"), content_type="application/xml", etag='"b"')
    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.ok and report.new == 5
    assert len(slack_emulator.messages) == 1

    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    assert report.not_modified  # now the probe alone: publication 102 is read
    assert feed_server.hits(SERVICE_PATH) == 3


def test_the_newest_publication_is_found_by_date_and_number_not_by_text() -> None:
    from monitor.sources.ofac_source import latest_publication

    by_number = latest_publication(b'[{"publicationID": 99}, {"publicationID": 100}]')
    assert by_number is not None and by_number.ident == "100"
    by_date = latest_publication(
        b'[{"id": 7, "datePublished": "12/31/2025"}, {"id": 3, "datePublished": "01/05/2026"}]'
    )
    assert by_date is not None and by_date.ident == "3"
    assert latest_publication(b"<html>down</html>") is None


def test_a_list_feed_repointed_at_another_list_starts_with_a_baseline(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set(SERVICE_PATH, sdn("a"), content_type="application/xml")
    make_monitor(ofac_feed(feed_server)).close()
    # The feed now reads another list: diffing it against the first would
    # read as a mass delisting (refused) or, here, as three additions.
    other = "/api/PublicationPreview/exports/CONSOLIDATED.XML"
    feed_server.set(other, sdn("b"), content_type="application/xml")
    clock.advance(hours=1)
    spec = FeedSpec("ofac-sdn", feed_server.url(other), tags=("sanctions",), type="ofac-sdn")
    monitor = make_monitor([spec])
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.ok and report.first_read and report.alerts == 0
    assert slack_emulator.messages == []
    assert monitor.store.listing_history(since=clock.now - timedelta(days=1)) == []
