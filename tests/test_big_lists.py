"""A rule whose list has tens of thousands of terms matches exactly as the
same rule does with a list of only the terms an item holds: the same verdict,
the same matched terms, the same guards firing on the same words, the same
trace. (A large list is tested by looking up the item's few hits in it, a
small one by walking its terms; both must agree.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.rules.compiled import Match
from monitor.rules.load import RuleSet, load_rules
from tests.support.records import make_item

BIG = 30_000


def entity(n: int) -> str:
    return (f"entity{n}", f"acme{n} holdings", f"shipco{n}*")[n % 3]


RULE = """\
id: listed
title: A listed entity is sanctioned
severity: critical
description: a sanctions word and an entity of the list
match:
  all:
    - any: [sanction*, blacklist*]
    - any:
        - $entities
        - near:
            - [$entities]
            - [fined, penalised]
          within: 3
tiers:
  - severity: info
    when:
      any:
        - near:
            - [$entities]
            - [fined, penalised]
          within: 3
guards:
  - name: denial
    cues: [denied, denies]
    action: skip
    window: 4
  - name: rumour
    cues: [$hedges]
    action: lower
    window: 2
"""


def write(directory: Path, terms: list[str], hedges: list[str]) -> RuleSet:
    (directory / "lists").mkdir(parents=True)
    for name, listed in (("entities", terms), ("hedges", hedges)):
        body = "\n".join(f"  - {term}" for term in listed)
        (directory / "lists" / f"{name}.yaml").write_text(
            f"description: {name}\nterms:\n{body}\n", encoding="utf-8"
        )
    (directory / "listed.yaml").write_text(RULE, encoding="utf-8")
    return load_rules(directory)


ITEMS = [
    ("US sanctions Acme7 Holdings and entity12", "Treasury acted on Tuesday."),
    ("US sanctions shipco29ltd", "Entity12 and entity9 were named too, it said."),
    ("Treasury denies it sanctioned entity39", "Nothing new was announced."),
    ("Entity39 sanctioned, officials said", "Officials denied talks had stalled."),
    ("EU blacklists entity3", "Acme4 Holdings was reportedly added as well."),
    ("Acme4 Holdings reportedly sanctioned by the UK", ""),
    ("Entity15 fined for breaching sanctions", "Acme10 Holdings was penalised too."),
    ("Sanctions tightened on shipping", "No firm was named."),
    ("entity30000 sanctioned", "a number past the list's end"),
]
USED = [7, 12, 2, 29, 9, 39, 3, 4, 15, 10]


def verdicts(
    rules: RuleSet,
) -> list[tuple[str, tuple[str, ...], dict[str, tuple[str, ...]], str | None]]:
    found: list[tuple[str, tuple[str, ...], dict[str, tuple[str, ...]], str | None]] = []
    for n, (title, summary) in enumerate(ITEMS):
        item = make_item(title, summary, guid=f"urn:{n}")
        matches: list[Match] = rules.match(item)
        found.extend((title, (m.severity.value,), m.matched, m.guard) for m in matches)
    return found


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    hedges = [f"hedge{n}" for n in range(BIG)]
    return write(
        tmp_path_factory.mktemp("big"),
        [entity(n) for n in range(BIG)],
        [*hedges[:500], "reportedly", *hedges[500:], "rumoured"],
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return write(
        tmp_path_factory.mktemp("small"), [entity(n) for n in USED], ["reportedly", "rumoured"]
    )


def test_a_large_list_matches_exactly_as_a_list_of_the_terms_used(
    big: RuleSet, small: RuleSet
) -> None:
    assert verdicts(big) == verdicts(small)


def test_what_a_large_list_matches_and_where_its_guards_anchor(big: RuleSet) -> None:
    assert verdicts(big) == [
        (
            "US sanctions Acme7 Holdings and entity12",
            ("critical",),
            {"title": ("sanction*", "acme7 holdings", "entity12")},
            None,
        ),
        (
            "US sanctions shipco29ltd",
            ("critical",),
            {"title": ("sanction*", "shipco2*", "shipco29*"), "summary": ("entity12", "entity9")},
            None,
        ),
        # The denial is next to the list's word: skipped. One sentence away: kept.
        (
            "Entity39 sanctioned, officials said",
            ("critical",),
            {"title": ("entity39", "sanction*")},
            None,
        ),
        (
            "EU blacklists entity3",
            ("critical",),
            {"title": ("blacklist*", "entity3"), "summary": ("acme4 holdings",)},
            None,
        ),
        (
            "Acme4 Holdings reportedly sanctioned by the UK",
            ("warning",),
            {"title": ("acme4 holdings", "sanction*")},
            "rumour",
        ),
        (
            "Entity15 fined for breaching sanctions",
            ("info",),
            {
                "title": ("entity15", "fined", "sanction*"),
                "summary": ("acme10 holdings", "penalised"),
            },
            None,
        ),
    ]


def test_the_trace_of_a_large_list_names_the_terms_found(big: RuleSet, small: RuleSet) -> None:
    item = make_item("US sanctions Acme7 Holdings and entity12", "Treasury acted on Tuesday.")
    (rule,) = big.rules
    _, trace = big.matcher.explain(item)[rule.id]
    assert any("$entities" in line and "'acme7 holdings' in title" in line for line in trace)
    assert trace == small.matcher.explain(item)[rule.id][1]
