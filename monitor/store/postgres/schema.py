"""The PostgreSQL store's schema and its migrations, versioned like the
SQLite store's (monitor.store.sqlite.schema): ``meta.schema_version`` names
the last step applied, and each start applies the steps after it, in one
transaction, holding an advisory lock so that two instances starting at once
never run a step twice.

Moments are ``timestamptz``, JSON is ``jsonb``, flags are ``boolean``; an
alert's payload stays the exact text :meth:`Alert.to_json` wrote. The
archive's full-text index is a ``tsvector`` the store makes of each item's
text (monitor.store.postgres.search_query, so that words match as FTS5's
do: as written, case and accents folded) with a GIN index.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from monitor.errors import StateError

SCHEMA_VERSION = 3

MIGRATION_LOCK = 0x6D6F6E69746F72
"""The advisory lock a migration holds (any constant the database's other users do not take)."""

_MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE feeds (
    name text PRIMARY KEY,
    url text NOT NULL,
    etag text,
    last_modified text,
    first_success_at timestamptz,
    last_success_at timestamptz,
    last_polled_at timestamptz,
    last_error text,
    last_error_kind text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    next_poll_at timestamptz,
    body_hash text,
    failing_since timestamptz,
    last_item_at timestamptz,
    publish_gap double precision
);
CREATE TABLE seen (
    feed text NOT NULL,
    key text NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz,
    PRIMARY KEY (feed, key)
);
CREATE INDEX seen_by_age ON seen (feed, last_seen_at);
CREATE TABLE alerts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id text NOT NULL,
    item_identity text NOT NULL,
    item_link text,
    feed text NOT NULL,
    severity text NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL,
    channel text NOT NULL,
    mentions jsonb NOT NULL DEFAULT '[]',
    digest text,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'silenced')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    claimed_at timestamptz,
    claimed_by text,
    uncertain boolean NOT NULL DEFAULT false,
    last_error text,
    sent_at timestamptz,
    destination text,
    delivery_ref text,
    channel_ref text,
    thread_ref text,
    story_key text,
    backfill boolean NOT NULL DEFAULT false,
    UNIQUE (rule_id, item_identity, channel)
);
CREATE INDEX alerts_due ON alerts (status, next_attempt_at);
CREATE INDEX alerts_by_item ON alerts (item_identity, feed);
CREATE INDEX alerts_by_story ON alerts (story_key, channel) WHERE story_key IS NOT NULL;
CREATE INDEX alerts_by_created ON alerts (created_at);
CREATE TABLE incidents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('failing', 'silent')),
    since timestamptz NOT NULL,
    detail text NOT NULL,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz
);
CREATE UNIQUE INDEX incidents_open ON incidents (feed, kind) WHERE closed_at IS NULL;
CREATE TABLE silences (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id text NOT NULL,
    story_key text,
    feed text,
    severity text,
    keyword text,
    until timestamptz NOT NULL,
    reason text NOT NULL,
    author text,
    created_at timestamptz NOT NULL,
    removed_at timestamptz,
    ended_notice_at timestamptz
);
CREATE TABLE story_threads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id text NOT NULL,
    channel text NOT NULL,
    channel_ref text,
    link text,
    title text NOT NULL,
    parent_alert_id bigint NOT NULL,
    parent_ref text NOT NULL,
    sources integer NOT NULL DEFAULT 1,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    story_key text
);
CREATE INDEX story_threads_recent ON story_threads (rule_id, channel, first_at);
CREATE INDEX story_threads_by_story ON story_threads (story_key, channel)
    WHERE story_key IS NOT NULL;
CREATE TABLE stories (
    key text PRIMARY KEY,
    rule_id text NOT NULL,
    title text NOT NULL,
    severity text NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    sources jsonb NOT NULL DEFAULT '[]',
    official boolean NOT NULL DEFAULT false,
    escalated_at timestamptz
);
CREATE INDEX stories_recent ON stories (rule_id, last_seen_at);
CREATE TABLE story_members (
    position bigint GENERATED ALWAYS AS IDENTITY,
    story_key text NOT NULL,
    item_identity text NOT NULL,
    feed text NOT NULL,
    publisher text,
    link text,
    title text NOT NULL,
    seen_at timestamptz NOT NULL,
    text jsonb NOT NULL,
    PRIMARY KEY (story_key, item_identity)
);
CREATE TABLE feedback (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL
        CHECK (kind IN ('acknowledged', 'muted', 'false-alarm', 'not-relevant')),
    alert_id bigint NOT NULL,
    story_key text,
    rule_id text NOT NULL,
    user_id text NOT NULL,
    user_name text NOT NULL,
    at timestamptz NOT NULL,
    alert text NOT NULL
);
CREATE INDEX feedback_by_alert ON feedback (alert_id);
CREATE INDEX feedback_by_kind ON feedback (kind, id);
CREATE TABLE list_snapshots (
    source text PRIMARY KEY,
    published text,
    taken_at timestamptz NOT NULL
);
CREATE TABLE list_entries (
    source text NOT NULL,
    key text NOT NULL,
    digest text NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE TABLE listing_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    change text NOT NULL CHECK (change IN ('added', 'removed', 'changed')),
    key text NOT NULL,
    publication text NOT NULL,
    happened_on date,
    recorded_at timestamptz NOT NULL,
    entry jsonb NOT NULL,
    UNIQUE (source, publication, change, key)
);
CREATE INDEX listing_events_recent ON listing_events (change, recorded_at);
CREATE TABLE archive (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed text NOT NULL,
    identity text NOT NULL,
    guid text,
    title text NOT NULL,
    summary text NOT NULL,
    link text,
    published timestamptz,
    updated timestamptz,
    publisher text,
    tags jsonb NOT NULL DEFAULT '[]',
    first_seen_at timestamptz NOT NULL,
    first_poll boolean NOT NULL DEFAULT false,
    words tsvector NOT NULL,
    UNIQUE (feed, identity)
);
CREATE INDEX archive_by_age ON archive (first_seen_at, id);
CREATE INDEX archive_words ON archive USING gin (words);
CREATE TABLE rule_versions (
    rule_id text PRIMARY KEY,
    fingerprint text NOT NULL,
    loaded_at timestamptz NOT NULL
);
""",
    # Version 2: several instances (issue 19). Each feed named for polling
    # has a lease row, the row a claim locks (FOR UPDATE SKIP LOCKED): who
    # polls it now and until when, and when it was first due (a feed never
    # polled has no next poll of its own). Each instance records its
    # heartbeats, named by its claim owner.
    2: """
CREATE TABLE feed_leases (
    feed text PRIMARY KEY,
    owner text,
    until timestamptz,
    first_due timestamptz NOT NULL
);
CREATE INDEX feed_leases_by_owner ON feed_leases (owner, until) WHERE owner IS NOT NULL;
CREATE TABLE instances (
    owner text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL,
    version text NOT NULL
);
CREATE INDEX instances_by_heartbeat ON instances (last_heartbeat);
""",
    # Version 3: delivery shared by several instances (issue 19), as the
    # SQLite store's version 11: duties held as leases, each channel's last
    # booked post and hold, the destination's hold (one row), and a story's
    # threads in a channel numbered, the story, channel and number unique.
    3: """
CREATE TABLE duties (
    name text PRIMARY KEY,
    owner text NOT NULL,
    until timestamptz NOT NULL
);
CREATE TABLE channel_pacing (
    channel text PRIMARY KEY,
    last_slot timestamptz,
    held_until timestamptz
);
CREATE TABLE destination_hold (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    until timestamptz NOT NULL
);
ALTER TABLE story_threads ADD COLUMN generation integer;
UPDATE story_threads SET generation = numbered.generation FROM (
    SELECT id, row_number() OVER (PARTITION BY story_key, channel ORDER BY id) AS generation
    FROM story_threads WHERE story_key IS NOT NULL
) AS numbered WHERE story_threads.id = numbered.id;
ALTER TABLE story_threads ADD CONSTRAINT story_threads_generation
    UNIQUE (story_key, channel, generation);
""",
}


def migrate(conn: psycopg.Connection[Any], where: str) -> str:
    """Create or upgrade the schema inside the caller's transaction (holding
    the migration lock); the database's identity (``meta.state_id``).
    ``where``: the database as messages name it (no password)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    has_meta = conn.execute("SELECT to_regclass('meta') IS NOT NULL AS present").fetchone()
    version = 0
    if has_meta is not None and _first(has_meta):
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(_first(row)) if row is not None else 0
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state database {where} has schema version {version}, newer than this "
            f"monitor understands ({SCHEMA_VERSION}); upgrade the monitor"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute(_MIGRATIONS[target].encode())  # several statements: no parameters
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(target),),
        )
    row = conn.execute("SELECT value FROM meta WHERE key = 'state_id'").fetchone()
    if row is not None:
        return str(_first(row))
    state_id = uuid.uuid4().hex
    conn.execute("INSERT INTO meta (key, value) VALUES ('state_id', %s)", (state_id,))
    return state_id


def _first(row: Any) -> Any:
    """The first column of a row, whatever its row factory (tuple or dict)."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
