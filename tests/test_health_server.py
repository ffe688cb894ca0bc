"""/healthz, /livez and /metrics over real HTTP, parsed with prometheus-client's own parser."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_config
from monitor.server import HealthServer
from monitor.wiring import build_monitor
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.run_loop import monitor_run_in_thread
from tests.support.setup import FakeClock, FeedSpec, write_config
from tests.test_e2e import monitor_command, wait_until


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_and_health_are_served_and_parse(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    clock = FakeClock()
    feed_server.set(
        "/good",
        rss(
            [
                Entry(
                    "North Korean troops killed in Kursk, Ukraine says",
                    link="https://x.example/1",
                    published=clock.now,
                )
            ]
        ),
    )
    feed_server.set("/bad", "down", status=500)
    config = write_config(
        tmp_path,
        [FeedSpec("good", feed_server.url("/good")), FeedSpec("bad", feed_server.url("/bad"))],
    )
    monitor = build_monitor(load_config(config), clock=clock)
    server = HealthServer(
        monitor.metrics, monitor.health, port=0, before_scrape=monitor.refresh_gauges
    ).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 503 and health.json()["scheduler_running"] is False

        # Before any poll, every rule's and feed's series exist at zero, so
        # that increase() in Prometheus counts the first alert and poll.
        values = samples(httpx.get(f"{base}/metrics").text)
        for severity in ("info", "warning", "critical"):
            key = ("monitor_alerts_total", (("rule", "dprk-troops-combat"), ("severity", severity)))
            assert values[key] == 0
        assert values[("monitor_polls_total", (("feed", "bad"), ("outcome", "ok")))] == 0

        monitor.poll_all()
        monitor.scheduler_running = True
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200
        body = health.json()
        assert (body["status"], body["scheduler_running"]) == ("degraded", True)
        assert body["last_successful_poll_age_seconds"] == 0.0
        assert [f["feed"] for f in body["failing_feeds"]] == ["bad"]

        values = samples(httpx.get(f"{base}/metrics").text)
        assert values[("monitor_polls_total", (("feed", "good"), ("outcome", "ok")))] == 1
        assert values[("monitor_polls_total", (("feed", "bad"), ("outcome", "error")))] == 1
        assert values[("monitor_poll_errors_total", (("kind", "http"),))] == 1
        assert (
            values[
                ("monitor_alerts_total", (("rule", "dprk-troops-combat"), ("severity", "critical")))
            ]
            == 1
        )
        assert values[("monitor_outbox_pending", ())] == 1
        assert values[("monitor_poll_duration_seconds_count", ())] == 2

        monitor.deliver_due()
        values = samples(httpx.get(f"{base}/metrics").text)
        assert values[("monitor_deliveries_total", (("outcome", "sent"),))] == 1
        assert values[("monitor_outbox_pending", ())] == 0
        assert values[("monitor_delivery_latency_seconds_count", ())] == 1
        assert values[("monitor_feed_incidents_open", (("kind", "failing"),))] == 0

        clock.advance(hours=2)  # the bad feed has now failed for longer than ops.failing_after
        monitor.poll_all()
        values = samples(httpx.get(f"{base}/metrics").text)
        assert values[("monitor_feed_incidents_open", (("kind", "failing"),))] == 1
        assert values[("monitor_feed_incidents_open", (("kind", "silent"),))] == 0
        assert (
            values[
                ("monitor_alerts_total", (("rule", "ops.feed-failing"), ("severity", "warning")))
            ]
            == 1
        )
        assert httpx.get(f"{base}/other").status_code == 404
    finally:
        server.stop()
        monitor.close()


def test_metrics_count_feeds_by_state_however_rarely_a_failing_feed_is_polled(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """monitor_feeds{state} comes from the stored states, as `monitor status`
    names them: a failing feed backed off for hours, with no poll in any
    recent window, is still counted failing."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    clock = FakeClock()
    feed_server.set(
        "/good", rss([Entry("Markets open", link="https://x.example/m", published=clock.now)])
    )
    feed_server.set("/bad", "down", status=500)
    config = write_config(
        tmp_path,
        [FeedSpec("good", feed_server.url("/good")), FeedSpec("bad", feed_server.url("/bad"))],
    )
    monitor = build_monitor(load_config(config), clock=clock)
    server = HealthServer(
        monitor.metrics, monitor.health, port=0, before_scrape=monitor.refresh_gauges
    ).start()

    def feeds_by_state() -> dict[str, float]:
        values = samples(httpx.get(f"http://127.0.0.1:{server.port}/metrics").text)
        return {
            dict(labels)["state"]: value
            for (name, labels), value in values.items()
            if name == "monitor_feeds"
        }

    try:
        assert feeds_by_state() == {
            "ok": 0,
            "overdue": 0,
            "failing": 0,
            "silent": 0,
            "stale": 0,
            "never_polled": 2,
        }
        monitor.poll_all()
        assert feeds_by_state() == {
            "ok": 1,
            "overdue": 0,
            "failing": 1,
            "silent": 0,
            "stale": 0,
            "never_polled": 0,
        }
        # Over the next hour only the good feed is polled: the bad one waits
        # out its backoff (still in time, not overdue), and is failing all
        # the same with no poll in the hour.
        good = next(feed for feed in monitor.config.feeds if feed.name == "good")
        for _ in range(4):
            clock.advance(minutes=15.25)
            monitor.poll_feed(good)
        assert feed_server.hits("/bad") == 1
        after = feeds_by_state()
        assert (after["ok"], after["failing"]) == (1, 1)
    finally:
        server.stop()
        monitor.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_livez_answers_200_through_an_upstream_outage_and_503_once_the_scheduler_dies(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`monitor run`'s own wiring, the real scheduler and health server: every
    feed failing (as in a DNS or egress outage) makes /healthz 503 and leaves
    /livez 200, so a liveness probe does not restart the monitor for what a
    restart cannot cure; a dead scheduler, which a restart does cure, makes
    /livez 503."""
    feed_server.set("/a", "down", status=503)
    config = write_config(tmp_path, [FeedSpec("a", feed_server.url("/a"), interval="1s")])
    with monitor_run_in_thread(config, monkeypatch, caplog) as loop:
        base = loop.base_url
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 503, "the desk blind")
        assert "every feed's last poll failed" in httpx.get(f"{base}/healthz").json()["reason"]
        live = httpx.get(f"{base}/livez")
        assert live.status_code == 200
        assert live.json() == {"status": "ok", "reason": None, "scheduler_running": True}

        loop.kill_scheduler()
        wait_until(lambda: httpx.get(f"{base}/livez").status_code == 503, "/livez to notice")
        assert httpx.get(f"{base}/livez").json() == {
            "status": "dead",
            "reason": "the scheduler's thread has died",
            "scheduler_running": False,
        }


def test_livez_without_a_scheduler_check_answers_while_the_process_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monitor = build_monitor(load_config(write_config(tmp_path, [])))
    server = HealthServer(monitor.metrics, monitor.health, port=0).start()
    try:
        answer = httpx.get(f"http://127.0.0.1:{server.port}/livez")
    finally:
        server.stop()
        monitor.close()
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


STATUS_WORDS = {
    "ok": "ok",
    "OVERDUE": "overdue",
    "FAILING": "failing",
    "SILENT": "silent",
    "STALE": "stale",
    "never polled": "never_polled",
}
"""`monitor status`'s words for the states monitor_feeds counts."""


def test_metrics_count_the_feed_states_monitor_status_shows(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One classification: the gauge and `monitor status` (a subprocess on
    the same state database) agree on a feed in every state."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    # Two days ago, so that the monitor's last polls happen now, as
    # `monitor status` (on the real clock) sees them: none overdue.
    clock = FakeClock(datetime.now(UTC) - timedelta(days=2))
    recent = Entry("Talks resume", link="https://x.example/t", published=clock.now)
    feed_server.set("/good", rss([recent]))
    feed_server.set("/bad", "down", status=500)
    feed_server.set(
        "/old",  # its newest item is older than the silent limit at the first read
        rss(
            [
                Entry(
                    "Archive", link="https://x.example/a", published=clock.now - timedelta(days=365)
                )
            ]
        ),
    )
    feed_server.set(
        "/quiet", rss([Entry("Last word", link="https://x.example/q", published=clock.now)])
    )
    names = ("good", "bad", "old", "quiet", "unpolled")
    config = write_config(tmp_path, [FeedSpec(name, feed_server.url(f"/{name}")) for name in names])
    monitor = build_monitor(load_config(config), clock=clock)
    server = HealthServer(
        monitor.metrics, monitor.health, port=0, before_scrape=monitor.refresh_gauges
    ).start()
    feeds = {feed.name: feed for feed in monitor.config.feeds}
    try:
        for name in ("good", "bad", "quiet"):
            monitor.poll_feed(feeds[name])
        clock.advance(days=2)  # past ops.silent_min: the quiet feed is now silent
        feed_server.set(
            "/good",
            rss([recent, Entry("Talks end", link="https://x.example/e", published=clock.now)]),
        )
        for name in ("good", "bad", "quiet", "old"):  # the old one read for the first time
            monitor.poll_feed(feeds[name])
        values = samples(httpx.get(f"http://127.0.0.1:{server.port}/metrics").text)
    finally:
        server.stop()
        monitor.close()
    gauge = {
        dict(labels)["state"]: value
        for (name, labels), value in values.items()
        if name == "monitor_feeds"
    }
    status = subprocess.run(
        [*monitor_command(), "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    shown = [STATUS_WORDS[json.loads(line)["state"]] for line in status.stdout.splitlines()]
    assert sorted(shown) == sorted(["ok", "failing", "stale", "silent", "never_polled"]), status
    assert gauge == {state: shown.count(state) for state in STATUS_WORDS.values()}
