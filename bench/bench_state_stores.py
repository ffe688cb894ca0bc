"""One monitor instance with its state on SQLite against PostgreSQL.

    python3 bench/bench_state_stores.py [--feeds 5000] [--cycles 5] [--quick]
                                        [--concurrency 4] [--postgres-url URL]

A feed server of its own process (``--serve``, see server_process.py) serves
``--feeds`` generated RSS documents of 20 items each on loopback. Cycle 0 is
cold: every feed is read for the first time into empty state. In each later
cycle (set through ``/__cycle/N``) one feed in ``--changed-every`` gains two
new items; of the others, the even-numbered answer 304 to their ETag and the
odd-numbered, which send no validators, answer 200 with the same bytes.

Each cycle is one whole ``monitor once`` process per store, as cron runs it
(start, load the rules, poll every feed, deliver, prune, exit), with the
shipped rules and ``fetch.concurrency`` poll threads: one on a SQLite file
(``state.path``), one on a fresh schema of the PostgreSQL server
(``state.url``, the schema as its search path), the order of the two swapped
every cycle, both on the same documents.

Measured per process: wall seconds, CPU seconds of the monitor and every
process it reaped (``getrusage(RUSAGE_CHILDREN)`` around it, parse workers
included), feeds polled per second (feeds / wall), and the PostgreSQL
server's CPU in the same span: the user + system seconds of every
``postgres`` process, reaped backends included (psutil, as root or as the
server's user). The server is shared with whatever else runs on the host, so
its CPU is also taken during the SQLite processes, as the background.
Reported: each run, medians of the cold and the warm cycles, and the ratios
PostgreSQL / SQLite (the target: a PostgreSQL cycle's wall within 20 % of
SQLite's). The schema and the temporary directory are removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from fleet_config import render_feed, write_fleet_config  # noqa: E402
from server_process import serve_until_stdin_closes, server_process  # noqa: E402

Store = Literal["sqlite", "postgres"]
STORES: tuple[Store, Store] = ("sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgresql://127.0.0.1:5432/test"
POSTGRES_URL_ENV = "MONITOR_TEST_POSTGRES_URL"
ITEMS = 20
NEW_ITEMS = 2
TARGET = 1.20
"""PostgreSQL's wall time at most this many times SQLite's."""
SUMMARY = re.compile(r"polled (\d+) feeds?: (\d+) read, (\d+) failed; (\d+) new alerts?")


# --- the feed server (its own process) -------------------------------------------------


def times_changed(feed: int, cycle: int, every: int) -> int:
    """How many of the cycles 1..``cycle`` gave ``feed`` new items."""
    return sum(1 for past in range(1, cycle + 1) if (feed + past) % every == 0)


class GeneratedFeeds(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, feeds: int, changed_every: int) -> None:
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.feeds = feeds
        self.changed_every = changed_every
        self.cycle = 0
        self.lock = threading.Lock()
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
        self.bodies: dict[tuple[int, int], bytes] = {}

    def document(self, feed: int) -> tuple[bytes, int]:
        """The feed's document at the current cycle, and its newest item's number."""
        with self.lock:
            top = ITEMS + NEW_ITEMS * times_changed(feed, self.cycle, self.changed_every)
            body = self.bodies.get((feed, top))
        if body is None:
            body = render_feed(feed, top=top, items=ITEMS, start=self.start)
            with self.lock:
                self.bodies[(feed, top)] = body
        return body, top


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: GeneratedFeeds

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/__cycle/"):
            with self.server.lock:
                self.server.cycle = int(self.path.removeprefix("/__cycle/"))
            self._send(200, b"ok\n", {"Content-Type": "text/plain"})
            return
        number = self.path.removeprefix("/feeds/")
        if not self.path.startswith("/feeds/") or not number.isdigit():
            self._send(404, b"no such feed\n", {"Content-Type": "text/plain"})
            return
        feed = int(number)
        body, top = self.server.document(feed)
        headers = {"Content-Type": "application/rss+xml"}
        if feed % 2 == 0:  # validators and 304s; the odd feeds send the same bytes again
            headers["ETag"] = f'"{feed}-{top}"'
            if self.headers.get("If-None-Match") == headers["ETag"]:
                self._send(304, b"", {"ETag": headers["ETag"]})
                return
        self._send(200, body, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(feeds: int, changed_every: int) -> None:
    """Serve until stdin closes; the first line on stdout is the port."""
    with GeneratedFeeds(feeds, changed_every) as server:
        serve_until_stdin_closes(server, server.server_address[1])


# --- the two states -------------------------------------------------------------------


@contextlib.contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A fresh schema on the server; yields the state.url naming it, drops it after."""
    import psycopg
    from psycopg import sql

    name = f"bench_stores_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def write_config(directory: Path, state: str, base_url: str, args: argparse.Namespace) -> Path:
    return write_fleet_config(
        directory, state, base_url, feeds=args.feeds, concurrency=args.concurrency, interval="5m"
    )


# --- one `monitor once` ---------------------------------------------------------------


def postgres_cpu() -> float:
    """CPU seconds of every postgres process so far, reaped backends included
    (the postmaster's children times)."""
    import psutil  # type: ignore[import-untyped,unused-ignore]

    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "postgres":
            continue
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Run:
    store: Store
    cycle: int
    wall: float
    cpu: float
    server_cpu: float
    polled: int
    read: int
    failed: int
    alerts: int

    @property
    def rate(self) -> float:
        return self.polled / self.wall


def monitor_once(store: Store, cycle: int, config: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")}
    command = [sys.executable, "-m", "monitor", "once", "--config", str(config)]
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        server_before, cpu_before = postgres_cpu(), children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        wall = time.perf_counter() - started
        cpu, server_cpu = children_cpu() - cpu_before, postgres_cpu() - server_before
        found = SUMMARY.search(done.stdout)
        if found is None:
            log.seek(0)
            tail = "\n".join(log.read().splitlines()[-20:])
            raise RuntimeError(f"monitor once on {store} exited {done.returncode}:\n{tail}")
    polled, read, failed, alerts = (int(group) for group in found.groups())
    return Run(store, cycle, wall, cpu, server_cpu, polled, read, failed, alerts)


def show(run: Run) -> None:
    print(
        f"{run.cycle:>5} {run.store:<8} {run.wall:>7.2f} {run.cpu:>7.2f} {run.rate:>8.0f} "
        f"{run.server_cpu:>7.2f}  {run.read}/{run.polled} read, {run.failed} failed, "
        f"{run.alerts} alerts",
        flush=True,
    )


# --- report ---------------------------------------------------------------------------


def median(runs: list[Run], figure: str) -> float:
    return statistics.median(float(getattr(run, figure)) for run in runs)


def report(runs: list[Run], args: argparse.Namespace) -> bool:
    phases = {"cold (cycle 0)": [r for r in runs if r.cycle == 0]}
    phases[f"warm (medians of {args.cycles})"] = [r for r in runs if r.cycle > 0]
    print(
        f"\n{args.feeds} feeds, fetch.concurrency={args.concurrency}; PostgreSQL / SQLite, "
        "whole `monitor once` processes"
    )
    header = (
        f"{'phase':<22} {'store':<8} {'wall s':>7} {'CPU s':>7} {'feeds/s':>8} "
        f"{'pg CPU s':>8} {'CPU+pg':>7}"
    )
    print(header)
    print("-" * len(header))
    met = True
    for phase, chosen in phases.items():
        if not chosen:
            continue
        figures: dict[str, dict[str, float]] = {}
        for store in STORES:
            mine = [r for r in chosen if r.store == store]
            figures[store] = {
                key: median(mine, key) for key in ("wall", "cpu", "rate", "server_cpu")
            }
            fig = figures[store]
            print(
                f"{phase:<22} {store:<8} {fig['wall']:>7.2f} {fig['cpu']:>7.2f} "
                f"{fig['rate']:>8.0f} {fig['server_cpu']:>8.2f} "
                f"{fig['cpu'] + fig['server_cpu']:>7.2f}"
            )
        sqlite, postgres = figures["sqlite"], figures["postgres"]
        wall = postgres["wall"] / sqlite["wall"]
        ok = wall <= TARGET
        met &= ok
        server_share = postgres["server_cpu"] / (postgres["cpu"] + postgres["server_cpu"])
        print(
            f"{'':<22} ratio    wall {wall:.2f}x, CPU {postgres['cpu'] / sqlite['cpu']:.2f}x, "
            f"feeds/s {postgres['rate'] / sqlite['rate']:.2f}x, CPU with the server's "
            f"{(postgres['cpu'] + postgres['server_cpu']) / (sqlite['cpu'] + sqlite['server_cpu']):.2f}x; "
            f"the server's share {server_share:.0%} of the PostgreSQL runs' CPU; "
            f"target wall <= {TARGET:.2f}x: {'met' if ok else 'MISSED'}"
        )
    background = [r.server_cpu for r in runs if r.store == "sqlite"]
    print(
        f"\nthe PostgreSQL server's CPU during the SQLite runs (other users of the server): "
        f"median {statistics.median(background):.2f} s"
    )
    failed = sum(r.failed for r in runs)
    if failed:
        print(f"{failed} polls FAILED")
    print(f"\ntarget: {'met' if met else 'MISSED'}")
    return met


# --- main -----------------------------------------------------------------------------


def run_bench(args: argparse.Namespace) -> list[Run]:
    directory = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    runs: list[Run] = []
    command = [sys.executable, __file__, "--serve", f"--feeds={args.feeds}"]
    command.append(f"--changed-every={args.changed_every}")
    try:
        with server_process(command) as base_url, postgres_schema(args.postgres_url) as url:
            configs = {
                "sqlite": write_config(
                    directory / "sqlite",
                    f"path = {json.dumps(str(directory / 'state.db'))}",
                    base_url,
                    args,
                ),
                "postgres": write_config(
                    directory / "postgres", f"url = {json.dumps(url)}", base_url, args
                ),
            }
            schema = url.rsplit("%3D", 1)[1]
            print(
                f"{args.feeds} feeds on {base_url}; state in {directory} and in the schema "
                f"{schema} on {args.postgres_url}"
            )
            print(
                f"{'cycle':>5} {'store':<8} {'wall s':>7} {'CPU s':>7} {'feeds/s':>8} {'pg CPU':>7}"
            )
            for cycle in range(args.cycles + 1):
                with urllib.request.urlopen(f"{base_url}/__cycle/{cycle}", timeout=10) as answer:
                    answer.read()
                order = STORES if cycle % 2 == 0 else STORES[::-1]
                for store in order:
                    runs.append(monitor_once(store, cycle, configs[store]))
                    show(runs[-1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=5, help="warm cycles after the cold one")
    parser.add_argument("--quick", action="store_true", help="300 feeds, 3 warm cycles")
    parser.add_argument("--concurrency", type=int, default=4, help="fetch.concurrency")
    parser.add_argument(
        "--changed-every", type=int, default=10, help="one feed in N has new items a cycle"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL,
        help=f"the server and database (default: ${POSTGRES_URL_ENV}, else the local one)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.feeds, args.changed_every)
        return 0
    if args.quick:
        args.feeds, args.cycles = 300, 3
    if args.feeds < 1 or args.cycles < 1:
        parser.error("--feeds and --cycles must be 1 or more")
    runs = run_bench(args)
    report(runs, args)
    return 1 if any(run.failed for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
