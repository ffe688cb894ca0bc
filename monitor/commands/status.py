"""`monitor status`: each configured feed's health, then the instances
sharing the state (``monitor run`` processes, as their heartbeats left
them), as tables or JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.clock import utc_now
from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.message import relative_time, time_until
from monitor.domain.feed import FeedHealth
from monitor.domain.instance import InstanceRecord
from monitor.pipeline.feed_health import OVERDUE_INTERVALS, counted, span
from monitor.pipeline.feed_status import FeedStatus, configured_feed_status
from monitor.redact import Redactor
from monitor.settings import FeedSettings
from monitor.store.factory import open_store
from monitor.units import format_duration

BLIND_STATES = frozenset({"FAILING", "SILENT", "OVERDUE"})
"""States in which the desk is blind to a feed: status exits 1."""
SILENT_HEARTBEATS = 3
"""An instance whose last heartbeat is older than this many of
``state.heartbeat_every`` is shown silent: dead, hung or cut off from the
state. A heartbeat or two late is a busy instance, not a lost one."""


@dataclass(frozen=True)
class _Row:
    feed: FeedSettings
    found: FeedHealth | None
    state: str
    interval: timedelta


def status(
    loaded: LoadedConfig, *, as_json: bool, console: Console, only_instances: bool = False
) -> ExitCode:
    """Every configured feed's health, then the instances (the text form);
    PROBLEMS when a feed is failing, silent or overdue. ``as_json``: the
    feeds only, one object each, as scripts read them; ``only_instances``:
    the instances only (one object each with ``as_json``), exit OK."""
    with open_store(loaded.state_location) as store:
        health = {feed.name: feed for feed in store.feed_health()}
        now = utc_now()
        recorded = store.instances(now=now)
    rows = [_row(loaded, feed, health.get(feed.name), now) for feed in loaded.config.feeds]
    instances = [
        _Instance(record, instance_silence(record, loaded.config.state.heartbeat_every, now))
        for record in recorded
    ]
    # Stored redacted since this version; older rows until the monitor starts.
    redactor = loaded.config.redactor()
    if only_instances:
        if as_json:
            for instance in instances:
                console.say(json.dumps(_instance_json(instance, now)))
        elif instances:
            _print_instances(instances, now, console)
        else:
            console.say("no instance has recorded a heartbeat in this state")
        return ExitCode.OK
    if as_json:
        for row in rows:
            console.say(json.dumps(_as_json(row, redactor)))
    else:
        _print_table(rows, redactor, now, console)
        if instances:
            _print_instances(instances, now, console)
    return _exit_code(row.state for row in rows)


@dataclass(frozen=True)
class _Instance:
    record: InstanceRecord
    silent_for: timedelta | None
    """How long it has gone without a heartbeat, when that makes it silent."""


def instance_silence(
    record: InstanceRecord, heartbeat_every: timedelta, now: datetime
) -> timedelta | None:
    """How long the instance has gone without a heartbeat, if longer than
    SILENT_HEARTBEATS of ``heartbeat_every`` (it is silent); else None."""
    quiet = now - record.last_heartbeat
    return quiet if quiet > SILENT_HEARTBEATS * heartbeat_every else None


def _instance_json(instance: _Instance, now: datetime) -> dict[str, Any]:
    record = instance.record
    return {
        "instance": f"{record.host}:{record.pid}",
        "host": record.host,
        "pid": record.pid,
        "started": record.started_at.isoformat(),
        "last_heartbeat": record.last_heartbeat.isoformat(),
        "heartbeat_age_seconds": max(0.0, (now - record.last_heartbeat).total_seconds()),
        "version": record.version,
        "feeds_claimed": record.feeds_claimed,
        "silent": instance.silent_for is not None,
    }


def _print_instances(instances: Sequence[_Instance], now: datetime, console: Console) -> None:
    """The instances sharing the state, after the feeds: a silent one is
    named as such, with what becomes of the feeds it held."""
    host_width = max(len("HOST"), *(len(i.record.host) for i in instances))
    version_width = max(len("VERSION"), *(len(i.record.version) for i in instances))
    console.say("")
    console.say(
        f"{'HOST':<{host_width}} {'PID':>7} {'STARTED':<20} {'LAST HEARTBEAT':<16} "
        f"{'VERSION':<{version_width}} {'FEEDS':>5}"
    )
    for instance in instances:
        record = instance.record
        started = record.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        line = (
            f"{record.host:<{host_width}} {record.pid:>7} {started:<20} "
            f"{span(now - record.last_heartbeat) + ' ago':<16} "
            f"{record.version:<{version_width}} {record.feeds_claimed:>5}"
        )
        if instance.silent_for is not None:
            line += (
                f"  SILENT: no heartbeat for {span(instance.silent_for)}; "
                "its leases pass to others as they end"
            )
        console.say(line)
    silent = sum(i.silent_for is not None for i in instances)
    console.say(f"{counted(len(instances), 'instance')}, {silent} silent")


def _row(loaded: LoadedConfig, feed: FeedSettings, found: FeedHealth | None, now: datetime) -> _Row:
    state, interval = configured_feed_status(
        loaded.config,
        feed,
        found,
        polled=found is not None and found.last_polled_at is not None,
        incidents=found.incidents if found else (),
        now=now,
    )
    return _Row(feed, found, status_label(state), interval)


def status_label(status: FeedStatus) -> str:
    """As `monitor status` shows it: a problem in capitals."""
    if status is FeedStatus.NEVER_POLLED:
        return "never polled"
    return status.value if status is FeedStatus.OK else status.value.upper()


def _exit_code(states: Iterable[str]) -> ExitCode:
    """PROBLEMS when a feed is failing, silent or overdue: the desk is blind to it."""
    return ExitCode.PROBLEMS if any(s in BLIND_STATES for s in states) else ExitCode.OK


def _as_json(row: _Row, redactor: Redactor) -> dict[str, Any]:
    feed, found, state = row.feed, row.found, row.state
    return {
        "feed": feed.name,
        "url": redactor.url(feed.url),
        "tags": list(feed.tags),
        "state": state,
        "last_success": _iso(found.last_success_at if found else None),
        "last_polled": _iso(found.last_polled_at if found else None),
        "last_error": redactor.text(found.last_error) if found and found.last_error else None,
        "last_error_kind": found.last_error_kind if found else None,
        "consecutive_failures": found.consecutive_failures if found else 0,
        "failing_since": _iso(found.failing_since if found else None),
        "last_new_item": _iso(found.last_item_at if found else None),
        "publish_gap_seconds": found.publish_gap.total_seconds()
        if found and found.publish_gap
        else None,
        "interval_seconds": row.interval.total_seconds(),
        "next_poll": _iso(found.next_poll_at if found else None),
        "items_seen": found.items_seen if found else 0,
        "alerts_raised": found.alerts_raised if found else 0,
        "open_incidents": list(found.incidents) if found else [],
        "watched_since": _iso(found.first_success_at if found else None),
        "stale_at_first_read": state == "STALE",
        "overdue": state == "OVERDUE",
    }


def _print_table(rows: Sequence[_Row], redactor: Redactor, now: datetime, console: Console) -> None:
    console.say(
        f"{'FEED':<24} {'STATE':<13} {'LAST SUCCESS':<14} {'FAILS':>5} {'LAST NEW':<14} "
        f"{'EVERY':>6} {'NEXT POLL':<12} {'ITEMS':>6} {'ALERTS':>6}  LAST ERROR"
    )
    for row in rows:
        console.say(_table_line(row, redactor, now))
    failing = sum(row.state == "FAILING" for row in rows)
    silent = sum(row.state == "SILENT" for row in rows)
    stale = sum(row.state == "STALE" for row in rows)
    overdue = sum(row.state == "OVERDUE" for row in rows)
    console.say(
        f"{counted(len(rows), 'feed')}, {failing} failing, {silent} silent"
        + (f", {overdue} overdue" if overdue else "")
        + (f", {stale} stale at first read" if stale else "")
    )
    if overdue:
        console.warn(
            f"{counted(overdue, 'feed')} not polled for longer than "
            f"max(ops.failing_after, {OVERDUE_INTERVALS} x {'its' if overdue == 1 else 'their'} "
            "interval): is `monitor run` running? What status shows of "
            f"{'it' if overdue == 1 else 'them'} is out of date."
        )


def _table_line(row: _Row, redactor: Redactor, now: datetime) -> str:
    feed, found, state = row.feed, row.found, row.state
    success = relative_time(found.last_success_at, now) if found and found.last_success_at else "-"
    newest = relative_time(found.last_item_at, now) if found and found.last_item_at else "-"
    next_poll = time_until(found.next_poll_at, now) if found and found.next_poll_at else "-"
    error = (
        f"{found.last_error_kind}: {redactor.text(found.last_error)}"
        if found and found.last_error
        else ""
    )
    if state == "STALE" and found and found.first_success_at and found.last_item_at:
        age = span(found.first_success_at - found.last_item_at)
        error = f"stale at first read: newest item was {age} old"
    if state == "OVERDUE" and found and found.next_poll_at:
        next_poll = "overdue"
        error = f"poll due {span(now - found.next_poll_at)} ago: is monitor run running?"
    every = format_duration(timedelta(seconds=round(row.interval.total_seconds())))
    return (
        f"{feed.name:<24} {state:<13} {success:<14} {found.consecutive_failures if found else 0:>5} "
        f"{newest:<14} {every:>6} "
        f"{next_poll:<12} {found.items_seen if found else 0:>6} {found.alerts_raised if found else 0:>6}  "
        f"{error[:100]}"
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
