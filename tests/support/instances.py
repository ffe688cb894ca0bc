"""Several `monitor run` processes on one PostgreSQL schema (issue 19): the
real CLI, the loopback feed server and the Slack emulator, as a desk runs
two or three replicas against one database.

What the harness adds to the single-process end-to-end tests
(tests/test_e2e.py): a feed server that notes when each request arrived, on
the wall clock the monitors store their next polls by, so a test can check
that no feed was fetched twice within its interval whoever polled it; a
config for several instances (short claim ticks and heartbeats, the health
server on a free port); the fleet of processes, stopped all at once or one
killed; and a look into the shared state (who holds a feed's lease, who is
sending an alert) to pick the process to kill.
"""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from monitor.store.claims import ClaimOwner
from tests.support.feed_server import FeedServer, RecordedRequest
from tests.support.feeds import Entry
from tests.support.postgres import create_schema, drop_schema, require_server, schema_name
from tests.test_e2e import TOKEN, RunningMonitor

__all__ = [
    "CHANNEL",
    "TOKEN",
    "Fleet",
    "InstanceFeed",
    "TimedFeedServer",
    "alert_statuses",
    "fleet_config",
    "headline",
    "lease_holders",
    "sender_of",
    "shared_schema",
    "watch_rule",
]

CHANNEL = "#watch-desk"
RULE_TITLE = "Alpha watch"
RUNNING = "monitor running:"
"""The line `monitor run` logs once its schedule runs."""
_HEALTH_PORT = re.compile(r"serving /healthz and /metrics on http://[\d.]+:(\d+)/")


class TimedFeedServer(FeedServer):
    """A FeedServer that notes when each request arrived (``time.time()``,
    the wall clock a monitor computes a feed's next poll by).

    The moment is taken before the answer is sent, so it precedes the
    monitor's reading of its clock after the fetch, from which the next poll
    is counted: two fetches of one path by any instances are then at least
    the feed's interval apart, to the clock's granularity."""

    def __init__(self) -> None:
        super().__init__()
        self._arrivals: list[tuple[str, float]] = []

    def _request_started(self, request: RecordedRequest, host: str) -> None:
        arrived = time.time()
        with self._lock:
            self._arrivals.append((request.path.split("?", 1)[0], arrived))
        super()._request_started(request, host)

    def arrivals(self, path: str) -> list[float]:
        """When each request for ``path`` arrived, in order."""
        with self._lock:
            return [at for seen, at in self._arrivals if seen == path]


@dataclass(frozen=True)
class InstanceFeed:
    """A feed of the fleet's config: its path on the feed server and interval."""

    name: str
    path: str
    interval: float
    """Seconds between polls (the feed's fixed ``interval``)."""


def watch_rule(directory: Path) -> Path:
    """A rules directory with one critical rule on the word "alpha": a
    critical alert is neither held for its story nor rolled into a storm
    summary, so each matching item is one post of its own."""
    rules = directory / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "alpha.yaml").write_text(
        f"id: alpha-watch\ntitle: {RULE_TITLE}\nseverity: critical\nmatch:\n  any: [alpha]\n",
        encoding="utf-8",
    )
    return rules


_SYLLABLES = ("ba", "ko", "ri", "tu", "me", "sa", "lo", "pi", "ne", "du", "fa", "gi", "vo", "ze")


def _word(number: int) -> str:
    parts = []
    for _ in range(3):
        number, index = divmod(number, len(_SYLLABLES))
        parts.append(_SYLLABLES[index])
    return "".join(parts)


def headline(feed: int, wave: int, published: datetime | None) -> tuple[str, Entry]:
    """The marker of item ``wave`` of feed number ``feed`` and a matching
    item carrying it. The marker (``k07x1q``) appears in its post's text
    and nowhere else; the rest of the title is words no other item uses,
    so that no two items read as one story."""
    marker = f"k{feed:02d}x{wave}q"
    start = (feed * 10 + wave) * 4
    words = " ".join(_word(start + k) for k in range(4))
    link = f"https://news.example/{marker}"
    return marker, Entry(
        f"Alpha {marker} {words}", link=link, guid=link, summary=words, published=published
    )


def fleet_config(
    directory: Path,
    feeds: Sequence[InstanceFeed],
    *,
    feed_base: str,
    state_url: str,
    slack_api_url: str,
    rules_dir: Path,
    feed_lease: str = "10s",
    slack_timeout: str = "5s",
    min_interval: str = "50ms",
    fetch_timeout: str = "5s",
    concurrency: int = 4,
) -> Path:
    """A config.toml for several instances on the schema ``state_url``:
    claims every 200 ms, a heartbeat a second, leases of ``feed_lease`` and
    10 s for the sender; the health server on a free port (logged); the
    parsing in the poll threads (small feeds; fewer processes on a small
    machine); every feed on the loopback host, ``concurrency`` at a time."""
    lines = [
        "[state]",
        f"url = {json.dumps(state_url)}",
        f'feed_lease = "{feed_lease}"',
        'claim_every = "200ms"',
        'heartbeat_every = "1s"',
        'sender_lease = "10s"',
        "[rules]",
        f"dir = {json.dumps(str(rules_dir))}",
        "[slack]",
        f'channel = "{CHANNEL}"',
        f"api_url = {json.dumps(slack_api_url)}",
        f'timeout = "{slack_timeout}"',
        f'min_interval = "{min_interval}"',
        "[fetch]",
        f'timeout = "{fetch_timeout}"',
        'connect_timeout = "2s"',
        f"concurrency = {concurrency}",
        f"per_host = {min(concurrency, 16)}",
        "parse_processes = 0",
        "[server]",
        "port = 0",
        "[delivery]",
        'interval = "1s"',
        "[stories]",
        "hold = {}",
    ]
    for feed in feeds:
        lines += [
            "[[feeds]]",
            f'name = "{feed.name}"',
            f'url = "{feed_base}{feed.path}"',
            'tags = ["news"]',
            f'interval = "{feed.interval:g}s"',
        ]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def shared_schema(key: str) -> Iterator[str]:
    """A fresh schema of the test server for ``key`` (a test's tmp path):
    the ``state.url`` every instance names; dropped after. Skips, saying
    why, when no server answers."""
    require_server()
    name = schema_name(key)
    drop_schema(name)
    try:
        yield create_schema(name)
    finally:
        drop_schema(name)


def _query(state_url: str, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(state_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def lease_holders(state_url: str, feeds: Sequence[str]) -> dict[str, int]:
    """The pid of the instance holding each of ``feeds`` leased now (those
    leased to nobody are left out)."""
    rows = _query(
        state_url,
        "SELECT feed, owner FROM feed_leases WHERE feed = ANY(%s) AND owner IS NOT NULL "
        "AND until > now()",
        (list(feeds),),
    )
    held: dict[str, int] = {}
    for row in rows:
        owner = ClaimOwner.parse(row["owner"])
        if owner is not None:
            held[row["feed"]] = owner.pid
    return held


def sender_of(state_url: str, link: str) -> int | None:
    """The pid of the instance sending the alert of the item at ``link`` now
    (its outbox claim), None when nobody is."""
    rows = _query(
        state_url,
        "SELECT claimed_by FROM alerts WHERE item_link = %s AND status = 'sending'",
        (link,),
    )
    owners = [ClaimOwner.parse(row["claimed_by"]) for row in rows]
    return next((owner.pid for owner in owners if owner is not None), None)


def alert_statuses(state_url: str) -> dict[str, int]:
    """How many alerts the shared outbox holds, by status."""
    rows = _query(state_url, "SELECT status, COUNT(*) AS n FROM alerts GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}


class Fleet:
    """`monitor run` processes on one config, started, stopped or killed
    one by one; whatever is still running at :meth:`close` is killed."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.monitors: list[RunningMonitor] = []
        self._gone: set[int] = set()

    def start(self, count: int = 1) -> list[RunningMonitor]:
        """``count`` more processes, each once its schedule runs."""
        started = [RunningMonitor(self.config) for _ in range(count)]
        self.monitors += started
        for monitor in started:
            monitor.wait_for_log(RUNNING)
        return started

    @property
    def alive(self) -> list[RunningMonitor]:
        return [m for m in self.monitors if m.process.pid not in self._gone]

    def by_pid(self, pid: int) -> RunningMonitor:
        (found,) = [m for m in self.monitors if m.process.pid == pid]
        return found

    def kill(self, monitor: RunningMonitor) -> None:
        """SIGKILL: nothing recorded, nothing released."""
        self._gone.add(monitor.process.pid)
        monitor.kill()

    def stop(self) -> list[str]:
        """SIGTERM to each live process in turn (one signal each: a second,
        once its handlers are gone, would end it by the default action);
        each one's log once it exited 0."""
        logs = []
        for monitor in self.alive:
            self._gone.add(monitor.process.pid)
            logs.append(monitor.stop(signal.SIGTERM))
        return logs

    def close(self) -> None:
        for monitor in self.alive:
            if monitor.process.poll() is None:
                self.kill(monitor)

    @staticmethod
    def healthz(monitor: RunningMonitor) -> tuple[int, dict[str, Any]]:
        """The status and JSON body of the instance's /healthz."""
        port = _HEALTH_PORT.search(monitor.log)
        assert port is not None, f"the instance logged no health port:\n{monitor.log}"
        url = f"http://127.0.0.1:{port.group(1)}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())
