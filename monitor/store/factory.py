"""The one place a store is chosen and opened (for the wiring and the CLI):
SQLite at a path (the embedded default), or PostgreSQL at a URL
(``state.url``), the state several instances share. Both pass the contract
tests in tests/store_contract/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.store.ports import SEND_LEASE, Store
from monitor.store.sqlite import SQLiteStore


def open_store(
    where: Path | str, *, claim_lease: timedelta = SEND_LEASE, new_state: bool = False
) -> Store:
    """Open the state at ``where`` (``LoadedConfig.state_location``: a path,
    or a PostgreSQL URL), creating or upgrading it.

    ``claim_lease``: ``delivery.claim_lease``, how long a sender's claim on
    an alert holds. ``new_state``: start over on purpose where the SQLite
    state was lost (``--new-state``) instead of refusing to; a PostgreSQL
    database is never taken for lost. Raises StateError when the state
    cannot be opened or is not the one the monitor used here.
    """
    if isinstance(where, str):
        # Imported here: psycopg is loaded only by monitors that use it.
        from monitor.store.postgres import PostgresStore

        return PostgresStore(where, claim_lease=claim_lease)
    return SQLiteStore(where, claim_lease=claim_lease, new_state=new_state)
