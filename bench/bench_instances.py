"""One `monitor run` instance against two on one PostgreSQL schema.

    python3 bench/bench_instances.py [--feeds 5000] [--delay 100] [--seconds 30]
                                     [--concurrency 8] [--settle 5] [--quick]
                                     [--postgres-url URL]

A feed server of its own process (``--serve``, see server_process.py) serves
``--feeds`` generated RSS documents on loopback, each answer held back
``--delay`` milliseconds (a slow publisher: the polls wait on the network,
not on the CPU); the even-numbered feeds answer 304 to their ETag, the odd
ones the same bytes again. The server counts the requests it answers.

The monitors are whole `monitor run` processes on one fresh schema of the
server (``state.url``), the shipped rules, ``fetch.concurrency`` poll threads
each (``per_host`` as many: every feed is on one host here), every feed's
interval 1 s, so that every feed is always due and the instances poll as
fast as they can. The first instance polls each feed once (the cold pass,
not measured); then, for ``--seconds`` each:

  one       the first instance alone;
  two       both, once the second has started and polled for a while.

Measured in each window: feeds polled per second (requests counted at the
feed server, whichever instance made them), the CPU seconds of the monitor
processes (each with its parse workers) and of every ``postgres`` process,
reaped backends included (psutil; skipped with a note without it), and the
database's share of the two. The same is then run on a fast server (no
delay) for context, where the work is the CPU's and two instances on a
small machine share its cores. Reported: both windows and the ratio two /
one; the target is two instances polling at least 1.6x the feeds per second
of one on the slow server. The schemas are dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
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

DEFAULT_POSTGRES_URL = "postgresql://127.0.0.1:5432/test"
POSTGRES_URL_ENV = "MONITOR_TEST_POSTGRES_URL"
ITEMS = 5
TARGET = 1.6
"""Two instances' feeds per second at least this many times one's (slow server)."""
RUNNING = "monitor running:"
Speed = Literal["slow", "fast"]


# --- the feed server (its own process) -------------------------------------------------


class CountingFeeds(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many poll threads connect at once; the default backlog drops some

    def __init__(self, feeds: int, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.feeds = feeds
        self.delay = delay
        self.lock = threading.Lock()
        self.requests = 0
        self.seen: set[int] = set()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.bodies = [
            render_feed(feed, top=ITEMS + 1, items=ITEMS, start=start) for feed in range(feeds)
        ]

    def count(self, feed: int) -> None:
        with self.lock:
            self.requests += 1
            self.seen.add(feed)


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: CountingFeeds

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/__count":
            with self.server.lock:
                answer = {"requests": self.server.requests, "seen": len(self.server.seen)}
            self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})
            return
        number = self.path.removeprefix("/feeds/")
        if not self.path.startswith("/feeds/") or not number.isdigit():
            self._send(404, b"no such feed\n", {"Content-Type": "text/plain"})
            return
        feed = int(number)
        if self.server.delay > 0:
            time.sleep(self.server.delay)
        self.server.count(feed)
        headers = {"Content-Type": "application/rss+xml"}
        if feed % 2 == 0:  # validators and 304s; the odd feeds send the same bytes again
            headers["ETag"] = f'"{feed}"'
            if self.headers.get("If-None-Match") == headers["ETag"]:
                self._send(304, b"", {"ETag": headers["ETag"]})
                return
        self._send(200, self.server.bodies[feed], headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(feeds: int, delay: float) -> None:
    """Serve until stdin closes; the first line on stdout is the port."""
    with CountingFeeds(feeds, delay) as server:
        serve_until_stdin_closes(server, server.server_address[1])


def counts(base_url: str) -> tuple[int, int]:
    """Requests answered so far, and how many feeds were asked for at least once."""
    with urllib.request.urlopen(f"{base_url}/__count", timeout=10) as answer:
        data = json.loads(answer.read())
    return int(data["requests"]), int(data["seen"])


# --- state and instances --------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    name: str
    """Also the application name of the instances' connections."""
    url: str
    """The ``state.url`` naming it, and naming the connections after it."""


@contextlib.contextmanager
def postgres_schema(server_url: str) -> Iterator[Schema]:
    """A fresh schema on the server, dropped after."""
    import psycopg
    from psycopg import sql

    name = f"bench_instances_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    separator = "&" if "?" in server_url else "?"
    try:
        yield Schema(
            name, f"{server_url}{separator}options=-csearch_path%3D{name}&application_name={name}"
        )
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def write_config(directory: Path, state_url: str, base_url: str, args: argparse.Namespace) -> Path:
    return write_fleet_config(
        directory,
        f"url = {json.dumps(state_url)}",
        base_url,
        feeds=args.feeds,
        concurrency=args.concurrency,
        interval="1s",
    )


class Instance:
    """One `monitor run` process, its log in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        env = {
            k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")
        }
        self.log = log
        with log.open("w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env=env,
            )

    def wait_running(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while RUNNING not in self.log.read_text(encoding="utf-8", errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RuntimeError(f"monitor run did not start:\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- CPU (psutil) ---------------------------------------------------------------------


def psutil_present() -> bool:
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def tree_cpu(pid: int) -> float:
    """CPU seconds of the process ``pid`` and its live children (parse workers)."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
    return total


def backends_cpu(server_url: str, application: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving a connection named
    ``application`` (the instances' ``state.url`` sets it), by pid."""
    import psutil
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchall()
    cpu: dict[int, float] = {}
    for (pid,) in rows:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = psutil.Process(pid).cpu_times()
            cpu[pid] = times.user + times.system
    return cpu


def postgres_cpu() -> float:
    """CPU seconds of every postgres process so far, reaped backends included:
    the whole server, whoever else uses it."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "postgres":
            continue
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


# --- one measured window --------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    speed: Speed
    instances: int
    seconds: float
    polls: int
    monitor_cpu: float | None
    """The monitor processes' CPU seconds (parse workers included)."""
    backends_cpu: float | None
    """The CPU seconds of the PostgreSQL backends serving them."""
    server_cpu: float | None
    """The CPU seconds of every postgres process: background writers too, and
    whoever else uses the server meanwhile."""

    @property
    def rate(self) -> float:
        return self.polls / self.seconds

    @property
    def database_share(self) -> float | None:
        """The backends' part of the monitors' and backends' CPU."""
        if self.monitor_cpu is None or self.backends_cpu is None:
            return None
        total = self.monitor_cpu + self.backends_cpu
        return self.backends_cpu / total if total > 0 else None


def measure(
    speed: Speed, running: list[Instance], base_url: str, schema: Schema, args: argparse.Namespace
) -> Window:
    cpu = psutil_present()
    pids = [instance.process.pid for instance in running]
    if cpu:
        monitor_before = sum(tree_cpu(pid) for pid in pids)
        backends_before = backends_cpu(args.postgres_url, schema.name)
        server_before = postgres_cpu()
    polls_before, _ = counts(base_url)
    started = time.perf_counter()
    time.sleep(args.seconds)
    polls_after, _ = counts(base_url)
    elapsed = time.perf_counter() - started
    monitor, backends, server = None, None, None
    if cpu:
        monitor = sum(tree_cpu(pid) for pid in pids) - monitor_before
        # A backend that appeared in the window did all its work in it.
        after = backends_cpu(args.postgres_url, schema.name)
        backends = sum(used - backends_before.get(pid, 0.0) for pid, used in after.items())
        server = postgres_cpu() - server_before
    return Window(
        speed, len(running), elapsed, polls_after - polls_before, monitor, backends, server
    )


def wait_for(condition: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def show(window: Window) -> None:
    share = "-" if window.database_share is None else f"{window.database_share:.0%}"
    print(
        f"{window.speed:<6} {window.instances:>9} {window.seconds:>7.1f} {window.polls:>7} "
        f"{window.rate:>8.1f} {seconds(window.monitor_cpu):>10} "
        f"{seconds(window.backends_cpu):>11} {share:>8} {seconds(window.server_cpu):>11}",
        flush=True,
    )


def run_speed(speed: Speed, delay: float, args: argparse.Namespace, scratch: Path) -> list[Window]:
    """The cold pass, then one instance and two, against a server of ``delay`` seconds."""
    command = [sys.executable, __file__, "--serve", f"--feeds={args.feeds}", f"--delay={delay}"]
    directory = scratch / speed
    directory.mkdir()
    with server_process(command) as base_url, postgres_schema(args.postgres_url) as schema:
        print(f"{speed}: {base_url}, state in the schema {schema.name}", flush=True)
        config = write_config(directory, schema.url, base_url, args)
        first = Instance(config, directory / "first.log")
        running = [first]
        try:
            first.wait_running()
            wait_for(
                lambda: counts(base_url)[1] >= args.feeds,
                "the cold pass (every feed polled once)",
                timeout=max(600.0, args.feeds * (delay + 0.05)),
            )
            time.sleep(args.settle)
            windows = [measure(speed, running, base_url, schema, args)]
            show(windows[-1])
            second = Instance(config, directory / "second.log")
            running.append(second)
            second.wait_running()
            time.sleep(args.settle)
            windows.append(measure(speed, running, base_url, schema, args))
            show(windows[-1])
        finally:
            for instance in running:
                instance.stop()
    return windows


def report(windows: list[Window]) -> bool:
    met = True
    print()
    for speed in ("slow", "fast"):
        mine = {w.instances: w for w in windows if w.speed == speed}
        if 1 not in mine or 2 not in mine:
            continue
        ratio = mine[2].rate / mine[1].rate if mine[1].rate > 0 else float("inf")
        line = f"{speed}: two instances poll {ratio:.2f}x the feeds per second of one"
        if speed == "slow":
            ok = ratio >= TARGET
            met &= ok
            line += f" (target >= {TARGET:.1f}x: {'met' if ok else 'MISSED'})"
        else:
            line += " (for context: the CPU's work, shared by both on this machine)"
        print(line)
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, help="default 5000 (--quick: 300)")
    parser.add_argument(
        "--delay", type=float, default=100.0, help="milliseconds each answer is held back"
    )
    parser.add_argument(
        "--seconds", type=float, help="length of each window (default 30; --quick: 8)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="fetch.concurrency")
    parser.add_argument(
        "--settle", type=float, help="seconds before a window, once started (default 5; --quick: 2)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="300 feeds, windows of 8 s, unless told otherwise"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, "").strip() or DEFAULT_POSTGRES_URL,
        help=f"the server and database (default: ${POSTGRES_URL_ENV}, else the local one)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.feeds, args.delay)
        return 0
    quick = (300, 8.0, 2.0) if args.quick else (5000, 30.0, 5.0)
    args.feeds = args.feeds if args.feeds is not None else quick[0]
    args.seconds = args.seconds if args.seconds is not None else quick[1]
    args.settle = args.settle if args.settle is not None else quick[2]
    if args.feeds < 1 or args.seconds <= 0 or args.delay < 0 or not 1 <= args.concurrency <= 64:
        parser.error("--feeds >= 1, --seconds > 0, --delay >= 0, --concurrency 1..64")
    print(
        f"{args.feeds} feeds, fetch.concurrency={args.concurrency} per instance, every "
        f"feed due every second; state on {args.postgres_url}"
    )
    if not psutil_present():
        print("psutil is not installed (pip install '.[bench]'): the CPU figures are skipped")
    header = (
        f"{'server':<6} {'instances':>9} {'window':>7} {'polls':>7} {'feeds/s':>8} "
        f"{'monitor s':>10} {'backends s':>11} {'db share':>8} {'all pg s':>11}"
    )
    print(header)
    print("-" * len(header))
    windows: list[Window] = []
    speeds: tuple[tuple[Speed, float], ...] = (("slow", args.delay / 1000), ("fast", 0.0))
    with tempfile.TemporaryDirectory(prefix="bench-instances-") as scratch:
        for speed, delay in speeds:
            windows += run_speed(speed, delay, args, Path(scratch))
    report(windows)
    print(
        f"\nslow: each answer held {args.delay:g} ms; fast: no delay. CPU seconds in the "
        "window: monitor s, the monitor processes'; backends s, the PostgreSQL backends "
        "serving them; db share, the backends' part of the two; all pg s, every postgres "
        "process (background writers, and anyone else using the server meanwhile)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
