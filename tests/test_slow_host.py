"""A slow host must not stall the others: the polls a host cannot take yet
(it is at fetch.per_host) wait in the queue, not in the fetch.concurrency
threads, in `monitor run` and `monitor once` alike.

The slow host holds its answers until the test lets them go, so "the other
hosts finish as if the slow host were not there" is an ordering fact: every
healthy feed is read while the slow host still holds its first polls."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.pipeline.hostpool import HostFairPool, next_startable
from monitor.pipeline.poll_report import PollReport
from monitor.sources.http import HttpFetcher
from monitor.sources.registry import SharedParts, build_sources
from monitor.wiring import build_monitor, fetch_limits
from tests.support.feed_server import FeedServer
from tests.support.feeds import rss
from tests.support.held_server import HOLD, HeldFeedServer, fetch_settings
from tests.support.setup import FeedSpec, write_config
from tests.test_e2e import RunningMonitor, wait_until

HANG_LIMIT = 20.0
"""How long a test waits for the healthy feeds before calling it a stall
(only a hang limit: with the fix they are read as fast as the machine goes)."""

SLOW_FEEDS = 8
HEALTHY_FEEDS = 8
SETTINGS = 'concurrency = 4\nper_host = 2\ntimeout = "60s"'


def wait_for_healthy_feeds(server: FeedServer, feeds: list[FeedSpec]) -> None:
    """Wait until every feed on ``server`` has been read; fail saying what
    the user sees if they stall behind the slow host."""

    def read() -> int:
        return sum(1 for feed in feeds if server.hits(f"/{feed.name}"))

    try:
        wait_until(lambda: read() == len(feeds), "the healthy feeds", timeout=HANG_LIMIT)
    except AssertionError:
        raise AssertionError(
            f"a slow host stalls every host: only {read()} of {len(feeds)} feeds on other "
            "hosts were read while the slow host held its polls"
        ) from None


# --- which waiting poll starts: pure logic ----------------------------------------------


def test_a_free_thread_starts_the_oldest_poll_whose_host_has_room() -> None:
    """The slow host's polls at the head of the queue are passed over while
    it is full; the first poll of a host with room starts."""
    waiting = ["slow.example", "slow.example", "fast.example", "other.example"]
    assert next_startable(waiting, {"slow.example": 2}, per_host=2) == 2
    assert next_startable(waiting, {"slow.example": 1}, per_host=2) == 0, "oldest first"
    assert next_startable(waiting, {"slow.example": 2, "fast.example": 2}, per_host=2) == 3


def test_a_local_file_is_never_held_back_and_a_full_queue_waits() -> None:
    """Local files have no host limit; when every waiting poll's host is
    full, no poll starts (the thread waits for a slot to free)."""
    assert next_startable(["a.example", None], {"a.example": 1}, per_host=1) == 1
    assert next_startable(["a.example", "a.example"], {"a.example": 1}, per_host=1) is None
    assert next_startable([], {}, per_host=1) is None


def test_the_pool_drops_what_is_queued_when_closed_and_finishes_what_runs() -> None:
    """A stop: the task running finishes, the queued ones never start, and
    the pool says how many it dropped."""
    started: list[int] = []
    finished: list[int] = []
    running, finish = threading.Event(), threading.Event()

    def work(number: int) -> None:
        started.append(number)
        running.set()
        finish.wait(HANG_LIMIT)
        finished.append(number)

    waiting: list[int] = []
    pool: HostFairPool[int] = HostFairPool(
        work, workers=1, per_host=1, name="test", on_waiting=waiting.append
    )
    for number in range(3):
        pool.submit(number, "a.example")
    assert running.wait(HANG_LIMIT)
    assert pool.close(wait=False) == 2
    assert waiting[-1] == 0, "nothing waits any more"
    assert not pool.submit(3, "a.example"), "a closed pool takes nothing"
    finish.set()
    assert pool.close() == 0  # waits for the task under way
    assert started == finished == [0]


# --- monitor once -----------------------------------------------------------------------


def test_once_reads_every_other_host_while_a_slow_host_holds_its_polls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`monitor once`, 8 feeds on a slow host listed first, 8 on other hosts,
    concurrency 4, per_host 2: the other hosts' feeds are all read while the
    slow host still holds its first two polls, and the slow host never gets
    more than 2 requests at once."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    with HeldFeedServer() as slow, FeedServer() as fast:
        slow_feeds = [
            FeedSpec(f"slow-{n}", f"http://slow.test:{slow.port}/slow-{n}")
            for n in range(SLOW_FEEDS)
        ]
        healthy = [
            FeedSpec(f"fast-{n}", f"http://fast-{n}.test:{fast.port}/fast-{n}")
            for n in range(HEALTHY_FEEDS)
        ]
        for feed in slow_feeds:
            slow.set(f"/{feed.name}", rss([]), delay=HOLD)
        for feed in healthy:
            fast.set(f"/{feed.name}", rss([]))
        config = write_config(tmp_path, [*slow_feeds, *healthy])
        config.write_text(
            fetch_settings(config.read_text(), f"{SETTINGS}\nparse_processes = 0"),
            encoding="utf-8",
        )
        monitor = build_monitor(load_config(config))
        monitor.fetcher.close()
        # Every *.test name is this machine: a host is a name, as in a URL.
        monitor.fetcher = HttpFetcher(fetch_limits(monitor.loaded), resolver=lambda _: "127.0.0.1")
        monitor.sources.update(
            build_sources(SharedParts(fetcher=monitor.fetcher, parser=monitor.parser))
        )
        reports: list[PollReport] = []
        poller = threading.Thread(target=lambda: reports.extend(monitor.poll_all()), daemon=True)
        poller.start()
        try:
            slow.wait_for_in_flight(2)
            wait_for_healthy_feeds(fast, healthy)
            assert len(slow.requests) == 2, "the slow host's other polls wait for its slots"
        finally:
            slow.release_delays()
            poller.join(HANG_LIMIT)
            monitor.close()
        assert not poller.is_alive()
    assert [r.feed for r in reports] == [f.name for f in [*slow_feeds, *healthy]]
    assert all(r.ok for r in reports), [r.error for r in reports if not r.ok]
    assert slow.max_concurrent("slow.test") == 2, "per_host holds on the slow host"


# --- monitor run ------------------------------------------------------------------------


def test_run_reads_every_other_host_while_a_slow_host_holds_its_polls(tmp_path: Path) -> None:
    """`monitor run`, 8 feeds on a slow host due first, 8 on another host,
    concurrency 4, per_host 2: every healthy feed is read while the slow host
    still holds its first two polls; once it answers, its other feeds are read
    two at a time."""
    with HeldFeedServer() as slow, FeedServer() as fast:
        # Two names for this machine: two hosts to the monitor.
        slow_feeds = [
            FeedSpec(f"slow-{n}", f"http://localhost:{slow.port}/slow-{n}", interval="1h")
            for n in range(SLOW_FEEDS)
        ]
        healthy = [
            FeedSpec(f"fast-{n}", fast.url(f"/fast-{n}"), interval="1h")
            for n in range(HEALTHY_FEEDS)
        ]
        for feed in slow_feeds:
            slow.set(f"/{feed.name}", rss([]), delay=HOLD)
        for feed in healthy:
            fast.set(f"/{feed.name}", rss([]))
        config = write_config(tmp_path, [*slow_feeds, *healthy])
        config.write_text(fetch_settings(config.read_text(), SETTINGS), encoding="utf-8")
        monitor = RunningMonitor(config, token=None)
        try:
            slow.wait_for_in_flight(2)
            wait_for_healthy_feeds(fast, healthy)
            assert len(slow.requests) == 2, "the slow host's other polls wait for its slots"
            slow.release_delays()
            wait_until(
                lambda: all(slow.hits(f"/{feed.name}") for feed in slow_feeds),
                "the slow host's feeds, once it answers",
            )
        finally:
            slow.release_delays()
            err = monitor.stop(signal.SIGTERM)
    assert slow.max_concurrent("localhost") == 2, "per_host holds on the slow host"
    assert "poll feed=slow-7" in err and "poll feed=fast-7" in err
