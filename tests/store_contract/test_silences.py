"""Silences: a rule is silenced until a time, or until the silence is removed."""

from __future__ import annotations

from datetime import timedelta

from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import LATER, NOW


def test_a_silence_is_active_until_it_ends_and_survives_a_restart(open_store: OpenStore) -> None:
    store = open_store()
    until = NOW + timedelta(hours=2)
    silence = store.add_silence(rule_id="r", until=until, reason="maintenance", now=NOW)
    assert (silence.rule_id, silence.until, silence.reason, silence.created_at) == (
        "r",
        until,
        "maintenance",
        NOW,
    )
    store.close()
    store = open_store()
    assert store.active_silences(LATER) == [silence]
    assert store.active_silences(until) == [], "over at its end"


def test_silences_are_listed_oldest_first_and_can_be_removed_once(store: Store) -> None:
    first = store.add_silence(rule_id="a", until=NOW + timedelta(days=1), reason="x", now=NOW)
    second = store.add_silence(rule_id="b", until=NOW + timedelta(days=1), reason="y", now=LATER)
    assert store.active_silences(LATER) == [first, second]
    assert store.remove_silence(first.id, now=LATER)
    assert not store.remove_silence(first.id, now=LATER), "removed already"
    assert not store.remove_silence(second.id + 1000, now=LATER), "no such silence"
    assert store.active_silences(LATER) == [second]
