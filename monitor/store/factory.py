"""The one place a store is chosen and opened (for the wiring and the CLI).

Only SQLite today. A store shared by several instances (PostgreSQL) would be
chosen here from the configured location (a URL rather than a path), and
must pass the contract tests in tests/store_contract/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.store.ports import SEND_LEASE, Store
from monitor.store.sqlite import SQLiteStore


def open_store(
    path: Path, *, claim_lease: timedelta = SEND_LEASE, new_state: bool = False
) -> Store:
    """Open the state at ``path`` (``state.path``), creating or upgrading it.

    ``claim_lease``: ``delivery.claim_lease``, how long a sender's claim on
    an alert holds. ``new_state``: start over on purpose where the state was
    lost (``--new-state``) instead of refusing to. Raises StateError when the
    state cannot be opened or is not the one the monitor used here.
    """
    return SQLiteStore(path, claim_lease=claim_lease, new_state=new_state)
