"""Running polls on a few threads, fair to every host.

Each host takes at most ``fetch.per_host`` polls at a time. A poll whose host
is at that limit waits in the queue, not in one of the ``fetch.concurrency``
threads: while a slow host works through its backlog, the threads poll the
other hosts' feeds, which finish as if the slow host were not there.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

log = logging.getLogger("monitor.hostpool")

T = TypeVar("T")
R = TypeVar("R")


def next_startable(
    waiting: Sequence[str | None], running: Mapping[str, int], per_host: int
) -> int | None:
    """Which waiting poll a free thread starts: the first (oldest) whose host
    has a free slot. ``waiting`` holds each waiting poll's host in queue order
    (None: a local file, never limited); ``running`` counts polls under way
    by host. None when every waiting poll's host is at its limit."""
    for index, host in enumerate(waiting):
        if host is None or running.get(host, 0) < per_host:
            return index
    return None


class HostFairPool(Generic[T]):
    """Runs ``work`` on queued items on up to ``workers`` threads, at most
    ``per_host`` items of one host at a time (see :func:`next_startable`).

    ``on_waiting`` hears the number of items waiting whenever it changes.
    Threads start with the first item.
    """

    def __init__(
        self,
        work: Callable[[T], object],
        *,
        workers: int,
        per_host: int,
        name: str,
        on_waiting: Callable[[int], object] | None = None,
    ) -> None:
        self._work = work
        self._workers = workers
        self._per_host = per_host
        self._name = name
        self._on_waiting = on_waiting
        self._changed = threading.Condition()
        self._waiting: list[tuple[str | None, T]] = []
        self._running: Counter[str] = Counter()
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, item: T, host: str | None) -> bool:
        """Queue ``item`` to run when a thread and a slot of ``host`` are free;
        False (not queued) once the pool is closed."""
        with self._changed:
            if self._closed:
                return False
            self._waiting.append((host, item))
            self._waiting_changed()
            if not self._threads:
                self._start_threads()
            self._changed.notify_all()
            return True

    def wait_until_idle(self) -> None:
        """Return once nothing is waiting or running."""
        with self._changed:
            self._changed.wait_for(lambda: not self._waiting and not self._busy)

    def close(self, *, wait: bool = True) -> int:
        """Take no more items and drop those waiting; with ``wait``, wait for
        those running to finish. The number dropped."""
        with self._changed:
            self._closed = True
            dropped = len(self._waiting)
            self._waiting.clear()
            self._waiting_changed()
            self._changed.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
        return dropped

    def _start_threads(self) -> None:
        for number in range(self._workers):
            thread = threading.Thread(
                target=self._serve, name=f"{self._name}-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _waiting_changed(self) -> None:
        if self._on_waiting is not None:
            self._on_waiting(len(self._waiting))

    def _take(self) -> tuple[str | None, T] | None:
        """The next item this thread runs, once there is one; None when closed."""
        with self._changed:
            while True:
                if self._closed:
                    return None
                index = next_startable(
                    [host for host, _ in self._waiting], self._running, self._per_host
                )
                if index is not None:
                    break
                self._changed.wait()
            host, item = self._waiting.pop(index)
            if host is not None:
                self._running[host] += 1
            self._busy += 1
            self._waiting_changed()
            return host, item

    def _serve(self) -> None:
        while (taken := self._take()) is not None:
            host, item = taken
            try:
                self._work(item)
            except Exception:
                log.exception("%s: a queued task failed", self._name)
            finally:
                with self._changed:
                    if host is not None:
                        self._running[host] -= 1
                        if self._running[host] <= 0:
                            del self._running[host]
                    self._busy -= 1
                    # A slot of ``host`` is free: another thread may now start
                    # a poll of it, and wait_until_idle may be waiting.
                    self._changed.notify_all()


def run_host_fair(
    work: Callable[[T], R],
    items: Sequence[T],
    host_of: Callable[[T], str | None],
    *,
    workers: int,
    per_host: int,
    name: str,
) -> list[R]:
    """``[work(item) for item in items]`` on up to ``workers`` threads, fair
    to every host (see :class:`HostFairPool`); the first error is raised once
    the others have finished."""
    results: dict[int, R] = {}
    errors: list[Exception] = []

    def run(index: int) -> None:
        try:
            results[index] = work(items[index])
        except Exception as exc:
            errors.append(exc)

    pool: HostFairPool[int] = HostFairPool(run, workers=workers, per_host=per_host, name=name)
    try:
        for index, item in enumerate(items):
            pool.submit(index, host_of(item))
        pool.wait_until_idle()
    finally:
        # Interrupted (Ctrl-C): the feeds not started are dropped, not polled.
        pool.close()
    if errors:
        raise errors[0]
    return [results[index] for index in range(len(items))]
