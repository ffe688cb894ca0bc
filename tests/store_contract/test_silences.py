"""Silences: a rule is silenced until a time, or until the silence is removed
(scopes other than a rule's, and the notice of an end: test_silence_scopes)."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain.alert import SilenceScope
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import LATER, NOW


def test_a_silence_is_active_until_it_ends_and_survives_a_restart(open_store: OpenStore) -> None:
    store = open_store()
    until = NOW + timedelta(hours=2)
    silence = store.add_silence(
        scope=SilenceScope(rule_id="r"), until=until, reason="maintenance", author="ana", now=NOW
    )
    assert (
        silence.scope,
        silence.rule_id,
        silence.until,
        silence.reason,
        silence.author,
        silence.created_at,
    ) == (SilenceScope(rule_id="r"), "r", until, "maintenance", "ana", NOW)
    store.close()
    store = open_store()
    assert store.active_silences(LATER) == [silence]
    assert store.active_silences(until) == [], "over at its end"


def test_silences_are_listed_oldest_first_and_can_be_removed_once(store: Store) -> None:
    first = store.add_silence(
        scope=SilenceScope(rule_id="a"),
        until=NOW + timedelta(days=1),
        reason="x",
        author="ana",
        now=NOW,
    )
    second = store.add_silence(
        scope=SilenceScope(rule_id="b"),
        until=NOW + timedelta(days=1),
        reason="y",
        author="ben",
        now=LATER,
    )
    assert store.active_silences(LATER) == [first, second]
    assert store.remove_silence(first.id, now=LATER)
    assert not store.remove_silence(first.id, now=LATER), "removed already"
    assert not store.remove_silence(second.id + 1000, now=LATER), "no such silence"
    assert store.active_silences(LATER) == [second]
