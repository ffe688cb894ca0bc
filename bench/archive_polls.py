"""Part 3 of bench_archive.py: what the archive adds to a poll cycle.

A feed server of its own process (``--serve``) serves ``feeds`` RSS
documents of ``items`` items each, made from the corpus (archive_items.py);
each cycle (set through ``/__cycle/N``) every document gains ``new`` items
and drops as many. A worker process (``--worker``) builds two Monitors on
the same feeds, one with ``[archive] enabled = false`` and one with true,
each on its own state database, and runs ``poll_all`` with each in turns,
the order swapped every cycle, after a first cycle that reads every feed's
backlog. Per cycle it takes CPU seconds (``time.process_time``: the whole
process, all poll threads; ``parse_processes = 0`` keeps parsing in it) and
wall seconds. It runs twice: from empty state databases, and from copies of
the filled archive's database (both monitors: the same seen records).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from archive_items import CORPUS, ItemMaker, read_corpus  # noqa: E402
from server_process import serve_until_stdin_closes, server_process  # noqa: E402

from monitor.domain.item import Item  # noqa: E402

TARGET = 1.10
SETTINGS = ("off", "on")


@dataclass(frozen=True)
class PollSettings:
    feeds: int = 40
    items: int = 30
    new: int = 10
    reps: int = 7
    corpus: Path = CORPUS
    corpus_files: int | None = None


# --- the feed server -------------------------------------------------------------------


class CycleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, settings: PollSettings) -> None:
        super().__init__(("127.0.0.1", 0), CycleHandler)
        feeds = read_corpus(settings.corpus, settings.corpus_files)
        self.maker = ItemMaker(feeds, seed=3)
        self.settings = settings
        self.cycle = 0
        self.lock = threading.Lock()
        self.start = datetime.now(UTC) - timedelta(days=1)
        self.items: dict[int, list[Item]] = {}

    def document(self, feed: int) -> bytes:
        """The feed's RSS document at the current cycle, newest first."""
        with self.lock:
            made = self.items.setdefault(feed, [])
            top = self.settings.items + self.cycle * self.settings.new
            corpus_feed = self.maker.feeds[feed % len(self.maker.feeds)]
            while len(made) < top:
                made.append(self.maker.item(corpus_feed, self.start))
            shown = made[top - self.settings.items : top]
        entries = "".join(
            f"<item><title>{escape(item.title)}</title><link>{escape(item.link or '')}</link>"
            f"<guid>https://feed{feed}.bench/{number}</guid>"
            f"<pubDate>{format_datetime(self.start + timedelta(minutes=number))}</pubDate>"
            f"<description>{escape(item.summary)}</description></item>"
            for number, item in reversed(list(enumerate(shown, start=top - self.settings.items)))
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bench feed {feed}</title><link>https://feed{feed}.bench/</link>"
            f"{entries}</channel></rss>"
        ).encode()


class CycleHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: CycleServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/__cycle/"):
            with self.server.lock:
                self.server.cycle = int(self.path.removeprefix("/__cycle/"))
            self._send(b"ok\n", "text/plain")
        elif self.path.startswith("/feeds/"):
            self._send(self.server.document(int(self.path.removeprefix("/feeds/"))))
        else:
            self.send_error(404)

    def _send(self, body: bytes, kind: str = "application/rss+xml") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(settings: PollSettings) -> None:
    """Serve until stdin closes; the first line on stdout is the port."""
    with CycleServer(settings) as server:
        serve_until_stdin_closes(server, server.server_address[1])


@contextmanager
def feed_server(settings: PollSettings) -> Iterator[str]:
    """The server process; yields its base URL."""
    with server_process([sys.executable, __file__, "--serve", *_options(settings)]) as url:
        yield url


def _options(settings: PollSettings) -> list[str]:
    options = [
        f"--feeds={settings.feeds}",
        f"--items={settings.items}",
        f"--new={settings.new}",
        f"--reps={settings.reps}",
        f"--corpus={settings.corpus}",
    ]
    if settings.corpus_files:
        options.append(f"--corpus-files={settings.corpus_files}")
    return options


# --- the worker: two monitors, taking turns --------------------------------------------


def write_config(directory: Path, base_url: str, feeds: int, archive: bool) -> Path:
    lines = [
        "[state]",
        f"path = {json.dumps(str(directory / 'state.db'))}",
        "[rules]",
        f"dir = {json.dumps(str(ROOT / 'rules'))}",
        "[slack]",
        'channel = "#bench"',
        "[server]",
        "enabled = false",
        "[fetch]",
        "concurrency = 4",
        "per_host = 4",
        "parse_processes = 0",
        "[archive]",
        f"enabled = {json.dumps(archive)}",
    ]
    for number in range(feeds):
        lines += ["[[feeds]]", f'name = "b{number:03d}"', f'url = "{base_url}/feeds/{number}"']
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def worker(settings: PollSettings, base_url: str, directory: Path) -> None:
    """Print the per-cycle figures of both settings as one JSON line."""
    from monitor.config import load_config
    from monitor.wiring import build_monitor

    logging.getLogger("monitor").setLevel(logging.ERROR)
    monitors = {
        setting: build_monitor(
            load_config(
                write_config(directory / setting, base_url, settings.feeds, setting == "on")
            )
        )
        for setting in SETTINGS
    }
    figures: dict[str, list[dict[str, float]]] = {setting: [] for setting in SETTINGS}
    try:
        for cycle in range(settings.reps + 1):
            urllib.request.urlopen(f"{base_url}/__cycle/{cycle}", timeout=10).read()
            order = SETTINGS if cycle % 2 == 0 else SETTINGS[::-1]
            for setting in order:
                gc.collect()
                cpu, wall = time.process_time(), time.perf_counter()
                reports = monitors[setting].poll_all()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                new = sum(report.new for report in reports)
                failed = sum(report.error is not None for report in reports)
                if cycle:  # the first cycle reads every backlog
                    figures[setting].append(
                        {"cpu": cpu, "wall": wall, "new": new, "failed": failed}
                    )
    finally:
        for monitor in monitors.values():
            monitor.close()
    print(json.dumps(figures), flush=True)


def run_worker(settings: PollSettings, base_url: str, directory: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        f"--base-url={base_url}",
        f"--dir={directory}",
        *_options(settings),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the poll worker failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def compare_polls(settings: PollSettings, directory: Path, *, filled: Path) -> bool:
    """Both starting states, each in a fresh worker; print the figures; whether
    the archive stayed under the target everywhere."""
    print(
        f"\npolls, archive off / on taking turns: {settings.feeds} feeds of {settings.items} "
        f"items, {settings.new} new a feed a cycle; medians of {settings.reps} cycles each"
    )
    print(f"{'state':<18} {'':<4} {'CPU s':>7} {'wall s':>7} {'new':>6}  cycles' CPU s")
    met = True
    for label, source in (("empty", None), (f"{filled.name} copy", filled)):
        runs = directory / f"polls-{'empty' if source is None else 'filled'}"
        for setting in SETTINGS:
            (runs / setting).mkdir(parents=True)
            if source is not None:
                shutil.copyfile(source, runs / setting / "state.db")
        with feed_server(settings) as base_url:
            figures = run_worker(settings, base_url, runs)
        shutil.rmtree(runs, ignore_errors=True)
        medians = {}
        for setting in SETTINGS:
            cycles = figures[setting]
            cpu = statistics.median(c["cpu"] for c in cycles)
            wall = statistics.median(c["wall"] for c in cycles)
            medians[setting] = (cpu, wall)
            failed = sum(c["failed"] for c in cycles)
            print(
                f"{label:<18} {setting:<4} {cpu:>7.3f} {wall:>7.3f} "
                f"{statistics.median(c['new'] for c in cycles):>6.0f}  "
                + " ".join(f"{c['cpu']:.3f}" for c in cycles)
                + (f"  {failed} polls FAILED" if failed else "")
            )
        cpu_ratio = medians["on"][0] / medians["off"][0]
        wall_ratio = medians["on"][1] / medians["off"][1]
        met &= cpu_ratio < TARGET
        print(
            f"{'':<18} on / off: CPU {cpu_ratio:.3f}x, wall {wall_ratio:.3f}x   "
            f"target < {TARGET:.2f}x CPU: {'met' if cpu_ratio < TARGET else 'MISSED'}"
        )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--base-url")
    parser.add_argument("--dir", type=Path)
    defaults = PollSettings()
    parser.add_argument("--feeds", type=int, default=defaults.feeds)
    parser.add_argument("--items", type=int, default=defaults.items)
    parser.add_argument("--new", type=int, default=defaults.new)
    parser.add_argument("--reps", type=int, default=defaults.reps)
    parser.add_argument("--corpus", type=Path, default=defaults.corpus)
    parser.add_argument("--corpus-files", type=int, default=None)
    args = parser.parse_args()
    settings = PollSettings(
        feeds=args.feeds,
        items=args.items,
        new=args.new,
        reps=args.reps,
        corpus=args.corpus,
        corpus_files=args.corpus_files,
    )
    if args.serve:
        serve(settings)
    elif args.worker:
        worker(settings, args.base_url, args.dir)
    else:
        parser.error("run bench_archive.py: this module serves and polls for it")


if __name__ == "__main__":
    main()
