"""Fleet throughput: the monitor's poll path against feedparser and reader.

    python bench/bench_fleet.py [--limit N] [--skip reader,naive] [--concurrency 4]
                                [--per-host N] [--parse-processes N] [--repeats 5]
                                [--json FILE] [--profile]

The feeds of ../shared/corpora/realworld are served at /feeds/<name> by a
ThreadingHTTPServer in a process of its own (as application/octet-stream,
with an ETag and a Last-Modified on every 200, Nagle's algorithm off as on
production servers). Each contender then runs in
its own worker process (``--worker NAME``, started by this script) through
the cycles that apply to it, one after the other, against that server:

  cold       first poll of every feed into fresh state;
  warm-304   again, the server honouring If-None-Match / If-Modified-Since
             (every feed that has validators gets a 304);
  warm-same  again, the server ignoring validators: 200 and the same bytes.

Contenders: the monitor (``build_monitor(...).poll_all()``: fetch, parse,
normalise, dedupe, match with the shipped rules, fresh SQLite state;
``fetch.concurrency`` threads), reader (``make_reader`` on a temporary
database, ``add_feed`` per feed, then ``update_feeds_iter(workers=N,
scheduled=False)`` per cycle, which is what ``update_feeds`` runs, and it
gives per-feed outcomes; ``scheduled=False`` because reader would otherwise
skip feeds updated less than an hour ago), and a naive loop
(``feedparser.parse(url)`` per feed, sequential, default arguments; cold
only: it keeps no state, so its warm cycles would repeat the cold one).

What is measured, per contender and cycle:

  wall       time.perf_counter() around the cycle, in the worker.
  CPU        user + system seconds of the worker's whole process tree, taken
             at both cycle boundaries in the worker: for the worker and every
             live descendant (psutil), its own CPU plus that of the children
             it has reaped (``children_user``/``children_system``, as
             ``getrusage(RUSAGE_CHILDREN)``), so children that exit during
             the cycle are still counted, once.
  main CPU   the worker process alone (all its threads), without children.
  RSS        peak of the summed RSS of the worker and all its descendants,
             sampled every 20 ms by this (parent) process. A sum of RSS counts
             pages that processes share (libraries, copy-on-write) once per
             process, so for a process pool it is an upper bound.
  PSS        the summed PSS of the worker and its descendants (shared pages
             split between their sharers) at the end of the cycle, read by
             the worker once its timings are taken: the better figure for a
             pool. It is not sampled during the cycle: reading PSS walks the
             page tables of every process in the tree, and sampling it every
             100 ms slowed the monitor's warm cycles by a quarter (0.52 s
             against 0.40 s for the warm-304 cycle).
  HWM        the worker process's own exact peak RSS in the cycle (VmHWM,
             reset through /proc/self/clear_refs before each cycle; Linux).
  procs      the most processes seen in the tree (worker included).

The RSS target is checked against the larger of RSS and HWM.

Short cycles are repeated: a warm cycle that takes under SHORT_CYCLE seconds
runs ``--repeats`` times in all (default 5), one run after another on the
same state, and its wall, CPU and main CPU are the medians of those runs
(each figure's own median); every run's wall time is printed too. On a shared
host one stall of a few hundred milliseconds is a large part of a cycle this
short: single runs of the monitor's warm-same cycle took 0.28 to 0.57 s
against a cold cycle of about 8 s. The cold cycle runs once (it needs fresh
state, and at several seconds it is far less at the mercy of a stall), and
so do reader's warm cycles, which take seconds. RSS, HWM, procs and the
server's answer counts cover every run; PSS is read after the last.

Setup (imports, building the monitor, loading rules, ``add_feed``) is not part
of any cycle. The server's own CPU is not counted. ``--profile`` instead runs
the monitor's cold cycle in this process, feed after feed on one thread,
under cProfile, and prints the 15 entries with the most cumulative time
(with ``fetch.parse_processes = 0`` unless ``--parse-processes`` says
otherwise: cProfile sees only this process).
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from server_process import serve_until_stdin_closes, server_process  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "realworld"
RULES = ROOT / "rules"
CONTENDERS = ("monitor", "reader", "naive")
CYCLES = ("cold", "warm-304", "warm-same")
CYCLE_MODES = {"cold": "honour", "warm-304": "honour", "warm-same": "ignore"}
EVENT = "@@bench "
SAMPLE_SECONDS = 0.02
SHORT_CYCLE = 2.0
"""Seconds: a warm cycle shorter than this is repeated (see the docstring)."""
MIB = 2**20


def corpus_files(corpus: Path, limit: int | None) -> list[Path]:
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    return files[:limit] if limit else files


# --- the feed server (its own process) -----------------------------------------


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: list[Path]) -> None:
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.feeds: dict[str, tuple[bytes, str, str, int]] = {}
        for path in files:
            mtime = int(path.stat().st_mtime)
            body = path.read_bytes()
            etag = f'"{path.name}-{len(body):x}"'
            self.feeds[path.name] = (body, etag, email.utils.formatdate(mtime, usegmt=True), mtime)
        self.honour = True
        self.lock = threading.Lock()
        self.served: Counter[int] = Counter()


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # As production servers do (nginx's tcp_nodelay is on by default): with
    # Nagle's algorithm on, the last part of every large response on a
    # connection kept open waited for the client's delayed ACK, 40 ms a feed.
    disable_nagle_algorithm = True
    server: FeedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        if self.path.startswith("/__mode/"):
            mode = self.path.removeprefix("/__mode/")
            if mode not in ("honour-validators", "ignore-validators"):
                self._send(404, b"unknown mode\n")
                return
            with server.lock:
                server.honour = mode == "honour-validators"
                server.served.clear()
            self._send(200, b"ok\n")
            return
        if self.path == "/__stats":
            with server.lock:
                stats = {str(k): v for k, v in sorted(server.served.items())}
            self._send(200, json.dumps(stats).encode())
            return
        feed = server.feeds.get(self.path.removeprefix("/feeds/"))
        if not self.path.startswith("/feeds/") or feed is None:
            self._count(404)
            self._send(404, b"no such feed\n")
            return
        body, etag, last_modified, mtime = feed
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if server.honour and self._not_modified(etag, mtime):
            self._count(304)
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._count(200)
        self._send(200, body, "application/octet-stream", validators)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                return False
            return mtime <= since
        return False

    def _count(self, status: int) -> None:
        with self.server.lock:
            self.server.served[status] += 1

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def serve(corpus: Path, limit: int | None) -> None:
    """Serve until stdin closes; the first line on stdout is the port."""
    with FeedServer(corpus_files(corpus, limit)) as server:
        serve_until_stdin_closes(server, server.server_address[1])


@contextlib.contextmanager
def feed_server(corpus: Path, limit: int | None) -> Iterator[str]:
    """Run the server process; yields its base URL."""
    command = [sys.executable, __file__, "--serve", "--corpus", str(corpus)]
    if limit:
        command += ["--limit", str(limit)]
    with server_process(command) as url:
        yield url


def server_get(base_url: str, path: str) -> bytes:
    with urllib.request.urlopen(base_url + path, timeout=10) as response:
        return response.read()


# --- workers (one process per contender) ---------------------------------------


def emit(event: dict[str, Any]) -> None:
    print(EVENT + json.dumps(event), flush=True)


def tree_cpu() -> tuple[float, float]:
    """CPU seconds so far: of this process alone, and of it and its descendants,
    reaped ones included."""
    import psutil

    me = psutil.Process()
    times = me.cpu_times()
    main = times.user + times.system
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return main, total


def tree_pss() -> int | None:
    """Summed PSS of this process and its descendants, or None where unreadable."""
    import psutil

    me = psutil.Process()
    total = 0
    for process in [me, *me.children(recursive=True)]:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            return None
    return total


def reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def read_hwm() -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def run_cycle(
    base_url: str, cycle: str, work: Callable[[], dict[str, Any]], repeats: int = 1
) -> None:
    """Run one cycle, and again up to ``repeats`` runs in all if it is a warm
    cycle shorter than SHORT_CYCLE; emit the medians."""
    server_get(base_url, f"/__mode/{CYCLE_MODES[cycle]}-validators")
    hwm_reset = reset_hwm()
    emit({"event": "begin", "cycle": cycle})
    runs: list[tuple[float, float, float]] = []
    infos: list[dict[str, Any]] = []
    while True:
        gc.collect()
        (main_start, cpu_start), started = tree_cpu(), time.perf_counter()
        infos.append(work())
        wall = time.perf_counter() - started
        main_end, cpu_end = tree_cpu()
        runs.append((wall, cpu_end - cpu_start, main_end - main_start))
        if cycle == "cold" or len(runs) >= repeats or runs[0][0] >= SHORT_CYCLE:
            break
    hwm = read_hwm() if hwm_reset else None
    pss = tree_pss()
    # Every run did the same work, or the median would mix different cycles.
    alike = all(other == infos[-1] for other in infos)
    info = infos[-1]
    info["runs_alike"] = alike
    info["served"] = json.loads(server_get(base_url, "/__stats"))
    emit(
        {
            "event": "end",
            "cycle": cycle,
            "wall": statistics.median(run[0] for run in runs),
            "cpu": statistics.median(run[1] for run in runs),
            "cpu_main": statistics.median(run[2] for run in runs),
            "walls": [run[0] for run in runs],
            "hwm": hwm,
            "pss": pss,
            "info": info,
        }
    )


def feed_urls(base_url: str, files: list[Path]) -> list[str]:
    return [f"{base_url}/feeds/{path.name}" for path in files]


def write_config(
    directory: Path,
    urls: list[str],
    concurrency: int,
    per_host: int,
    parse_processes: int | None = None,
) -> Path:
    lines = [
        "[state]",
        f"path = {json.dumps(str(directory / 'state.db'))}",
        "[rules]",
        f"dir = {json.dumps(str(RULES))}",
        "[slack]",
        'channel = "#bench"',
        "[server]",
        "enabled = false",
        "[fetch]",
        f"concurrency = {concurrency}",
        f"per_host = {per_host}",
        'max_bytes = "50MiB"',
    ]
    if parse_processes is not None:
        lines.append(f"parse_processes = {parse_processes}")
    for n, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "f{n:04d}"', f"url = {json.dumps(url)}"]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_bench_monitor(directory: Path, args: argparse.Namespace, urls: list[str]) -> Any:
    from monitor.config import load_config
    from monitor.wiring import build_monitor

    logging.getLogger("monitor").setLevel(logging.WARNING)
    monitor = build_monitor(
        load_config(
            write_config(directory, urls, args.concurrency, args.per_host, args.parse_processes)
        )
    )
    # As `monitor run` does at start: the cycles measure a running monitor,
    # not the start of its parser processes.
    monitor.parser.start()
    return monitor


def monitor_summary(reports: list[Any]) -> dict[str, Any]:
    errors = Counter(r.error.kind for r in reports if r.error is not None)
    ok = [r for r in reports if r.error is None]
    return {
        "feeds": len(reports),
        "ok": len(ok),
        "errors": dict(errors),
        "items": sum(r.items for r in ok),
        "new": sum(r.new for r in ok),
        "alerts": sum(r.alerts for r in ok),
        "not_modified": sum(r.not_modified for r in ok),
    }


def monitor_worker(args: argparse.Namespace, base_url: str, urls: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as temp:
        started = time.perf_counter()
        monitor = build_bench_monitor(Path(temp), args, urls)
        emit({"event": "setup", "wall": time.perf_counter() - started})
        try:
            for cycle in CYCLES:
                run_cycle(
                    base_url, cycle, lambda: monitor_summary(monitor.poll_all()), args.repeats
                )
        finally:
            monitor.close()


def reader_worker(args: argparse.Namespace, base_url: str, urls: list[str]) -> None:
    from reader import make_reader

    logging.getLogger("reader").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as temp:
        started = time.perf_counter()
        reader = make_reader(str(Path(temp) / "reader.sqlite"))
        for url in urls:
            reader.add_feed(url)
        emit({"event": "setup", "wall": time.perf_counter() - started})

        def update() -> dict[str, Any]:
            outcomes: Counter[str] = Counter()
            new = modified = 0
            for _url, value in reader.update_feeds_iter(workers=args.concurrency, scheduled=False):
                if value is None:
                    outcomes["not_modified"] += 1
                elif isinstance(value, Exception):
                    outcomes[f"error:{type(value).__name__}"] += 1
                else:
                    outcomes["updated"] += 1
                    new += value.new
                    modified += value.modified
            return {
                "feeds": sum(outcomes.values()),
                "outcomes": dict(outcomes),
                "new": new,
                "modified": modified,
                "entries": reader.get_entry_counts().total,
            }

        try:
            for cycle in CYCLES:
                run_cycle(base_url, cycle, update, args.repeats)
        finally:
            reader.close()


def naive_worker(args: argparse.Namespace, base_url: str, urls: list[str]) -> None:
    import feedparser

    emit({"event": "setup", "wall": 0.0})

    def loop() -> dict[str, Any]:
        entries = bozo = empty = 0
        for url in urls:
            parsed = feedparser.parse(url)
            entries += len(parsed.entries)
            bozo += bool(parsed.bozo)
            empty += not parsed.entries
        return {"feeds": len(urls), "entries": entries, "bozo": bozo, "no_entries": empty}

    run_cycle(base_url, "cold", loop)


WORKERS = {"monitor": monitor_worker, "reader": reader_worker, "naive": naive_worker}


# --- the parent: run workers, sample their RSS ----------------------------------


class TreeSampler(threading.Thread):
    """Samples a process and its descendants: peak summed RSS and the most
    processes seen, per cycle (RSS is cheap to read; PSS is read by the worker
    at the end of each cycle instead, see the module docstring)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.cycle: str | None = None
        self.rss: dict[str, int] = {}
        self.procs: dict[str, int] = {}
        self.samples: Counter[str] = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.done.wait(SAMPLE_SECONDS):
            cycle = self.cycle
            if cycle is None:
                continue
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = 0
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    rss += process.memory_info().rss
            self.rss[cycle] = max(self.rss.get(cycle, 0), rss)
            self.procs[cycle] = max(self.procs.get(cycle, 0), len(processes))
            self.samples[cycle] += 1


def run_worker(name: str, args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--base-url",
        base_url,
        "--corpus",
        str(args.corpus),
        "--concurrency",
        str(args.concurrency),
        "--per-host",
        str(args.per_host),
        "--repeats",
        str(args.repeats),
    ]
    if args.parse_processes is not None:
        command += ["--parse-processes", str(args.parse_processes)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")}
    result: dict[str, Any] = {"cycles": {}}
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        ) as process,
    ):
        sampler = TreeSampler(process.pid)
        sampler.start()
        assert process.stdout is not None
        for line in process.stdout:
            if not line.startswith(EVENT):
                continue
            event = json.loads(line.removeprefix(EVENT))
            if event["event"] == "setup":
                result["setup"] = event["wall"]
            elif event["event"] == "begin":
                sampler.cycle = event["cycle"]
            elif event["event"] == "end":
                sampler.cycle = None
                result["cycles"][event["cycle"]] = {
                    k: event.get(k)
                    for k in ("wall", "cpu", "cpu_main", "walls", "hwm", "pss", "info")
                }
        returncode = process.wait()
        sampler.done.set()
        sampler.join()
        stderr.seek(0)
        errors = stderr.read().splitlines()
    for cycle, figures in result["cycles"].items():
        figures["rss"] = sampler.rss.get(cycle)
        figures["procs"] = sampler.procs.get(cycle)
        figures["samples"] = sampler.samples[cycle]
    result["returncode"] = returncode
    result["stderr_lines"] = len(errors)
    if returncode != 0:
        result["stderr_tail"] = errors[-15:]
    return result


# --- report ---------------------------------------------------------------------


def describe(name: str, cycle: str, info: dict[str, Any]) -> str:
    if name == "monitor":
        text = f"{info['ok']}/{info['feeds']} ok"
        if cycle == "cold":
            text += f", {info['items']:,} items, {info['new']:,} new"
        else:
            text += f", {info['not_modified']} not modified"
            if info["new"]:
                text += f", {info['new']:,} new"
        if info["errors"]:
            text += ", errors " + ",".join(f"{k}:{v}" for k, v in sorted(info["errors"].items()))
        return text
    if name == "reader":
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(info["outcomes"].items()))
        return f"{outcomes}; +{info['new']:,} new entries, {info['entries']:,} total"
    return (
        f"{info['feeds']} feeds, {info['entries']:,} entries, "
        f"{info['no_entries']} without entries, {info['bozo']} bozo"
    )


def mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.0f}"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, feeds: int) -> bool:
    print(
        f"\n{feeds} feeds from {args.corpus}; monitor fetch.concurrency={args.concurrency} "
        f"per_host={args.per_host}; reader update_feeds(workers={args.concurrency}); "
        "naive sequential"
    )
    header = (
        f"{'contender':<9} {'cycle':<10} {'wall s':>7} {'CPU s':>7} {'main CPU':>8} "
        f"{'CPU/wall':>8} {'RSS MiB':>7} {'PSS MiB':>7} {'HWM MiB':>7} {'procs':>5}  work"
    )
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        for cycle, fig in result["cycles"].items():
            print(
                f"{name:<9} {cycle:<10} {fig['wall']:>7.2f} {fig['cpu']:>7.2f} "
                f"{fig['cpu_main']:>8.2f} {fig['cpu'] / fig['wall']:>8.2f} {mib(fig['rss']):>7} "
                f"{mib(fig['pss']):>7} {mib(fig['hwm']):>7} {fig['procs'] or '-':>5}  "
                f"{describe(name, cycle, fig['info'])}"
            )
        served = "; ".join(
            f"{cycle} " + " ".join(f"{k}x{v}" for k, v in fig["info"]["served"].items())
            for cycle, fig in result["cycles"].items()
        )
        print(
            f"{'':<9} setup {result.get('setup', 0):.2f}s; server answered (status x count): {served}"
        )
        for cycle, fig in result["cycles"].items():
            walls = fig.get("walls") or []
            if len(walls) > 1:
                alike = fig["info"].get("runs_alike")
                print(
                    f"{'':<9} {cycle}: median of {len(walls)} runs; walls "
                    + " ".join(f"{w:.2f}" for w in walls)
                    + ("" if alike else "; the runs did NOT do the same work")
                )

    ratios: dict[str, float] = {}
    print("\nratios")
    ok = True
    monitor = results.get("monitor", {}).get("cycles", {})
    cold = monitor.get("cold")
    if cold:
        for other in ("reader", "naive"):
            baseline = results.get(other, {}).get("cycles", {}).get("cold")
            if baseline:
                ratio = baseline["wall"] / cold["wall"]
                cpu_ratio = baseline["cpu"] / cold["cpu"]
                ratios[f"{other}_cold_over_monitor_cold"] = ratio
                ratios[f"{other}_cold_over_monitor_cold_cpu"] = cpu_ratio
                target = ""
                if other == "reader":
                    target = f"   target >= 6x: {verdict(ratio >= 6)}"
                    ok &= ratio >= 6
                print(f"  cold, {other} / monitor: wall {ratio:.1f}x, CPU {cpu_ratio:.1f}x{target}")
        for cycle in ("warm-304", "warm-same"):
            warm = monitor.get(cycle)
            if warm:
                share = warm["wall"] / cold["wall"]
                ratios[f"monitor_{cycle}_over_cold"] = share
                ok &= share < 0.05
                print(
                    f"  monitor {cycle} / cold: wall {share:.1%}, "
                    f"CPU {warm['cpu'] / cold['cpu']:.1%}   target < 5%: {verdict(share < 0.05)}"
                )
        peak = max(
            max(fig["rss"] or 0, fig["hwm"] or 0) for fig in monitor.values()
        )  # the larger of the two measures
        ratios["monitor_peak_rss_mib"] = peak / MIB
        ok &= peak < 300 * MIB
        print(
            f"  monitor peak RSS (max of tree sample and HWM, all cycles): {peak / MIB:.0f} MiB"
            f"   target < 300 MiB: {verdict(peak < 300 * MIB)}"
        )
        info = cold["info"]
        print(
            f"\nwork: monitor cold {info['new']:,} new items of {info['items']:,} "
            f"({info['ok']}/{info['feeds']} feeds ok; errors by kind: {info['errors'] or 'none'})"
        )
        for cycle in ("warm-304", "warm-same"):
            if cycle in monitor:
                info = monitor[cycle]["info"]
                print(
                    f"      monitor {cycle}: {info['not_modified']} of {info['ok']} ok feeds "
                    f"not modified (of {info['feeds']} polled)"
                )
    if "reader" in results and "cold" in results["reader"]["cycles"]:
        info = results["reader"]["cycles"]["cold"]["info"]
        print(f"      reader cold {info['entries']:,} entries; outcomes {info['outcomes']}")
    if "naive" in results and "cold" in results["naive"]["cycles"]:
        info = results["naive"]["cycles"]["cold"]["info"]
        print(
            f"      naive cold {info['entries']:,} entries; "
            f"{info['no_entries']} feeds without entries"
        )
    print(f"\ntargets: {'all met' if ok else 'some missed'}")
    args.ratios = ratios
    return ok


def profile(args: argparse.Namespace, files: list[Path]) -> None:
    import cProfile
    import pstats

    with (
        feed_server(args.corpus, args.limit) as base_url,
        tempfile.TemporaryDirectory(prefix="bench-fleet-") as temp,
    ):
        monitor = build_bench_monitor(Path(temp), args, feed_urls(base_url, files))
        try:
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            reports = [monitor.poll_feed(feed) for feed in monitor.config.feeds]
            profiler.disable()
            wall = time.perf_counter() - started
        finally:
            monitor.close()
    print(f"monitor cold cycle, one thread, under cProfile: {wall:.2f}s")
    print(monitor_summary(reports))
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N files, sorted by name")
    parser.add_argument("--skip", default="", help="contenders to leave out: reader,naive")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="monitor fetch.concurrency and reader workers"
    )
    parser.add_argument(
        "--per-host",
        type=int,
        default=None,
        help="monitor fetch.per_host (default: --concurrency, since every feed is on one host "
        "here while a real fleet spreads over many)",
    )
    parser.add_argument(
        "--parse-processes",
        type=int,
        default=None,
        help="monitor fetch.parse_processes (default: not set, the monitor's own default; "
        "--profile sets 0 so that parsing shows in the profile)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help=f"runs of each warm cycle shorter than {SHORT_CYCLE:.0f}s; its medians are reported",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--profile", action="store_true", help="profile the monitor's cold cycle")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.per_host = args.per_host or args.concurrency
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")

    if args.serve:
        serve(args.corpus, args.limit)
        return 0
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    files = corpus_files(args.corpus, args.limit)
    if args.worker:
        WORKERS[args.worker](args, args.base_url, feed_urls(args.base_url, files))
        return 0
    if args.profile:
        if args.parse_processes is None:
            args.parse_processes = 0
        profile(args, files)
        return 0

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := skip - set(CONTENDERS):
        parser.error(f"unknown contenders in --skip: {', '.join(sorted(unknown))}")
    results: dict[str, dict[str, Any]] = {}
    failed = []
    with feed_server(args.corpus, args.limit) as base_url:
        for name in CONTENDERS:
            if name in skip:
                continue
            print(f"running {name} ...", flush=True)
            results[name] = run_worker(name, args, base_url)
            if results[name]["returncode"] != 0:
                failed.append(name)
                print(f"{name} worker failed ({results[name]['returncode']}):", file=sys.stderr)
                print("\n".join(results[name]["stderr_tail"]), file=sys.stderr, flush=True)
    met = report(results, args, len(files))
    if args.json:
        figures = {
            "feeds": len(files),
            "concurrency": args.concurrency,
            "per_host": args.per_host,
            "contenders": results,
            "ratios": args.ratios,
            "targets_met": met,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
