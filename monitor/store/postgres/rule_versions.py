"""The PostgreSQL store's RuleVersions: rules' versions and a backfill's commit
(see monitor.store.sqlite.rule_versions)."""

from __future__ import annotations

from datetime import datetime

from monitor.domain.backfill import BackfillOutcome
from monitor.store.postgres.core import PostgresCore
from monitor.store.postgres.rows import queue, record_folded
from monitor.store.postgres.stories import write_stories


class PostgresRuleVersions(PostgresCore):
    """Each rule's version as last loaded (see monitor.store.ports.RuleVersions)."""

    def rule_versions(self) -> dict[str, str]:
        """Each rule's fingerprint as last recorded (empty: never recorded)."""
        rows = self._query("SELECT rule_id, fingerprint FROM rule_versions")
        return {str(row["rule_id"]): str(row["fingerprint"]) for row in rows}

    def commit_backfill(self, outcome: BackfillOutcome, *, now: datetime) -> int:
        """The backfill's alerts, folded alerts and stories, and the rules'
        versions (replacing those recorded), in one transaction; how many
        alerts were queued. The versions are upserted, then the rest deleted,
        so that two instances committing at once never collide on a rule."""
        versions = outcome.rule_versions
        with self._transaction() as conn:
            queued = queue(conn, outcome.alerts, now)
            record_folded(conn, outcome.folded, now)
            write_stories(conn, outcome.stories)
            if versions:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO rule_versions (rule_id, fingerprint, loaded_at) "
                        "VALUES (%s, %s, %s) ON CONFLICT (rule_id) DO UPDATE "
                        "SET fingerprint = excluded.fingerprint, loaded_at = excluded.loaded_at",
                        # In one order (by rule), so that two commits at once never deadlock.
                        [
                            (rule, fingerprint, now)
                            for rule, fingerprint in sorted(versions.items())
                        ],
                    )
            conn.execute(
                "DELETE FROM rule_versions WHERE NOT (rule_id = ANY(%s::text[]))",
                (list(versions),),
            )
        return queued
