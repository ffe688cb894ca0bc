"""The only module that runs APScheduler (monitor.cron only parses its cron
expressions): runs polls and delivery on a schedule."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor import __version__
from monitor.app import Monitor
from monitor.cron import cron_trigger
from monitor.errors import StateError
from monitor.pipeline.feed_claims import ClaimSettings, FeedClaims
from monitor.pipeline.poll_report import PollReport
from monitor.pipeline.sender_duty import SenderDuty
from monitor.server import TOKEN_ENV, HealthServer
from monitor.settings import Config
from monitor.sources.urls import host_key
from monitor.store.alert_log import AlertLog

if TYPE_CHECKING:
    from monitor.web.server import WebConsoleServer

log = logging.getLogger("monitor.scheduler")

Request = Callable[[BackgroundScheduler], object]
"""A change to the schedule, applied on the main thread (see :func:`_apply`)."""
Requests = queue.SimpleQueue[Request]

PRUNE_EVERY = timedelta(hours=1)
FORGET_INSTANCES_AFTER = timedelta(days=1)
"""An instance silent this long leaves ``monitor status`` (its leases ended long before)."""


def _deliver_alerts_of(monitor: Monitor, duty: SenderDuty, report: PollReport) -> None:
    if report.alerts:
        # Deliver at once rather than at the next delivery tick; deliver_due
        # returns immediately if a delivery run is already under way.
        _deliver_if_sender(monitor, duty)


def _deliver_if_sender(monitor: Monitor, duty: SenderDuty) -> None:
    if duty.held():
        monitor.deliver_due()


def _digest_if_sender(monitor: Monitor, duty: SenderDuty, channel: str, digest: str) -> None:
    # The sender's own digest job posts it; the queue waits in the state.
    if duty.held():
        monitor.deliver_digest(channel, digest)


def sender_duty(monitor: Monitor) -> SenderDuty:
    """Whether ``monitor`` is the one instance sending (see monitor.pipeline.sender_duty)."""
    return SenderDuty(monitor.store, clock=monitor.clock, lease=monitor.config.state.sender_lease)


def feed_claims(monitor: Monitor, duty: SenderDuty) -> FeedClaims:
    """The claimed polling of ``monitor``: its feeds claimed through the
    state, polled ``fetch.concurrency`` at a time, ``fetch.per_host`` of
    one host (see monitor.pipeline.feed_claims)."""
    fetch = monitor.config.fetch
    lease = monitor.config.state.feed_lease  # wired at start, like the rest of [state]
    # Worked out once per config, not at every claim; the config itself is
    # kept, so that a reload's new one is never mistaken for it.
    cached: list[tuple[Config, ClaimSettings]] = []

    def settings() -> ClaimSettings:
        config = monitor.config
        if cached and cached[0][0] is config:
            return cached[0][1]
        known = ClaimSettings(
            feeds=config.feeds,
            intervals=[(feed.name, config.interval_of(feed)) for feed in config.feeds],
            lease=lease,
            hosts={feed.name: host_key(feed.url) for feed in config.feeds},
        )
        cached[:] = [(config, known)]
        return known

    return FeedClaims(
        leases=monitor.store,
        poll=monitor.poll_feed,
        after_poll=partial(_deliver_alerts_of, monitor, duty),
        settings=settings,
        clock=monitor.clock,
        workers=fetch.concurrency,
        per_host=fetch.per_host,
        on_waiting=monitor.metrics.polls_waiting.set,
    )


def _reload_config(monitor: Monitor, duty: SenderDuty, requests: Requests) -> None:
    if monitor.reload_config() is not None:
        requests.put(partial(sync_jobs, monitor=monitor, duty=duty))


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


def _digests(monitor: Monitor) -> set[tuple[str, str]]:
    slack = monitor.config.slack
    return {
        (channel, route.digest)
        for route in slack.routes
        if route.digest
        for channel in route.channels or (slack.channel,)
    }


def _add_digest_job(
    scheduler: BackgroundScheduler, monitor: Monitor, duty: SenderDuty, channel: str, digest: str
) -> None:
    scheduler.add_job(
        _digest_if_sender,
        cron_trigger(digest),
        args=[monitor, duty, channel, digest],
        id=f"digest:{channel}:{digest}",
        name=f"digest for {channel} at {digest}",
        executor="delivery",
    )


def sync_jobs(scheduler: BackgroundScheduler, monitor: Monitor, duty: SenderDuty) -> None:
    """Make the digest jobs match the monitor's (reloaded) config. Feeds
    need no jobs: each claim reads the config running (a new feed is due at
    once, a removed one is never claimed again, a changed one polls with
    its new settings when next due)."""
    digests = {f"digest:{c}:{d}": (c, d) for c, d in _digests(monitor)}
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:") and digests.pop(job.id, None) is None:
            job.remove()
    for channel, digest in digests.values():
        _add_digest_job(scheduler, monitor, duty, channel, digest)


def build_scheduler(
    monitor: Monitor, claims: FeedClaims, duty: SenderDuty, requests: Requests | None = None
) -> BackgroundScheduler:
    """The schedule of ``monitor``'s jobs: ``claims`` claims the feeds due
    and polls them on its own threads; the timers here claim, beat,
    deliver and post digests (while ``duty`` says this instance sends),
    reload and prune."""
    request_queue: Requests = requests or queue.SimpleQueue()
    config = monitor.config
    scheduler = BackgroundScheduler(
        timezone=UTC,
        # Delivery has its own thread, so feeds that hang until their timeout
        # can never hold up alerts already in the outbox; claims and
        # heartbeats have theirs, so a long reload never delays them.
        executors={
            "default": ThreadPoolExecutor(max_workers=2),
            "delivery": ThreadPoolExecutor(max_workers=1),
            "rules": ThreadPoolExecutor(max_workers=1),
        },
        # A job never overlaps itself; runs missed while busy collapse into one.
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    start = datetime.now(UTC)
    state = config.state  # wired at start
    scheduler.add_job(
        claims.claim,
        IntervalTrigger(seconds=state.claim_every.total_seconds()),
        id="claim",
        name="claim the feeds due and poll them",
        next_run_time=start,
    )
    scheduler.add_job(
        _heartbeat,
        IntervalTrigger(seconds=state.heartbeat_every.total_seconds()),
        args=[monitor, duty],
        id="heartbeat",
        name="record that this instance is alive",
        next_run_time=start,
    )
    for channel, digest in sorted(_digests(monitor)):
        _add_digest_job(scheduler, monitor, duty, channel, digest)
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
        args=[monitor, duty, request_queue],
        id="reload-config",
        name="reload a changed config file",
        executor="rules",
    )
    scheduler.add_job(
        _prune,
        IntervalTrigger(seconds=PRUNE_EVERY.total_seconds()),
        args=[monitor],
        id="prune",
        name="prune records past polling.seen_retention",
        executor="rules",
        next_run_time=start + timedelta(minutes=1),
    )
    scheduler.add_job(
        _deliver_if_sender,
        IntervalTrigger(seconds=config.delivery.interval.total_seconds()),
        args=[monitor, duty],
        id="deliver",
        executor="delivery",
        name="deliver the outbox",
        next_run_time=start,
    )
    return scheduler


def _heartbeat(monitor: Monitor, duty: SenderDuty) -> None:
    try:
        monitor.store.heartbeat(now=monitor.clock(), version=__version__)
    except StateError as exc:
        log.warning("could not record this instance's heartbeat: %s", exc)
    # Kept between delivery runs too, however far apart delivery.interval sets them.
    duty.held()


def _leave(monitor: Monitor) -> None:
    try:
        monitor.store.leave()
    except StateError as exc:
        log.warning("could not remove this instance from the state's list (%s)", exc)


def _prune(monitor: Monitor) -> None:
    monitor.prune()
    try:
        forgotten = monitor.store.forget_instances(before=monitor.clock() - FORGET_INSTANCES_AFTER)
    except StateError as exc:
        log.warning("could not forget instances gone long ago: %s", exc)
        return
    if forgotten:
        log.info("forgot %d instance(s) silent for over %s", forgotten, FORGET_INSTANCES_AFTER)


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


def _reload_now(monitor: Monitor, duty: SenderDuty, requests: Requests) -> None:
    """Reload rules and config at once, changes unsettled or not: the
    operator asked for it (SIGHUP) and has finished editing."""
    rules = monitor.reload_rules(at_once=True)
    changes = monitor.reload_config(at_once=True)
    if changes is not None:
        requests.put(partial(sync_jobs, monitor=monitor, duty=duty))
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
    duty = sender_duty(monitor)
    claims = feed_claims(monitor, duty)
    scheduler = build_scheduler(monitor, claims, duty, requests)
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
                    args=[monitor, duty, requests],
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
        scheduler.pause()  # no claim starts now: stop() returns every feed not yet polled
        dropped = claims.stop()
        if dropped:
            log.info(
                "stopping: dropped %d queued poll%s; their feeds are polled at the next start "
                "or by another instance",
                dropped,
                "" if dropped == 1 else "s",
            )
        if server is not None:
            server.stop()
        if console is not None:
            console.stop()
        scheduler.shutdown(wait=True)
        claims.join()
        duty.release()
        _leave(monitor)
        counts = monitor.store.outbox_counts()
        log.info("stopped; outbox: %d pending, %d failed", counts["pending"], counts["failed"])
