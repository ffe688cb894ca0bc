"""HTTP /healthz, /livez and /metrics (Prometheus) for a running monitor,
and Slack's interactivity requests (``POST /slack/actions``) when set up.

Metrics live in the monitor's own registry, not prometheus-client's global
one, so that several monitors (tests) never share counters.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from monitor.pipeline.feed_status import FeedStatus

log = logging.getLogger("monitor")

TOKEN_ENV = "MONITOR_SERVER_TOKEN"  # noqa: S105 - the variable's name, not a secret
"""The bearer token /healthz and /metrics ask for, when set (never in config.toml)."""

IDLE_TIMEOUT = 10.0
"""Seconds a connection may wait for its client's next bytes before it is closed."""

CONNECTION_DEADLINE = 30.0
"""Seconds a connection may last in all: a client trickling a byte now and
then never trips the idle timeout, but is cut off at this deadline."""

MAX_CONNECTIONS = 32
"""Connections served at once; one beyond them is answered 503 and closed."""

PROTECTED_PATHS = frozenset({"/healthz", "/metrics"})
"""Paths the bearer token guards. /livez is left open: it tells only whether
the scheduler runs, and container HEALTHCHECKs and liveness probes ask it."""

SLACK_ACTIONS_PATH = "/slack/actions"
"""Where Slack posts the clicks on alert buttons (the app's interactivity
Request URL). Not guarded by the bearer token, which Slack cannot send:
each request is signed instead (see monitor.interactivity)."""

MAX_ACTION_BYTES = 256 * 1024
"""The largest interactivity request read; Slack's, with the whole message, are far smaller."""


class SlackActionEndpoint(Protocol):
    """Answers one interactivity request: its body, Slack's two signature
    headers, and the address it came from; the HTTP status and body to send."""

    def __call__(
        self, body: bytes, *, timestamp: str | None, signature: str | None, peer: str
    ) -> tuple[int, bytes]: ...


_BUSY_RESPONSE = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 22\r\nConnection: close\r\n\r\ntoo many connections\r\n"
)


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
        self.polls_waiting = Gauge(
            "monitor_polls_waiting",
            "Polls due but not started: waiting for a free fetch.concurrency "
            "thread or a free fetch.per_host slot of their host.",
            registry=self.registry,
        )
        self.token_rejected = Gauge(
            "monitor_slack_token_rejected",
            "1 while delivery is held because Slack rejects the token, else 0.",
            registry=self.registry,
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
    the JSON body's fields; see :func:`monitor.pipeline.desk_health.desk_health`.
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
        token: str | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        connection_deadline: float = CONNECTION_DEADLINE,
        slack_actions: SlackActionEndpoint | None = None,
    ) -> None:
        """``slack_actions``: answers ``POST /slack/actions`` (404 without it)."""
        expected_authorization = f"Bearer {token}".encode() if token else None

        class Handler(BaseHTTPRequestHandler):
            # A socket timeout: a client that sends nothing, or stops halfway,
            # is dropped instead of holding its thread.
            timeout = idle_timeout

            def do_GET(self) -> None:
                if not self._authorized():
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Bearer realm="monitor"')
                    body = b"unauthorized: send Authorization: Bearer <token>\n"
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
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

            def do_POST(self) -> None:
                if self.path.split("?")[0] != SLACK_ACTIONS_PATH or slack_actions is None:
                    self._send(404, b"not found\n", "text/plain")
                    return
                try:
                    length = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    self._send(411, b"length required\n", "text/plain")
                    return
                if not 0 <= length <= MAX_ACTION_BYTES:
                    self.close_connection = True  # the body is left unread
                    self._send(413, b"request too large\n", "text/plain")
                    return
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the client went away halfway
                try:
                    status, answer = slack_actions(
                        body,
                        timestamp=self.headers.get("X-Slack-Request-Timestamp"),
                        signature=self.headers.get("X-Slack-Signature"),
                        peer=str(self.client_address[0]),
                    )
                except Exception as exc:
                    # A click that breaks the handler must still be answered, as failed.
                    log.exception("error answering a Slack action")
                    status, answer = 500, f"internal error: {type(exc).__name__}\n".encode()
                self._send(status, answer, "text/plain; charset=utf-8")

            def _authorized(self) -> bool:
                if expected_authorization is None:
                    return True
                if self.path.split("?")[0] not in PROTECTED_PATHS:
                    return True
                given = self.headers.get("Authorization", "").strip().encode()
                return hmac.compare_digest(given, expected_authorization)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds would drown the poll log

        self._server = _BoundedHTTPServer(
            (host, port), Handler, max_connections, connection_deadline
        )
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


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, but no more than ``max_connections`` at once:
    a flood of idle connections cannot pile up threads, and each one it does
    hold is dropped after the handler's timeout, or at ``connection_deadline``
    however it trickles."""

    # Connections waiting to be accepted: with the default of 5, a burst of
    # scrapers and probes has its handshakes dropped and retried a second later.
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        max_connections: int,
        connection_deadline: float,
    ) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self._connection_deadline = connection_deadline
        self._open: dict[socket.socket, float] = {}
        """Each connection being served, and when it must be cut off."""
        self._open_lock = threading.Lock()
        self._closing = threading.Event()
        super().__init__(address, handler)
        threading.Thread(target=self._cut_off_overdue, name="health-deadline", daemon=True).start()

    def server_close(self) -> None:
        self._closing.set()
        super().server_close()

    def _cut_off_overdue(self) -> None:
        tick = min(1.0, self._connection_deadline / 4)
        while not self._closing.wait(tick):
            now = time.monotonic()
            with self._open_lock:
                overdue = [sock for sock, at in self._open.items() if at <= now]
                for sock in overdue:
                    del self._open[sock]
                    # Makes the handler's blocked read or write fail at once.
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        with self._open_lock:
            self._open[request] = time.monotonic() + self._connection_deadline
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        # Answered from the accepting thread, so it must never wait on the client.
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(_BUSY_RESPONSE)
        self.shutdown_request(request)
