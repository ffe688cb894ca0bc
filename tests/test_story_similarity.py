"""Story matching: which items report the same real-world event.

The cases are invented headlines and ledes written for these tests (made-up
companies, places and figures) in the shapes real coverage takes: wire copy
republished, one event told by outlets with different framing, the same kind
of action on another date or with other numbers or targets, and near-topic
news. The last tests run bench/bench_stories.py's evaluation on the shared
headline corpus when it is present.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from monitor.stories.similarity import (
    LEDE_CHARS,
    SAME_EVENT_THRESHOLD,
    STORY_WINDOW,
    StoryText,
    best_story,
    entity_agreement,
    same_event,
    similarity,
    story_score,
)

DAY = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
STORIES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "headlines" / "stories.yaml"


def text(title: str, summary: str = "", when: datetime | None = DAY) -> StoryText:
    return StoryText.of(title, summary, when)


# One event: the EU lists 37 companies for drone parts (told four ways).
WIRE = text(
    "EU adds 37 companies to export blacklist over drone components - Example Wire",
    "BRUSSELS (Example Wire) - The European Union on Tuesday added 37 companies, among them "
    "Example Trading Co., Limited of Hong Kong, to its export blacklist for supplying drone "
    "components used against Ukraine, officials said.",
)
WIRE_REPUBLISHED = text(
    "Europe blacklists 37 firms for drone parts | World news",
    "BRUSSELS, March 4 (Example Wire) — The European Union on Tuesday added 37 companies, among "
    "them Example Trading Co., Limited of Hong Kong, to its export blacklist for supplying drone "
    "components used against Ukraine, officials said.",
    DAY + timedelta(hours=3),
)
REFRAMED = text(
    "Hong Kong trader among 37 firms hit by Brussels over drone parts",
    "Example Trading Co., Limited is one of 37 companies the European Union barred from buying "
    "European goods, accusing them of feeding Russia's drone production.",
    DAY + timedelta(hours=6),
)
REACTION = text(
    "Hong Kong firm rejects EU listing over drone components",
    "Example Trading Co., Limited said on Wednesday it had never shipped drone parts to Russia "
    "and would challenge the European Union's decision to put it on its blacklist.",
    DAY + timedelta(days=1),
)

# Look-alikes: the same kind of action, another event.
LATER_ROUND = text(
    "EU adds 12 companies to export blacklist over drone components",
    "The European Union added 12 more companies, including Sample Electronics GmbH, to its "
    "export blacklist for supplying drone components, officials said.",
    DAY + timedelta(days=40),
)
PACKAGE_21 = text(
    "EU adopts 21st sanctions package against Russia",
    "European Union governments on Friday adopted the 21st package of sanctions against Russia, "
    "adding 40 vessels to the list of ships barred from EU ports.",
)
PACKAGE_22 = text(
    "EU adopts 22nd sanctions package against Russia",
    "European Union governments on Friday adopted the 22nd package of sanctions against Russia, "
    "adding 40 vessels to the list of ships barred from EU ports.",
)
JAPAN_LISTS = text(
    "Japan sanctions 14 firms over drone parts for Russia",
    "Tokyo froze the assets of 14 companies it accused of helping Russia build attack drones.",
)
CANADA_LISTS = text(
    "Canada sanctions 14 firms over drone parts for Russia",
    "Ottawa barred 14 companies from Canadian exports, saying they supplied parts for Russian "
    "attack drones.",
)

# Near-topic distractor: same place and words, another event.
CRASH = text(
    "Coastal Air jet crash at Port Example airport kills 41",
    "A Coastal Air passenger jet overran the runway at Port Example airport on Sunday, killing "
    "41 of the 120 people on board, the transport ministry said.",
)
CRASH_RETOLD = text(
    "Port Example runway crash: Coastal Air confirms 41 dead",
    "Coastal Air confirmed that 41 people died when its jet overran the runway at Port Example "
    "airport in Sunday's crash.",
    DAY + timedelta(hours=5),
)
AIRPORT_REOPENS = text(
    "Port Example airport reopens runway after storm repairs",
    "Port Example airport reopened its main runway on Sunday after three weeks of repairs to "
    "storm damage, the operator said.",
)


def test_republished_wire_copy_is_the_same_event_whatever_the_headline() -> None:
    assert similarity(WIRE, WIRE_REPUBLISHED) == 1.0
    assert same_event(WIRE, WIRE_REPUBLISHED)


def test_one_event_told_with_another_framing_is_the_same_event() -> None:
    assert same_event(WIRE, REFRAMED)
    assert same_event(REFRAMED, REACTION)


def test_the_same_kind_of_action_with_other_numbers_and_weeks_later_is_another_event() -> None:
    assert not same_event(WIRE, LATER_ROUND)
    # Even if it came out the same day, its figures and targets differ.
    assert not same_event(WIRE, text(LATER_ROUND.title, LATER_ROUND.summary, DAY))


def test_another_ordinal_is_another_package() -> None:
    assert not same_event(PACKAGE_21, PACKAGE_22)
    assert entity_agreement(PACKAGE_21, PACKAGE_22) < 0.5
    assert same_event(PACKAGE_21, text("EU agrees its 21st package of Russia sanctions"))


def test_another_government_doing_the_same_thing_is_another_event() -> None:
    assert not same_event(JAPAN_LISTS, CANADA_LISTS)


def test_a_near_topic_story_from_the_same_place_is_another_event() -> None:
    assert same_event(CRASH, CRASH_RETOLD)
    assert not same_event(CRASH, AIRPORT_REOPENS)
    assert not same_event(CRASH, WIRE)


def test_countries_match_however_they_are_named() -> None:
    a = text(
        "U.S. blacklists 9 Example Province firms over chip smuggling",
        "The United States added nine companies to its Entity List.",
    )
    b = text(
        "Washington adds nine Chinese companies to Entity List over chip smuggling",
        "American officials said the nine firms in Example Province helped smuggle chips.",
    )
    assert same_event(a, b)


def test_transliterations_of_a_name_match() -> None:
    a = text(
        "Dobrovolsky offers to swap captured pilots",
        "Governor Dobrovolsky said he was ready to exchange the two captured pilots.",
    )
    b = text(
        "Dobrovolskiy ready for pilot swap",
        "Governor Dobrovolskiy said the two captured pilots could be exchanged.",
    )
    assert same_event(a, b)


def test_scores_are_symmetric_and_bounded() -> None:
    texts = [WIRE, REFRAMED, LATER_ROUND, PACKAGE_21, JAPAN_LISTS, CRASH, AIRPORT_REOPENS]
    for a in texts:
        assert similarity(a, a) == pytest.approx(1.0)
        for b in texts:
            assert 0.0 <= similarity(a, b) <= 1.0
            assert similarity(a, b) == pytest.approx(similarity(b, a))


def test_time_apart_asks_for_closer_wording_and_the_window_rules_out() -> None:
    later = text(REFRAMED.title, REFRAMED.summary, DAY + timedelta(days=6))
    assert story_score(REFRAMED, [WIRE]) > story_score(later, [WIRE]) > 0.0
    too_late = text(WIRE_REPUBLISHED.title, WIRE_REPUBLISHED.summary, DAY + STORY_WINDOW * 2)
    assert story_score(too_late, [WIRE]) == 0.0
    assert not same_event(WIRE, too_late)


def test_an_undated_text_must_match_on_its_words() -> None:
    undated_copy = text(WIRE_REPUBLISHED.title, WIRE_REPUBLISHED.summary, None)
    undated_reframe = text(REFRAMED.title, REFRAMED.summary, None)
    assert same_event(WIRE, undated_copy)
    assert story_score(undated_reframe, [WIRE]) < story_score(REFRAMED, [WIRE])


def test_best_story_picks_the_matching_story_or_none() -> None:
    stories = [[CRASH], [PACKAGE_21], [WIRE, REFRAMED]]
    assert best_story(REACTION, stories) == 2
    assert best_story(CRASH_RETOLD, stories) == 0
    assert best_story(JAPAN_LISTS, stories) is None
    assert best_story(WIRE, []) is None


def test_best_story_skips_stories_outside_the_window() -> None:
    old = text(WIRE.title, WIRE.summary, DAY - timedelta(days=30))
    assert best_story(WIRE_REPUBLISHED, [[old]]) is None
    # An undated member does not keep an old story open.
    undated = text(REFRAMED.title, REFRAMED.summary, None)
    assert best_story(WIRE_REPUBLISHED, [[old, undated]]) is None
    assert best_story(WIRE_REPUBLISHED, [[undated]]) == 0


def test_best_story_prefers_the_better_match() -> None:
    weak = [AIRPORT_REOPENS]
    strong = [CRASH]
    assert best_story(CRASH_RETOLD, [weak, strong]) == 1
    assert story_score(CRASH_RETOLD, strong) >= SAME_EVENT_THRESHOLD


def test_a_story_text_round_trips_through_json_and_keeps_only_the_lede() -> None:
    long_summary = REFRAMED.summary + " " + "More background follows. " * 40
    original = text(REFRAMED.title, long_summary, DAY)
    stored = json.loads(json.dumps(original.to_json()))
    assert set(stored) == {"title", "summary", "when"}
    assert len(stored["summary"]) <= LEDE_CHARS
    loaded = StoryText.from_json(stored)
    assert loaded == original
    assert similarity(loaded, WIRE) == similarity(original, WIRE)
    undated = StoryText.from_json(text("Headline", "", None).to_json())
    assert undated.when is None


@pytest.mark.parametrize(
    "data",
    [{}, {"title": "t"}, {"title": 1, "summary": ""}, {"title": "t", "summary": "", "when": 5}],
)
def test_from_json_refuses_what_to_json_never_wrote(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StoryText.from_json(data)


def test_entities_name_countries_figures_and_ordinals() -> None:
    assert {"@EU", "#37"} <= WIRE.entities
    assert "#21th" in PACKAGE_21.entities
    assert text("Ministers met", "").entities == frozenset()


# --- places, short headlines, kinds of event, counts -----------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Strike on Kharkiv", "Strike on Odesa"),
        ("Explosion in Kyiv kills three", "Explosion in Odesa kills three"),
        ("Russian strike on Kyiv kills five", "Russian strike on Odesa kills five"),
        # Places the desk's list does not know, where the headline says where.
        ("Explosion in Northport Kills Three", "Explosion in Eastbay Kills Three"),
        (
            "Blast at Northport depot kills three workers",
            "Blast at Eastbay depot kills three workers",
        ),
    ],
)
def test_the_same_thing_in_another_place_is_another_event(one: str, other: str) -> None:
    assert not same_event(text(one), text(other))
    assert similarity(text(one), text(other)) < SAME_EVENT_THRESHOLD


def test_the_same_place_told_differently_is_the_same_event() -> None:
    assert same_event(text("Strike on Kharkiv"), text("Russian missiles hit Kharkiv"))
    northport = text("Explosion in Northport Kills Three")
    assert same_event(northport, text("Three killed in Northport explosion"))
    assert same_event(
        northport,
        text(
            "Three killed as blast rips through Northport fuel depot",
            "A blast at a fuel depot in Northport killed three workers on Sunday, officials said.",
        ),
    )


def test_a_title_case_word_after_on_is_no_place_when_the_lede_uses_it_as_a_word() -> None:
    ban = text(
        "Council Agrees Ban on Exports of Example Chips",
        "The council agreed a ban on exports of chips made by Example Semiconductor Ltd.",
    )
    assert "export" not in ban.entities


def test_one_shared_common_word_is_no_evidence_in_short_headlines() -> None:
    assert similarity(text("Talks collapse"), text("Talks resume")) == 0.0
    assert similarity(text("Talks collapse"), text("Talks collapse")) == pytest.approx(1.0)
    assert similarity(text("Ceasefire!"), text("Ceasefire")) == pytest.approx(1.0)
    assert not same_event(text("Ceasefire talks collapse"), text("Trade talks resume"))


def test_items_with_only_a_headline_are_matched_on_it() -> None:
    bare = text("Northland adds 42 firms to export blacklist", "")
    told = text(
        "Northland blacklists 42 companies over drone parts",
        "Northland's trade ministry added 42 companies to its export blacklist on Tuesday.",
    )
    assert same_event(bare, told)
    assert same_event(told, bare)
    assert similarity(bare, bare) == pytest.approx(1.0)
    assert similarity(text(""), bare) == 0.0
    assert not same_event(bare, text("Northland blacklist lifted", ""))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (
            "Northland leader speaks by phone with Southland president",
            "Northland leader arrives in Southland for state visit",
        ),
        (
            "Northland leader holds video call with Southland president",
            "Northland leader speaks by phone with Southland president",
        ),
        (
            "Northland captures two Southland pilots",
            "Northland offers to exchange two captured Southland pilots",
        ),
        ("Northland weighs sending drones to Southland", "Northland delivers drones to Southland"),
        ("Northland sends drones to Southland", "Northland sends missiles to Southland"),
    ],
)
def test_another_kind_of_event_in_one_series_is_another_event(one: str, other: str) -> None:
    assert not same_event(text(one), text(other))


def test_a_headline_of_several_kinds_tells_the_leading_one_or_all_it_names() -> None:
    assert same_event(
        text("Northland offers to exchange captured Southland pilots"),
        text("Northland ready to swap two Southland pilots for its own soldiers"),
    )
    assert same_event(
        text("Northland fires drones and missiles at Southland port"),
        text("Northland missiles hit Southland port"),
    )


def test_a_vague_count_names_the_figures_it_stands_for() -> None:
    listed = text("Example Bureau adds 42 firms to export blacklist")
    assert same_event(listed, text("Example Bureau blacklists dozens of firms"))
    assert not same_event(listed, text("Example Bureau adds 300 firms to export blacklist"))
    assert not same_event(listed, text("Example Bureau blacklists hundreds of firms"))


def test_a_leader_names_the_country_they_speak_for() -> None:
    minister = text("Lavrov rejects Example Union's 9th sanctions package")
    country = text("Russia rejects Example Union's 9th sanctions package")
    assert "@RU" in minister.entities | frozenset(minister._features.terms)
    assert same_event(minister, country)


def test_the_war_behind_the_news_is_no_key_entity() -> None:
    fined = text("Example Trading Co. fined over sales to Russia amid war in Ukraine")
    assert "@UA" not in fined.entities
    assert "@RU" in fined.entities


def test_labels_and_agencies_in_a_headline_say_nothing_of_the_event() -> None:
    plain = text("Example Bureau adds 42 firms to export blacklist")
    for labelled in (
        "Reuters: Example Bureau adds 42 firms to export blacklist",
        "VIDEO: Example Bureau adds 42 firms to export blacklist",
        "[Morning Brief] Example Bureau adds 42 firms to export blacklist",
    ):
        assert similarity(text(labelled), plain) == pytest.approx(1.0)


# --- the shared corpus --------------------------------------------------------


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_stories", ROOT / "bench" / "bench_stories.py"
    )
    assert spec and spec.loader
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return module


corpus = pytest.mark.skipif(
    not STORIES.is_file(), reason=f"the shared headline corpus is not present at {STORIES}"
)


@pytest.mark.corpus
@corpus
def test_issue_target_on_the_shared_corpus() -> None:
    """Issue 17's target, pairwise F1 >= 0.90 at precision >= 0.95, in the dated
    view: every item at its published date, as the monitor times items (by
    their date, else when first seen, which for a live feed is close to it)."""
    ours, baseline = _bench().shipped_against_baseline(STORIES)["dated"]
    assert ours.precision >= 0.95, ours
    assert ours.f1 >= 0.90, ours
    assert ours.f1 >= baseline.f1 + 0.5, (ours, baseline)


@pytest.mark.corpus
@corpus
def test_precision_holds_in_every_view_of_time_on_the_shared_corpus() -> None:
    """Floors just under what bench/bench_stories.py measures at the shipped
    threshold where the corpus's undated items are clocked at an arbitrary
    arrival time ("monitor") or have no time at all ("unknown"): merging two
    events stays rare however times are known."""
    figures = _bench().shipped_against_baseline(STORIES)
    floors = {"monitor": (0.95, 0.82), "unknown": (0.95, 0.72)}
    for view, (precision, f1) in floors.items():
        ours, baseline = figures[view]
        assert ours.precision >= precision, (view, ours)
        assert ours.f1 >= f1, (view, ours)
        assert ours.f1 >= baseline.f1 + 0.5, (view, ours, baseline)


@pytest.mark.corpus
@corpus
def test_the_shipped_threshold_is_the_one_the_bench_chooses() -> None:
    bench = _bench()
    assert bench.shipping_threshold(bench.load(STORIES)).threshold == SAME_EVENT_THRESHOLD
