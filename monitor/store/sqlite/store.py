"""SQLiteStore: every port of the state store, on one SQLite database (WAL).

Composed of mixins, one per port (monitor.store.sqlite.feeds, .seen,
.outbox, .incidents, .silences, .threads, .stories, .lists, .archive, .rule_versions,
.leases, .duties, .pacing, .maintenance), each a
subclass of SQLiteCore: they share one connection, one lock and one transaction
discipline, so a poll's commit can touch the feeds, seen and alerts tables
atomically. Mixins keep each port's SQL in its own module without a layer
of forwarding methods that composed repositories would need.
"""

from __future__ import annotations

from monitor.store.sqlite.alert_log import SQLiteAlertLog
from monitor.store.sqlite.archive import SQLiteArchive
from monitor.store.sqlite.duties import SQLiteDuties
from monitor.store.sqlite.feeds import SQLiteFeedStates
from monitor.store.sqlite.incidents import SQLiteIncidents
from monitor.store.sqlite.leases import SQLiteFeedLeases, SQLiteInstances
from monitor.store.sqlite.lists import SQLiteListSnapshots
from monitor.store.sqlite.maintenance import SQLiteMaintenance
from monitor.store.sqlite.outbox import SQLiteOutbox, SQLiteOutboxReview
from monitor.store.sqlite.pacing import SQLiteChannelPacing
from monitor.store.sqlite.rule_versions import SQLiteRuleVersions
from monitor.store.sqlite.seen import SQLiteSeenItems
from monitor.store.sqlite.silences import SQLiteSilences
from monitor.store.sqlite.stories import SQLiteStories
from monitor.store.sqlite.threads import SQLiteThreads


class SQLiteStore(
    SQLiteFeedStates,
    SQLiteSeenItems,
    SQLiteOutbox,
    SQLiteOutboxReview,
    SQLiteIncidents,
    SQLiteSilences,
    SQLiteThreads,
    SQLiteStories,
    SQLiteListSnapshots,
    SQLiteArchive,
    SQLiteRuleVersions,
    SQLiteFeedLeases,
    SQLiteInstances,
    SQLiteDuties,
    SQLiteChannelPacing,
    SQLiteAlertLog,
    SQLiteMaintenance,
):
    """The state store on SQLite: open it with a path (see SQLiteCore.__init__)."""
