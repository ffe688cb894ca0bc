"""Silences with a scope (a story, a feed, a severity, a keyword, a rule, or
several), their author, and the one notice each gets when it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.domain.alert import SilenceScope
from monitor.domain.severity import Severity
from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import LATER, NOW, queued

HOUR = timedelta(hours=1)

SCOPES = [
    SilenceScope(story_key="story-3f2a"),
    SilenceScope(feed="wire"),
    SilenceScope(severity=Severity.INFO),
    SilenceScope(keyword="Kursk offensive"),
    SilenceScope(
        rule_id="r",
        story_key="story-3f2a",
        feed="wire",
        severity=Severity.CRITICAL,
        keyword="drills",
    ),
]


@pytest.mark.parametrize("scope", SCOPES)
def test_every_scope_is_kept_as_given_with_its_author_across_a_restart(
    open_store: OpenStore, scope: SilenceScope
) -> None:
    store = open_store()
    added = store.add_silence(
        scope=scope, until=NOW + HOUR, reason="known story", author="U0DESK (ana)", now=NOW
    )
    assert (added.scope, added.author, added.reason) == (scope, "U0DESK (ana)", "known story")
    assert added.rule_id == scope.rule_id
    store.close()
    assert open_store().active_silences(LATER) == [added]


def test_a_scope_that_gives_nothing_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="scope"):
        store.add_silence(scope=SilenceScope(), until=NOW + HOUR, reason="x", author="a", now=NOW)
    assert store.active_silences(NOW) == []


def test_an_ended_silence_is_listed_until_its_notice_is_marked_across_a_restart(
    open_store: OpenStore,
) -> None:
    store = open_store()
    story = store.add_silence(
        scope=SilenceScope(story_key="k"), until=NOW + HOUR, reason="a", author="ana", now=NOW
    )
    later = store.add_silence(
        scope=SilenceScope(feed="wire"), until=NOW + 3 * HOUR, reason="b", author="ben", now=NOW
    )
    assert store.ended_silences(NOW + HOUR - timedelta(seconds=1)) == [], "still active"
    assert store.ended_silences(NOW + HOUR) == [story], "over at its end"
    assert store.ended_silences(NOW + 4 * HOUR) == [story, later], "oldest first"

    assert store.mark_silence_ended_notice(story.id, now=NOW + 4 * HOUR)
    assert not store.mark_silence_ended_notice(story.id, now=NOW + 5 * HOUR), "marked once"
    store.close()
    store = open_store()
    assert store.ended_silences(NOW + 5 * HOUR) == [later]


def test_a_silence_removed_by_hand_has_no_end_to_notice(store: Store) -> None:
    removed = store.add_silence(
        scope=SilenceScope(severity=Severity.INFO),
        until=NOW + HOUR,
        reason="x",
        author="ana",
        now=NOW,
    )
    assert store.remove_silence(removed.id, now=LATER)
    assert store.ended_silences(NOW + 2 * HOUR) == []


def test_the_count_of_alerts_held_back_is_per_silence(store: Store) -> None:
    silences = [
        store.add_silence(
            scope=SilenceScope(rule_id=f"r{n}"), until=NOW + HOUR, reason="x", author="a", now=NOW
        )
        for n in range(11)
    ]
    first, tenth = silences[0], silences[9]
    ids = queued(store, 5)
    for alert_id in ids[:2]:
        store.mark_silenced(alert_id, now=LATER, silence=first)
    for alert_id in ids[2:3]:
        store.mark_silenced(alert_id, now=LATER, silence=tenth)
    assert store.silenced_count(first.id) == 2, "silence 10's alert is not silence 1's"
    assert store.silenced_count(tenth.id) == 1
    assert store.silenced_count(silences[1].id) == 0
