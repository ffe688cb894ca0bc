"""The only module that runs APScheduler (monitor.cron only parses its cron
expressions): runs polls and delivery on a schedule."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import Monitor
from monitor.cron import cron_trigger
from monitor.pipeline.hostpool import HostFairPool
from monitor.server import TOKEN_ENV, HealthServer
from monitor.settings import FeedSettings
from monitor.sources.urls import host_key
from monitor.store.alert_log import AlertLog
from monitor.units import format_duration

if TYPE_CHECKING:
    from monitor.web.server import WebConsoleServer

log = logging.getLogger("monitor.scheduler")

Request = Callable[[BackgroundScheduler], object]
"""A change to the schedule, applied on the main thread (see :func:`_apply`)."""
Requests = queue.SimpleQueue[Request]

PRUNE_EVERY = timedelta(hours=1)


def _poll_then_deliver(monitor: Monitor, feed: FeedSettings, requests: Requests) -> None:
    report = monitor.poll_feed(feed)
    if report.next_poll_at is not None:
        # The adaptive interval, backed off after failures or stretched where
        # the server asked; a success returns a feed to its interval.
        requests.put(partial(_move, job_id=f"poll:{feed.name}", when=report.next_poll_at))
    if report.alerts:
        # Deliver at once rather than at the next delivery tick; deliver_due
        # returns immediately if a delivery run is already under way.
        monitor.deliver_due()


class PollExecutor(BaseExecutor):  # type: ignore[misc]  # APScheduler is untyped
    """Runs the poll jobs: ``workers`` at a time, at most ``per_host`` of one
    host (see :class:`~monitor.pipeline.hostpool.HostFairPool`).

    A poll whose host is at its limit waits in the queue, not in a thread, so
    a slow host's backlog never holds up the other hosts' feeds. At a stop
    the polls still queued are dropped (:meth:`drop_queued`): their feeds are
    due in the state database, so the next start polls them at once.
    """

    def __init__(
        self, *, workers: int, per_host: int, on_waiting: Callable[[int], object] | None = None
    ) -> None:
        super().__init__()
        self._pool: HostFairPool[tuple[Job, list[datetime]]] = HostFairPool(
            self._run, workers=workers, per_host=per_host, name="poll", on_waiting=on_waiting
        )

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self._pool.submit((job, run_times), _poll_host(job))

    def _run(self, submitted: tuple[Job, list[datetime]]) -> None:
        job, run_times = submitted
        try:
            events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
        except BaseException:
            _, exc, traceback = sys.exc_info()
            self._run_job_error(job.id, exc, traceback)
        else:
            self._run_job_success(job.id, events)

    def drop_queued(self) -> int:
        """Start no more polls and drop those queued; the number dropped."""
        return self._pool.close(wait=False)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.close(wait=wait)


def _poll_host(job: Job) -> str | None:
    feed = job.args[1] if len(job.args) > 1 else None
    return host_key(feed.url) if isinstance(feed, FeedSettings) else None


def _move(scheduler: BackgroundScheduler, job_id: str, when: datetime) -> None:
    with contextlib.suppress(JobLookupError):  # the feed was removed meanwhile
        scheduler.modify_job(job_id, next_run_time=when)


def _reload_config(monitor: Monitor, requests: Requests) -> None:
    if monitor.reload_config() is not None:
        requests.put(partial(sync_jobs, monitor=monitor, requests=requests))


def _apply(scheduler: BackgroundScheduler, requests: Requests) -> None:
    """Apply the schedule changes jobs asked for.

    Done on the main thread, never inside a job: APScheduler's shutdown holds
    the job-store lock while it waits for running jobs, so a job changing
    jobs during shutdown would wait for ever.
    """
    while True:
        try:
            request = requests.get_nowait()
        except queue.Empty:
            return
        try:
            request(scheduler)
        except Exception:
            log.exception("could not change the schedule: %r", request)


def _poll_job_name(monitor: Monitor, feed: FeedSettings) -> str:
    floor, ceiling = monitor.config.poll_bounds(feed)
    every = (
        format_duration(floor)
        if floor == ceiling
        else f"{format_duration(floor)}-{format_duration(ceiling)}"
    )
    return f"poll {feed.name} every {every}"


def _add_poll_job(
    scheduler: BackgroundScheduler,
    monitor: Monitor,
    feed: FeedSettings,
    requests: Requests,
    first: datetime,
) -> None:
    interval = monitor.config.interval_of(feed)
    scheduler.add_job(
        _poll_then_deliver,
        # Only a fallback: every poll moves its job to the time it computed.
        IntervalTrigger(
            seconds=interval.total_seconds(), jitter=min(30.0, interval.total_seconds() / 10)
        ),
        args=[monitor, feed, requests],
        id=f"poll:{feed.name}",
        name=_poll_job_name(monitor, feed),
        next_run_time=first,
    )


def _digests(monitor: Monitor) -> set[tuple[str, str]]:
    slack = monitor.config.slack
    return {
        (channel, route.digest)
        for route in slack.routes
        if route.digest
        for channel in route.channels or (slack.channel,)
    }


def _add_digest_job(
    scheduler: BackgroundScheduler, monitor: Monitor, channel: str, digest: str
) -> None:
    scheduler.add_job(
        monitor.deliver_digest,
        cron_trigger(digest),
        args=[channel, digest],
        id=f"digest:{channel}:{digest}",
        name=f"digest for {channel} at {digest}",
        executor="delivery",
    )


def sync_jobs(scheduler: BackgroundScheduler, monitor: Monitor, requests: Requests) -> None:
    """Make the poll and digest jobs match the monitor's (reloaded) config.

    A new feed is polled at once (its backlog is baselined like any new
    feed's); a changed one is polled at once with its new settings; a
    removed one is no longer polled (a poll under way finishes).
    """
    now = datetime.now(UTC)
    feeds = {f"poll:{feed.name}": feed for feed in monitor.config.feeds}
    digests = {f"digest:{c}:{d}": (c, d) for c, d in _digests(monitor)}
    for job in scheduler.get_jobs():
        if job.id.startswith("poll:"):
            feed = feeds.pop(job.id, None)
            if feed is None:
                job.remove()
            elif job.args[1] != feed:
                job.modify(
                    args=[monitor, feed, requests],
                    name=_poll_job_name(monitor, feed),
                    next_run_time=now,
                )
        elif job.id.startswith("digest:") and digests.pop(job.id, None) is None:
            job.remove()
    for feed in feeds.values():
        _add_poll_job(scheduler, monitor, feed, requests, now)
    for channel, digest in digests.values():
        _add_digest_job(scheduler, monitor, channel, digest)


def build_scheduler(
    monitor: Monitor, requests: Requests | None = None, polls: PollExecutor | None = None
) -> BackgroundScheduler:
    """The schedule of ``monitor``'s jobs; ``polls`` runs the poll jobs (one
    is made from the config if not given)."""
    request_queue: Requests = requests or queue.SimpleQueue()
    config = monitor.config
    if polls is None:
        polls = poll_executor(monitor)
    scheduler = BackgroundScheduler(
        timezone=UTC,
        # Delivery has its own thread, so feeds that hang until their timeout
        # can never hold up alerts already in the outbox.
        executors={
            "default": polls,
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
        first = start + stagger
        if (due := monitor.next_poll_at(feed.name)) is not None:
            first = max(first, due)
        _add_poll_job(scheduler, monitor, feed, request_queue, first)
    for channel, digest in sorted(_digests(monitor)):
        _add_digest_job(scheduler, monitor, channel, digest)
    reload_every = config.rules.reload_interval.total_seconds()
    scheduler.add_job(
        monitor.reload_rules,
        IntervalTrigger(seconds=reload_every),
        id="reload-rules",
        name="reload changed rule files",
        executor="rules",
    )
    scheduler.add_job(
        _reload_config,
        IntervalTrigger(seconds=reload_every),
        args=[monitor, request_queue],
        id="reload-config",
        name="reload a changed config file",
        executor="rules",
    )
    scheduler.add_job(
        monitor.prune,
        IntervalTrigger(seconds=PRUNE_EVERY.total_seconds()),
        id="prune",
        name="prune records past polling.seen_retention",
        executor="rules",
        next_run_time=start + timedelta(minutes=1),
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


def poll_executor(monitor: Monitor) -> PollExecutor:
    fetch = monitor.config.fetch
    return PollExecutor(
        workers=fetch.concurrency,
        per_host=fetch.per_host,
        on_waiting=monitor.metrics.polls_waiting.set,
    )


def _start_health_server(monitor: Monitor) -> HealthServer | None:
    settings = monitor.config.server
    actions = monitor.slack_actions
    if not settings.enabled:
        if actions is not None:
            log.warning(
                "SLACK_SIGNING_SECRET is set but [server] is disabled: Slack's buttons "
                "cannot reach /slack/actions, so clicks on them will fail"
            )
        return None
    try:
        server = HealthServer(
            monitor.metrics,
            monitor.health,
            settings.host,
            settings.port,
            before_scrape=monitor.refresh_gauges,
            scheduler_problem=monitor.scheduler_problem,
            token=os.environ.get(TOKEN_ENV, "").strip() or None,
            slack_actions=actions.answer if actions is not None else None,
        ).start()
    except OSError as exc:
        log.error(
            "cannot serve /healthz and /metrics on %s:%d (%s); running without them",
            settings.host,
            settings.port,
            exc,
        )
        return None
    log.info(
        "serving /healthz and /metrics%s on http://%s:%d/%s",
        " and Slack's buttons at /slack/actions" if actions is not None else "",
        settings.host,
        server.port,
        f" (they ask for the bearer token in {TOKEN_ENV})"
        if os.environ.get(TOKEN_ENV, "").strip()
        else "",
    )
    return server


def _start_web_console(monitor: Monitor) -> WebConsoleServer | None:
    """The read-only web console, when [web] turns it on (see monitor.web)."""
    settings = monitor.config.web
    if not settings.enabled:
        return None
    # Imported only when on: Flask would add a tenth of a second to every start.
    from monitor.web.app import ConsoleData
    from monitor.web.console import start_web_console

    store = monitor.store
    if not isinstance(store, AlertLog):
        log.error("not serving the web console: this state store keeps no alert log")
        return None
    return start_web_console(
        settings,
        ConsoleData(alerts=store, archive=store, feeds=store, incidents=store, outbox=store),
        clock=monitor.clock,
        snapshot=lambda: monitor.snapshot,
        environ=os.environ,
    )


def scheduler_problem(scheduler: BackgroundScheduler) -> str | None:
    """Why the scheduler runs no jobs any more, if it does not: it was shut
    down, or its thread died (an error APScheduler did not catch)."""
    if not bool(scheduler.running):
        return "the scheduler has stopped"
    thread = getattr(scheduler, "_thread", None)  # BackgroundScheduler's own loop
    if not isinstance(thread, threading.Thread) or not thread.is_alive():
        return "the scheduler's thread has died"
    return None


def _reload_now(monitor: Monitor, requests: Requests) -> None:
    """Reload rules and config at once, changes unsettled or not: the
    operator asked for it (SIGHUP) and has finished editing."""
    rules = monitor.reload_rules(at_once=True)
    changes = monitor.reload_config(at_once=True)
    if changes is not None:
        requests.put(partial(sync_jobs, monitor=monitor, requests=requests))
    if not rules and changes is None:
        log.info("SIGHUP: no new config or rules to apply; running as before")


def run_until_stopped(
    monitor: Monitor, stop: threading.Event, reload: threading.Event | None = None
) -> None:
    """Run the schedule until ``stop`` is set, then let running jobs finish
    and drop the polls still queued (the next start polls those feeds).

    Whatever is in the outbox stays there and goes out on the next start.
    Each time ``reload`` is set (SIGHUP), config and rules are reloaded at once.
    """
    requests: Requests = queue.SimpleQueue()
    monitor.start()
    polls = poll_executor(monitor)
    scheduler = build_scheduler(monitor, requests, polls)
    scheduler.start()
    monitor.watch_scheduler(partial(scheduler_problem, scheduler))
    server = _start_health_server(monitor)
    console = _start_web_console(monitor)
    log.info(
        "monitor running: %d feeds, %d rules, alerts to %s",
        len(monitor.config.feeds),
        len(monitor.rules.rules),
        monitor.sink.destination,
    )
    dead: str | None = None
    try:
        while not stop.wait(0.2):
            if reload is not None and reload.is_set():
                reload.clear()
                log.info("SIGHUP: reloading config and rules now")
                # On the thread of the periodic reloads, so the two never overlap.
                scheduler.add_job(
                    _reload_now,
                    args=[monitor, requests],
                    id="reload-now",
                    name="reload config and rules now (SIGHUP)",
                    executor="rules",
                    replace_existing=True,
                )
            _apply(scheduler, requests)
            # Never waits: a poll's long commit must not hold up the loop.
            monitor.sync_store(due_only=True, wait=False)
            if dead is None and (dead := scheduler_problem(scheduler)) is not None:
                log.error("%s: no feed is polled any more; /healthz answers 503", dead)
    finally:
        log.info("stopping: waiting for running polls and deliveries to finish")
        monitor.scheduler_stopped()
        dropped = polls.drop_queued()
        if dropped:
            log.info(
                "stopping: dropped %d queued poll%s; their feeds are polled at the next start",
                dropped,
                "" if dropped == 1 else "s",
            )
        if server is not None:
            server.stop()
        if console is not None:
            console.stop()
        scheduler.shutdown(wait=True)
        counts = monitor.outbox_counts()
        log.info("stopped; outbox: %d pending, %d failed", counts["pending"], counts["failed"])
