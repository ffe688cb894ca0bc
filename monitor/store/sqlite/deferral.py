"""Timestamps of unchanged polls, written in batches rather than one by one.

A healthy feed that found nothing new only moves its timestamps (last
success, last poll, next poll). Those writes wait here and go out together
in one transaction: once DEFER_ROWS feeds have one, once the oldest has
waited DEFER_SECONDS (the store's ``sync``), before ``feed_health`` reads the
feeds, and at close. A crash loses only such timestamps: those feeds show
their poll before, and are polled again sooner.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

from monitor.domain.feed import FeedState
from monitor.store.sqlite.rows import dt

log = logging.getLogger("monitor.store")

DEFER_ROWS = 64
DEFER_SECONDS = 1.0
"""Deferred timestamps are written once this many feeds have some, or once
the oldest is this old."""

NOT_MODIFIED = (
    "UPDATE feeds SET last_success_at = ?, last_polled_at = ?, last_error = NULL, "
    "last_error_kind = NULL, consecutive_failures = 0, failing_since = NULL, "
    "next_poll_at = COALESCE(?, next_poll_at) WHERE name = ? AND url = ?"
)
"""A poll that found nothing new: the feed is healthy again, if it was not."""

# A deferred write lands after later polls may have been written (by this
# process or another sharing the file): it moves nothing back.
DEFERRED_NOT_MODIFIED = f"{NOT_MODIFIED} AND (last_polled_at IS NULL OR last_polled_at <= ?)"

Deferred = tuple[str, str, str | None, str, str, str]
"""The parameters of a DEFERRED_NOT_MODIFIED write: last success, last
poll, next poll, the feed's name and URL, and the poll's time again."""


def deferred_write(feed: str, url: str, stamp: str, next_poll_at: str | None) -> Deferred:
    """The deferred write of a poll at ``stamp`` of ``feed`` at ``url``."""
    return (stamp, stamp, next_poll_at, feed, url, stamp)


def after_write(state: FeedState, deferred: Deferred) -> FeedState:
    """``state`` as the deferred write leaves it."""
    success, _, next_poll_at, _, _, _ = deferred
    return replace(
        state,
        last_success_at=dt(success),
        next_poll_at=dt(next_poll_at) if next_poll_at else state.next_poll_at,
        last_error=None,
        last_error_kind=None,
        consecutive_failures=0,
        failing_since=None,
    )


def applies(deferred: Deferred, row: sqlite3.Row) -> bool:
    """Whether the deferred write would change ``row`` (as its WHERE says)."""
    polled = row["last_polled_at"]
    return bool(row["url"] == deferred[4] and (polled is None or polled <= deferred[5]))


class DeferredTimestamps:
    """The deferred writes of one store, by feed; every method takes ``lock``
    (the store's), and writes go through ``db``, the store's connection for
    writes that may be lost to a power cut."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock, path: Path) -> None:
        """Writes through ``db`` under ``lock``; ``path`` names the database in logs."""
        self._db = db
        self._lock = lock
        self._path = path
        # Feed name -> its deferred write; since when the oldest has waited
        # (or the last failed attempt to write them).
        self._pending: dict[str, Deferred] = {}
        self._since: float | None = None
        self._failing = False

    def get(self, feed: str) -> Deferred | None:
        """The feed's deferred write, if any."""
        with self._lock:
            return self._pending.get(feed)

    def all(self) -> dict[str, Deferred]:
        """Every deferred write, by feed (a copy)."""
        with self._lock:
            return dict(self._pending)

    def defer(self, feed: str, write: Deferred) -> None:
        """Hold ``write`` (replacing the feed's earlier one); write them all
        if the oldest has waited DEFER_SECONDS or DEFER_ROWS feeds have one."""
        with self._lock:
            self._pending[feed] = write
            if self._since is None:
                self._since = time.monotonic()
            elif time.monotonic() - self._since >= DEFER_SECONDS or (
                # While writes are refused, only once a second, not every poll.
                len(self._pending) >= DEFER_ROWS and not self._failing
            ):
                self._write()

    def supersede(self, feed: str) -> None:
        """A write of ``feed``'s poll is about to be made at once: a deferred
        one is older, and would be refused anyway (DEFERRED_NOT_MODIFIED)."""
        with self._lock:
            self._pending.pop(feed, None)
            if not self._pending:
                self._since = None

    def write_waiting(self, older_than: float = 0.0, *, wait: bool = True) -> None:
        """Write them now if the oldest has waited ``older_than`` seconds or
        more. With ``wait`` false, nothing is done while another thread uses
        the database. Failures are logged, never raised (see _write)."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            since = self._since
            if since is not None and time.monotonic() - since >= older_than:
                self._write()
        finally:
            self._lock.release()

    def close(self) -> None:
        """Write them a last time; say what is lost if that fails."""
        with self._lock:
            if self._pending and not self._write():
                log.error(
                    "the timestamps of %d unchanged polls are lost (last success, last and next "
                    "poll); "
                    "those feeds show their poll before and are polled again sooner",
                    len(self._pending),
                )
            self._pending.clear()

    def _write(self) -> bool:
        """Write them in one transaction (under the lock). If that fails they
        stay deferred, to be tried again DEFER_SECONDS later; the first
        failure in a row is logged, and the recovery."""
        if not self._pending:
            return True
        db = self._db
        try:
            db.execute("BEGIN")
            db.executemany(DEFERRED_NOT_MODIFIED, list(self._pending.values()))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if db.in_transaction:
                    db.execute("ROLLBACK")
            self._since = time.monotonic()
            if not self._failing:
                self._failing = True
                log.error(
                    "cannot write the timestamps of %d unchanged polls to %r (tried again "
                    "every %.0f s; a poll's own outcome is not held up): %s",
                    len(self._pending),
                    str(self._path),
                    DEFER_SECONDS,
                    exc,
                )
            return False
        if self._failing:
            self._failing = False
            log.info("the timestamps of %d unchanged polls are written", len(self._pending))
        self._pending.clear()
        self._since = None
        return True
