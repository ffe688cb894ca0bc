"""The read-only web console as a Flask app: five pages over the state store.

The app takes narrow ports (:class:`ConsoleData`), the monitor's clock and
a callable giving the config and rules running now (a reload swaps them).
Views only fetch and render; what they compute is in the pure modules
beside this one (filters, rows, charts, links). Every answer carries the
headers of :data:`SECURITY_HEADERS`; every value a template prints is
escaped by Jinja, feed text first of all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, render_template, request

from monitor.clock import Clock
from monitor.delivery.message import format_time, relative_time, time_until
from monitor.domain.archive import QUERY_HELP, ArchivedItem
from monitor.domain.kinds import OutboxStatus
from monitor.domain.severity import Severity
from monitor.errors import SearchError, StateError
from monitor.pipeline.reload import Snapshot
from monitor.store.alert_log import AlertLog
from monitor.store.ports import Archive, FeedStates, Incidents, OutboxReview
from monitor.units import format_duration
from monitor.web.auth import Credentials, authorized, challenges, loopback_host_header
from monitor.web.filters import SEARCH_LIMIT, alert_page, older_args, search_request
from monitor.web.links import safe_href, shorten
from monitor.web.rows import CaseResults, chart_start, feed_rows, rule_rows

log = logging.getLogger("monitor.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
"""On every answer, pages, static files and errors alike."""

READ_METHODS = frozenset({"GET", "HEAD"})
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = ("pending", "sending", "failed")
"""What the outbox page lists: alerts still to go out, and those given up on."""


@dataclass(frozen=True)
class ConsoleData:
    """The store's ports the console reads (one store may be all of them)."""

    alerts: AlertLog
    archive: Archive
    feeds: FeedStates
    incidents: Incidents
    outbox: OutboxReview


def create_app(
    data: ConsoleData,
    *,
    clock: Clock,
    snapshot: Callable[[], Snapshot],
    credentials: Credentials,
    loopback_only: bool,
) -> Flask:
    """The console's WSGI app. ``loopback_only``: answer only requests whose
    Host names loopback (set when no credentials guard a loopback console)."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        safe_href=safe_href,
        shorten=shorten,
        format_time=format_time,
        format_duration=format_duration,
        ago=lambda value: relative_time(value, g.now) if value else "",
        until=lambda value: time_until(value, g.now),
        severities=[s.value for s in Severity],
    )
    cases = CaseResults()

    @app.before_request
    def guard() -> Response | None:
        g.now = clock()
        if request.method not in READ_METHODS:
            answer = _plain(405, "this console is read-only: GET and HEAD only\n")
            answer.headers["Allow"] = "GET, HEAD"
            return answer
        if loopback_only and not loopback_host_header(request.headers.get("Host")):
            return _plain(421, "this console answers requests for localhost only\n")
        if not authorized(credentials, request.headers.get("Authorization")):
            answer = _plain(401, "unauthorized\n")
            for challenge in challenges(credentials):
                answer.headers.add("WWW-Authenticate", challenge)
            return answer
        return None

    @app.after_request
    def secure(answer: Response) -> Response:
        answer.headers.update(SECURITY_HEADERS)
        return answer

    @app.get("/")
    def alerts() -> tuple[str, int]:
        page = alert_page(request.args)
        now_running = snapshot()
        fetched = (
            [] if page.problem else data.alerts.recent_alerts(page.query, limit=page.limit + 1)
        )
        return _page(
            "alerts.html",
            400 if page.problem else 200,
            page=page,
            alerts=fetched[: page.limit],
            older=older_args(page, [found.id for found in fetched]),
            rule_ids=[rule.id for rule in now_running.rules.rules],
            channels=_channels(now_running),
        )

    @app.get("/search")
    def search() -> tuple[str, int]:
        asked = search_request(request.args)
        error = asked.problem
        found: list[ArchivedItem] = []
        if error is None and asked.text:
            try:
                found = data.archive.search(
                    asked.text,
                    since=g.now - asked.since if asked.since else None,
                    feed=asked.feed,
                    tag=asked.tag,
                    limit=SEARCH_LIMIT,
                )
            except SearchError as exc:
                error = str(exc)
        return _page(
            "search.html",
            400 if error else 200,
            asked=asked,
            error=error,
            found=found,
            limit=SEARCH_LIMIT,
            query_help=QUERY_HELP,
            feed_names=[feed.name for feed in snapshot().config.feeds],
        )

    @app.get("/feeds")
    def feeds() -> tuple[str, int]:
        now_running = snapshot()
        rows = feed_rows(
            now_running.config,
            data.feeds.feed_health(),
            data.incidents.open_incidents(),
            now_running.redactor,
            now=g.now,
        )
        return _page("feeds.html", 200, rows=rows)

    @app.get("/rules")
    def rules() -> tuple[str, int]:
        rule_set = snapshot().rules
        today = g.now.date()
        start = datetime.combine(chart_start(today), datetime.min.time(), g.now.tzinfo)
        rows = rule_rows(
            rule_set,
            cases.of(rule_set),
            data.alerts.daily_alert_counts(since=start),
            today=today,
        )
        return _page("rules.html", 200, rows=rows)

    @app.get("/outbox")
    def outbox() -> tuple[str, int]:
        entries = data.outbox.outbox(OUTBOX_STATUSES)
        return _page("outbox.html", 200, entries=entries, counts=data.outbox.outbox_counts())

    @app.errorhandler(StateError)
    def unreadable(exc: StateError) -> tuple[str, int]:
        log.error("web console: %s", exc)
        return _error(503, "The state database cannot be read right now.")

    @app.errorhandler(404)
    def not_found(_: Exception) -> tuple[str, int]:
        return _error(404, "There is no such page.")

    @app.errorhandler(500)
    def broken(_: Exception) -> tuple[str, int]:
        return _error(500, "This page failed; the monitor's log says why.")

    return app


def _page(template: str, status: int, **context: Any) -> tuple[str, int]:
    return render_template(template, now=g.now, **context), status


def _error(status: int, message: str) -> tuple[str, int]:
    if "now" not in g:
        g.now = None
    return render_template("error.html", status=status, message=message, now=g.now), status


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


def _channels(snapshot: Snapshot) -> list[str]:
    """Every channel the config posts to, for the alerts page's filter."""
    slack = snapshot.config.slack
    found = [slack.channel, snapshot.config.ops.channel or slack.channel]
    found += [channel for route in slack.routes for channel in route.channels]
    return sorted(set(found))
