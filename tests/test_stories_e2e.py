"""One event told by three outlets is one story: a real monitor polling three
loopback feeds, posting to the Slack emulator.

What the desk sees: one top-level alert for the event, its parent counting
three sources (updated in place), the other two outlets as quiet thread
replies; an unrelated event of the same rule is its own top-level alert;
a restart between the outlets changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import SlackEmulator

# Three wordings of one (invented) Entity List action, and another action.
WORDINGS = [
    (
        "US adds 42 Chinese companies to Entity List over support for Russia's military",
        "The Commerce Department placed 42 China-based firms on its Entity List on Tuesday "
        "for supplying Russia's armed forces with American chips.",
    ),
    (
        "Commerce blacklists 42 China-based firms for aiding Russian army",
        "Washington put 42 Chinese entities on the Entity List, accusing them of shipping "
        "US-made microelectronics to Russia's military.",
    ),
    (
        "Washington puts 42 Chinese entities on trade blacklist over Russia chip supplies",
        "The US Commerce Department said on Tuesday the 42 Chinese companies had supplied "
        "Russia's military with American semiconductors.",
    ),
]
OTHER = (
    "UK sanctions Hong Kong shipping firms over Iranian oil trade",
    "Britain froze the assets of three Hong Kong shipping companies it said moved Iranian crude.",
)


def entry(clock: FakeClock, outlet: str, n: int, title: str, summary: str) -> Entry:
    return Entry(
        title,
        link=f"https://{outlet}.example/story-{n}",
        guid=f"https://{outlet}.example/story-{n}",
        summary=summary,
        published=clock.now,
    )


def feeds(feed_server: FeedServer) -> list[FeedSpec]:
    return [
        FeedSpec(name, feed_server.url(f"/{name}")) for name in ("outlet-a", "outlet-b", "outlet-c")
    ]


def test_three_outlets_are_one_story_and_another_event_is_another(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    for name in ("outlet-a", "outlet-b", "outlet-c"):
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(feeds(feed_server))
    monitor.poll_all()  # baselines

    clock.advance(minutes=5)
    feed_server.set(
        "/outlet-a",
        rss([entry(clock, "outlet-a", 1, *WORDINGS[0]), entry(clock, "outlet-a", 2, *OTHER)]),
    )
    monitor.poll_all()
    monitor.deliver_due()
    top = slack_emulator.top_level("#watch-desk")
    assert len(top) == 2, "the event and the unrelated one, each at the top"

    # A restart between the outlets: the story is in the state database.
    monitor.close()
    monitor = make_monitor(feeds(feed_server))
    for n, name in ((1, "outlet-b"), (2, "outlet-c")):
        clock.advance(minutes=7)
        feed_server.set(f"/{name}", rss([entry(clock, name, 1, *WORDINGS[n])]))
        monitor.poll_all()
        monitor.deliver_due()

    top = slack_emulator.top_level("#watch-desk")
    assert len(top) == 2, "the later outlets joined the story: no new top-level alert"
    parent = next(m for m in top if "42" in str(m.text))
    replies = [m for m in slack_emulator.messages if m.thread_ts == parent.ts]
    assert len(replies) == 2
    assert all("<@" not in str(m.blocks) and "<!" not in str(m.text) for m in replies), "quiet"
    assert "3 sources" in str(parent.blocks), "the parent counts its sources in place"
    stories = monitor.store.recent_stories(
        rule_id="sanctions-chinese-firms", since=clock.now - timedelta(days=1)
    )
    assert sorted(len(s.sources) for s in stories) == [1, 3]


REPORTED = [
    "North Korean troops reportedly killed in Kursk assault, Ukraine says",
    "Dozens of North Korean soldiers reportedly die in Kursk attack, Kyiv says",
    "North Korean troops reportedly suffer heavy losses in Kursk fighting, Ukraine claims",
]
LEDES = [
    "Ukraine's army said North Korean soldiers died attacking its positions in the Kursk region.",
    "Kyiv's military intelligence said Pyongyang's troops took heavy casualties near Sudzha.",
    "Ukrainian commanders said the North Korean units were hit by drones as they advanced.",
]


def test_a_warning_story_waits_for_sources_and_corroboration_escalates_it_once(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    for name in ("outlet-a", "outlet-b", "outlet-c"):
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(feeds(feed_server), stories='hold = { warning = "3m" }')
    monitor.poll_all()

    clock.advance(minutes=5)
    feed_server.set("/outlet-a", rss([entry(clock, "outlet-a", 1, REPORTED[0], LEDES[0])]))
    monitor.poll_all()
    monitor.deliver_due()
    assert slack_emulator.messages == [], "a warning story waits for more sources"

    clock.advance(minutes=1)
    feed_server.set("/outlet-b", rss([entry(clock, "outlet-b", 1, REPORTED[1], LEDES[1])]))
    monitor.poll_all()
    monitor.deliver_due()
    assert slack_emulator.messages == [], "its later source waits for the first"

    clock.advance(minutes=3)
    monitor.deliver_due()
    monitor.deliver_due()
    (parent,) = slack_emulator.top_level("#watch-desk")
    assert parent.text.startswith("WARNING")
    assert "2 sources: outlet-a, outlet-b" in str(parent.blocks), "gathered while held"
    replies = [m for m in slack_emulator.messages if m.thread_ts == parent.ts]
    assert len(replies) == 1

    # A third independent outlet: the rule escalates at three sources.
    clock.advance(minutes=2)
    feed_server.set("/outlet-c", rss([entry(clock, "outlet-c", 1, REPORTED[2], LEDES[2])]))
    monitor.poll_all()
    monitor.deliver_due()
    top = slack_emulator.top_level("#watch-desk")
    assert len(top) == 2, "the escalation, posted once at the top"
    assert top[-1].text.startswith("CRITICAL")
    assert "told by 3 independent sources" in str(top[-1].blocks)
    clock.advance(minutes=2)
    monitor.poll_all()
    monitor.deliver_due()
    assert len(slack_emulator.top_level("#watch-desk")) == 2


def test_a_critical_report_joining_a_held_story_is_posted_at_once_with_its_story(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    for name in ("outlet-a", "outlet-b", "outlet-c"):
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(feeds(feed_server), stories='hold = { warning = "3m" }')
    monitor.poll_all()
    clock.advance(minutes=5)
    feed_server.set("/outlet-a", rss([entry(clock, "outlet-a", 1, REPORTED[0], LEDES[0])]))
    monitor.poll_all()
    monitor.deliver_due()
    assert slack_emulator.messages == []

    # A confirmed report of the same event: critical, never delayed.
    clock.advance(minutes=1)
    confirmed = "Ukraine confirms North Korean troops killed in Kursk assault"
    feed_server.set("/outlet-b", rss([entry(clock, "outlet-b", 1, confirmed, LEDES[1])]))
    monitor.poll_all()
    monitor.deliver_due()
    monitor.deliver_due()  # the raise waits one step for the story's first, released at once
    clock.advance(seconds=6)
    monitor.deliver_due()
    top = slack_emulator.top_level("#watch-desk")
    assert [m.text.split(":")[0] for m in top] == ["WARNING", "CRITICAL"], (
        "the held first alert, released, then the raise, at the top and in that order"
    )
    assert "a later report is critical" in str(top[-1].blocks)


def test_a_lost_answer_for_a_storys_first_alert_still_gives_one_top_level_post(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    from tests.support.slack_emulator import Fault

    for name in ("outlet-a", "outlet-b", "outlet-c"):
        feed_server.set(f"/{name}", rss([]))
    monitor = make_monitor(feeds(feed_server))
    monitor.poll_all()
    clock.advance(minutes=5)
    feed_server.set("/outlet-a", rss([entry(clock, "outlet-a", 1, *WORDINGS[0])]))
    monitor.poll_all()
    # Slack takes the post, but its answer comes after the client gave up.
    slack_emulator.queue_faults("chat.postMessage", Fault.accept_then_hang(4))
    monitor.deliver_due()
    clock.advance(minutes=1)
    feed_server.set("/outlet-b", rss([entry(clock, "outlet-b", 1, *WORDINGS[1])]))
    monitor.poll_all()
    clock.advance(minutes=5)
    monitor.deliver_due()
    monitor.deliver_due()
    (parent,) = slack_emulator.top_level("#watch-desk")
    replies = [m for m in slack_emulator.messages if m.thread_ts == parent.ts]
    assert len(replies) == 1, "the second outlet waited for the first, then joined its thread"
