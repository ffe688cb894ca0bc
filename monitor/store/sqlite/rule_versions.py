"""The SQLite store's RuleVersions port: each rule's version as last loaded,
and a backfill's alerts committed with them (schema version 9)."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.backfill import BackfillOutcome
from monitor.store.sqlite.core import SQLiteCore
from monitor.store.sqlite.rows import queue, record_folded, ts
from monitor.store.sqlite.stories import write_stories


class SQLiteRuleVersions(SQLiteCore):
    def rule_versions(self) -> dict[str, str]:
        """Each rule's fingerprint as last recorded (empty: never recorded)."""
        rows = self._query("SELECT rule_id, fingerprint FROM rule_versions", ())
        return {str(row[0]): str(row[1]) for row in rows}

    def commit_backfill(self, outcome: BackfillOutcome, *, now: datetime) -> int:
        """The backfill's alerts, folded alerts and stories, and the rules'
        versions (replacing those recorded), in one transaction; how many
        alerts were queued."""
        stamp = ts(now)
        with self._transaction() as db:
            queued = queue(db, outcome.alerts, stamp)
            record_folded(db, outcome.folded, stamp)
            write_stories(db, outcome.stories)
            db.execute("DELETE FROM rule_versions")
            db.executemany(
                "INSERT INTO rule_versions (rule_id, fingerprint, loaded_at) VALUES (?, ?, ?)",
                [(rule, fingerprint, stamp) for rule, fingerprint in outcome.rule_versions.items()],
            )
        return queued
