"""SQLite state store (WAL), with a versioned schema created by the app.

One connection guarded by a lock: the monitor's writes are small and few,
and serialising them keeps every poll's commit atomic without retry loops.
Other processes (``monitor once`` beside ``monitor run``) are safe too:
WAL lets them read while one writes, and unique keys stop double alerts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.domain.alert import (
    Alert,
    FoldedAlert,
    OutboxEntry,
    RoutedAlert,
    Silence,
    Story,
    Target,
)
from monitor.domain.feed import FeedHealth, FeedState, Incident, PruneReport, Validators
from monitor.domain.item import Item
from monitor.domain.kinds import FeedErrorKind, OutboxStatus
from monitor.errors import StateError
from monitor.store.claims import ClaimOwner, claim_owner_gone, this_process

log = logging.getLogger("monitor.store")

SCHEMA_VERSION = 3
SEND_LEASE = timedelta(minutes=10)
"""How long a claimed alert is left to its sender before another may send it
(unless its sender is known to be gone: see monitor.store.claims)."""

_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    first_success_at TEXT,
    last_success_at TEXT,
    last_polled_at TEXT,
    last_error TEXT,
    last_error_kind TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at TEXT,
    body_hash TEXT
);
CREATE TABLE seen (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (feed, key)
) WITHOUT ROWID;
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    item_identity TEXT NOT NULL,
    item_link TEXT,
    feed TEXT NOT NULL,
    severity TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    mentions TEXT NOT NULL DEFAULT '[]',
    digest TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'silenced')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_at TEXT,
    uncertain INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT,
    destination TEXT,
    delivery_ref TEXT,
    channel_id TEXT,
    thread_ts TEXT,
    UNIQUE (rule_id, item_identity, channel)
);
CREATE TABLE stories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_id TEXT,
    link TEXT,
    title TEXT NOT NULL,
    parent_alert_id INTEGER NOT NULL,
    parent_ts TEXT NOT NULL,
    sources INTEGER NOT NULL DEFAULT 1,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL
);
CREATE INDEX stories_recent ON stories (rule_id, channel, first_at);
CREATE INDEX alerts_due ON alerts (status, next_attempt_at);
CREATE TABLE silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_at TEXT
);
"""

_MIGRATIONS: dict[int, str] = {
    # Version 2: feed health over time (failing since, newest item, publishing
    # rate), incidents behind ops alerts, and when each item was last in its
    # feed, so seen records can be pruned. Existing records count as seen at
    # the upgrade: retention starts then, and nothing is pruned early.
    2: """
ALTER TABLE feeds ADD COLUMN failing_since TEXT;
ALTER TABLE feeds ADD COLUMN last_item_at TEXT;
ALTER TABLE feeds ADD COLUMN publish_gap REAL;
ALTER TABLE seen ADD COLUMN last_seen_at TEXT;
UPDATE seen SET last_seen_at = :now;
UPDATE feeds SET last_item_at = last_success_at;
UPDATE feeds SET failing_since = COALESCE(last_success_at, last_polled_at)
    WHERE consecutive_failures > 0;
CREATE INDEX seen_by_age ON seen (feed, last_seen_at);
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('failing', 'silent')),
    since TEXT NOT NULL,
    detail TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE UNIQUE INDEX incidents_open ON incidents (feed, kind) WHERE closed_at IS NULL;
""",
    # Version 3: who holds a claim (host/pid/start time), so that the claim of
    # a process that died can be taken over at once instead of after the
    # lease. Claims made before the upgrade name nobody and keep the lease.
    # (The column later also holds the boot id and PID namespace; claims that
    # lack them keep the lease too: see monitor.store.claims.)
    3: """
ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
""",
}


IDENTITY_SUFFIX = ".id"


def _identity_marker(path: Path) -> Path:
    """The file beside the database holding its identity: where the monitor
    has run before, a database found missing, empty or replaced is lost
    state, not a first start, and must not be taken for one (every item
    would look new again)."""
    return path.with_name(path.name + IDENTITY_SUFFIX)


def _marked_id(path: Path) -> str | None:
    marker = _identity_marker(path)
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def _lost_state(path: Path, what: str) -> StateError:
    return StateError(
        f"state database {str(path)!r} {what}, but the monitor has run here before "
        f"({str(_identity_marker(path))!r} names its database): the items it saw and the "
        "alerts it sent are lost, and starting afresh would alert on every item again. "
        "Restore the database from a backup, or start over on purpose with "
        f"'monitor run --new-state' (or 'monitor once --new-state'), or by deleting "
        f"{str(path)!r} and {str(_identity_marker(path))!r}"
    )


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _gap(seconds: float | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None


def _required(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


def _entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        alert=Alert.from_json(row["payload"]),
        attempts=row["attempts"],
        channel=row["channel"],
        mentions=tuple(json.loads(row["mentions"])),
        digest=row["digest"],
        status=row["status"],
        # A claim that expired means a sender died mid-send: Slack may have the post.
        uncertain=bool(row["uncertain"]) or row["status"] == "sending",
        last_error=row["last_error"],
        next_attempt_at=_required(row["next_attempt_at"]),
    )


_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
"""UPDATE ... RETURNING came with SQLite 3.35; older ones (Debian 11,
Ubuntu 20.04) read the row back with a second statement."""

DEFER_ROWS = 64
DEFER_SECONDS = 1.0
"""Deferred bookkeeping (see SQLiteStore.record_unchanged) is written once
this many feeds have some, or once the oldest is this old."""

_NOT_MODIFIED = (
    "UPDATE feeds SET last_success_at = ?, last_polled_at = ?, last_error = NULL, "
    "last_error_kind = NULL, consecutive_failures = 0, failing_since = NULL, "
    "next_poll_at = COALESCE(?, next_poll_at) WHERE name = ? AND url = ?"
)
# A deferred write lands after later polls may have been written (by this
# process or another sharing the file): it moves nothing back.
_DEFERRED_NOT_MODIFIED = f"{_NOT_MODIFIED} AND (last_polled_at IS NULL OR last_polled_at <= ?)"

_Deferred = tuple[str, str, str | None, str, str, str]
"""The parameters of a _DEFERRED_NOT_MODIFIED write."""

_OPEN_INCIDENTS = (
    "(SELECT GROUP_CONCAT(incidents.kind) FROM incidents WHERE incidents.feed = feeds.name "
    "AND incidents.closed_at IS NULL) AS open_incidents"
)


def _feed_state(row: sqlite3.Row) -> FeedState:
    """A feeds row, with the _OPEN_INCIDENTS column."""
    return FeedState(
        name=row["name"],
        url=row["url"],
        validators=Validators(row["etag"], row["last_modified"]),
        first_success_at=_dt(row["first_success_at"]),
        next_poll_at=_dt(row["next_poll_at"]),
        body_hash=row["body_hash"],
        last_success_at=_dt(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_kind=row["last_error_kind"],
        consecutive_failures=row["consecutive_failures"],
        failing_since=_dt(row["failing_since"]),
        last_item_at=_dt(row["last_item_at"]),
        publish_gap=_gap(row["publish_gap"]),
        open_incidents=frozenset(row["open_incidents"].split(","))
        if row["open_incidents"]
        else frozenset(),
    )


def _not_modified(state: FeedState, deferred: _Deferred) -> FeedState:
    """``state`` as the deferred write leaves it."""
    success, _, next_poll_at, _, _, _ = deferred
    return replace(
        state,
        last_success_at=_dt(success),
        next_poll_at=_dt(next_poll_at) if next_poll_at else state.next_poll_at,
        last_error=None,
        last_error_kind=None,
        consecutive_failures=0,
        failing_since=None,
    )


def _applies(deferred: _Deferred, row: sqlite3.Row) -> bool:
    """Whether the deferred write would change ``row`` (as its WHERE says)."""
    polled = row["last_polled_at"]
    return bool(row["url"] == deferred[4] and (polled is None or polled <= deferred[5]))


class SQLiteStore:
    def __init__(
        self,
        path: Path,
        *,
        claim_lease: timedelta = SEND_LEASE,
        owner: ClaimOwner | None = None,
        new_state: bool = False,
    ) -> None:
        """``new_state``: take the database at ``path`` as it is (a new one if
        it is missing or empty) even where the identity marker beside it names
        another: starting over on purpose (``--new-state``)."""
        self.path = path
        self.claim_lease = claim_lease
        self.owner = owner or this_process()
        """Who this store's claims name as their sender."""
        # Feed name -> its deferred write; since when the oldest has waited
        # (or the last failed attempt to write them).
        self._deferred: dict[str, _Deferred] = {}
        self._deferred_since: float | None = None
        self._deferred_failing = False
        in_memory = str(path) == ":memory:"
        try:
            expected_id = None if in_memory or new_state else _marked_id(path)
            if expected_id is not None and (not path.exists() or path.stat().st_size == 0):
                raise _lost_state(path, "is missing" if not path.exists() else "is empty (0 bytes)")
            if not in_memory:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed alert survives power loss, not only a crash.
            self._db.execute("PRAGMA synchronous=FULL")
            self._lock = threading.RLock()
            state_id = self._migrate(expected_id)
            if not in_memory and expected_id != state_id:
                _identity_marker(path).write_text(state_id + "\n", encoding="utf-8")
            # Bookkeeping goes through a connection of its own, without the
            # fsync: switching one connection's synchronous mode around each
            # write cost two more statements per poll.
            self._bookkeeping_db = self._db if str(path) == ":memory:" else self._connect()
            self._bookkeeping_db.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open state database {str(path)!r}: {exc}") from exc
        except StateError:
            if hasattr(self, "_db"):
                self._db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
        )

    def db_mode(self) -> str:
        """The journal mode in force (``wal`` unless the file system refused it)."""
        return str(self._query("PRAGMA journal_mode")[0][0])

    def close(self) -> None:
        with self._lock:
            if self._deferred and not self._try_write_deferred():
                log.error(
                    "the timestamps of %d unchanged polls are lost (last success, last and next "
                    "poll); "
                    "those feeds show their poll before and are polled again sooner",
                    len(self._deferred),
                )
            self._deferred.clear()
            self._bookkeeping_db.close()
            self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable write transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise

    def _bookkeeping(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        """One statement of bookkeeping that may be lost to a power cut (when a
        feed was last polled, its failure count), committed without the
        fsync; the next durable commit writes it too. The database stays
        consistent either way (WAL). One statement needs no BEGIN and COMMIT
        around it, and a poll that finds nothing new is mostly such round
        trips. Returns the rows of its RETURNING clause, if any."""
        return self._rows(self._bookkeeping_db, sql, params)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return self._rows(self._db, sql, params)

    def _try_write_deferred(self) -> bool:
        """Write the deferred bookkeeping in one transaction (under _lock).
        If that fails it stays deferred, to be tried again DEFER_SECONDS
        later; the first failure in a row is logged, and the recovery."""
        if not self._deferred:
            return True
        db = self._bookkeeping_db
        try:
            db.execute("BEGIN")
            db.executemany(_DEFERRED_NOT_MODIFIED, list(self._deferred.values()))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if db.in_transaction:
                    db.execute("ROLLBACK")
            self._deferred_since = time.monotonic()
            if not self._deferred_failing:
                self._deferred_failing = True
                log.error(
                    "cannot write the timestamps of %d unchanged polls to %r (tried again "
                    "every %.0f s; a poll's own outcome is not held up): %s",
                    len(self._deferred),
                    str(self.path),
                    DEFER_SECONDS,
                    exc,
                )
            return False
        if self._deferred_failing:
            self._deferred_failing = False
            log.info("the timestamps of %d unchanged polls are written", len(self._deferred))
        self._deferred.clear()
        self._deferred_since = None
        return True

    def flush_bookkeeping(self, older_than: float = 0.0, *, wait: bool = True) -> None:
        """Write the deferred bookkeeping now if its oldest part has waited
        ``older_than`` seconds or more (a running monitor calls this often,
        so none waits much longer than DEFER_SECONDS). With ``wait`` false,
        nothing is done while another thread uses the database. Failures
        are logged, never raised (see _try_write_deferred)."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            since = self._deferred_since
            if since is not None and time.monotonic() - since >= older_than:
                self._try_write_deferred()
        finally:
            self._lock.release()

    def _supersede_deferred(self, feed: str) -> None:
        """A write of ``feed``'s poll is about to be made at once: a deferred
        one is older, and would be refused anyway (_DEFERRED_NOT_MODIFIED)."""
        with self._lock:
            self._deferred.pop(feed, None)
            if not self._deferred:
                self._deferred_since = None

    def _rows(
        self, db: sqlite3.Connection, sql: str, params: Sequence[object]
    ) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = db.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise StateError(f"state database error in {str(self.path)!r}: {exc}") from exc

    def _migrate(self, expected_id: str | None) -> str:
        """Create or upgrade the schema; the database's identity, given it
        here if it has none (a database of a version before identities)."""
        with self._transaction() as db:
            has_meta = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            if not has_meta and expected_id is not None:
                raise _lost_state(self.path, "has no monitor schema")
            if not has_meta:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
                version = 1
            else:
                row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state database {str(self.path)!r} has schema version {version}, newer than "
                    f"this monitor understands ({SCHEMA_VERSION}); upgrade the monitor"
                )
            if version < 1:
                raise StateError(f"state database {str(self.path)!r} has no schema version")
            # Every step runs in this one transaction: an upgrade that fails
            # halfway leaves the file as it was.
            now = _ts(datetime.now(UTC))
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement, {"now": now} if ":now" in statement else {})
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(target),))
            row = db.execute("SELECT value FROM meta WHERE key='state_id'").fetchone()
            if row is None:
                if expected_id is not None:
                    raise _lost_state(self.path, "is not the database the monitor used here")
                state_id = uuid.uuid4().hex
                db.execute("INSERT INTO meta (key, value) VALUES ('state_id', ?)", (state_id,))
                return state_id
            if expected_id is not None and row[0] != expected_id:
                raise _lost_state(self.path, "is not the database the monitor used here")
            return str(row[0])

    # --- feeds and items -------------------------------------------------

    def feed_state(self, name: str) -> FeedState | None:
        # Read as the row stands, with this feed's deferred bookkeeping laid
        # over it: writing every feed's deferral first, at the start of every
        # poll, would defer nothing.
        with self._lock:
            rows = self._rows(
                self._db,
                f"SELECT *, {_OPEN_INCIDENTS} FROM feeds WHERE name = ?",  # noqa: S608 - a constant
                (name,),
            )
            deferred = self._deferred.get(name)
        if not rows:
            return None
        state = _feed_state(rows[0])
        if deferred is not None and _applies(deferred, rows[0]):
            state = _not_modified(state, deferred)
        return state

    def feed_states(self) -> list[FeedState]:
        # Read only, deferred bookkeeping laid over the rows: a health probe
        # every few seconds must not force the deferred writes out.
        with self._lock:
            rows = self._rows(
                self._db,
                f"SELECT *, {_OPEN_INCIDENTS} FROM feeds ORDER BY name",  # noqa: S608 - a constant
                (),
            )
            deferred = dict(self._deferred)
        states = []
        for row in rows:
            state = _feed_state(row)
            pending = deferred.get(state.name)
            if pending is not None and _applies(pending, row):
                state = _not_modified(state, pending)
            states.append(state)
        return states

    def queue_alerts(self, alerts: Sequence[RoutedAlert], *, now: datetime) -> int:
        with self._transaction() as db:
            return _queue(db, alerts, _ts(now))

    def unseen(self, feed: str, items: Sequence[Item]) -> list[Item]:
        if not items:
            return []
        keys = sorted({key for item in items for key in item.seen_keys})
        known: set[str] = set()
        # Chunked to stay under SQLite's bound-parameter limit.
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT key FROM seen WHERE feed = ? AND key IN ({marks})",  # noqa: S608 - only "?" marks
                (feed, *chunk),
            )
            known.update(row["key"] for row in rows)
        return [item for item in items if known.isdisjoint(item.seen_keys)]

    def commit_poll(
        self,
        *,
        feed: str,
        url: str,
        items: Sequence[Item],
        alerts: Sequence[RoutedAlert],
        validators: Validators,
        now: datetime,
        body_hash: str | None = None,
        publish_gap: timedelta | None = None,
        newest_item_at: datetime | None = None,
        next_poll_at: datetime | None = None,
        folded: Sequence[FoldedAlert] = (),
    ) -> int:
        stamp = _ts(now)
        self._supersede_deferred(feed)
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO seen (feed, key, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (feed, key) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                [(feed, key, stamp, stamp) for item in items for key in item.seen_keys],
            )
            queued = _queue(db, alerts, stamp)
            _record_folded(db, folded, stamp)
            db.execute(
                "INSERT INTO feeds (name, url, etag, last_modified, first_success_at, last_success_at, "
                "last_polled_at, consecutive_failures) VALUES (?, ?, ?, ?, ?, ?, ?, 0) "
                "ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = excluded.etag, "
                "last_modified = excluded.last_modified, "
                "first_success_at = CASE WHEN feeds.url = excluded.url "
                "THEN COALESCE(feeds.first_success_at, excluded.first_success_at) "
                "ELSE excluded.first_success_at END, "
                "last_success_at = excluded.last_success_at, last_polled_at = excluded.last_polled_at, "
                "last_error = NULL, last_error_kind = NULL, consecutive_failures = 0",
                (feed, url, validators.etag, validators.last_modified, stamp, stamp, stamp),
            )
            db.execute(
                "UPDATE feeds SET body_hash = ?, failing_since = NULL, "
                "next_poll_at = COALESCE(?, next_poll_at), "
                "publish_gap = COALESCE(?, publish_gap), "
                "last_item_at = CASE WHEN ? IS NULL THEN COALESCE(last_item_at, ?) "
                "ELSE MAX(COALESCE(last_item_at, ''), ?) END WHERE name = ?",
                (
                    body_hash,
                    _ts(next_poll_at) if next_poll_at is not None else None,
                    publish_gap.total_seconds() if publish_gap is not None else None,
                    *(
                        (None, stamp, None)
                        if newest_item_at is None
                        else (1, stamp, _ts(newest_item_at))
                    ),
                    feed,
                ),
            )
        return queued

    def feed_health(self) -> list[FeedHealth]:
        self.flush_bookkeeping()  # as the feeds stand now, deferred writes included
        rows = self._query(
            "SELECT f.*, "
            "(SELECT COUNT(*) FROM seen s WHERE s.feed = f.name AND s.key NOT LIKE 'link+title:%') "
            "AS items_seen, "
            "(SELECT COUNT(DISTINCT a.rule_id || ' ' || a.item_identity) FROM alerts a "
            "WHERE a.feed = f.name AND a.rule_id NOT LIKE 'ops.%') AS alerts_raised, "
            "(SELECT GROUP_CONCAT(i.kind) FROM incidents i WHERE i.feed = f.name "
            "AND i.closed_at IS NULL) AS incidents FROM feeds f ORDER BY f.name"
        )
        return [
            FeedHealth(
                name=row["name"],
                url=row["url"],
                last_success_at=_dt(row["last_success_at"]),
                last_polled_at=_dt(row["last_polled_at"]),
                last_error=row["last_error"],
                last_error_kind=row["last_error_kind"],
                consecutive_failures=row["consecutive_failures"],
                next_poll_at=_dt(row["next_poll_at"]),
                items_seen=row["items_seen"],
                alerts_raised=row["alerts_raised"],
                failing_since=_dt(row["failing_since"]),
                last_item_at=_dt(row["last_item_at"]),
                publish_gap=_gap(row["publish_gap"]),
                incidents=tuple(sorted((row["incidents"] or "").split(",")))
                if row["incidents"]
                else (),
                first_success_at=_dt(row["first_success_at"]),
            )
            for row in rows
        ]

    def record_not_modified(
        self, *, feed: str, url: str, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState | None:
        stamp = _ts(now)
        params = (stamp, stamp, _ts(next_poll_at) if next_poll_at else None, feed, url)
        self._supersede_deferred(feed)
        if not _HAS_RETURNING:
            self._bookkeeping(_NOT_MODIFIED, params)
            state = self.feed_state(feed)
            return state if state is not None and state.url == url else None
        rows = self._bookkeeping(f"{_NOT_MODIFIED} RETURNING *, {_OPEN_INCIDENTS}", params)
        return _feed_state(rows[0]) if rows else None

    def record_unchanged(
        self, state: FeedState, *, now: datetime, next_poll_at: datetime | None = None
    ) -> FeedState:
        """Like record_not_modified, for a feed whose state at the poll's
        start was ``state``; returns the state it leaves.

        For a healthy feed the write only moves timestamps (last success,
        last poll, next poll). It is deferred and written with others in one
        transaction: once DEFER_ROWS feeds have one, once the oldest has
        waited DEFER_SECONDS (see flush_bookkeeping), before feed_health
        reads the feeds, and at close. Until then this store's feed_state
        shows it; other processes see it when it is written. A later write
        of the feed's poll, here or by another process, supersedes it. A
        crash loses only such timestamps: those feeds show their poll
        before, and are polled again sooner. A failing feed's recovery is
        written at once.
        """
        healthy = (
            state.consecutive_failures == 0
            and state.last_error is None
            and state.last_error_kind is None
            and state.failing_since is None
        )
        if not healthy:
            after = self.record_not_modified(
                feed=state.name, url=state.url, now=now, next_poll_at=next_poll_at
            )
            return after if after is not None else state
        stamp = _ts(now)
        deferred = (
            stamp,
            stamp,
            _ts(next_poll_at) if next_poll_at else None,
            state.name,
            state.url,
            stamp,
        )
        with self._lock:
            self._deferred[state.name] = deferred
            if self._deferred_since is None:
                self._deferred_since = time.monotonic()
            elif time.monotonic() - self._deferred_since >= DEFER_SECONDS or (
                # While writes are refused, only once a second, not every poll.
                len(self._deferred) >= DEFER_ROWS and not self._deferred_failing
            ):
                self._try_write_deferred()
        return _not_modified(state, deferred)

    def record_failure(
        self,
        *,
        feed: str,
        url: str,
        kind: FeedErrorKind,
        message: str,
        now: datetime,
        next_poll_at: datetime | None = None,
    ) -> None:
        stamp = _ts(now)
        self._supersede_deferred(feed)
        self._bookkeeping(
            "INSERT INTO feeds (name, url, last_polled_at, last_error, last_error_kind, "
            "consecutive_failures, failing_since, next_poll_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET last_polled_at = excluded.last_polled_at, "
            "last_error = excluded.last_error, last_error_kind = excluded.last_error_kind, "
            "consecutive_failures = feeds.consecutive_failures + 1, "
            "failing_since = COALESCE(feeds.failing_since, excluded.failing_since), "
            "next_poll_at = COALESCE(excluded.next_poll_at, feeds.next_poll_at)",
            (
                feed,
                url,
                stamp,
                message,
                kind,
                stamp,
                _ts(next_poll_at) if next_poll_at else None,
            ),
        )

    def redact_stored(self, url: Callable[[str], str], text: Callable[[str], str]) -> int:
        changed = []
        for row in self._query("SELECT name, url, last_error FROM feeds"):
            shown = url(row["url"])
            shown_error = text(row["last_error"]) if row["last_error"] else row["last_error"]
            if (shown, shown_error) != (row["url"], row["last_error"]):
                changed.append((row["name"], row["url"], shown, shown_error))
        scrubbed = [
            (shown_detail, row["id"])
            for row in self._query("SELECT id, detail FROM incidents")
            if (shown_detail := text(row["detail"])) != row["detail"]
        ]
        if not changed and not scrubbed:
            return 0
        self.flush_bookkeeping()  # deferred writes name a feed by its URL as stored
        with self._lock, self._translated():
            # The old values must not linger in the file's free space.
            self._db.execute("PRAGMA secure_delete = ON")
            try:
                with self._transaction() as db:
                    for name, stored, shown, shown_error in changed:
                        db.execute(
                            "UPDATE feeds SET url = ?, last_error = ? WHERE name = ? AND url = ?",
                            (shown, shown_error, name, stored),
                        )
                        if shown != stored:
                            # A guid that is no URI is qualified with the feed's
                            # URL (monitor.text.item_identity): those keys follow.
                            old, new = f"guid:{stored}#", f"guid:{shown}#"
                            db.execute(
                                "UPDATE OR IGNORE seen SET key = ? || substr(key, ?) "
                                "WHERE feed = ? AND substr(key, 1, ?) = ?",
                                (new, len(old) + 1, name, len(old), old),
                            )
                            db.execute(
                                "DELETE FROM seen WHERE feed = ? AND substr(key, 1, ?) = ?",
                                (name, len(old), old),
                            )
                    db.executemany("UPDATE incidents SET detail = ? WHERE id = ?", scrubbed)
            finally:
                self._db.execute("PRAGMA secure_delete = OFF")
            with contextlib.suppress(sqlite3.Error):  # another process may be reading
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(changed)

    # --- outbox -------------------------------------------------------------
    #
    # An alert is claimed (status 'sending') before it is handed to a sink, so
    # that two processes sharing the state file never send the same alert. A
    # claim that is never settled (the process died mid-send, or could not
    # record the result) expires after the lease and the alert is sent again:
    # at most one duplicate, never a loss. A claim names its sender, and the
    # claim of a sender known to be gone (it ran on this host, in this boot and
    # PID namespace, and its process is no more) is taken over at once, lease
    # or not.

    def _gone_owners(self, now: datetime) -> list[str]:
        """The senders of claims still within their lease that are known to be gone."""
        rows = self._query(
            "SELECT DISTINCT claimed_by FROM alerts WHERE status = 'sending' AND claimed_at > ? "
            "AND claimed_by IS NOT NULL",
            (_ts(now - self.claim_lease),),
        )
        return [row[0] for row in rows if claim_owner_gone(row[0], self.owner)]

    def due_alerts(
        self, now: datetime, limit: int, *, skip_channels: Sequence[str] = ()
    ) -> list[OutboxEntry]:
        marks = ",".join("?" * len(skip_channels))
        gone = self._gone_owners(now)
        gone_marks = ",".join("?" * len(gone))
        # Critical first; then in turns across (feed, rule) groups, oldest
        # first within each: a flood queued by one feed or rule takes one
        # place per turn, and every other group's next alert goes before its
        # second. The order is worked out on ids alone, and only the chosen
        # rows are read whole: sorting a large backlog's payloads costs more.
        rows = self._query(
            "SELECT alerts.* FROM (SELECT id, urgent, turn FROM (SELECT id, "  # noqa: S608 - only "?" marks are interpolated
            "severity = 'critical' AS urgent, "
            "ROW_NUMBER() OVER (PARTITION BY feed, rule_id ORDER BY id) AS turn FROM alerts "
            "WHERE ((status = 'pending' AND next_attempt_at <= ?) "
            f"OR (status = 'sending' AND (claimed_at <= ? OR claimed_by IN ({gone_marks})))) "
            f"AND digest IS NULL AND channel NOT IN ({marks})) "
            "ORDER BY urgent DESC, turn, id LIMIT ?) AS chosen JOIN alerts USING (id) "
            "ORDER BY chosen.urgent DESC, chosen.turn, chosen.id",
            (_ts(now), _ts(now - self.claim_lease), *gone, *skip_channels, limit),
        )
        return [_entry(row) for row in rows]

    def outbox(self, statuses: Sequence[OutboxStatus], limit: int = 200) -> list[OutboxEntry]:
        """Alerts in the given states, oldest first, for ``monitor outbox``."""
        marks = ",".join("?" * len(statuses))
        rows = self._query(
            f"SELECT * FROM alerts WHERE status IN ({marks}) ORDER BY id LIMIT ?",  # noqa: S608
            (*statuses, limit),
        )
        return [_entry(row) for row in rows]

    def requeue(self, alert_ids: Sequence[int], *, now: datetime) -> int:
        """Queue failed alerts again (all failed ones when no id is given)."""
        with self._transaction() as db:
            if alert_ids:
                marks = ",".join("?" * len(alert_ids))
                cursor = db.execute(
                    "UPDATE alerts SET status = 'pending', attempts = 0, next_attempt_at = ? "  # noqa: S608
                    f"WHERE status = 'failed' AND id IN ({marks})",
                    (_ts(now), *alert_ids),
                )
            else:
                cursor = db.execute(
                    "UPDATE alerts SET status = 'pending', attempts = 0, next_attempt_at = ? "
                    "WHERE status = 'failed'",
                    (_ts(now),),
                )
            return cursor.rowcount

    def mark_silenced(self, alert_id: int, *, now: datetime, silence: Silence) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'silenced', claimed_at = NULL, sent_at = ?, "
                "last_error = ? WHERE id = ?",
                (_ts(now), f"silenced by silence {silence.id}: {silence.reason}", alert_id),
            )

    # --- silences -----------------------------------------------------------

    def add_silence(self, *, rule_id: str, until: datetime, reason: str, now: datetime) -> Silence:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO silences (rule_id, until, reason, created_at) VALUES (?, ?, ?, ?)",
                (rule_id, _ts(until), reason, _ts(now)),
            )
            silence_id = cursor.lastrowid
        assert silence_id is not None
        return Silence(silence_id, rule_id, until, reason, now)

    def active_silences(self, now: datetime) -> list[Silence]:
        rows = self._query(
            "SELECT * FROM silences WHERE removed_at IS NULL AND until > ? ORDER BY id", (_ts(now),)
        )
        return [
            Silence(
                row["id"],
                row["rule_id"],
                _required(row["until"]),
                row["reason"],
                _required(row["created_at"]),
            )
            for row in rows
        ]

    def remove_silence(self, silence_id: int, *, now: datetime) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE silences SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (_ts(now), silence_id),
            )
            return cursor.rowcount == 1

    def claim(self, alert_id: int, *, now: datetime) -> bool:
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, claimed_at, claimed_by FROM alerts WHERE id = ?", (alert_id,)
            ).fetchone()
            if row is None or row[0] not in ("pending", "sending"):
                return False
            status, claimed_at, claimed_by = row
            taken_over = False
            if status == "sending" and (claimed_at or "") > _ts(now - self.claim_lease):
                if not claim_owner_gone(claimed_by, self.owner):
                    return False
                taken_over = True
            db.execute(
                "UPDATE alerts SET status = 'sending', claimed_at = ?, claimed_by = ? WHERE id = ?",
                (_ts(now), str(self.owner), alert_id),
            )
        if taken_over:
            log.warning(
                "alert %d was being sent by %s, which is no longer running; taking it over",
                alert_id,
                claimed_by,
            )
        return True

    def mark_sent(
        self,
        alert_id: int,
        *,
        now: datetime,
        destination: str,
        ref: str | None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'sent', sent_at = ?, destination = ?, delivery_ref = ?, "
                "channel_id = ?, thread_ts = ?, attempts = attempts + 1, last_error = NULL, "
                "claimed_at = NULL, uncertain = 0 WHERE id = ?",
                (_ts(now), destination, ref, channel_id, thread_ts, alert_id),
            )

    def reschedule(
        self,
        alert_id: int,
        *,
        attempts: int,
        next_attempt_at: datetime,
        error: str,
        uncertain: bool = False,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'pending', attempts = ?, next_attempt_at = ?, "
                "last_error = ?, claimed_at = NULL, uncertain = MAX(uncertain, ?) WHERE id = ?",
                (attempts, _ts(next_attempt_at), error, int(uncertain), alert_id),
            )

    def digest_queue(self, channel: str, digest: str, now: datetime) -> list[OutboxEntry]:
        """Alerts waiting for one channel's digest, oldest first."""
        gone = self._gone_owners(now)
        rows = self._query(
            "SELECT * FROM alerts WHERE channel = ? AND digest = ? AND "  # noqa: S608 - "?" marks
            "(status = 'pending' OR (status = 'sending' AND (claimed_at <= ? "
            f"OR claimed_by IN ({','.join('?' * len(gone))})))) ORDER BY id",
            (channel, digest, _ts(now - self.claim_lease), *gone),
        )
        return [_entry(row) for row in rows]

    def known_channel_id(self, channel: str) -> str | None:
        """The id Slack gave for a channel name in an earlier answer, if any."""
        rows = self._query(
            "SELECT channel_id FROM alerts WHERE channel = ? AND channel_id IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (channel,),
        )
        return str(rows[0][0]) if rows else None

    def top_level_posts(self, channel: str, since: datetime) -> int:
        """Top-level posts to a channel since a time; a roll-up counts once."""
        rows = self._query(
            "SELECT COUNT(DISTINCT COALESCE(delivery_ref, 'alert:' || id)) FROM alerts "
            "WHERE channel = ? AND status = 'sent' AND thread_ts IS NULL AND sent_at >= ?",
            (channel, _ts(since)),
        )
        return int(rows[0][0])

    # --- stories (threads) ----------------------------------------------------

    def recent_stories(self, *, rule_id: str, channel: str, since: datetime) -> list[Story]:
        rows = self._query(
            "SELECT * FROM stories WHERE rule_id = ? AND channel = ? AND first_at >= ? ORDER BY id DESC",
            (rule_id, channel, _ts(since)),
        )
        return [
            Story(
                id=row["id"],
                rule_id=row["rule_id"],
                channel=row["channel"],
                channel_id=row["channel_id"],
                link=row["link"],
                title=row["title"],
                parent_alert_id=row["parent_alert_id"],
                parent_ts=row["parent_ts"],
                sources=row["sources"],
            )
            for row in rows
        ]

    def add_story(self, story: Story, *, now: datetime) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO stories (rule_id, channel, channel_id, link, title, parent_alert_id, "
                "parent_ts, sources, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (
                    story.rule_id,
                    story.channel,
                    story.channel_id,
                    story.link,
                    story.title,
                    story.parent_alert_id,
                    story.parent_ts,
                    _ts(now),
                    _ts(now),
                ),
            )

    def add_source(self, story_id: int, *, now: datetime) -> int:
        """Count one more source in a story's thread; the new count."""
        with self._transaction() as db:
            db.execute(
                "UPDATE stories SET sources = sources + 1, last_at = ? WHERE id = ?",
                (_ts(now), story_id),
            )
            row = db.execute("SELECT sources FROM stories WHERE id = ?", (story_id,)).fetchone()
        return int(row[0])

    def entry(self, alert_id: int) -> OutboxEntry | None:
        rows = self._query("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return _entry(rows[0]) if rows else None

    def mark_failed(self, alert_id: int, *, attempts: int, now: datetime, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE alerts SET status = 'failed', attempts = ?, last_error = ?, "
                "next_attempt_at = ?, claimed_at = NULL WHERE id = ?",
                (attempts, error, _ts(now), alert_id),
            )

    def outbox_counts(self) -> dict[str, int]:
        rows = self._query("SELECT status, COUNT(*) AS n FROM alerts GROUP BY status")
        counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "silenced": 0}
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    # --- incidents (ops alerts) -------------------------------------------------

    def open_incidents(self, feed: str | None = None) -> list[Incident]:
        rows = self._query(
            "SELECT * FROM incidents WHERE closed_at IS NULL AND (? IS NULL OR feed = ?) "
            "ORDER BY id",
            (feed, feed),
        )
        return [
            Incident(
                id=row["id"],
                feed=row["feed"],
                kind=row["kind"],
                since=_required(row["since"]),
                detail=row["detail"],
                opened_at=_required(row["opened_at"]),
            )
            for row in rows
        ]

    def open_incident(
        self,
        *,
        feed: str,
        kind: str,
        since: datetime,
        detail: str,
        alerts: Sequence[RoutedAlert],
        now: datetime,
    ) -> bool:
        stamp = _ts(now)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO incidents (feed, kind, since, detail, opened_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (feed, kind, _ts(since), detail, stamp),
            )
            if cursor.rowcount == 0:
                return False
            _queue(db, alerts, stamp)
        return True

    def close_incident(
        self, incident_id: int, *, alerts: Sequence[RoutedAlert], now: datetime
    ) -> bool:
        stamp = _ts(now)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (stamp, incident_id),
            )
            if cursor.rowcount == 0:
                return False
            _queue(db, alerts, stamp)
        return True

    # --- retention --------------------------------------------------------------

    def prune(self, cutoff: datetime) -> PruneReport:
        stamp = _ts(cutoff)
        with self._transaction() as db:
            seen = 0
            # The keys of a feed's latest document carry its newest stamp and
            # are spared however old: they are still in the feed, and would
            # alert again if forgotten.
            latest = db.execute("SELECT feed, MAX(last_seen_at) FROM seen GROUP BY feed").fetchall()
            for feed, newest in latest:
                seen += db.execute(
                    "DELETE FROM seen WHERE feed = ? AND last_seen_at < ? AND last_seen_at < ?",
                    (feed, stamp, newest),
                ).rowcount
            alerts = db.execute(
                "DELETE FROM alerts WHERE status IN ('sent', 'silenced') AND created_at < ?",
                (stamp,),
            ).rowcount
            stories = db.execute("DELETE FROM stories WHERE last_at < ?", (stamp,)).rowcount
            incidents = db.execute(
                "DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?", (stamp,)
            ).rowcount
        return PruneReport(seen=seen, alerts=alerts, stories=stories, incidents=incidents)


_INSERT_ALERT = (
    "INSERT OR IGNORE INTO alerts (rule_id, item_identity, item_link, feed, severity, "
    "payload, created_at, next_attempt_at, channel, mentions, digest, status, sent_at, "
    "last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _alert_row(
    alert: Alert, target: Target, stamp: str, *, folded_because: str | None = None
) -> tuple[object, ...]:
    """An outbox row: pending, or silenced (never sent) when a flood alert stands for it."""
    return (
        alert.rule_id,
        alert.item_identity,
        alert.link,
        alert.feed,
        alert.severity.value,
        alert.to_json(),
        stamp,
        stamp,
        target.channel,
        json.dumps(list(target.mentions)) if folded_because is None else "[]",
        target.digest if folded_because is None else None,
        "pending" if folded_because is None else "silenced",
        None if folded_because is None else stamp,
        folded_because,
    )


def _record_folded(db: sqlite3.Connection, folded: Sequence[FoldedAlert], stamp: str) -> None:
    """Keep alerts a flood alert stands for, as silenced (never sent), with why."""
    db.executemany(
        _INSERT_ALERT,
        [_alert_row(a, target, stamp, folded_because=why) for a, target, why in folded],
    )


def _queue(db: sqlite3.Connection, alerts: Sequence[RoutedAlert], stamp: str) -> int:
    """Put alerts in the outbox; one for the same rule, item and channel exists at most once."""
    return sum(
        db.execute(_INSERT_ALERT, _alert_row(alert, target, stamp)).rowcount
        for alert, target in alerts
    )
