"""The store implementations the contract runs against.

Each entry of FACTORIES opens a store of one implementation on the state
kept under ``place`` (a directory of the test's own): opening twice on the
same place opens the same state, as a restart or a second process would.
A store that needs a server (PostgreSQL) adds its factory here, deriving a
fresh database or schema from ``place``, and skips when no server is set up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import pytest

from monitor.store.claims import ClaimOwner
from monitor.store.ports import SEND_LEASE, Store
from monitor.store.postgres import PostgresStore
from monitor.store.sqlite import SQLiteStore
from tests.support.postgres import (
    create_schema,
    drop_schema,
    require_server,
    schema_name,
    server_problem,
)


class StoreFactory(Protocol):
    """Opens a store on the state under a place, with a claim lease, as an
    owner (None: this process)."""

    def __call__(
        self, place: Path, claim_lease: timedelta, owner: ClaimOwner | None = None
    ) -> Store: ...


def _sqlite(place: Path, claim_lease: timedelta, owner: ClaimOwner | None = None) -> Store:
    return SQLiteStore(place / "state.db", claim_lease=claim_lease, owner=owner)


def _postgres(place: Path, claim_lease: timedelta, owner: ClaimOwner | None = None) -> Store:
    require_server()
    url = create_schema(schema_name(str(place)))
    return PostgresStore(url, claim_lease=claim_lease, owner=owner, pool_size=4)


def _drop_postgres(place: Path) -> None:
    if server_problem() is None:
        drop_schema(schema_name(str(place)))


FACTORIES: dict[str, StoreFactory] = {"sqlite": _sqlite, "postgres": _postgres}

CLEANUPS: dict[str, Callable[[Path], None]] = {"postgres": _drop_postgres}
"""What a factory leaves outside the test's place, removed after the test."""


class OpenStore(Protocol):
    """Opens (again) a store on the test's state; each is closed after the test.
    ``owner``: who its claims and leases name (another instance), this process if None."""

    def __call__(
        self, *, claim_lease: timedelta = SEND_LEASE, owner: ClaimOwner | None = None
    ) -> Store: ...


@pytest.fixture(params=sorted(FACTORIES))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """One implementation's store opener; the test is run once per implementation."""
    factory = FACTORIES[request.param]
    opened: list[Store] = []

    def open_(*, claim_lease: timedelta = SEND_LEASE, owner: ClaimOwner | None = None) -> Store:
        store = factory(tmp_path, claim_lease, owner)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
    cleanup = CLEANUPS.get(request.param)
    if cleanup is not None and opened:
        cleanup(tmp_path)


@pytest.fixture
def store(open_store: OpenStore) -> Store:
    """A store on fresh state."""
    return open_store()
