"""PostgresStore: every port of the state store on one PostgreSQL database,
shared by every instance that names it (``state.url``).

Composed of mixins, one per port, as the SQLite store is
(monitor.store.sqlite.store); they share the core's connection pool, and a
poll's commit touches several tables in one transaction.
"""

from __future__ import annotations

from monitor.store.postgres.alert_log import PostgresAlertLog
from monitor.store.postgres.archive import PostgresArchive
from monitor.store.postgres.duties import PostgresDuties
from monitor.store.postgres.feeds import PostgresFeedStates
from monitor.store.postgres.incidents import PostgresIncidents
from monitor.store.postgres.leases import PostgresFeedLeases, PostgresInstances
from monitor.store.postgres.lists import PostgresListSnapshots
from monitor.store.postgres.maintenance import PostgresMaintenance
from monitor.store.postgres.outbox import PostgresOutbox, PostgresOutboxReview
from monitor.store.postgres.pacing import PostgresChannelPacing
from monitor.store.postgres.rule_versions import PostgresRuleVersions
from monitor.store.postgres.seen import PostgresSeenItems
from monitor.store.postgres.silences import PostgresSilences
from monitor.store.postgres.stories import PostgresStories
from monitor.store.postgres.threads import PostgresThreads


class PostgresStore(
    PostgresFeedStates,
    PostgresSeenItems,
    PostgresOutbox,
    PostgresOutboxReview,
    PostgresIncidents,
    PostgresSilences,
    PostgresThreads,
    PostgresStories,
    PostgresListSnapshots,
    PostgresArchive,
    PostgresRuleVersions,
    PostgresFeedLeases,
    PostgresInstances,
    PostgresDuties,
    PostgresChannelPacing,
    PostgresAlertLog,
    PostgresMaintenance,
):
    """The state store on PostgreSQL: open it with a URL (see PostgresCore.__init__)."""
