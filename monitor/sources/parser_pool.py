"""Parsing on every core: feedparser is pure Python and holds the GIL, so
poll threads alone parse on one core however many the machine has.

Large documents go to worker processes; small ones are parsed in the calling
thread, where the round trip to a worker would cost more than it saves.

A worker also matches the items of the document it parsed against the rules,
when it has loaded the very rules the monitor has (same files, same digest):
matching is pure Python too, and done in the monitor's own process it held
the GIL for most of a cold cycle while the workers waited for work.
It matches every item, seen or not, since only the monitor knows which are
new; the monitor uses the matches of its new items and matches itself when
the worker could not.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from functools import partial
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path

from monitor.errors import FeedError
from monitor.rules.load import (
    RuleSet,
    RulesSource,
    fingerprint_digest,
    load_rules,
    rules_fingerprint,
)
from monitor.sources.rss import ParsedFeed, ParseOptions, parse_feed

log = logging.getLogger("monitor.parse")

OFFLOAD_BYTES = 16 * 1024
"""Documents smaller than this are parsed in the calling thread."""


def default_processes() -> int:
    """One worker per core on a machine with more than one, else none."""
    cores = os.cpu_count() or 1
    return min(cores, 8) if cores > 1 else 0


PARENT_CHECK_SECONDS = 1.0


def _process_id(nap: float) -> int:
    time.sleep(nap)
    return os.getpid()


_loaded_rules: RuleSet | None = None
"""In a worker: the rules it loaded last."""


def _rules_for(source: RulesSource) -> RuleSet | None:
    """In a worker: the rules ``source`` names, or None if the files on disk
    are no longer those (the monitor then matches itself, until it reloads)."""
    global _loaded_rules
    if _loaded_rules is not None and _loaded_rules.source == source:
        return _loaded_rules
    directory = Path(source.directory)
    # Hashing the files is cheap; loading them is not, and would be wasted.
    try:
        if fingerprint_digest(rules_fingerprint(directory)) != source.digest:
            return None
    except OSError:
        return None
    try:
        _loaded_rules = load_rules(directory)
    except Exception:
        _loaded_rules = None
        return None
    return _loaded_rules if _loaded_rules.source == source else None


def parse_and_match(body: bytes, options: ParseOptions, rules: RulesSource) -> ParsedFeed:
    """In a worker: parse the document and match every item against ``rules``."""
    parsed = parse_feed(body, options)
    rule_set = _rules_for(rules)
    if rule_set is None:
        return parsed
    try:
        return replace(parsed, matches=rule_set.match_all_items(parsed.items))
    except Exception:  # the monitor matches for itself, and reports what goes wrong
        log.exception("matching in a parser process failed; the monitor matches instead")
        return parsed


class _WorkerProcess(SpawnProcess):
    """A parser worker that a Ctrl-C in the terminal does not reach.

    The terminal sends SIGINT to the monitor and to every worker alike; a
    worker interrupted while it waits for work dies with a KeyboardInterrupt
    traceback on the shared stderr. The monitor stops on SIGINT and shuts its
    workers down itself, so the workers ignore it. A worker is started with
    SIGINT blocked, so that a Ctrl-C cannot interrupt it either while it
    imports, before it can ignore the signal: the signal mask survives the
    exec of the new interpreter, which resets the handlers.
    """

    def start(self) -> None:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess


def _ignore_interrupts() -> None:
    """In a worker: from now on SIGINT is ignored (one that arrived while it
    was blocked is dropped with it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _start_worker(parent: int, rules: RulesSource | None) -> None:
    _ignore_interrupts()
    _exit_with_parent(parent)
    if rules is not None:
        _rules_for(rules)  # loaded now, before the first document waits for it


def _exit_with_parent(parent: int) -> None:
    """Runs in each worker: end it when the monitor is gone.

    A monitor killed outright (SIGKILL, the OOM killer) cannot shut its pool
    down, and workers waiting for work would wait for ever, holding its
    stderr open. Once the parent is gone the worker is re-parented, and
    that is the sign to leave.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


class ParserPool:
    """Parses feed documents, the large ones in worker processes.

    Workers are started on first use (with ``spawn``: forking a process that
    runs threads can copy a held lock into the child), ignoring SIGINT: the
    monitor decides when they stop and shuts them down. If a worker dies, a
    new pool is started and the document goes to it; if that one dies too,
    the poll fails with kind ``parse`` (and is retried at the next poll)
    rather than parse in the monitor's own process a document that may be
    what kills the parser.
    """

    def __init__(self, processes: int, *, offload_bytes: int = OFFLOAD_BYTES) -> None:
        self.processes = processes
        self.offload_bytes = offload_bytes
        self.preload: RulesSource | None = None
        """Rules new workers load as they start (the monitor's, kept current)."""
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def parse(
        self, body: bytes, *, options: ParseOptions, rules: RulesSource | None = None
    ) -> ParsedFeed:
        """Like :func:`parse_feed`, and raises what it raises. A document parsed
        in a worker comes back with its items' matches against ``rules`` too,
        if the worker has the same rules (see :attr:`ParsedFeed.matches`)."""
        job = (
            partial(parse_feed, options=options)
            if rules is None
            else partial(parse_and_match, options=options, rules=rules)
        )
        for attempt in (1, 2):
            executor = self._executor_for(len(body))
            if executor is None:
                return parse_feed(body, options)
            try:
                return executor.submit(job, body).result()
            except RuntimeError as exc:
                if isinstance(exc, BrokenProcessPool):
                    self._discard(executor)
                    log.warning(
                        "a parser process died while feed=%s was being parsed; the parser "
                        "processes are restarted (attempt %d of 2)",
                        options.feed_name,
                        attempt,
                    )
                elif self._closed:
                    return parse_feed(body, options)  # shutting down: finish this poll here
                # Otherwise another thread replaced the pool meanwhile: use the new one.
        # Twice in a row: the document itself may kill the parser. It is not
        # parsed in the monitor's own process, which it could take down.
        raise FeedError(
            "parse",
            "the parser process died twice on this document; it is tried again at the next poll",
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start every worker now and wait until each has started (a
        long-running monitor does this at start), so the first polls do not
        wait for processes to start, import and load the rules."""
        executor = self._executor_for(self.offload_bytes)
        if executor is None:
            return
        # A worker takes jobs only once started, so each distinct process
        # that answers has; the short nap keeps one quick worker from taking
        # every job while another is still loading.
        answered: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(answered) < self.processes and time.monotonic() < deadline:
            jobs = [executor.submit(_process_id, 0.01) for _ in range(self.processes)]
            answered.update(job.result() for job in jobs)

    def _executor_for(self, size: int) -> ProcessPoolExecutor | None:
        if self.processes <= 0 or size < self.offload_bytes:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=_WorkerContext(),
                    initializer=_start_worker,
                    initargs=(os.getpid(), self.preload),
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (waiting for them); documents parsed from now are parsed here."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
