"""The poll and delivery path with real parts: a loopback feed server, SQLite,
and the real slack-sdk client talking to the local Slack emulator."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import timedelta
from typing import Any

import pytest

from monitor.delivery.sinks.base import Posted
from monitor.domain.feed import Validators
from monitor.domain.item import Item
from monitor.rules.compiled import Match
from monitor.sources.http import FetchResult
from monitor.sources.parser_pool import ParserPool
from monitor.sources.registry import SharedParts, build_sources
from monitor.sources.rss import ParsedFeed
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, atom, rss
from tests.support.monitors import FakePacing, MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import Fault, SlackEmulator


def troops(clock: FakeClock, n: int, *, hours_ago: float = 0) -> Entry:
    return Entry(
        f"North Korean troops killed in Kursk fighting, Ukraine says ({n})",
        link=f"https://news.example/dprk-{n}",
        guid=f"https://news.example/dprk-{n}",
        summary="Ukraine's army said North Korean soldiers were killed.",
        published=clock.now - timedelta(hours=hours_ago),
    )


def unrelated(clock: FakeClock, n: int) -> Entry:
    return Entry(f"Weather in Seoul ({n})", link=f"https://news.example/w{n}", published=clock.now)


def test_new_feed_is_baselined_then_each_new_match_alerts_exactly_once(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    backlog = [troops(clock, 1, hours_ago=48), troops(clock, 2, hours_ago=30), unrelated(clock, 1)]
    feed_server.set("/news", rss(backlog))
    monitor = make_monitor()
    first = monitor.poll_all()
    assert [(r.items, r.new, r.alerts) for r in first] == [(3, 3, 0)]

    clock.advance(minutes=5)
    feed_server.set("/news", rss([troops(clock, 3), unrelated(clock, 2), *backlog]))
    (report,) = monitor.poll_all()
    assert (report.items, report.new, report.alerts) == (5, 2, 1)
    assert monitor.deliver_due().sent == 1
    (message,) = slack_emulator.messages
    assert message.channel == "#watch-desk"
    assert (
        "<https://news.example/dprk-3|North Korean troops killed in Kursk fighting, Ukraine says (3)>"
        in message.sent_blocks[1]["text"]["text"]
    )
    assert message.payload.get("unfurl_links") is False

    # Polling again, and restarting on the same state, sends nothing more.
    assert monitor.poll_all()[0].alerts == 0
    restarted = make_monitor()
    assert restarted.poll_all()[0].new == 0
    assert restarted.deliver_due().sent == 0
    assert len(slack_emulator.messages) == 1


class RecordingPool(ParserPool):
    """A real parser pool that keeps what it returned."""

    def __init__(self) -> None:
        super().__init__(1, offload_bytes=0)  # every document goes to the worker
        self.returned: list[ParsedFeed] = []

    def parse(self, body: bytes, **options: Any) -> ParsedFeed:
        parsed = super().parse(body, **options)
        self.returned.append(parsed)
        return parsed


def test_items_matched_in_a_parser_process_alert_like_items_matched_here(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backlog = [troops(clock, 1, hours_ago=48), unrelated(clock, 1)]
    feed_server.set("/news", rss(backlog))
    monitor = make_monitor()
    pool = RecordingPool()
    monitor.parser.close()
    monitor.parser = pool
    monitor.sources.update(build_sources(SharedParts(fetcher=monitor.fetcher, parser=pool)))
    pool.preload = monitor.rules.source
    matched_here: list[Item] = []
    match_here = monitor.rules.matcher.match

    def recorded_match(item: Item) -> list[Match]:
        matched_here.append(item)
        return match_here(item)

    monkeypatch.setattr(monitor.rules.matcher, "match", recorded_match)
    try:
        assert [r.alerts for r in monitor.poll_all()] == [0]  # the backlog is baselined
        clock.advance(minutes=5)
        feed_server.set("/news", rss([troops(clock, 2), unrelated(clock, 2), *backlog]))
        (report,) = monitor.poll_all()
    finally:
        pool.close()
    assert matched_here == [], "the monitor used the worker's matches, matching nothing itself"
    # The worker matched every item, seen or not; the monitor used the new ones'.
    last = pool.returned[-1].matches
    assert last is not None and monitor.rules.source is not None
    assert last.rules_digest == monitor.rules.source.digest
    assert sorted(last.by_identity) == [
        "guid:https://news.example/dprk-1",
        "guid:https://news.example/dprk-2",
    ]
    assert (report.items, report.new, report.alerts) == (4, 2, 1)
    assert monitor.deliver_due().sent == 1
    (message,) = slack_emulator.messages
    assert "North Korean troops killed in Kursk fighting, Ukraine says (2)" in str(message.blocks)


def test_recent_items_alert_even_on_a_feed_first_poll(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", atom([troops(clock, 1, hours_ago=1), troops(clock, 2, hours_ago=24)]))
    monitor = make_monitor()
    assert monitor.poll_all()[0].alerts == 1
    monitor.deliver_due()
    (message,) = slack_emulator.messages
    assert "(1)" in message.text


def test_304_means_nothing_to_do(
    make_monitor: MonitorMaker, feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]), etag='"v1"')
    monitor = make_monitor()
    monitor.poll_all()
    (second,) = monitor.poll_all()
    assert second.not_modified and second.ok
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'


def test_broken_feeds_are_reported_and_do_not_stop_the_others(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.set("/ok", rss([troops(clock, 1)]))
    feed_server.set("/down", "error", status=500)
    feed_server.set(
        "/page", "<html><head><title>Access denied</title></head></html>", content_type="text/html"
    )
    monitor = make_monitor(
        [
            FeedSpec("ok", feed_server.url("/ok")),
            FeedSpec("down", feed_server.url("/down")),
            FeedSpec("page", feed_server.url("/page")),
        ]
    )
    with caplog.at_level(logging.INFO, logger="monitor"):
        reports = {r.feed: r for r in monitor.poll_all()}
    assert reports["ok"].ok and reports["ok"].alerts == 1
    assert (
        reports["down"].error is not None
        and str(reports["down"].error) == "HTTP 500 Internal Server Error"
    )
    assert reports["page"].error is not None and reports["page"].error.kind == "not-a-feed"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(m.startswith("poll feed=down FAILED (http): HTTP 500") for m in errors)
    assert any(
        "poll feed=page FAILED (not-a-feed): not a feed: the server returned an HTML page" in m
        for m in errors
    )
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(m.startswith("poll feed=ok items=1 new=1 alerts=1") for m in infos)
    state = monitor.store.feed_state("down")
    assert state is not None and state.consecutive_failures == 1 and state.last_error_kind == "http"


def test_the_same_page_that_is_no_feed_gets_the_same_verdict_without_a_parse(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = "<html><head><title>Access denied</title></head></html>"
    feed_server.set("/news", page, content_type="text/html")
    monitor = make_monitor()
    parsed: list[bytes] = []
    parse = monitor.parser.parse

    def counted_parse(body: bytes, **options: Any) -> ParsedFeed:
        parsed.append(body)
        return parse(body, **options)

    monkeypatch.setattr(monitor.parser, "parse", counted_parse)
    first = monitor.poll_all()[0]
    clock.advance(minutes=5)
    again = monitor.poll_all()[0]
    assert first.error is not None and again.error is not None
    assert (again.error.kind, str(again.error)) == (
        "not-a-feed",
        "not a feed: the server returned an HTML page (page title: 'Access denied')",
    )
    assert len(parsed) == 1
    state = monitor.store.feed_state("news")
    assert state is not None and state.consecutive_failures == 2

    feed_server.set("/news", page, content_type="application/xml")
    clock.advance(minutes=5)
    assert monitor.poll_all()[0].error is not None and len(parsed) == 2, "other type: parsed"
    feed_server.set("/news", page.replace("denied", "refused"), content_type="text/html")
    clock.advance(minutes=5)
    assert monitor.poll_all()[0].error is not None and len(parsed) == 3, "other bytes: parsed"
    feed_server.set("/news", rss([troops(clock, 1)]))
    clock.advance(minutes=5)
    assert monitor.poll_all()[0].ok and len(parsed) == 4
    feed_server.set("/news", page.replace("denied", "refused"), content_type="text/html")
    clock.advance(minutes=5)
    assert monitor.poll_all()[0].error is not None and len(parsed) == 5, "a verdict is forgotten"


def test_a_failed_poll_commits_nothing_so_items_are_seen_again(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor()
    monitor.poll_all()
    clock.advance(minutes=5)
    feed_server.set("/news", "<html>maintenance</html>", content_type="text/html")
    assert not monitor.poll_all()[0].ok
    feed_server.set("/news", rss([troops(clock, 2), troops(clock, 1)]))
    assert monitor.poll_all()[0].alerts == 1


def test_feed_text_cannot_ping_the_channel(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    entry = Entry(
        "<!channel> North Korean troops killed in Ukraine <http://evil.example|click>",
        link="https://news.example/x",
        published=clock.now,
    )
    feed_server.set("/news", rss([entry]))
    monitor = make_monitor()
    monitor.poll_all()
    monitor.deliver_due()
    (message,) = slack_emulator.messages
    assert "<!channel>" not in message.text and "<http://evil.example|click>" not in message.text
    assert (
        "&lt;!channel&gt; North Korean troops killed in Ukraine &lt;http://evil.example|click&gt;"
        in message.text
    )


def test_rate_limit_waits_for_retry_after_then_delivers(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1), troops(clock, 2)]))
    monitor = make_monitor()
    monitor.poll_all()
    slack_emulator.queue_faults("chat.postMessage", Fault.rate_limited(retry_after=30))
    report = monitor.deliver_due()
    assert (report.sent, report.retrying, report.held) == (0, 1, True)

    clock.advance(seconds=29)
    assert monitor.deliver_due().held
    assert len(slack_emulator.calls_to("chat.postMessage")) == 1, (
        "no post while Slack asked us to wait"
    )

    clock.advance(seconds=2)
    assert monitor.deliver_due().sent == 2
    assert len(slack_emulator.messages) == 2


def test_server_errors_back_off_exponentially_then_deliver(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor()
    monitor.poll_all()
    slack_emulator.queue_faults(
        "chat.postMessage", Fault.server_error(500), Fault.server_error(503)
    )
    assert monitor.deliver_due().retrying == 1
    clock.advance(seconds=30)  # first retry after 30 s (jitter pinned to the middle)
    assert monitor.deliver_due().retrying == 1
    clock.advance(seconds=59)  # second retry after 60 s: not yet
    assert monitor.deliver_due().held and not slack_emulator.messages
    clock.advance(seconds=1)
    assert monitor.deliver_due().sent == 1


ROUTES = """
[[slack.routes]]
rules = ["dprk-troops-combat"]
channels = ["#korea-desk", "#watch-desk"]
mentions = ["subteam:S0KOREA"]
[slack.mentions]
critical = ["@here"]
"""


def test_routes_send_to_every_channel_with_mentions_that_notify(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor(extra=ROUTES)
    assert monitor.poll_all()[0].alerts == 2, "one alert per channel"
    assert monitor.deliver_due().sent == 2
    by_channel = {m.channel: m for m in slack_emulator.messages}
    assert set(by_channel) == {"#korea-desk", "#watch-desk"}
    for message in by_channel.values():
        assert message.text.startswith("<!subteam^S0KOREA> <!here> CRITICAL:")
        assert message.sent_blocks[1]["text"]["text"].startswith("<!subteam^S0KOREA> <!here> *<")


def test_posts_to_one_channel_are_paced_but_channels_do_not_wait_for_each_other(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, n) for n in range(1, 4)]))
    monitor = make_monitor(extra=ROUTES)
    monitor.poll_all()
    pacing: FakePacing = make_monitor.pacing
    assert monitor.deliver_due().sent == 6
    # Posts alternate channels: korea 1, watch 1, korea 2 (waits the rest of
    # its second), watch 2 (its second has passed), ... Channels never wait
    # for each other, and one channel never sees two posts within a second.
    assert pacing.sleeps == [1.0, 1.0]


def test_a_channel_error_fails_that_channel_only_and_retry_queues_it_again(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor(extra=ROUTES)
    monitor.poll_all()
    slack_emulator.fail_channel("#korea-desk", "not_in_channel")
    with caplog.at_level(logging.ERROR, logger="monitor"):
        report = monitor.deliver_due()
    assert (report.sent, report.failed) == (1, 1), "#watch-desk keeps flowing"
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().endswith(
        "Slack refuses posts to #korea-desk: not_in_channel (invite the bot to the channel, then run monitor retry)"
    )
    (failed,) = monitor.store.outbox(["failed"])
    assert (failed.channel, failed.last_error) == (
        "#korea-desk",
        "Slack refuses posts to #korea-desk: not_in_channel (invite the bot to the channel, then run monitor retry)",
    )

    slack_emulator.heal_channel("#korea-desk")
    assert monitor.store.requeue([], now=clock()) == 1
    assert monitor.deliver_due().sent == 1
    assert {m.channel for m in slack_emulator.messages} == {"#korea-desk", "#watch-desk"}


def test_a_rate_limit_holds_only_the_channel_that_got_it(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1), troops(clock, 2)]))
    monitor = make_monitor(extra=ROUTES)
    monitor.poll_all()
    slack_emulator.queue_faults("chat.postMessage", Fault.rate_limited(retry_after=30))
    report = monitor.deliver_due()
    assert (report.sent, report.retrying, report.held) == (2, 1, True)
    assert {m.channel for m in slack_emulator.messages} == {"#watch-desk"}, (
        "the 429 was on #korea-desk"
    )
    clock.advance(seconds=31)
    assert monitor.deliver_due().sent == 2
    assert len(slack_emulator.messages_in("#korea-desk")) == 2


def test_a_message_slack_can_never_take_is_marked_failed_and_the_rest_flow(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1), troops(clock, 2)]))
    monitor = make_monitor()
    monitor.poll_all()
    slack_emulator.queue_faults("chat.postMessage", Fault.error("msg_too_long"))
    with caplog.at_level(logging.ERROR, logger="monitor"):
        report = monitor.deliver_due()
    assert (report.sent, report.failed) == (1, 1)
    assert monitor.store.outbox_counts() == {
        "pending": 0,
        "sending": 0,
        "sent": 1,
        "failed": 1,
        "silenced": 0,
    }
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        "FAILED, kept in the outbox (monitor retry 1): Slack refused the message for #watch-desk: msg_too_long"
        in (record.getMessage())
    )


def test_an_alert_with_an_unknown_error_does_not_hold_up_the_others(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1), troops(clock, 2), troops(clock, 3)]))
    monitor = make_monitor()
    monitor.poll_all()
    slack_emulator.queue_faults("chat.postMessage", Fault.error("some_new_error"))
    report = monitor.deliver_due()
    assert (report.sent, report.retrying) == (2, 1), "the failing alert is retried alone"
    # Every retry of that alert fails too; it is given up after max_attempts (20).
    for _ in range(19):
        slack_emulator.queue_faults("chat.postMessage", Fault.error("some_new_error"))
        clock.advance(hours=1)
        monitor.deliver_due()
    assert monitor.store.outbox_counts() == {
        "pending": 0,
        "sending": 0,
        "sent": 2,
        "failed": 1,
        "silenced": 0,
    }


def test_unexpected_sink_errors_are_retried_not_raised(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor()
    monitor.poll_all()

    class Broken:
        destination = "broken"
        min_interval = 0.0

        def post(self, channel: str, message: object) -> Posted:
            raise KeyError("a bug")

    monitor.deliverer.sink = Broken()
    assert monitor.deliver_due().retrying == 1
    assert monitor.store.outbox_counts()["pending"] == 1


def test_two_processes_sharing_the_state_send_each_alert_once(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([troops(clock, n) for n in range(1, 5)]))
    first, second = make_monitor(), make_monitor()
    first.poll_all()
    due = first.store.due_alerts(clock(), 10)
    assert first.store.claim(due[0].id, now=clock())
    assert not second.store.claim(due[0].id, now=clock()), "claimed by the first"
    threads = [threading.Thread(target=m.deliver_due) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slack_emulator.messages) == 3, "the fourth is still claimed by a sender that died"
    clock.advance(minutes=11)  # the claim's lease expires: sent once more, not lost
    assert second.deliver_due().sent == 1
    titles = [m.sent_blocks[1]["text"]["text"] for m in slack_emulator.messages]
    assert len(titles) == len(set(titles)) == 4


def test_a_feed_repointed_at_a_new_url_is_baselined_like_a_new_feed(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    feed_server.set("/old", rss([troops(clock, 1, hours_ago=30)]))
    make_monitor([FeedSpec("news", feed_server.url("/old"))]).poll_all()
    clock.advance(minutes=5)
    feed_server.set("/new", rss([troops(clock, n, hours_ago=20 + n) for n in range(2, 6)]))
    (report,) = make_monitor([FeedSpec("news", feed_server.url("/new"))]).poll_all()
    assert (report.new, report.alerts) == (4, 0)


def test_items_sharing_one_page_link_each_alert(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor()
    monitor.poll_all()
    live = [
        Entry(
            f"North Korean troops killed in Kursk: update {n}",
            link="https://live.example/ukraine",
            guid=f"urn:live:{n}",
            published=clock.now,
        )
        for n in (1, 2)
    ]
    feed_server.set("/news", rss(live))
    assert monitor.poll_all()[0].alerts == 2


def test_an_edited_guid_with_the_same_link_and_title_does_not_alert_again(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor()
    monitor.poll_all()
    story = troops(clock, 1)
    feed_server.set("/news", rss([story]))
    assert monitor.poll_all()[0].alerts == 1
    feed_server.set(
        "/news", rss([Entry(story.title, link=story.link, guid="urn:cms:v2", published=clock.now)])
    )
    assert monitor.poll_all()[0].new == 0


def test_slack_outage_then_restart_loses_nothing(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_api = f"http://127.0.0.1:{probe.getsockname()[1]}/api/"
    feed_server.set("/news", rss([troops(clock, 1), troops(clock, 2)]))
    down = make_monitor(api_url=dead_api)
    down.poll_all()
    assert down.deliver_due().retrying == 1
    assert down.store.outbox_counts()["pending"] == 2
    down.close()

    clock.advance(minutes=31)
    restarted = make_monitor()
    assert restarted.deliver_due().sent == 2
    assert len(slack_emulator.messages) == 2


def test_an_unexpected_error_in_one_poll_is_reported_for_that_feed_only(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor(
        [FeedSpec("news", feed_server.url("/news")), FeedSpec("other", feed_server.url("/news2"))]
    )
    real_fetch = monitor.fetcher.fetch

    def flaky(url: str, validators: Validators) -> FetchResult:
        if url.endswith("/news2"):
            raise RuntimeError("a bug in a parser")
        return real_fetch(url, validators)

    monkeypatch.setattr(monitor.fetcher, "fetch", flaky)
    with caplog.at_level(logging.ERROR, logger="monitor"):
        reports = {r.feed: r for r in monitor.poll_all()}
    assert reports["news"].ok
    error = reports["other"].error
    assert error is not None and (error.kind, str(error)) == (
        "internal",
        "RuntimeError: a bug in a parser",
    )
    assert "poll feed=other FAILED (internal error)" in caplog.text
    state = monitor.store.feed_state("other")
    assert state is not None and state.last_error_kind == "internal"


def story_entry(clock: FakeClock, guid: str, title: str, link: str) -> Entry:
    """An item as Google News gives it: "Headline - Outlet", the outlet also
    in its <source> element (the feed itself is the outlet of one without)."""
    outlet = title.rpartition(" - ")[2] if " - " in title else None
    return Entry(title, link=link, guid=guid, published=clock.now, source=outlet)


def test_later_sources_of_a_story_go_into_the_first_alerts_thread(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor()
    monitor.poll_all()
    first = story_entry(
        clock,
        "urn:a",
        "North Korean troops killed in Kursk fighting - Reuters",
        "https://r.example/1",
    )
    feed_server.set("/news", rss([first]))
    monitor.poll_all()
    monitor.deliver_due()
    (parent,) = slack_emulator.messages

    clock.advance(minutes=30)
    second = story_entry(
        clock,
        "urn:b",
        "Ukraine says North Korean soldiers died in Kursk battle - AP",
        "https://ap.example/2",
    )
    third = story_entry(
        clock, "urn:c", "Ukraine says North Korean soldiers were killed", "https://r.example/1"
    )
    feed_server.set("/news", rss([second, third, first]))
    monitor.poll_all()
    assert monitor.deliver_due().sent == 2
    assert [m.ts for m in slack_emulator.top_level("#watch-desk")] == [parent.ts], (
        "no second top-level message"
    )
    replies = slack_emulator.replies_to(parent.ts)
    assert [r.thread_ts for r in replies] == [parent.ts, parent.ts]
    last_update = slack_emulator.updates[-1]
    assert last_update.ts == parent.ts
    assert "3 sources" in last_update.sent_blocks[-1]["elements"][0]["text"]


def test_after_the_cooldown_the_same_story_is_a_new_top_level_alert(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor(extra='[slack.cooldown]\n"dprk-troops-combat" = "1h"\n')
    monitor.poll_all()
    feed_server.set(
        "/news",
        rss(
            [
                story_entry(
                    clock, "urn:a", "North Korean troops killed in Kursk", "https://r.example/1"
                )
            ]
        ),
    )
    monitor.poll_all()
    monitor.deliver_due()
    clock.advance(hours=2)
    feed_server.set(
        "/news",
        rss(
            [
                story_entry(
                    clock, "urn:b", "North Korean troops killed in Kursk", "https://r.example/2"
                )
            ]
        ),
    )
    monitor.poll_all()
    monitor.deliver_due()
    assert len(slack_emulator.top_level("#watch-desk")) == 2


def test_a_post_whose_answer_never_came_is_not_posted_twice(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor()
    monitor.poll_all()
    # Slack takes the post, but its answer arrives after the client's 2 s timeout.
    slack_emulator.queue_faults("chat.postMessage", Fault.accept_then_hang(4))
    report = monitor.deliver_due()
    assert (report.sent, report.retrying) == (0, 1)
    assert len(slack_emulator.messages) == 1, "Slack has it"
    clock.advance(minutes=5)
    with caplog.at_level(logging.INFO, logger="monitor"):
        assert monitor.deliver_due().sent == 1
    assert len(slack_emulator.messages) == 1, "found in the channel's history, not posted again"
    assert "was already in #watch-desk (its answer was lost); not posting it again" in caplog.text
    (sent,) = monitor.store.outbox(["sent"])
    assert sent.uncertain is False


def test_a_storm_is_rolled_into_one_summary_message(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor(slack_extra='storm_threshold = 2\nstorm_window = "10m"')
    monitor.poll_all()
    # Unconfirmed reports: warnings, which a storm may roll up (critical alerts never are).
    # Six separate reported clashes (different places and tolls): six stories.
    headlines = [
        "North Korean troops reportedly killed in Kursk, Ukraine says",
        "Ukraine reportedly captures two North Korean soldiers near Sudzha",
        "Eleven North Korean soldiers reportedly killed in Belgorod border assault",
        "North Korean troops reportedly fighting alongside Russians near Lgov",
        "Ukraine reportedly kills twelve North Korean soldiers in Glushkovo",
        "Zelensky says 40 North Korean troops were reportedly killed near Zaporizhzhia",
    ]
    burst = [
        Entry(title, link=f"https://news.example/v{n}", guid=f"urn:v{n}", published=clock.now)
        for n, title in enumerate(headlines, start=1)
    ]
    feed_server.set("/news", rss(burst))
    assert monitor.poll_all()[0].alerts == 6
    report = monitor.deliver_due()
    assert (report.sent, report.rolled_up) == (6, 4)
    messages = slack_emulator.messages_in("#watch-desk")
    assert len(messages) == 3, "two alerts, then one summary for the other four"
    summary = messages[-1]
    assert summary.text.startswith("4 more alerts for #watch-desk, rolled into one message")
    body = summary.sent_blocks[-1]["text"]["text"]
    assert (
        body.count("\n") == 3
        and "<https://news.example/v6|Zelensky says 40 North Korean troops were reportedly killed near Zaporizhzhia>"
        in body
    )
    assert monitor.store.outbox_counts()["sent"] == 6

    clock.advance(minutes=11)  # the storm window has passed: alerts post one by one again
    feed_server.set(
        "/news",
        rss(
            [
                *burst,
                Entry(
                    "North Korean soldiers captured in Kursk, Ukraine says",
                    link="https://news.example/c",
                    guid="urn:c",
                    published=clock.now,
                ),
            ]
        ),
    )
    monitor.poll_all()
    assert monitor.deliver_due().rolled_up == 0
    assert len(slack_emulator.messages_in("#watch-desk")) == 4


DIGEST = """
[[slack.routes]]
severities = ["warning", "info"]
channels = ["#watch-digest"]
digest = "0 8 * * *"
"""


def test_digest_routes_wait_for_their_schedule_and_survive_a_restart(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/news", rss([]))
    monitor = make_monitor(extra=DIGEST)
    monitor.poll_all()
    items = [
        Entry(
            "South Korea considers sending weapons to Ukraine",
            link="https://n.example/1",
            guid="urn:1",
            published=clock.now,
        ),
        Entry(
            "North Korea sends more troops to Russia, Seoul says",
            link="https://n.example/2",
            guid="urn:2",
            published=clock.now,
        ),
        Entry(
            "North Korean troops killed in Kursk, Ukraine says",
            link="https://n.example/3",
            guid="urn:3",
            published=clock.now,
        ),
    ]
    feed_server.set("/news", rss(items))
    monitor.poll_all()
    monitor.deliver_due()
    assert [m.channel for m in slack_emulator.messages] == ["#watch-desk"], (
        "only the critical one posts at once"
    )

    restarted = make_monitor(extra=DIGEST)
    report = restarted.deliver_digest("#watch-digest", "0 8 * * *")
    assert report.sent == 2
    digest = slack_emulator.messages_in("#watch-digest")[0]
    assert digest.text.startswith("Digest for #watch-digest: 2 alerts")
    sections = [b["text"]["text"] for b in digest.sent_blocks if b["type"] == "section"]
    assert len(sections) == 2, "grouped by rule"
    assert any("seoul-weapons-ukraine" in s and "<https://n.example/1|" in s for s in sections)
    assert restarted.deliver_digest("#watch-digest", "0 8 * * *").sent == 0, "each alert once"


def test_a_server_ignoring_validators_with_the_same_bytes_is_not_parsed_again(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.set("/news", rss([troops(clock, 1)]))
    monitor = make_monitor()
    assert monitor.poll_all()[0].items == 1
    with caplog.at_level(logging.INFO, logger="monitor"):
        (again,) = monitor.poll_all()
    assert again.not_modified and again.items == 0
    assert "poll feed=news unchanged (same body)" in caplog.text
    feed_server.set("/news", rss([troops(clock, 2), troops(clock, 1)]))
    assert monitor.poll_all()[0].new == 1, "a changed body is parsed"
