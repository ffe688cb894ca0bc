"""Parsing on every core: feedparser is pure Python and holds the GIL, so
poll threads alone parse on one core however many the machine has.

Large documents go to worker processes; small ones are parsed in the calling
thread, where the round trip to a worker would cost more than it saves.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from monitor.errors import FeedError
from monitor.feeds.parse import ParsedFeed, parse_feed

log = logging.getLogger("monitor.parse")

OFFLOAD_BYTES = 16 * 1024
"""Documents smaller than this are parsed in the calling thread."""


def default_processes() -> int:
    """One worker per core on a machine with more than one, else none."""
    cores = os.cpu_count() or 1
    return min(cores, 8) if cores > 1 else 0


PARENT_CHECK_SECONDS = 1.0


def _ready() -> bool:
    return True


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
    runs threads can copy a held lock into the child). If a worker dies, a
    new pool is started and the document goes to it; if that one dies too,
    the poll fails with kind ``parse`` (and is retried at the next poll)
    rather than parse in the monitor's own process a document that may be
    what kills the parser.
    """

    def __init__(self, processes: int, *, offload_bytes: int = OFFLOAD_BYTES) -> None:
        self.processes = processes
        self.offload_bytes = offload_bytes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def parse(
        self,
        body: bytes,
        *,
        feed_name: str,
        feed_url: str,
        tags: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> ParsedFeed:
        """Like :func:`parse_feed`, and raises what it raises."""
        job = partial(
            parse_feed,
            feed_name=feed_name,
            feed_url=feed_url,
            tags=tags,
            headers=dict(headers or {}),
            base_url=base_url,
        )
        for attempt in (1, 2):
            executor = self._executor_for(len(body))
            if executor is None:
                return job(body)
            try:
                return executor.submit(job, body).result()
            except RuntimeError as exc:
                if isinstance(exc, BrokenProcessPool):
                    self._discard(executor)
                    log.warning(
                        "a parser process died while feed=%s was being parsed; the parser "
                        "processes are restarted (attempt %d of 2)",
                        feed_name,
                        attempt,
                    )
                elif self._closed:
                    return job(body)  # shutting down: finish this poll here
                # Otherwise another thread replaced the pool meanwhile: use the new one.
        # Twice in a row: the document itself may kill the parser. It is not
        # parsed in the monitor's own process, which it could take down.
        raise FeedError(
            "parse",
            "the parser process died twice on this document; it is tried again at the next poll",
        )

    def start(self) -> None:
        """Start every worker now (a long-running monitor does this at start),
        so the first polls do not wait for processes to start and import."""
        executor = self._executor_for(self.offload_bytes)
        if executor is not None:
            for ready in [executor.submit(_ready) for _ in range(self.processes)]:
                ready.result()

    def _executor_for(self, size: int) -> ProcessPoolExecutor | None:
        if self.processes <= 0 or size < self.offload_bytes:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_exit_with_parent,
                    initargs=(os.getpid(),),
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
