"""Feed fleet operations against a real feed server, the Slack emulator and
SQLite: adaptive intervals, ops alerts for failing and silent feeds,
pruning, and feeds added and removed by a config reload."""

from __future__ import annotations

import logging
import queue
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_config
from monitor.scheduler import Requests, build_scheduler, feed_claims, sender_duty, sync_jobs
from monitor.store.sqlite import SCHEMA_VERSION, SQLiteStore
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import SlackEmulator

TOKEN = "xoxb-test-token"
OPS = """
[ops]
channel = "#desk-ops"
mentions = ["subteam:S0OPS"]
failing_after = "1h"
silent_min = "1d"
silent_factor = 4
"""

MakeMonitor = Callable[..., Monitor]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_monitor(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MakeMonitor]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    built: list[Monitor] = []

    def make(feeds: list[FeedSpec], extra: str = OPS, jitter: float = 0.0) -> Monitor:
        path = write_config(tmp_path, feeds, slack_api_url=slack_emulator.base_url, extra=extra)
        monitor = build_monitor(
            load_config(path), clock=clock, jitter=lambda: jitter, sleep=lambda _: None
        )
        built.append(monitor)
        return monitor

    yield make
    for monitor in built:
        monitor.close()


def dated(clock: FakeClock, every: timedelta, count: int, prefix: str = "item") -> list[Entry]:
    return [
        Entry(
            f"{prefix} {n}",
            link=f"https://news.example/{prefix}-{n}",
            published=clock.now - every * n,
        )
        for n in range(count)
    ]


# --- adaptive interval ----------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "tags", "expected"),
    [
        (timedelta(minutes=20), ("news",), timedelta(minutes=10)),  # half the gap
        (timedelta(minutes=1), ("news",), timedelta(minutes=2)),  # news floor
        (timedelta(minutes=1), ("sanctions",), timedelta(seconds=45)),  # tighter floor
        (timedelta(days=3), ("news",), timedelta(minutes=30)),  # ceiling
        (timedelta(days=3), ("sanctions",), timedelta(minutes=15)),  # sanctions ceiling
    ],
)
def test_the_interval_follows_how_often_the_feed_publishes(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    clock: FakeClock,
    every: timedelta,
    tags: tuple[str, ...],
    expected: timedelta,
) -> None:
    feed_server.set("/feed", rss(dated(clock, every, 12)))
    extra = '[polling.tags.sanctions]\nfloor = "45s"\nceiling = "15m"\n'
    monitor = make_monitor([FeedSpec("f", feed_server.url("/feed"), tags, None)], extra=extra)
    report = monitor.poll_feed(monitor.config.feeds[0])
    assert report.ok
    assert report.next_poll_at == clock.now + expected


def test_before_any_rate_is_known_the_default_interval_applies_and_jitter_only_adds(
    make_monitor: MakeMonitor, feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.set("/feed", rss([Entry("one undated item", link="https://news.example/1")]))
    monitor = make_monitor([FeedSpec("f", feed_server.url("/feed"), interval=None)], jitter=0.5)
    report = monitor.poll_feed(monitor.config.feeds[0])
    # polling.default_interval (5m), plus half of polling.jitter (10 %).
    assert report.next_poll_at == clock.now + timedelta(minutes=5) * 1.05


def test_a_fixed_interval_does_not_adapt(
    make_monitor: MakeMonitor, feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.set("/feed", rss(dated(clock, timedelta(days=2), 5)))
    monitor = make_monitor([FeedSpec("f", feed_server.url("/feed"), interval="7m")])
    report = monitor.poll_feed(monitor.config.feeds[0])
    assert report.next_poll_at == clock.now + timedelta(minutes=7)


# --- ops alerts -------------------------------------------------------------------


def deliver(monitor: Monitor) -> None:
    report = monitor.deliver_due()
    assert report.failed == 0 and report.retrying == 0


def test_a_failing_feed_raises_one_ops_alert_and_one_recovery_notice(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/feed", rss(dated(clock, timedelta(hours=1), 3)))
    monitor = make_monitor([FeedSpec("wire", feed_server.url("/feed"))])
    wire = monitor.config.feeds[0]
    assert monitor.poll_feed(wire).ok

    feed_server.set("/feed", "upstream down", status=502)
    for _ in range(3):  # failing for 0, 20, 40 min: not yet an incident
        clock.advance(minutes=20)
        monitor.poll_feed(wire)
        deliver(monitor)
    assert slack_emulator.messages_in("#desk-ops") == []
    for _ in range(5):  # past failing_after, and long after: one alert only
        clock.advance(minutes=20)
        monitor.poll_feed(wire)
        deliver(monitor)
    (alert,) = slack_emulator.messages_in("#desk-ops")
    assert "Feed failing" in alert.sent_blocks[0]["text"]["text"]
    assert "Feed wire has been failing for 1 h 00 min" in alert.text
    assert "HTTP 502" in str(alert.blocks)
    assert monitor.store.feed_health()[0].incidents == ("failing",)
    assert slack_emulator.messages_in("#watch-desk") == [], "ops alerts go to the ops channel only"

    feed_server.set("/feed", rss(dated(clock, timedelta(hours=1), 3)))
    for _ in range(3):
        clock.advance(minutes=20)
        assert monitor.poll_feed(wire).ok
        deliver(monitor)
    _, notice = slack_emulator.messages_in("#desk-ops")
    assert "Feed wire is back after failing for 2 h 40 min" in notice.text
    assert "<!subteam^S0OPS>" in alert.text and "<!subteam" not in notice.text
    assert "INFO" in notice.sent_blocks[0]["text"]["text"]
    assert monitor.store.open_incidents() == []


def test_a_failing_feed_coming_back_unchanged_sends_its_recovery_notice(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    # Back with a 304: the poll finds nothing new, and must still close the incident.
    body = rss(dated(clock, timedelta(hours=1), 3))
    feed_server.set("/feed", body, etag='"v1"')
    monitor = make_monitor([FeedSpec("wire", feed_server.url("/feed"))])
    wire = monitor.config.feeds[0]
    assert monitor.poll_feed(wire).ok
    feed_server.set("/feed", "upstream down", status=502)
    for _ in range(5):
        clock.advance(minutes=20)
        monitor.poll_feed(wire)
        deliver(monitor)
    (alert,) = slack_emulator.messages_in("#desk-ops")
    assert "Feed wire has been failing for 1 h 00 min" in alert.text

    feed_server.set("/feed", body, etag='"v1"')
    clock.advance(minutes=20)
    assert monitor.poll_feed(wire).not_modified
    deliver(monitor)
    _, notice = slack_emulator.messages_in("#desk-ops")
    assert "Feed wire is back after failing for 1 h 40 min" in notice.text
    assert monitor.store.open_incidents() == []
    clock.advance(minutes=20)
    assert monitor.poll_feed(wire).not_modified
    deliver(monitor)
    assert len(slack_emulator.messages_in("#desk-ops")) == 2, "one notice, not one per poll"


def test_a_cycle_finding_nothing_new_is_on_disk_when_it_ends(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unchanged polls of healthy feeds write their timestamps together; a
    cycle still ends with them written, as `monitor status` in another
    process reads them, and a write that fails is logged and kept."""
    feed_server.set("/a", rss(dated(clock, timedelta(hours=1), 2, "a")), etag='"a"')
    feed_server.set("/b", rss(dated(clock, timedelta(hours=1), 2, "b")), etag='"b"')
    monitor = make_monitor(
        [FeedSpec("a", feed_server.url("/a")), FeedSpec("b", feed_server.url("/b"))]
    )
    assert all(report.ok for report in monitor.poll_all())
    assert isinstance(monitor.store, SQLiteStore)
    path = monitor.store.path

    def on_disk() -> set[str]:
        with sqlite3.connect(path) as db:
            return {row[0] for row in db.execute("SELECT last_success_at FROM feeds")}

    clock.advance(minutes=20)
    assert all(report.not_modified for report in monitor.poll_all())
    assert on_disk() == {clock.now.isoformat(timespec="microseconds")}

    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON feeds "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    clock.advance(minutes=20)
    with caplog.at_level(logging.ERROR, logger="monitor"):
        assert all(report.not_modified for report in monitor.poll_all())
    assert "cannot write the timestamps of 2 unchanged polls" in caplog.text
    assert "disk full" in caplog.text
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse")
    monitor.sync_store()
    assert on_disk() == {clock.now.isoformat(timespec="microseconds")}


def test_a_silent_feed_raises_one_ops_alert_and_one_recovery_notice(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    # Items every 12 hours: silent after 4 x 12 h = 2 days (more than silent_min).
    feed_server.set("/feed", rss(dated(clock, timedelta(hours=12), 6)))
    monitor = make_monitor([FeedSpec("slow", feed_server.url("/feed"))])
    slow = monitor.config.feeds[0]
    assert monitor.poll_feed(slow).ok
    clock.advance(hours=47)
    monitor.poll_feed(slow)
    deliver(monitor)
    assert slack_emulator.messages_in("#desk-ops") == []
    for _ in range(3):
        clock.advance(hours=1)
        monitor.poll_feed(slow)  # 304 or the same body: still a successful poll
        deliver(monitor)
    (alert,) = slack_emulator.messages_in("#desk-ops")
    assert "Feed slow has brought nothing new for 2 d" in alert.text
    assert "expected one within 2 d" in str(alert.blocks)

    fresh = Entry("fresh item", link="https://news.example/fresh", published=clock.now)
    feed_server.set("/feed", rss([fresh, *dated(clock, timedelta(hours=12), 6)]))
    clock.advance(minutes=5)
    monitor.poll_feed(slow)
    deliver(monitor)
    _, notice = slack_emulator.messages_in("#desk-ops")
    assert "Feed slow brings new items again after 2 d 2 h of silence" in notice.text


def test_ops_alerts_can_be_switched_off(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/feed", "down", status=503)
    monitor = make_monitor(
        [FeedSpec("f", feed_server.url("/feed"))], extra="[ops]\nenabled = false\n"
    )
    for _ in range(5):
        monitor.poll_feed(monitor.config.feeds[0])
        clock.advance(hours=1)
    deliver(monitor)
    assert slack_emulator.messages == []


# --- bounded state ------------------------------------------------------------------


def seen_keys(monitor: Monitor) -> int:
    store = monitor.store
    assert isinstance(store, SQLiteStore), "counts the rows of SQLite's own table"
    return int(store._query("SELECT COUNT(*) FROM seen")[0][0])


def test_pruned_items_never_alert_again(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    story = Entry(
        "North Korean troops killed in Kursk fighting, Ukraine says",
        link="https://news.example/dprk",
        summary="Ukraine's army said North Korean soldiers were killed in Kursk.",
        published=clock.now,
    )
    other = Entry("Weather in Seoul", link="https://news.example/weather", published=clock.now)
    feed_server.set("/feed", rss([other]))
    extra = '[polling]\nseen_retention = "30d"\nmax_item_age = "3d"\n'
    monitor = make_monitor([FeedSpec("wire", feed_server.url("/feed"))], extra=extra)
    wire = monitor.config.feeds[0]
    monitor.poll_feed(wire)  # first poll: baseline
    feed_server.set("/feed", rss([story, other]))
    clock.advance(minutes=5)
    assert monitor.poll_feed(wire).alerts == 1
    deliver(monitor)
    assert len(slack_emulator.messages) == 1

    # The story leaves the feed; 31 days later its record is pruned...
    feed_server.set("/feed", rss([other]))
    clock.advance(minutes=5)
    monitor.poll_feed(wire)
    clock.advance(days=31)
    report = monitor.prune()
    assert report.seen == 1  # its record (identified by its link)
    assert report.alerts == 1  # the delivered alert, past retention
    # ...and when a feed republishes it, it is too old to alert.
    feed_server.set("/feed", rss([story, other]))
    clock.advance(minutes=5)
    assert monitor.poll_feed(wire).alerts == 0
    deliver(monitor)
    rule_alerts = [m for m in slack_emulator.messages if "Korean" in m.text]
    assert len(rule_alerts) == 1


def test_items_still_in_the_feed_are_never_pruned(
    make_monitor: MakeMonitor, feed_server: FeedServer, clock: FakeClock
) -> None:
    # Undated items cannot prove their age: if their records went, they would alert again.
    undated = [Entry(f"Sanctions notice {n}", link=f"https://gov.example/{n}") for n in range(3)]
    feed_server.set("/feed", rss(undated))
    monitor = make_monitor([FeedSpec("gov", feed_server.url("/feed"))])
    monitor.poll_feed(monitor.config.feeds[0])
    before = seen_keys(monitor)
    for _ in range(4):
        clock.advance(days=40)
        monitor.poll_feed(monitor.config.feeds[0])  # unchanged: same body
        assert monitor.prune().seen == 0
    assert seen_keys(monitor) == before


def test_config_refuses_a_retention_that_would_let_items_alert_twice(tmp_path: Path) -> None:
    from monitor.errors import ConfigError

    path = write_config(
        tmp_path, [], extra='[polling]\nseen_retention = "2d"\nmax_item_age = "3d"\n'
    )
    with pytest.raises(ConfigError, match=r"seen_retention \(2d\) must be longer"):
        load_config(path)


def test_a_version_1_state_file_is_upgraded_in_place(tmp_path: Path) -> None:
    from monitor.store import sqlite as store_module

    path = tmp_path / "v1.db"
    db = sqlite3.connect(path)
    db.executescript(store_module._SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute(
        "INSERT INTO feeds (name, url, consecutive_failures, last_success_at) "
        "VALUES ('f', 'https://f.example/', 0, '2026-11-30T00:00:00+00:00')"
    )
    db.execute(
        "INSERT INTO feeds (name, url, consecutive_failures, last_success_at, last_polled_at) "
        "VALUES ('down', 'https://d.example/', 5, '2026-11-01T00:00:00+00:00', "
        "'2026-11-30T00:00:00+00:00')"
    )
    db.execute("INSERT INTO seen VALUES ('f', 'guid:a', '2026-01-01T00:00:00+00:00')")
    db.commit()
    db.close()
    with SQLiteStore(path) as store:
        version = store._query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0]
        assert int(version) == SCHEMA_VERSION  # every later step applied too
        (row,) = store._query("SELECT * FROM seen")
        assert row["last_seen_at"] is not None and row["last_seen_at"] > "2026-01-01"
        state = store.feed_state("f")
        assert state is not None and state.last_item_at == state.last_success_at
        assert store.open_incidents() == []
        down = store.feed_state("down")
        assert down is not None and down.failing_since == down.last_success_at, (
            "a feed failing before the upgrade counts as failing since its last success"
        )


# --- config reload --------------------------------------------------------------------


def test_a_config_reload_adds_and_removes_feeds(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    make_monitor: MakeMonitor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b, c = (FeedSpec(name, feed_server.url(f"/{name}")) for name in "abc")
    monitor = make_monitor([a, b])
    requests: Requests = queue.SimpleQueue()
    duty = sender_duty(monitor)
    claims = feed_claims(monitor, duty)
    scheduler = build_scheduler(monitor, claims, duty, requests)
    scheduler.start(paused=True)
    try:
        assert sorted(claims.claim_settings().feed_names) == ["a", "b"]
        write_config(tmp_path, [b, c], slack_api_url=slack_emulator.base_url, extra=OPS)
        assert monitor.reload_config() is None, "a change is applied once it has settled"
        with caplog.at_level(logging.INFO, logger="monitor"):
            changes = monitor.reload_config()
        assert changes is not None
        assert (changes.added, changes.removed, changes.changed) == (("c",), ("a",), ())
        assert "config reloaded: 2 feeds; added: c; removed: a; changed: none" in caplog.text
        sync_jobs(scheduler, monitor, duty)
        assert sorted(claims.claim_settings().feed_names) == ["b", "c"], (
            "the next claim names the feeds of the config reloaded"
        )

        # A broken edit is refused and the running config stays.
        monitor.loaded.path.write_text("[slack\nchannel = ", encoding="utf-8")
        with caplog.at_level(logging.ERROR, logger="monitor"):
            assert monitor.reload_config() is None
            assert monitor.reload_config() is None
        assert "changed but is invalid; still running the previous config" in caplog.text
        assert [f.name for f in monitor.config.feeds] == ["b", "c"]
    finally:
        scheduler.shutdown(wait=False)


def test_settings_wired_at_start_wait_for_a_restart(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    make_monitor: MakeMonitor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = make_monitor([FeedSpec("a", feed_server.url("/a"), interval="5m")])
    write_config(
        tmp_path,
        [FeedSpec("a", feed_server.url("/a"), interval=None)],
        slack_api_url=slack_emulator.base_url,
        extra=OPS.replace("#desk-ops", "#new-ops"),
        slack_extra='min_interval = "3s"',
    )
    monitor.reload_config()
    with caplog.at_level(logging.WARNING, logger="monitor"):
        changes = monitor.reload_config()
    assert changes is not None and changes.changed == ("a",)  # it lost its fixed interval
    assert "slack.min_interval changed; that takes effect at the next restart" in caplog.text
    assert monitor.config.slack.min_interval == timedelta(seconds=1)
    assert monitor.config.ops_channel() == "#new-ops", "ops settings apply at once"


def test_ops_alerts_of_two_feeds_are_separate_posts_not_one_thread(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    feed_server.set("/a", "down", status=503)
    feed_server.set("/b", "down", status=503)
    monitor = make_monitor(
        [FeedSpec("alpha", feed_server.url("/a")), FeedSpec("beta", feed_server.url("/b"))]
    )
    for _ in range(3):
        monitor.poll_all()
        clock.advance(minutes=40)
    deliver(monitor)
    posts = slack_emulator.top_level("#desk-ops")
    assert sorted(p.text.split("Feed ")[2].split()[0] for p in posts) == ["alpha", "beta"]
    assert slack_emulator.updates == [], "neither was counted as a second source of the other"


def test_ops_alerts_can_be_silenced_like_a_rule(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from monitor.cli import main

    feed_server.set("/a", "down", status=503)
    monitor = make_monitor([FeedSpec("a", feed_server.url("/a"))])
    args = ["silence", "ops.feed-failing", "--for", "7d", "--reason", "a known outage", "--config"]
    assert main([*args, str(monitor.loaded.path)]) == 0
    assert "ops.feed-failing until" in capsys.readouterr().out
    for _ in range(3):
        monitor.poll_feed(monitor.config.feeds[0])
        clock.advance(minutes=40)
    assert monitor.deliver_due().silenced == 1
    assert slack_emulator.messages == [], "recorded, not posted"
    assert [i.kind for i in monitor.store.open_incidents()] == ["failing"]


def test_failures_during_a_silence_neither_end_it_nor_repeat_its_alert(
    make_monitor: MakeMonitor,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    entries = dated(clock, timedelta(hours=1), 6)
    feed_server.set("/feed", rss(entries))
    monitor = make_monitor([FeedSpec("quiet", feed_server.url("/feed"))])
    quiet = monitor.config.feeds[0]
    monitor.poll_feed(quiet)
    clock.advance(days=1, minutes=5)
    monitor.poll_feed(quiet)
    deliver(monitor)
    assert len(slack_emulator.messages_in("#desk-ops")) == 1  # silent

    feed_server.set("/feed", "hiccup", status=500)
    clock.advance(minutes=20)
    monitor.poll_feed(quiet)  # failing briefly: nothing can be said of the silence
    feed_server.set("/feed", rss(entries))
    clock.advance(minutes=20)
    monitor.poll_feed(quiet)  # back, still nothing new
    deliver(monitor)
    assert len(slack_emulator.messages_in("#desk-ops")) == 1, "no false recovery, no repeat"
    assert [i.kind for i in monitor.store.open_incidents()] == ["silent"]

    feed_server.set(
        "/feed", rss([Entry("news", link="https://news.example/n", published=clock.now), *entries])
    )
    clock.advance(minutes=5)
    monitor.poll_feed(quiet)
    deliver(monitor)
    _, notice = slack_emulator.messages_in("#desk-ops")
    assert "brings new items again" in notice.text


def test_ops_alerts_are_never_rolled_into_a_storm_summary(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    for route in ("/a", "/b", "/c"):
        feed_server.set(route, "down", status=503)
    feeds = [FeedSpec(name, feed_server.url(f"/{name}")) for name in "abc"]
    path = write_config(
        tmp_path,
        feeds,
        slack_api_url=slack_emulator.base_url,
        extra=OPS,
        slack_extra="storm_threshold = 1",
    )
    monitor = build_monitor(
        load_config(path), clock=clock, jitter=lambda: 0.0, sleep=lambda _: None
    )
    try:
        for _ in range(3):
            monitor.poll_all()
            clock.advance(minutes=40)
        deliver(monitor)
    finally:
        monitor.close()
    posts = slack_emulator.top_level("#desk-ops")
    assert len(posts) == 3 and all("has been failing" in p.text for p in posts)


def test_removed_feeds_do_not_keep_incidents_open(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    make_monitor: MakeMonitor,
    clock: FakeClock,
) -> None:
    feed_server.set("/gone", "gone", status=410)
    feed_server.set("/kept", rss([]))
    gone, kept = (
        FeedSpec("gone", feed_server.url("/gone")),
        FeedSpec("kept", feed_server.url("/kept")),
    )
    monitor = make_monitor([gone, kept])
    for _ in range(3):
        monitor.poll_feed(monitor.config.feeds[0])
        clock.advance(minutes=40)
    assert [i.feed for i in monitor.store.open_incidents()] == ["gone"]
    write_config(tmp_path, [kept], slack_api_url=slack_emulator.base_url, extra=OPS)
    monitor.reload_config()
    assert monitor.reload_config() is not None
    assert monitor.store.open_incidents() == []


def test_ops_alert_ids_in_routes_are_refused(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    route = '[[slack.routes]]\nrules = ["ops.feed-failing"]\nchannels = ["#ops"]\n'
    path = write_config(
        tmp_path, [FeedSpec("a", feed_server.url("/a"))], slack_extra="", extra=route
    )
    assert main(["check", "--config", str(path)]) == 1
    assert (
        "'ops.feed-failing' is an ops alert; ops alerts are not routed" in capsys.readouterr().out
    )


def test_an_edit_made_while_the_monitor_starts_is_picked_up(
    tmp_path: Path,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    a, b = FeedSpec("a", feed_server.url("/a")), FeedSpec("b", feed_server.url("/b"))
    loaded = load_config(write_config(tmp_path, [a], slack_api_url=slack_emulator.base_url))
    write_config(
        tmp_path, [a, b], slack_api_url=slack_emulator.base_url
    )  # before the monitor is built
    monitor = build_monitor(loaded)
    try:
        monitor.reload_config()
        changes = monitor.reload_config()
        assert changes is not None and changes.added == ("b",)
    finally:
        monitor.close()
