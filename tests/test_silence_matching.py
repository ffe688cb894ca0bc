"""Which alerts a silence covers (pure: alert, silences and now in), and how
a silence and the notice of its end read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.delivery.policy import silence_covers, silence_for
from monitor.delivery.silence_notices import ended_notice, scope_text
from monitor.domain.alert import Alert, Silence, SilenceScope
from monitor.domain.ops import OPS_RULE_IDS, SILENCE_ENDED_RULE_ID
from monitor.domain.severity import Severity

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ALERT = Alert(
    rule_id="dprk-troops-combat",
    rule_title="DPRK troops in combat",
    severity=Severity.WARNING,
    feed="wire",
    item_identity="guid:urn:1",
    item_guid="urn:1",
    title="North-Korean troops join the Kursk offensive, Kyiv says",
    link="https://news.example/1",
    summary="Ukraine's army said units from Pyongyang were seen near Sudzha.",
    published=NOW,
    matched_terms=("north korean",),
    created_at=NOW,
    story="story-3f2a",
)


def silence(
    scope: SilenceScope, *, until: datetime = NOW + timedelta(hours=1), n: int = 1
) -> Silence:
    return Silence(n, scope, until, "known story", NOW - timedelta(hours=1), "ana")


@pytest.mark.parametrize(
    ("scope", "covered"),
    [
        (SilenceScope(rule_id="dprk-troops-combat"), True),
        (SilenceScope(rule_id="dprk-troops"), False),
        (SilenceScope(story_key="story-3f2a"), True),
        (SilenceScope(story_key="story-9b1c"), False),
        (SilenceScope(feed="wire"), True),
        (SilenceScope(feed="wire-2"), False),
        (SilenceScope(severity=Severity.WARNING), True),
        (SilenceScope(severity=Severity.INFO), False),
        (SilenceScope(severity=Severity.CRITICAL), False),
    ],
)
def test_each_field_of_a_scope_matches_exactly(scope: SilenceScope, covered: bool) -> None:
    assert silence_covers(scope, ALERT) is covered


@pytest.mark.parametrize(
    ("keyword", "covered"),
    [
        ("kursk offensive", True),
        ("KURSK  Offensive!", True),
        ("north korean troops", True),  # "North-Korean" folds to two words
        ("seen near sudzha", True),  # in the summary
        ("sudzha", True),
        ("kurs", False),  # part of a word
        ("offensive kursk", False),  # the words, not the phrase
        ("says ukraine", False),  # across title and summary
        ("...", False),  # no word at all
    ],
)
def test_a_keyword_is_a_folded_phrase_of_the_title_or_the_summary(
    keyword: str, covered: bool
) -> None:
    assert silence_covers(SilenceScope(keyword=keyword), ALERT) is covered


def test_accents_fold_on_both_sides() -> None:
    alert = replace(ALERT, title="Talks in Đà Nẵng stall")
    assert silence_covers(SilenceScope(keyword="da nang"), alert)
    assert silence_covers(SilenceScope(keyword="Đà Nẵng"), replace(alert, title="Da Nang talks"))


def test_a_scope_of_several_fields_needs_them_all() -> None:
    story_of_the_rule = SilenceScope(rule_id="dprk-troops-combat", story_key="story-3f2a")
    assert silence_covers(story_of_the_rule, ALERT)
    assert not silence_covers(story_of_the_rule, replace(ALERT, story="story-9b1c"))
    assert not silence_covers(story_of_the_rule, replace(ALERT, rule_id="other"))
    loud_on_one_feed = SilenceScope(feed="wire", severity=Severity.CRITICAL, keyword="kursk")
    assert not silence_covers(loud_on_one_feed, ALERT)
    assert silence_covers(loud_on_one_feed, replace(ALERT, severity=Severity.CRITICAL))


def test_an_alert_of_no_story_is_not_covered_by_a_story_silence() -> None:
    assert not silence_covers(SilenceScope(story_key="story-3f2a"), replace(ALERT, story=None))


def test_an_empty_scope_covers_nothing() -> None:
    assert not silence_covers(SilenceScope(), ALERT)


def test_the_first_silence_covering_the_alert_at_now_is_chosen() -> None:
    other_feed = silence(SilenceScope(feed="wire-2"), n=1)
    over = silence(SilenceScope(feed="wire"), until=NOW, n=2)
    by_keyword = silence(SilenceScope(keyword="kursk"), n=3)
    by_story = silence(SilenceScope(story_key="story-3f2a"), n=4)
    assert silence_for(ALERT, [other_feed, over, by_keyword, by_story], NOW) == by_keyword
    assert silence_for(ALERT, [other_feed, over], NOW) is None, "over at its end"
    assert silence_for(ALERT, [], NOW) is None


@pytest.mark.parametrize(
    ("scope", "text"),
    [
        (SilenceScope(rule_id="dprk-troops-combat"), "dprk-troops-combat"),
        (SilenceScope(story_key="story-3f2a"), "story story-3f2a"),
        (
            SilenceScope(rule_id="r", feed="wire", severity=Severity.INFO, keyword="Kursk"),
            'r, feed wire, severity info, keyword "Kursk"',
        ),
    ],
)
def test_a_scope_reads_as_the_cli_and_the_notice_show_it(scope: SilenceScope, text: str) -> None:
    assert scope_text(scope) == text


def test_the_notice_names_the_silence_its_scope_author_and_what_it_held_back() -> None:
    ended = silence(SilenceScope(story_key="story-3f2a", severity=Severity.WARNING), until=NOW)
    notice = ended_notice(ended, 3, NOW + timedelta(minutes=1))
    assert notice.rule_id == SILENCE_ENDED_RULE_ID and notice.rule_id in OPS_RULE_IDS
    assert notice.severity is Severity.INFO
    assert notice.title == "Silence 1 ended: story story-3f2a, severity warning"
    assert "Set by ana" in notice.summary and "(known story)" in notice.summary
    assert "It held back 3 alerts" in notice.summary
    assert "held back 1 alert;" in ended_notice(ended, 1, NOW).summary
    assert notice.item_identity == ended_notice(ended, 0, NOW + timedelta(days=1)).item_identity, (
        "one identity per silence: the outbox takes its notice once"
    )


def test_the_monitors_own_alerts_are_covered_only_by_a_scope_naming_their_rule() -> None:
    failing = replace(ALERT, rule_id="ops.feed-failing", severity=Severity.WARNING)
    assert not silence_covers(SilenceScope(feed=failing.feed), failing)
    assert not silence_covers(SilenceScope(severity=Severity.WARNING), failing)
    assert silence_covers(SilenceScope(rule_id="ops.feed-failing"), failing)
