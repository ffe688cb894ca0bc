"""List snapshots: each list source's last snapshot of its list's keys, replaced whole."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date

import pytest

from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import LATER, NOW

PUBLISHED = date(2026, 11, 30)


def entry(key: str, name: str) -> tuple[str, str]:
    """(digest, canonical JSON) of an entry, as a list source gives them."""
    text = json.dumps({"key": key, "name": name}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), text


def digests(entries: dict[str, tuple[str, str]]) -> dict[str, str]:
    """What list_snapshot shows of ``entries``."""
    return {key: digest for key, (digest, _) in entries.items()}


def test_a_source_without_a_snapshot_has_none(store: Store) -> None:
    assert store.list_snapshot("ofac-sdn") is None, "its first snapshot is a baseline"
    assert store.list_snapshot_taken("ofac-sdn") is None
    assert store.list_entry("ofac-sdn", "1") is None


def test_a_snapshot_reads_back_as_stored(store: Store) -> None:
    entries = {"36": entry("36", "AEROCARIBBEAN"), "173": entry("173", "ANGLO-CARIBBEAN")}
    store.replace_list_snapshot("ofac-sdn", entries, published=PUBLISHED, now=NOW)
    assert store.list_snapshot("ofac-sdn") == digests(entries)
    assert store.list_snapshot_taken("ofac-sdn") == NOW
    assert store.list_entry("ofac-sdn", "36") == entries["36"][1]
    assert store.list_entry("ofac-sdn", "999") is None, "no such key"
    assert store.list_snapshot("un-sc") is None, "each source has its own snapshot"
    assert store.list_entry("un-sc", "36") is None


def test_an_empty_snapshot_is_a_snapshot(store: Store) -> None:
    store.replace_list_snapshot("eu-fsf", {}, published=None, now=NOW)
    assert store.list_snapshot("eu-fsf") == {}, "not None: the baseline is taken"
    assert store.list_snapshot_taken("eu-fsf") == NOW


def test_a_new_snapshot_replaces_the_whole_of_the_last(store: Store) -> None:
    first = {"1": entry("1", "A"), "2": entry("2", "B"), "3": entry("3", "C")}
    store.replace_list_snapshot("ofac-sdn", first, published=PUBLISHED, now=NOW)
    second = {"2": entry("2", "B renamed"), "3": first["3"], "4": entry("4", "D")}
    store.replace_list_snapshot("ofac-sdn", second, published=None, now=LATER)
    assert store.list_snapshot("ofac-sdn") == digests(second)
    assert store.list_entry("ofac-sdn", "1") is None, "removed keys are gone"
    assert store.list_entry("ofac-sdn", "2") == second["2"][1], "changed entries are replaced"
    assert store.list_entry("ofac-sdn", "4") == second["4"][1]
    assert store.list_snapshot_taken("ofac-sdn") == LATER


def test_replacing_one_source_leaves_the_others_alone(store: Store) -> None:
    ofac = {"1": entry("1", "A")}
    un = {"1": entry("1", "UN A"), "2": entry("2", "UN B")}
    store.replace_list_snapshot("ofac-sdn", ofac, published=None, now=NOW)
    store.replace_list_snapshot("un-sc", un, published=None, now=NOW)
    store.replace_list_snapshot("ofac-sdn", {}, published=None, now=LATER)
    assert store.list_snapshot("un-sc") == digests(un)
    assert store.list_entry("un-sc", "1") == un["1"][1]
    assert store.list_snapshot_taken("un-sc") == NOW


def test_a_restart_between_two_snapshots_loses_nothing(open_store: OpenStore) -> None:
    store = open_store()
    first = {"1": entry("1", "A"), "2": entry("2", "B")}
    store.replace_list_snapshot("trade-csl", first, published=PUBLISHED, now=NOW)
    store.close()
    store = open_store()
    assert store.list_snapshot("trade-csl") == digests(first)
    assert store.list_entry("trade-csl", "2") == first["2"][1]
    assert store.list_snapshot_taken("trade-csl") == NOW
    second = {"2": first["2"], "3": entry("3", "C")}
    store.replace_list_snapshot("trade-csl", second, published=None, now=LATER)
    store.close()
    store = open_store()
    assert store.list_snapshot("trade-csl") == digests(second)
    assert store.list_entry("trade-csl", "1") is None


def test_a_list_of_twenty_thousand_entries_is_stored_and_read_back(
    open_store: OpenStore,
) -> None:
    store = open_store()
    entries = {str(uid): entry(str(uid), f"Entity {uid}") for uid in range(20_000)}
    store.replace_list_snapshot("ofac-sdn", entries, published=PUBLISHED, now=NOW)
    fewer = {key: value for key, value in entries.items() if int(key) % 10}
    store.replace_list_snapshot("ofac-sdn", fewer, published=PUBLISHED, now=LATER)
    store.close()
    store = open_store()
    assert store.list_snapshot("ofac-sdn") == digests(fewer)
    assert store.list_entry("ofac-sdn", "19999") == entries["19999"][1]
    assert store.list_entry("ofac-sdn", "19990") is None


class BrokenEntries(dict[str, tuple[str, str]]):
    """Entries whose reading fails partway, as a crash during the write would."""

    def items(self) -> Iterator[tuple[str, tuple[str, str]]]:  # type: ignore[override]
        for count, pair in enumerate(super().items()):
            if count == 2:
                raise RuntimeError("interrupted")
            yield pair


def test_a_replacement_that_fails_partway_leaves_the_last_snapshot(store: Store) -> None:
    first = {"1": entry("1", "A"), "2": entry("2", "B")}
    store.replace_list_snapshot("ofac-sdn", first, published=None, now=NOW)
    broken = BrokenEntries({str(uid): entry(str(uid), "X") for uid in range(5)})
    with pytest.raises(RuntimeError):
        store.replace_list_snapshot("ofac-sdn", broken, published=None, now=LATER)
    assert store.list_snapshot("ofac-sdn") == digests(first)
    assert store.list_entry("ofac-sdn", "1") == first["1"][1]
    assert store.list_snapshot_taken("ofac-sdn") == NOW
