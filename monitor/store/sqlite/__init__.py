"""The SQLite state store (see store.py for how it is put together).

``from monitor.store.sqlite import SQLiteStore`` is the entry point; the
schema's version and the deferral limits are exported for tests and tools.
"""

from monitor.store.ports import SEND_LEASE
from monitor.store.sqlite.deferral import DEFER_ROWS, DEFER_SECONDS
from monitor.store.sqlite.schema import _MIGRATIONS, _SCHEMA, IDENTITY_SUFFIX, SCHEMA_VERSION
from monitor.store.sqlite.store import SQLiteStore

__all__ = [
    "DEFER_ROWS",
    "DEFER_SECONDS",
    "IDENTITY_SUFFIX",
    "SCHEMA_VERSION",
    "SEND_LEASE",
    "_MIGRATIONS",
    "_SCHEMA",
    "SQLiteStore",
]
