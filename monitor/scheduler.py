"""The only module that imports APScheduler: runs polls and delivery on a schedule."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import Monitor
from monitor.config import FeedSettings
from monitor.server import HealthServer
from monitor.validation import format_duration

log = logging.getLogger("monitor.scheduler")

Reschedule = Callable[[str, datetime], object]
"""Asks for a poll job to run next at a given time."""


def cron_trigger(expression: str) -> CronTrigger:
    """A UTC cron trigger from "minute hour day month weekday"; ValueError if invalid."""
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"invalid cron expression {expression!r}: {exc} (five fields: minute hour day month weekday)"
        ) from exc


def _poll_then_deliver(monitor: Monitor, feed: FeedSettings, reschedule: Reschedule) -> None:
    report = monitor.poll_feed(feed)
    if report.next_poll_at is not None:
        # The interval, backed off after failures or stretched where the
        # server asked; a success returns a feed to its interval.
        reschedule(f"poll:{feed.name}", report.next_poll_at)
    if report.alerts:
        # Deliver at once rather than at the next delivery tick; deliver_due
        # returns immediately if a delivery run is already under way.
        monitor.deliver_due()


def _apply(
    scheduler: BackgroundScheduler, requests: queue.SimpleQueue[tuple[str, datetime]]
) -> None:
    """Move poll jobs to the times their feeds asked for.

    Done on the main thread, never inside a job: APScheduler's shutdown holds
    the job-store lock while it waits for running jobs, so a job calling
    modify_job during shutdown would wait for ever.
    """
    while True:
        try:
            job_id, when = requests.get_nowait()
        except queue.Empty:
            return
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(job_id, next_run_time=when)


def build_scheduler(
    monitor: Monitor, requests: queue.SimpleQueue[tuple[str, datetime]] | None = None
) -> BackgroundScheduler:
    reschedule_queue: queue.SimpleQueue[tuple[str, datetime]] = requests or queue.SimpleQueue()
    config = monitor.config
    scheduler = BackgroundScheduler(
        timezone=UTC,
        # Delivery has its own thread, so feeds that hang until their timeout
        # can never hold up alerts already in the outbox.
        executors={
            "default": ThreadPoolExecutor(max_workers=config.fetch.concurrency),
            "delivery": ThreadPoolExecutor(max_workers=1),
            "rules": ThreadPoolExecutor(max_workers=1),
        },
        # A job never overlaps itself; runs missed while busy collapse into one.
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    start = datetime.now(UTC)
    count = max(1, len(config.feeds))
    for index, feed in enumerate(config.feeds):
        interval = config.interval_of(feed)
        # Spread first polls over a few seconds so start-up is not one burst;
        # a feed backed off before a restart stays backed off.
        stagger = timedelta(seconds=min(5.0, interval.total_seconds() / 2) * index / count)
        state = monitor.store.feed_state(feed.name)
        first = start + stagger
        if state is not None and state.next_poll_at is not None:
            first = max(first, state.next_poll_at)
        scheduler.add_job(
            _poll_then_deliver,
            IntervalTrigger(
                seconds=interval.total_seconds(), jitter=min(30.0, interval.total_seconds() / 10)
            ),
            args=[monitor, feed, lambda job_id, when: reschedule_queue.put((job_id, when))],
            id=f"poll:{feed.name}",
            name=f"poll {feed.name} every {format_duration(interval)}",
            next_run_time=first,
        )
    digests = {
        (channel, route.digest)
        for route in config.slack.routes
        if route.digest
        for channel in route.channels or (config.slack.channel,)
    }
    for channel, digest in sorted(digests):
        assert digest is not None
        scheduler.add_job(
            monitor.deliver_digest,
            cron_trigger(digest),
            args=[channel, digest],
            id=f"digest:{channel}:{digest}",
            name=f"digest for {channel} at {digest}",
            executor="delivery",
        )
    scheduler.add_job(
        monitor.reload_rules,
        IntervalTrigger(seconds=config.rules.reload_interval.total_seconds()),
        id="reload-rules",
        name="reload changed rule files",
        executor="rules",
    )
    scheduler.add_job(
        monitor.deliver_due,
        IntervalTrigger(seconds=config.delivery.interval.total_seconds()),
        id="deliver",
        executor="delivery",
        name="deliver the outbox",
        next_run_time=start,
    )
    return scheduler


def _start_health_server(monitor: Monitor) -> HealthServer | None:
    settings = monitor.config.server
    if not settings.enabled:
        return None
    try:
        server = HealthServer(
            monitor.metrics,
            monitor.health,
            settings.host,
            settings.port,
            before_scrape=monitor.refresh_gauges,
        ).start()
    except OSError as exc:
        log.error(
            "cannot serve /healthz and /metrics on %s:%d (%s); running without them",
            settings.host,
            settings.port,
            exc,
        )
        return None
    log.info("serving /healthz and /metrics on http://%s:%d/", settings.host, server.port)
    return server


def run_until_stopped(monitor: Monitor, stop: threading.Event) -> None:
    """Run the schedule until ``stop`` is set, then let running jobs finish.

    Whatever is in the outbox stays there and goes out on the next start.
    """
    requests: queue.SimpleQueue[tuple[str, datetime]] = queue.SimpleQueue()
    scheduler = build_scheduler(monitor, requests)
    scheduler.start()
    monitor.scheduler_running = True
    server = _start_health_server(monitor)
    log.info(
        "monitor running: %d feeds, %d rules, alerts to %s",
        len(monitor.config.feeds),
        len(monitor.rules.rules),
        monitor.sink.destination,
    )
    try:
        while not stop.wait(0.2):
            _apply(scheduler, requests)
    finally:
        log.info("stopping: waiting for running polls and deliveries to finish")
        monitor.scheduler_running = False
        if server is not None:
            server.stop()
        scheduler.shutdown(wait=True)
        counts = monitor.store.outbox_counts()
        log.info("stopped; outbox: %d pending, %d failed", counts["pending"], counts["failed"])
