"""Rules testing an official list's change through its fields (change, list,
program, entity_type, country), the errors `monitor check` gives where those
fields cannot work, rule tests with `listing:`, and the shipped sanctions
rule on list items."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.domain.item import Item
from monitor.domain.listing import EntityType, ListingChange, ListingEntry, ListingEvent
from monitor.domain.listing_item import listing_item
from monitor.errors import RuleError
from monitor.rules.load import RuleSet, load_rules
from monitor.rules.model import schema_json
from monitor.rules.testing import run_cases
from monitor.rules.text import LISTING_FIELDS, VALUE_SEPARATOR, Document
from tests.support.records import make_item
from tests.support.setup import SHIPPED_RULES

HEAD = "id: r\ntitle: R\nseverity: critical\n"
SDN = "OFAC SDN List"
ENTITY_LIST = "Entity List (EL) - Bureau of Industry and Security"


def listed(
    name: str = "Example Trading Co., Limited",
    *,
    change: ListingChange = "added",
    list_name: str = SDN,
    programs: tuple[str, ...] = (),
    entity_type: EntityType = "entity",
    countries: tuple[str, ...] = (),
    remarks: str = "",
    aliases: tuple[str, ...] = (),
) -> Item:
    """The item a list source makes of one change of its list."""
    entry = ListingEntry(
        list_name=list_name,
        source="test-list",
        key="1001",
        name=name,
        aliases=aliases,
        entity_type=entity_type,
        programs=programs,
        countries=countries,
        listed_on=None,
        remarks=remarks,
        link=None,
    )
    return listing_item(
        ListingEvent(change=change, entry=entry, previous=None),
        feed="test-list",
        feed_tags=("sanctions",),
        publication="2025-01-02",
    )


def ruleset(tmp_path: Path, rule: str) -> RuleSet:
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    (directory / "rule.yaml").write_text(dedent(rule), encoding="utf-8")
    return load_rules(directory, shown_dir="rules")


def problems(tmp_path: Path, rule: str) -> list[str]:
    with pytest.raises(RuleError) as caught:
        ruleset(tmp_path, rule)
    return [str(p) for p in caught.value.problems]


def fires(rules: RuleSet, item: Item) -> bool:
    return bool(rules.match(item))


def one_field_rule(tmp_path: Path, field: str, term: str) -> RuleSet:
    return ruleset(
        tmp_path, HEAD + f"match:\n  all:\n    - fields: [{field}]\n      all: [{term}]\n"
    )


# --- the fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "term", "item"),
    [
        ("change", "added", listed(change="added")),
        ("change", "removed", listed(change="removed")),
        ("change", "changed", listed(change="changed")),
        ("list", "'OFAC SDN List'", listed(list_name=SDN)),
        ("list", "entity list", listed(list_name=ENTITY_LIST)),
        ("list", "bureau of industry and security", listed(list_name=ENTITY_LIST)),
        ("program", "RUSSIA-EO14024", listed(programs=("UKRAINE-EO13662", "RUSSIA-EO14024"))),
        ("program", "russia eo14024", listed(programs=("RUSSIA-EO14024",))),
        ("program", "eo14024", listed(programs=("RUSSIA-EO14024",))),
        ("program", "sdgt", listed(programs=("[SDGT]",))),
        ("entity_type", "vessel", listed(entity_type="vessel")),
        ("entity_type", "individual", listed(entity_type="individual")),
        ("country", "china", listed(countries=("Russia", "China"))),
        ("country", "hong kong", listed(countries=("China", "Hong Kong"))),
        ("country", "hong*", listed(countries=("Hong Kong",))),
    ],
)
def test_each_listing_field_holds_its_values(
    tmp_path: Path, field: str, term: str, item: Item
) -> None:
    assert fires(one_field_rule(tmp_path, field, term), item)


@pytest.mark.parametrize(
    ("field", "term", "item"),
    [
        ("change", "added", listed(change="removed")),
        ("list", "entity list", listed(list_name=SDN)),
        ("program", "RUSSIA-EO14024", listed(programs=("RUSSIA-EO14066",))),
        ("entity_type", "vessel", listed(entity_type="aircraft")),
        ("country", "china", listed(countries=("Hong Kong",))),
        ("country", "hong kong", listed(countries=("China",))),
    ],
)
def test_a_listing_field_holds_nothing_else(
    tmp_path: Path, field: str, term: str, item: Item
) -> None:
    assert not fires(one_field_rule(tmp_path, field, term), item)


@pytest.mark.parametrize(
    ("field", "term", "item"),
    [
        ("country", "china hong", listed(countries=("China", "Hong Kong"))),
        ("country", "china hong kong", listed(countries=("China", "Hong Kong"))),
        ("country", "kong china", listed(countries=("Hong Kong", "China"))),
        ("country", "china hon*", listed(countries=("China", "Hong Kong"))),
        ("program", "eo14024 iran", listed(programs=("RUSSIA-EO14024", "IRAN"))),
        ("program", "iran russia", listed(programs=("IRAN", "RUSSIA-EO14024"))),
    ],
)
def test_a_phrase_never_runs_from_one_value_into_the_next(
    tmp_path: Path, field: str, term: str, item: Item
) -> None:
    assert not fires(one_field_rule(tmp_path, field, term), item)


def test_values_are_kept_apart_by_a_token_no_term_can_match() -> None:
    document = Document.of(listed(countries=("China", "Hong Kong"), programs=("RUSSIA-EO14024",)))
    assert document.tokens["country"] == ("china", VALUE_SEPARATOR, "hong", "kong")
    assert document.tokens["program"] == ("russia", "eo14024")
    assert document.raw["country"] == "China\nHong Kong", "one value per line for regexes"


def test_regular_expressions_see_one_value_per_line(tmp_path: Path) -> None:
    anchored = one_field_rule(tmp_path, "country", "'re: (?m)^hong kong$'")
    assert fires(anchored, listed(countries=("China", "Hong Kong")))
    across = one_field_rule(tmp_path, "country", "'re: china.hong'")
    assert not fires(across, listed(countries=("China", "Hong Kong")))


def test_listing_fields_are_empty_for_other_items(tmp_path: Path) -> None:
    document = Document.of(make_item("China adds firms", "Added in Hong Kong."))
    assert all(document.tokens[f] == () and document.raw[f] == "" for f in LISTING_FIELDS)
    rules = ruleset(
        tmp_path,
        HEAD
        + dedent(
            """\
            match:
              all:
                - china
                - fields: [change, country]
                  none: [added, removed, changed, china]
            """
        ),
    )
    assert fires(rules, make_item("China adds firms to a list")), "'none' on them always holds"
    assert not fires(rules, listed("Example China Co.", countries=("Russia",))), "added"
    on_them = one_field_rule(tmp_path, "country", "china")
    assert not fires(on_them, make_item("New sanctions on firms in China")), "never holds"


def test_default_fields_do_not_look_at_the_listing(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        HEAD + "match:\n  all:\n    - hong kong\n    - {fields: [change], any: [added]}\n",
    )
    assert not fires(rules, listed("Example Trading Co., Limited", countries=("Hong Kong",)))
    assert fires(rules, listed("Example Hong Kong Trading Co., Limited", countries=("Russia",)))


def test_a_rule_that_reads_no_listing_field_never_judges_a_list_entry(tmp_path: Path) -> None:
    # Written for news: its words in an entity's name are no headline.
    news_only = ruleset(tmp_path, HEAD + "match:\n  all: [evasion]\n")
    assert not fires(news_only, listed("Example Evasion Trading Co.", countries=("China",)))
    # Excluding list items by a listing field is no reading of them either.
    guarded = ruleset(
        tmp_path,
        HEAD
        + dedent(
            """            match:
              all: [evasion]
              none:
                - {fields: [change], any: [removed]}
            """
        ),
    )
    assert not fires(guarded, listed("Example Evasion Trading Co.", countries=("China",)))


def test_a_match_names_the_listing_fields_it_rests_on(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        HEAD
        + dedent(
            """\
            match:
              all:
                - {fields: [change], all: [added]}
                - {fields: [country], any: [china, hong kong]}
            """
        ),
    )
    (match,) = rules.match(listed(countries=("Hong Kong",)))
    assert match.matched == {"change": ("added",), "country": ("hong kong",)}
    _, trace = rules.matcher.explain(listed(countries=("Hong Kong",)))["r"]
    assert "✓ 'hong kong' — in country" in "\n".join(trace)


def test_guards_do_not_judge_a_match_made_of_listing_fields(tmp_path: Path) -> None:
    # A list's change is a fact, not a statement a denial or hedge could qualify.
    rules = ruleset(
        tmp_path,
        HEAD
        + dedent(
            """\
            match:
              all: [{fields: [change], all: [added]}]
            guards:
              - name: denial
                cues: [denies, could]
                action: skip
            """
        ),
    )
    assert fires(rules, listed("Example Denies Trading Co.", remarks="It could not be reached."))


# --- monitor check ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "match:\n  all:\n    - alpha\n    - fields: [country]\n      scope: sentence\n"
            "      all: [china]\n",
            "fields country have no sentences (country: an official list's values, not text",
        ),
        (
            "match:\n  all:\n    - alpha\n    - fields: [title, program]\n      scope: sentence\n"
            "      all: [iran]\n",
            "fields program have no sentences",
        ),
        (
            "match:\n  all:\n    - alpha\n    - fields: [country]\n      all:\n"
            "        - scope: sentence\n          all: [china]\n",
            "'scope: sentence' looks at the sentences of title and summary, but here it takes "
            "fields country",
        ),
        (
            "match:\n  all:\n    - alpha\n    - fields: [list, country]\n      all:\n"
            "        - near: [[entity], [china]]\n",
            "a 'near' test measures words within sentences of title and summary, but here it "
            "takes fields country, list",
        ),
        (
            "selections:\n  pair:\n    near: [[entity], [china]]\nmatch:\n  all:\n    - alpha\n"
            "    - fields: [country]\n      all: [$pair]\n",
            "a 'near' test measures words within sentences",
        ),
        (
            "match:\n  all:\n    - alpha\n    - near: [[entity], [china]]\n      fields: [country]\n",
            "fields[0]: must be one of title, summary (got 'country')",
        ),
    ],
)
def test_check_refuses_listing_fields_where_they_cannot_work(
    tmp_path: Path, rule: str, message: str
) -> None:
    found = problems(tmp_path, HEAD + rule)
    assert any(message in p for p in found), found
    assert all(p.startswith("rules/rule.yaml:") for p in found), found


def test_check_points_at_the_line_of_the_offending_part(tmp_path: Path) -> None:
    rule = HEAD + (
        "selections:\n"
        "  pair:\n"
        "    near: [[entity], [china]]\n"
        "match:\n"
        "  all:\n"
        "    - alpha\n"
        "    - fields: [country]\n"
        "      all: [$pair]\n"
    )
    (found,) = problems(tmp_path, rule)
    assert found.startswith("rules/rule.yaml:5: "), found


def test_listing_fields_outside_sentences_and_near_are_fine(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        HEAD
        + dedent(
            """\
            match:
              any:
                - fields: [summary]
                  scope: sentence
                  all: [near: [[entity], [china]]]
                - all:
                    - {fields: [change], all: [added]}
                    - {fields: [entity_type], any: [vessel]}
            """
        ),
    )
    assert fires(rules, listed("Example Star", entity_type="vessel"))


# --- rule tests with listing: ---------------------------------------------------


LISTING_CASES_RULE = HEAD + dedent(
    """\
    match:
      all:
        - {fields: [change], all: [added]}
        - {fields: [country], any: [china, hong kong]}
        - {fields: [program], any: [RUSSIA-EO14024]}
    tests:
      - title: Example Trading Co., Limited
        summary: Supplies drone engines.
        listing:
          change: added
          list: OFAC SDN List
          programs: [RUSSIA-EO14024]
          entity_type: entity
          countries: [CN]
        expect: critical
      - title: Example Trading Co., Limited
        listing: {change: added, programs: [RUSSIA-EO14024], countries: ["Hong Kong, China"]}
        expect: critical
      - title: Example Trading Co., Limited
        listing: {change: removed, list: OFAC SDN List, programs: [RUSSIA-EO14024], countries: [China]}
        expect: none
      - title: Example Trading Co. added in China under RUSSIA-EO14024
        expect: none
    """
)


def test_a_case_can_be_a_lists_change(tmp_path: Path) -> None:
    results = run_cases(ruleset(tmp_path, LISTING_CASES_RULE))
    assert [r.passed for r in results] == [True, True, True, True], [
        r.describe() for r in results if not r.passed
    ]


def test_a_failing_listing_case_says_what_the_list_did(tmp_path: Path) -> None:
    rule = LISTING_CASES_RULE.replace(
        "countries: [China]}\n    expect: none", "countries: [China]}\n    expect: critical"
    )
    (failure,) = [r for r in run_cases(ruleset(tmp_path, rule)) if not r.passed]
    text = failure.describe()
    assert "expected critical, got no alert" in text
    assert (
        "  listing: removed from OFAC SDN List (entity; programs RUSSIA-EO14024; countries China)"
        in text
    )


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        ("{change: deleted}", "listing.change: must be one of added, removed, changed"),
        (
            "{change: added, entity_type: ship}",
            "must be one of entity, individual, vessel, aircraft",
        ),
        ("{change: added, country: [China]}", "countries"),
        ("{list: OFAC SDN List}", "change"),
    ],
)
def test_a_listing_case_is_validated(tmp_path: Path, listing: str, message: str) -> None:
    rule = HEAD + (
        "match:\n  all: [alpha]\ntests:\n  - title: Example Co.\n"
        f"    listing: {listing}\n    expect: none\n"
    )
    found = problems(tmp_path, rule)
    assert any(message in p for p in found), found


def test_the_schema_offers_the_fields_and_the_listing_case() -> None:
    schema = json.loads(schema_json("rule"))
    condition_fields = schema["$defs"]["ConditionSpec"]["properties"]["fields"]
    names = condition_fields["anyOf"][0]["items"]["enum"]
    assert set(LISTING_FIELDS) <= set(names)
    case = schema["$defs"]["ListingCaseSpec"]
    assert case["properties"]["change"]["enum"] == ["added", "removed", "changed"]
    assert case["required"] == ["change"]


# --- the shipped sanctions rule on list items ----------------------------------


SHIPPED = load_rules(SHIPPED_RULES)
RULE_ID = "sanctions-chinese-firms"


@pytest.mark.parametrize(
    ("item", "alerts"),
    [
        (listed(countries=("China",), programs=("RUSSIA-EO14024",)), True),
        (listed(countries=("Hong Kong",), list_name=ENTITY_LIST), True),
        (listed(countries=("Russia", "Hong Kong")), True),
        (listed(countries=("China",), change="removed"), False),
        (listed(countries=("Hong Kong",), change="changed"), False),
        (listed(countries=("Russia",)), False),
        (listed(countries=()), False),
        (listed("China Sanctions Research Co.", change="removed", countries=("China",)), False),
        (
            listed(
                "Example Entity List Additions Consulting Co., Limited",
                change="removed",
                remarks="Located in China.",
                countries=("China",),
            ),
            False,
        ),
        (
            listed(
                "Example Entity List Additions Consulting Co., Limited",
                remarks="Buys parts from a supplier located in China.",
                countries=("Russia",),
            ),
            False,
        ),
    ],
)
def test_the_sanctions_rule_alerts_on_additions_in_china_or_hong_kong(
    item: Item, alerts: bool
) -> None:
    found = {m.rule.id: m.severity.value for m in SHIPPED.match(item)}
    assert (found.get(RULE_ID) == "critical") is alerts, found


def test_the_sanctions_rule_still_reads_news_as_before() -> None:
    found = {m.rule.id for m in SHIPPED.match(make_item("US sanctions Chinese firms over Russia"))}
    assert RULE_ID in found
    quiet = make_item("Removal of Certain Entities From the Entity List", "Two located in China.")
    assert RULE_ID not in {m.rule.id for m in SHIPPED.match(quiet)}
