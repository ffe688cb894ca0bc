"""Two senders on one state (issue 19): two Deliverers, each on a store of
its own with an owner of its own, on one SQLite file or one PostgreSQL
schema, posting to the Slack emulator over real HTTP.

What the desk sees: posts to a channel never closer than the sink's
interval, whichever instance sent them (the emulator's timestamps tell);
and after Slack answered one instance 429 for a channel, the other sends
nothing there until the wait Slack asked for has passed; and two alerts of
one story, posted by the two at the top at once, leave the story one thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from monitor.clock import utc_now
from monitor.config import LoadedConfig, load_config
from monitor.delivery.ledger import DeliveryReport
from monitor.delivery.message import Message
from monitor.delivery.outbox import Deliverer
from monitor.delivery.sinks.base import Posted
from monitor.delivery.sinks.slack import SlackSink, web_client
from monitor.domain.alert import Target
from monitor.domain.severity import Severity
from monitor.server import Metrics
from monitor.store.claims import ClaimOwner
from monitor.store.ports import SEND_LEASE, Store
from monitor.wiring import build_sink
from tests.store_contract.conftest import CLEANUPS, FACTORIES
from tests.store_contract.records import alert_for, commit, item
from tests.support.monitors import TOKEN, FakePacing
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.support.slack_emulator import Fault, SlackEmulator

SENDER_A = ClaimOwner("host-a", 1001, 100, "boot-a", 1)
SENDER_B = ClaimOwner("host-b", 2002, 200, "boot-b", 2)
"""Two instances on two hosts: neither can judge the other's process."""

INTERVAL = 0.5
"""The sink's interval between posts to one channel, in seconds."""
LATENCY = 0.2
"""How much longer one post's trip to the emulator may take than the next
one's: the emulator stamps a post when it arrives, not when it was booked.
Two senders pacing on their own would post at nearly the same moments."""


@pytest.fixture(params=sorted(FACTORIES))
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two stores on one state (one SQLite file, or one PostgreSQL schema),
    as two instances open it."""
    factory = FACTORIES[request.param]
    place = tmp_path / "state"
    place.mkdir()
    first = factory(place, SEND_LEASE, SENDER_A)
    second = factory(place, SEND_LEASE, SENDER_B)
    yield first, second
    first.close()
    second.close()
    cleanup = CLEANUPS.get(request.param)
    if cleanup is not None:
        cleanup(place)


@pytest.fixture
def loaded(
    tmp_path: Path, slack_emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> LoadedConfig:
    """The config both instances run: the emulator's Slack, paced at INTERVAL."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    path = write_config(
        tmp_path,
        [FeedSpec("news", "http://127.0.0.1:9/feed")],
        slack_api_url=slack_emulator.base_url,
        slack_extra=f"min_interval = {INTERVAL}",
    )
    return load_config(path)


def deliverer(
    store: Store,
    loaded: LoadedConfig,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
) -> Deliverer:
    return Deliverer(
        outbox=store,
        silences=store,
        stories=store,
        pacing=store,
        sink=build_sink(loaded, None),
        settings=lambda: loaded.config,
        metrics=Metrics(),
        clock=clock,
        jitter=lambda: 0.5,
        sleep=sleep,
        monotonic=monotonic,
    )


def queue(store: Store, channel: str, count: int, *, at: datetime, prefix: str) -> None:
    """``count`` critical alerts (never rolled up) for ``channel``."""
    items = [item(f"{prefix}-{n}") for n in range(count)]
    alerts = [alert_for(it, "r", Severity.CRITICAL, at) for it in items]
    commit(store, items, alerts, feed="f", now=at, target=Target(channel))


def posts_to(emulator: SlackEmulator, channel: str) -> list[dict[str, object]]:
    return [call for call in emulator.calls_to("chat.postMessage") if call["channel"] == channel]


def test_two_senders_post_to_one_channel_an_interval_apart(
    two_stores: tuple[Store, Store],
    loaded: LoadedConfig,
    slack_emulator: SlackEmulator,
) -> None:
    """Ten alerts for one channel, sent by two instances at once, each
    taking whichever the other has not claimed: Slack sees every post once,
    and no two closer than the interval."""
    first = two_stores[0]
    queue(first, "#desk", 10, at=utc_now(), prefix="desk")
    senders = [
        deliverer(
            store,
            loaded,
            clock=utc_now,
            sleep=time.sleep,
            monotonic=time.monotonic,
        )
        for store in two_stores
    ]
    start = threading.Barrier(2)

    def send_all(sender: Deliverer) -> int:
        start.wait()
        sent = 0
        for _ in range(20):
            report: DeliveryReport = sender.deliver_due()
            sent += report.sent
            if not first.outbox(["pending", "sending"], limit=100):
                break
        return sent

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda s=sender: results.append(send_all(s))) for sender in senders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) != [0, 10], f"both instances sent some: {results}"
    messages = slack_emulator.top_level("#desk")
    assert len(messages) == 10 and sum(results) == 10, "every alert posted once"
    stamps = [Decimal(m.ts) for m in messages]
    gaps = [float(later - earlier) for earlier, later in pairwise(stamps)]
    assert min(gaps) >= INTERVAL - LATENCY, f"posts closer than the interval: {gaps}"
    assert float(stamps[-1] - stamps[0]) >= 9 * INTERVAL - LATENCY


def test_a_rate_limit_one_sender_met_holds_the_channel_for_the_other(
    two_stores: tuple[Store, Store],
    loaded: LoadedConfig,
    slack_emulator: SlackEmulator,
) -> None:
    """Slack answers instance A 429 (retry in 30 s) for #desk. Instance B,
    sending next, posts nothing to #desk for those 30 s, while #ops goes out
    at once; after them, #desk's alerts go, paced."""
    first, second = two_stores
    clock = FakeClock()
    a_pacing, b_pacing = FakePacing(), FakePacing()
    a, b = (
        deliverer(
            store,
            loaded,
            clock=clock,
            sleep=pacing.sleep,
            monotonic=pacing.monotonic,
        )
        for store, pacing in ((first, a_pacing), (second, b_pacing))
    )
    queue(first, "#desk", 2, at=clock.now, prefix="desk")
    slack_emulator.queue_faults("chat.postMessage", Fault.rate_limited(retry_after=30))
    report = a.deliver_due()
    assert (report.sent, report.retrying, report.held) == (0, 1, True)
    assert len(posts_to(slack_emulator, "#desk")) == 1, "the one Slack refused"

    queue(first, "#ops", 1, at=clock.now, prefix="ops")
    clock.advance(seconds=10)
    report = b.deliver_due()
    assert report.sent == 1 and report.held, "#ops went out; #desk waits"
    assert len(posts_to(slack_emulator, "#desk")) == 1, "nothing more to #desk"
    assert [m.channel for m in slack_emulator.messages] == ["#ops"]

    clock.advance(seconds=20)
    report = b.deliver_due()
    assert (report.sent, report.held) == (2, False), "Slack's wait is over"
    assert len(slack_emulator.top_level("#desk")) == 2
    assert b_pacing.sleeps == [INTERVAL], "#desk's two posts an interval apart"


class GoesSecond(SlackSink):
    """A Slack sink through which an instance posts its first alert only
    after another instance has sent: the two posted a story's alerts at the
    top at the same time, and the other recorded the story's thread first."""

    def __init__(self, emulator: SlackEmulator, other_first: Callable[[], object]) -> None:
        super().__init__(web_client(emulator.base_url, 2.0, TOKEN), min_interval=INTERVAL)
        self._other_first: Callable[[], object] | None = other_first

    def post(self, channel: str, message: Message) -> Posted:
        other_first, self._other_first = self._other_first, None
        if other_first is not None:
            other_first()
        return super().post(channel, message)


def test_two_senders_starting_one_story_at_once_leave_it_one_thread(
    two_stores: tuple[Store, Store], loaded: LoadedConfig, slack_emulator: SlackEmulator
) -> None:
    """Two alerts of one story, one per instance, both posted at the top at
    once: the story keeps one thread (the one recorded first), its parent
    counts both sources, and a later source replies in it."""
    first, second = two_stores
    clock = FakeClock()
    a, b = (
        deliverer(store, loaded, clock=clock, sleep=pacing.sleep, monotonic=pacing.monotonic)
        for store, pacing in ((first, FakePacing()), (second, FakePacing()))
    )

    def story_alerts(*keys: str) -> None:
        items = [item(key) for key in keys]
        alerts = [
            replace(alert_for(it, "r", Severity.CRITICAL, clock.now), story="story-1")
            for it in items
        ]
        commit(first, items, alerts, feed="f", now=clock.now, target=Target("#desk"))

    story_alerts("wire", "paper")
    b.sink = GoesSecond(slack_emulator, a.deliver_due)
    assert b.deliver_due().sent == 1, "B posted the story's first alert, after A"
    top = slack_emulator.top_level("#desk")
    assert len(top) == 2, "both went to the top at once"
    thread = second.thread_of_story("story-1", "#desk", since=clock.now - timedelta(hours=1))
    assert thread is not None and thread.parent_ref == top[0].ts, "A's, recorded first"
    assert thread.sources == 2, "B's alert counts as a second source there"
    assert [u.ts for u in slack_emulator.updates] == [top[0].ts], "A's post says so"

    clock.advance(minutes=1)
    story_alerts("agency")
    assert b.deliver_due().sent == 1
    assert len(slack_emulator.top_level("#desk")) == 2, "no third post at the top"
    assert len(slack_emulator.replies_to(top[0].ts)) == 1, "the later source joined A's thread"
