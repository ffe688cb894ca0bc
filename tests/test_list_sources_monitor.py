"""Every official-list source type polled by a real monitor: loopback server,
real SQLite state, the Slack emulator, the shipped rules.

For each list (OFAC's has its own, deeper tests in test_list_polls.py):
the first snapshot is a silent baseline; the next publication, adding one
entity in China, one in Hong Kong and one elsewhere, removing one and
changing one, is ONE Slack post naming the two Chinese entities and not the
third; the removal and the change are recorded; a download cut in half is
refused without an event and the next good one is diffed against the last
good snapshot; and a restart between the two publications loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from tests.support.feed_server import FeedServer
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import SlackEmulator

FIXTURES = Path(__file__).parent / "fixtures" / "lists"


@dataclass(frozen=True)
class ListCase:
    type: str
    a: str
    b: str
    content_type: str
    publisher: str
    added_elsewhere: str
    """A word of the name of the entity added outside China and Hong Kong."""
    removed: str
    changed: str


CASES = [
    ListCase(
        "uk-sanctions-list",
        "uk-sanctions-a.xml",
        "uk-sanctions-b.xml",
        "application/xml",
        "FCDO",
        "EXAMPLOVA",
        "CYB9005",
        "GHR9006",
    ),
    ListCase(
        "un-sc",
        "un-sc-a.xml",
        "un-sc-b.xml",
        "application/octet-stream",  # as the UN serves it: decided by content
        "UN Security Council",
        "EXAMPLOV",
        "QDi.902",
        "QDe.905",
    ),
    ListCase(
        "eu-fsf",
        "eu-fsf-a.xml",
        "eu-fsf-b.xml",
        "application/xml",
        "EU",
        "EXAMPLEBEKOV",
        "105",
        "106",
    ),
    ListCase(
        "trade-csl",
        "trade-csl-a.json",
        "trade-csl-b.json",
        "application/json",
        "US Consolidated Screening List",
        "EXAMPLEBEKOV",
        "e5b4a7c9",
        "f6a5b8d0",
    ),
]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def feeds(case: ListCase, feed_server: FeedServer) -> list[FeedSpec]:
    return [FeedSpec(case.type, feed_server.url("/list"), tags=("sanctions",), type=case.type)]


def chinese_firm_posts(slack: SlackEmulator) -> list[str]:
    return [
        str(m.text) + str(m.blocks)
        for m in slack.messages
        if "China or Hong Kong" in str(m.text) + str(m.blocks)
    ]


def events(monitor: Monitor, clock: FakeClock) -> set[tuple[str, str]]:
    since = clock.now - timedelta(days=30)
    return {(r.change, r.entry.key) for r in monitor.store.listing_history(since=since)}


@pytest.mark.parametrize("case", CASES, ids=[c.type for c in CASES])
def test_a_list_baselines_then_alerts_chinese_additions_once_grouped(
    case: ListCase,
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/list", body(case.a), content_type=case.content_type)
    monitor = make_monitor(feeds(case, feed_server))
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.ok and report.first_read and report.alerts == 0, report
    assert slack_emulator.messages == []

    feed_server.set("/list", body(case.b), content_type=case.content_type)
    clock.advance(hours=1)
    (report,) = monitor.poll_all()
    monitor.deliver_due()
    assert report.ok and report.new == 5, report
    (post,) = slack_emulator.messages
    text = str(post.text) + str(post.blocks)
    assert f"{case.publisher} added 3 entries, 2 in " in text
    assert "China" in text and "Hong Kong" in text
    assert case.added_elsewhere not in text
    recorded = events(monitor, clock)
    assert ("removed", case.removed) in recorded and ("changed", case.changed) in recorded
    assert sum(1 for change, _ in recorded if change == "added") == 3

    clock.advance(hours=1)  # the same publication again: nothing more
    monitor.poll_all()
    monitor.deliver_due()
    assert len(slack_emulator.messages) == 1


@pytest.mark.parametrize("case", CASES, ids=[c.type for c in CASES])
def test_a_list_cut_in_half_is_refused_and_the_next_good_one_diffed_after_a_restart(
    case: ListCase,
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/list", body(case.a), content_type=case.content_type)
    first = make_monitor(feeds(case, feed_server))
    first.poll_all()

    cut = body(case.b)[: len(body(case.b)) // 2]
    feed_server.set("/list", cut, content_type=case.content_type)
    clock.advance(hours=1)
    (report,) = first.poll_all()
    assert report.error is not None and report.error.kind == "parse", report
    assert events(first, clock) == set()
    first.close()

    # A restart, then the good publication: diffed against the last good snapshot.
    feed_server.set("/list", body(case.b), content_type=case.content_type)
    clock.advance(hours=1)
    second = make_monitor(feeds(case, feed_server))
    (report,) = second.poll_all()
    second.deliver_due()
    assert report.ok and not report.first_read and report.new == 5, report
    assert len(chinese_firm_posts(slack_emulator)) == 1
