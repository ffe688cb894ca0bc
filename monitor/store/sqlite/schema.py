"""The SQLite schema, its versioned migrations, and the database's identity.

A new database is created as version 1 and brought up through every
migration, exactly as an old one is: one path, tested by every test. So the
version-1 schema below keeps the names it had then (Slack's words among
them); version 4 renames them.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import StateError
from monitor.store.sqlite.rows import ts

SCHEMA_VERSION = 11

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
"""Version 1, as it was created then (see the module's docstring)."""

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
    # Version 4: what a sink gave back is an opaque reference, whichever the
    # sink (see monitor.store.ports): the columns lose Slack's names. A rename
    # keeps every value and constraint (parent_ref stays NOT NULL).
    4: """
ALTER TABLE alerts RENAME COLUMN channel_id TO channel_ref;
ALTER TABLE alerts RENAME COLUMN thread_ts TO thread_ref;
ALTER TABLE stories RENAME COLUMN channel_id TO channel_ref;
ALTER TABLE stories RENAME COLUMN parent_ts TO parent_ref;
""",
    # Version 5: each list source's last snapshot of its list (issue 16). A
    # row in list_snapshots tells a source whose list was empty from one that
    # never had a snapshot (whose first is a baseline); the entries are keyed
    # by the list's own ids.
    5: """
CREATE TABLE list_snapshots (
    source TEXT PRIMARY KEY,
    published TEXT,
    taken_at TEXT NOT NULL
);
CREATE TABLE list_entries (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    digest TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (source, key)
);
""",
    # Version 6: the history of list changes (issue 16): what was added,
    # removed or changed, when, by which publication. News items are checked
    # against recent additions; ops read the history. Kept after the
    # snapshot moves on, pruned like the rest by age.
    6: """
CREATE TABLE listing_events (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('added', 'removed', 'changed')),
    key TEXT NOT NULL,
    publication TEXT NOT NULL,
    happened_on TEXT,
    recorded_at TEXT NOT NULL,
    entry TEXT NOT NULL,
    UNIQUE (source, publication, change, key)
);
CREATE INDEX listing_events_recent ON listing_events (change, recorded_at);
""",
    # Version 7: stories of their own (issue 17). What was a story (the
    # thread of a rule's first alert in a channel) becomes a story's thread,
    # and a story is one event across feeds: its members (the items, with
    # what clustering compares), its independent sources, its best title.
    # An alert names its story by a key derived from the story's first item,
    # so a poll redone after a crash finds the same key.
    7: """
ALTER TABLE stories RENAME TO story_threads;
DROP INDEX stories_recent;
CREATE INDEX story_threads_recent ON story_threads (rule_id, channel, first_at);
ALTER TABLE story_threads ADD COLUMN story_key TEXT;
CREATE TABLE stories (
    key TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',
    official INTEGER NOT NULL DEFAULT 0,
    escalated_at TEXT
);
CREATE INDEX stories_recent ON stories (rule_id, last_seen_at);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL
        CHECK (kind IN ('acknowledged', 'muted', 'false-alarm', 'not-relevant')),
    alert_id INTEGER NOT NULL,
    story_key TEXT,
    rule_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    at TEXT NOT NULL,
    alert TEXT NOT NULL
);
CREATE INDEX feedback_by_kind ON feedback (kind, id);
CREATE INDEX feedback_by_alert ON feedback (alert_id);
ALTER TABLE silences ADD COLUMN story_key TEXT;
ALTER TABLE silences ADD COLUMN feed TEXT;
ALTER TABLE silences ADD COLUMN severity TEXT;
ALTER TABLE silences ADD COLUMN keyword TEXT;
ALTER TABLE silences ADD COLUMN author TEXT;
ALTER TABLE silences ADD COLUMN ended_notice_at TEXT;
CREATE TABLE story_members (
    story_key TEXT NOT NULL,
    item_identity TEXT NOT NULL,
    feed TEXT NOT NULL,
    publisher TEXT,
    link TEXT,
    title TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (story_key, item_identity)
);
ALTER TABLE alerts ADD COLUMN story_key TEXT;
CREATE INDEX alerts_by_story ON alerts (story_key, channel) WHERE story_key IS NOT NULL;
CREATE INDEX story_threads_by_story ON story_threads (story_key, channel)
    WHERE story_key IS NOT NULL;
""",
    # Version 8: the item archive (issue 18): each new item's text as a poll
    # first read it, for search and backtests, with a full-text index (FTS5,
    # external content: the text is stored once) that triggers keep in step.
    # first_poll marks a first read's backlog, which that poll baselined.
    8: """
CREATE TABLE archive (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    identity TEXT NOT NULL,
    guid TEXT,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    link TEXT,
    published TEXT,
    updated TEXT,
    publisher TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    first_seen_at TEXT NOT NULL,
    first_poll INTEGER NOT NULL DEFAULT 0,
    UNIQUE (feed, identity)
);
CREATE INDEX archive_by_age ON archive (first_seen_at);
CREATE INDEX alerts_by_item ON alerts (item_identity, feed);
CREATE VIRTUAL TABLE archive_text USING fts5(
    title, summary, content='archive', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER archive_text_insert AFTER INSERT ON archive BEGIN
    INSERT INTO archive_text (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;
CREATE TRIGGER archive_text_delete AFTER DELETE ON archive BEGIN
    INSERT INTO archive_text (archive_text, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
END;
CREATE TRIGGER archive_text_update AFTER UPDATE OF title, summary ON archive BEGIN
    INSERT INTO archive_text (archive_text, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    INSERT INTO archive_text (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;
""",
    # Version 9: backfill (issue 18). An alert a new or changed rule raised
    # over archived items is marked; each rule's version as last loaded is
    # kept, so a restart knows which rules are new or changed since. The web
    # console counts alerts per day.
    9: """
ALTER TABLE alerts ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;
CREATE INDEX alerts_by_created ON alerts (created_at);
CREATE TABLE rule_versions (
    rule_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);
""",
    # Version 10: several instances (issue 19). Each feed named for polling
    # has a lease row: who polls it now and until when, and when it was
    # first due (a feed never polled has no next poll of its own). Each
    # instance records its heartbeats, named by its claim owner.
    10: """
CREATE TABLE feed_leases (
    feed TEXT PRIMARY KEY,
    owner TEXT,
    until TEXT,
    first_due TEXT NOT NULL
);
CREATE INDEX feed_leases_by_owner ON feed_leases (owner, until) WHERE owner IS NOT NULL;
CREATE TABLE instances (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE INDEX instances_by_heartbeat ON instances (last_heartbeat);
""",
    # Version 11: delivery shared by several instances (issue 19). A duty one
    # instance runs at a time is a lease row; each channel keeps its last
    # booked post and its hold, and the destination's hold is one row, so
    # any sender paces and waits as the one before it would. A story's
    # threads in a channel are numbered (generation): the story, channel and
    # number are unique, so two senders never both record a story's thread.
    # The threads recorded before count up in the order they were made.
    11: """
CREATE TABLE duties (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until TEXT NOT NULL
);
CREATE TABLE channel_pacing (
    channel TEXT PRIMARY KEY,
    last_slot TEXT,
    held_until TEXT
);
CREATE TABLE destination_hold (
    one_row INTEGER PRIMARY KEY DEFAULT 1 CHECK (one_row = 1),
    until TEXT NOT NULL
);
ALTER TABLE story_threads ADD COLUMN generation INTEGER;
UPDATE story_threads SET generation = (
    SELECT COUNT(*) FROM story_threads AS earlier
    WHERE earlier.story_key = story_threads.story_key
    AND earlier.channel = story_threads.channel AND earlier.id <= story_threads.id
) WHERE story_key IS NOT NULL;
CREATE UNIQUE INDEX story_threads_generation ON story_threads (story_key, channel, generation);
""",
}

IDENTITY_SUFFIX = ".id"


def identity_marker(path: Path) -> Path:
    """The file beside the database holding its identity: where the monitor
    has run before, a database found missing, empty or replaced is lost
    state, not a first start, and must not be taken for one (every item
    would look new again)."""
    return path.with_name(path.name + IDENTITY_SUFFIX)


def marked_id(path: Path) -> str | None:
    """The identity the marker beside ``path`` names; None without one."""
    marker = identity_marker(path)
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def lost_state(path: Path, what: str) -> StateError:
    """The error for a database that is not the one the marker names."""
    return StateError(
        f"state database {str(path)!r} {what}, but the monitor has run here before "
        f"({str(identity_marker(path))!r} names its database): the items it saw and the "
        "alerts it sent are lost, and starting afresh would alert on every item again. "
        "Restore the database from a backup, or start over on purpose with "
        f"'monitor run --new-state' (or 'monitor once --new-state'), or by deleting "
        f"{str(path)!r} and {str(identity_marker(path))!r}"
    )


def _run_script(db: sqlite3.Connection, script: str, now: str) -> None:
    # A trigger's body holds semicolons of its own: pieces are joined until
    # SQLite says the statement is complete.
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement, {"now": now} if ":now" in statement else {})
            statement = ""
    if statement.strip(" \n;"):
        raise StateError(f"incomplete statement in the schema: {statement.strip()!r}")


def migrate(db: sqlite3.Connection, path: Path, expected_id: str | None) -> str:
    """Create or upgrade the schema inside the caller's transaction; the
    database's identity, given it here if it has none (a database of a
    version before identities). ``expected_id``: the identity the marker
    names, if any (a database without it is lost state)."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if not has_meta and expected_id is not None:
        raise lost_state(path, "has no monitor schema")
    if not has_meta:
        _run_script(db, _SCHEMA, "")
        db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
        version = 1
    else:
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state database {str(path)!r} has schema version {version}, newer than "
            f"this monitor understands ({SCHEMA_VERSION}); upgrade the monitor"
        )
    if version < 1:
        raise StateError(f"state database {str(path)!r} has no schema version")
    # Every step runs in the caller's one transaction: an upgrade that fails
    # halfway leaves the file as it was.
    now = ts(datetime.now(UTC))
    for target in range(version + 1, SCHEMA_VERSION + 1):
        _run_script(db, _MIGRATIONS[target], now)
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(target),))
    row = db.execute("SELECT value FROM meta WHERE key='state_id'").fetchone()
    if row is None:
        if expected_id is not None:
            raise lost_state(path, "is not the database the monitor used here")
        state_id = uuid.uuid4().hex
        db.execute("INSERT INTO meta (key, value) VALUES ('state_id', ?)", (state_id,))
        return state_id
    if expected_id is not None and row[0] != expected_id:
        raise lost_state(path, "is not the database the monitor used here")
    return str(row[0])
