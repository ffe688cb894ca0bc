"""/healthz and /metrics over real HTTP, parsed with prometheus-client's own parser."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import build_monitor
from monitor.config import load_config
from monitor.server import HealthServer
from tests.support.feed_server import FeedServer
from tests.support.feeds import Entry, rss
from tests.support.setup import FakeClock, FeedSpec, write_config


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
