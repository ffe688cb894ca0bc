"""Scoped silences in a real monitor: loopback feeds, SQLite state, the Slack
emulator. A story's silence (what "Mute this story" sets) holds back that
story's later sources but not another story of the same rule; a keyword's
holds back what names it; and when a silence ends, the ops channel hears of
it once, restarts or not.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from monitor.app import Monitor
from monitor.domain.alert import SilenceScope
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import SlackEmulator

RULE = "sanctions-chinese-firms"
OPS = '[ops]\nchannel = "#desk-ops"\n'
# Two (invented) events the rule alerts on, each carried by two outlets as wire copy.
DRONES = (
    "US sanctions 12 Chinese firms for supplying drone engines to Russia",
    "The Treasury named twelve China-based suppliers of drone engines and parts to Russia's army.",
)
SHIPPING = (
    "EU sanctions Hong Kong shipping firms over Iranian oil cargoes",
    "Brussels listed four Hong Kong shipping companies it said carried Iranian crude.",
)


def entry(clock: FakeClock, outlet: str, n: int, story: tuple[str, str]) -> Entry:
    title, summary = story
    link = f"https://{outlet}.example/story-{n}"
    return Entry(title, link=link, guid=link, summary=summary, published=clock.now)


def outlets(feed_server: FeedServer) -> list[FeedSpec]:
    return [FeedSpec(name, feed_server.url(f"/{name}")) for name in ("outlet-a", "outlet-b")]


def started(make_monitor: MonitorMaker, feed_server: FeedServer, clock: FakeClock) -> Monitor:
    """A monitor on two outlets that have been read once (with nothing to alert)."""
    for name in ("outlet-a", "outlet-b"):
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(outlets(feed_server), extra=OPS)
    monitor.poll_all()
    clock.advance(minutes=5)
    return monitor


def test_a_story_silence_holds_back_that_story_but_not_another_of_the_rule(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    monitor = started(make_monitor, feed_server, clock)
    feed_server.set(
        "/outlet-a",
        rss([entry(clock, "outlet-a", 1, DRONES), entry(clock, "outlet-a", 2, SHIPPING)]),
    )
    monitor.poll_all()
    monitor.deliver_due()
    assert len(slack_emulator.top_level("#watch-desk")) == 2
    stories = monitor.store.recent_stories(rule_id=RULE, since=clock.now - timedelta(days=1))
    (drones,) = [s for s in stories if "drone" in s.title]
    muted = monitor.store.add_silence(
        scope=SilenceScope(story_key=drones.key),
        until=clock.now + timedelta(hours=6),
        reason="muted from Slack",
        author="U0DESK (ana)",
        now=clock.now,
    )

    clock.advance(minutes=5)
    feed_server.set(
        "/outlet-b",
        rss([entry(clock, "outlet-b", 1, DRONES), entry(clock, "outlet-b", 2, SHIPPING)]),
    )
    monitor.poll_all()
    report = monitor.deliver_due()
    assert (report.silenced, report.sent) == (1, 1)
    (held,) = monitor.store.outbox(["silenced"])
    assert held.alert.story == drones.key and "outlet-b" in str(held.alert.link)
    assert held.last_error == f"silenced by silence {muted.id}: muted from Slack"
    (reply,) = [m for m in slack_emulator.messages_in("#watch-desk") if m.thread_ts]
    assert "Hong Kong" in str(reply.blocks), "the other story of the rule goes on"


def test_a_keyword_silence_holds_back_the_alerts_naming_it(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    monitor = started(make_monitor, feed_server, clock)
    monitor.store.add_silence(
        scope=SilenceScope(keyword="hong-kong SHIPPING"),
        until=clock.now + timedelta(hours=6),
        reason="covered by the shipping desk",
        author="ana",
        now=clock.now,
    )
    feed_server.set(
        "/outlet-a",
        rss([entry(clock, "outlet-a", 1, DRONES), entry(clock, "outlet-a", 2, SHIPPING)]),
    )
    monitor.poll_all()
    assert monitor.deliver_due().silenced == 1
    (posted,) = slack_emulator.messages_in("#watch-desk")
    assert "drone" in str(posted.blocks) and "Hong Kong" not in str(posted.blocks)


def notices(slack_emulator: SlackEmulator) -> list[str]:
    """The notices of silences ended in the ops channel, each as its text and blocks."""
    return [
        f"{m.text} {m.blocks}"
        for m in slack_emulator.messages_in("#desk-ops")
        if "Silence ended" in m.text
    ]


def test_the_end_of_a_silence_is_noticed_once_across_restarts(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    monitor = started(make_monitor, feed_server, clock)
    silence = monitor.store.add_silence(
        scope=SilenceScope(rule_id=RULE, keyword="Hong Kong"),
        until=clock.now + timedelta(hours=1),
        reason="known story",
        author="ana",
        now=clock.now,
    )
    feed_server.set("/outlet-a", rss([entry(clock, "outlet-a", 1, SHIPPING)]))
    monitor.poll_all()
    assert monitor.deliver_due().silenced == 1
    clock.advance(minutes=59)
    monitor.deliver_due()
    assert notices(slack_emulator) == [], "not over yet"

    # It ends while the monitor is stopped: the next one's first delivery says so.
    monitor.close()
    clock.advance(minutes=2)
    monitor = make_monitor(outlets(feed_server), extra=OPS)
    monitor.deliver_due()
    (notice,) = notices(slack_emulator)
    assert f'Silence {silence.id} ended: {RULE}, keyword "Hong Kong"' in notice
    for said in ("Set by ana", "(known story)", "It held back 1 alert;"):
        assert said in notice
    monitor.deliver_due()
    monitor.close()

    # Restarted, and even had the notice been queued without the silence
    # being marked (a crash between the two): still one notice.
    state = monitor.loaded.state_path
    with sqlite3.connect(state) as db:
        db.execute("UPDATE silences SET ended_notice_at = NULL")
    db.close()
    monitor = make_monitor(outlets(feed_server), extra=OPS)
    clock.advance(minutes=5)
    monitor.deliver_due()
    assert len(notices(slack_emulator)) == 1
    assert monitor.store.ended_silences(clock.now) == []


def test_a_silence_removed_by_hand_or_long_over_gets_no_notice(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    monitor = started(make_monitor, feed_server, clock)
    removed = monitor.store.add_silence(
        scope=SilenceScope(feed="outlet-a"),
        until=clock.now + timedelta(hours=1),
        reason="x",
        author="ana",
        now=clock.now,
    )
    monitor.store.add_silence(
        scope=SilenceScope(feed="outlet-b"),
        until=clock.now + timedelta(hours=1),
        reason="y",
        author="ana",
        now=clock.now,
    )
    assert monitor.store.remove_silence(removed.id, now=clock.now)
    clock.advance(days=3)  # the monitor was stopped over a weekend
    monitor.deliver_due()
    assert notices(slack_emulator) == []
    assert monitor.store.ended_silences(clock.now) == [], "marked: never noticed later"
