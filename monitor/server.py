"""HTTP /healthz, /livez and /metrics (Prometheus) for a running monitor.

Metrics live in the monitor's own registry, not prometheus-client's global
one, so that several monitors (tests) never share counters.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from monitor.feed_status import FeedStatus


class Metrics:
    """What the monitor counts; the app calls it, the server exposes it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "monitor_polls",
            "Feed polls by feed and outcome (ok, not_modified, error).",
            ["feed", "outcome"],
            registry=self.registry,
        )
        self.poll_errors = Counter(
            "monitor_poll_errors",
            "Failed polls by kind of failure.",
            ["kind"],
            registry=self.registry,
        )
        self.items = Counter(
            "monitor_new_items", "New items by feed.", ["feed"], registry=self.registry
        )
        self.alerts = Counter(
            "monitor_alerts",
            "Alerts raised by rule and severity.",
            ["rule", "severity"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "monitor_deliveries",
            "Delivery attempts by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "monitor_delivery_latency_seconds",
            "From alert creation to delivery.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 900, 3600),
            registry=self.registry,
        )
        self.poll_duration = Histogram(
            "monitor_poll_duration_seconds",
            "Time to fetch, parse and match one feed.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "monitor_outbox_pending", "Alerts waiting for delivery.", registry=self.registry
        )
        self.last_success = Gauge(
            "monitor_last_successful_poll_timestamp_seconds",
            "When a feed was last read successfully.",
            registry=self.registry,
        )
        self.open_incidents = Gauge(
            "monitor_feed_incidents_open",
            "Feeds failing or silent for too long (each raised one ops alert).",
            ["kind"],
            registry=self.registry,
        )
        self.feeds = Gauge(
            "monitor_feeds",
            "Watched feeds by state, as `monitor status` names it "
            "(ok, overdue, failing, silent, stale, never_polled).",
            ["state"],
            registry=self.registry,
        )
        for status in FeedStatus:
            self.feeds.labels(status.value)

    def declare(self, rule_ids: Iterable[str], feed_names: Iterable[str]) -> None:
        """Create the series of known rules and feeds at zero, so that a rate
        or increase() over them counts their first alert and first poll."""
        for rule_id in rule_ids:
            for severity in ("info", "warning", "critical"):
                self.alerts.labels(rule_id, severity)
        for feed in feed_names:
            self.items.labels(feed)
            for outcome in ("ok", "not_modified", "error"):
                self.polls.labels(feed, outcome)


class HealthServer:
    """Serves /healthz, /livez and /metrics on a thread until stopped.

    ``health`` returns whether the monitor is healthy (200, else 503) and
    the JSON body's fields; see :func:`monitor.health.desk_health`.
    ``scheduler_problem`` says why the scheduler runs no jobs, if it does
    not: /livez answers 503 then, and 200 otherwise. It asks nothing else
    (no feed, no state database), so that a liveness probe never restarts
    a monitor that an upstream outage has blinded: a restart cannot cure
    that, and /healthz reports it. Without ``scheduler_problem``, /livez
    answers 200 for as long as the process serves.
    """

    def __init__(
        self,
        metrics: Metrics,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        host: str = "127.0.0.1",
        port: int = 9108,
        before_scrape: Callable[[], None] | None = None,
        scheduler_problem: Callable[[], str | None] | None = None,
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    if before_scrape is not None:
                        before_scrape()
                    self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
                elif self.path.split("?")[0] == "/healthz":
                    try:
                        healthy, details = health()
                    except Exception as exc:
                        # A check that breaks must still answer, and answer "not healthy".
                        healthy, details = False, {"reason": f"health check failed: {exc!r}"}
                    # The details may name a finer status (degraded, starting).
                    body = json.dumps(
                        {"status": "ok" if healthy else "unhealthy", **details}
                    ).encode()
                    self._send(200 if healthy else 503, body, "application/json")
                elif self.path.split("?")[0] == "/livez":
                    try:
                        problem = scheduler_problem() if scheduler_problem is not None else None
                    except Exception as exc:
                        problem = f"scheduler check failed: {exc!r}"
                    answer: dict[str, object] = {
                        "status": "ok" if problem is None else "dead",
                        "reason": problem,
                        "scheduler_running": problem is None,
                    }
                    self._send(
                        200 if problem is None else 503,
                        json.dumps(answer).encode(),
                        "application/json",
                    )
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds would drown the poll log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
