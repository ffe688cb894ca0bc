"""The rule language feature by feature: lists, wildcards, regular
expressions, fields, proximity, direction, guards, tiers, and the errors
`monitor check` gives for each kind of mistake."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from monitor.domain.severity import Severity
from monitor.errors import RuleError
from monitor.rules.load import RuleSet, load_rules
from tests.support.records import make_item


def ruleset(tmp_path: Path, rule: str, **lists: str) -> RuleSet:
    directory = tmp_path / "rules"
    (directory / "lists").mkdir(parents=True, exist_ok=True)
    (directory / "rule.yaml").write_text(dedent(rule), encoding="utf-8")
    for name, text in lists.items():
        (directory / "lists" / f"{name.replace('_', '-')}.yaml").write_text(
            dedent(text), encoding="utf-8"
        )
    return load_rules(directory, shown_dir="rules")


def problems(tmp_path: Path, rule: str, **lists: str) -> list[str]:
    with pytest.raises(RuleError) as caught:
        ruleset(tmp_path, rule, **lists)
    return [str(p) for p in caught.value.problems]


def verdict(
    rules: RuleSet, title: str, summary: str = "", tags: tuple[str, ...] = ("news",)
) -> str:
    matches = rules.match(make_item(title, summary, tags=tags))
    return matches[0].severity.value if matches else "none"


HEAD = "id: r\ntitle: R\nseverity: critical\n"
DPRK_LIST = "terms: [north korea, north korean, dprk, $kpa]\n"
KPA_LIST = "terms: [korean people s army, kpa]\n"


# --- lists --------------------------------------------------------------------


def test_lists_expand_and_include_other_lists(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path, HEAD + "match:\n  all: [$dprk, troop*]\n", dprk=DPRK_LIST, kpa=KPA_LIST
    )
    assert verdict(rules, "DPRK troops seen") == "critical"
    assert verdict(rules, "Korean People's Army troops seen") == "critical", (
        "through the included list"
    )
    assert verdict(rules, "Chinese troops seen") == "none"
    assert rules.lists == ("dprk", "kpa")


def test_undefined_list_names_the_line_and_the_closest_list(tmp_path: Path) -> None:
    rule = HEAD + "match:\n  all:\n    - $dprc\n    - troops\n"
    assert problems(tmp_path, rule, dprk=DPRK_LIST, kpa=KPA_LIST) == [
        "rules/rule.yaml:6: undefined list '$dprc' (did you mean '$dprk'?)"
    ]


def test_lists_that_include_each_other_are_an_error(tmp_path: Path) -> None:
    found = problems(
        tmp_path, HEAD + "match:\n  any: [$a]\n", a="terms: [x, $b]\n", b="terms: [y, $a]\n"
    )
    assert any("lists include each other: $a -> $b -> $a" in p for p in found)


# --- terms ----------------------------------------------------------------------


def test_wildcards_match_word_prefixes_only(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, HEAD + "match:\n  any: ['sanction*', 'troop* deploy*']\n")
    assert verdict(rules, "US sanctioned them") == "critical"
    assert verdict(rules, "Troops deployed north") == "critical"
    assert verdict(rules, "The sanctity of borders") == "none"
    assert verdict(rules, "Deployed troops") == "none", "a phrase keeps its order"


def test_regular_expressions_use_re2_case_insensitively(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, HEAD + "match:\n  any: ['re: \\bK-?9\\b']\n")
    assert verdict(rules, "Seoul ships k-9 howitzers") == "critical"
    assert verdict(rules, "K99 rifles") == "none"


@pytest.mark.parametrize(
    ("term", "message"),
    [
        (
            "'re: (a'",
            "invalid regular expression '(a': missing ): (a (RE2 syntax: no backreferences or lookaround)",
        ),
        ("'re: (a)\\1'", "invalid regular expression"),
        (
            "'/dprk/i'",
            "looks like a regular expression but would be matched as words; write it as 're: dprk'",
        ),
        ("'tr*'", "a wildcard needs at least 3 letters before '*'"),
        ("'a*b'", "'*' is only allowed once, at the end of a word"),
        ("'$'", "name the list or selection after '$'"),
    ],
)
def test_bad_terms_are_refused_with_file_and_line(tmp_path: Path, term: str, message: str) -> None:
    (problem,) = problems(tmp_path, HEAD + f"match:\n  any:\n    - x\n    - {term}\n")
    assert problem.startswith("rules/rule.yaml:7: match.any[1]: ")
    assert message in problem


# --- fields -------------------------------------------------------------------


def test_fields_limit_where_terms_are_looked_for(tmp_path: Path) -> None:
    rule = HEAD + dedent(
        """\
        match:
          all:
            - fields: [title]
              any: [dprk]
            - any: [killed]
            - fields: [link]
              none: [opinion]
        """
    )
    rules = ruleset(tmp_path, rule)
    assert verdict(rules, "DPRK soldiers", "Dozens were killed.") == "critical"
    assert verdict(rules, "Soldiers killed", "DPRK units were involved.") == "none", (
        "not in the title"
    )
    opinion = make_item("DPRK soldiers killed", link="https://news.example/opinion/why")
    assert rules.match(opinion) == []


def test_feed_and_tags_fields(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path, HEAD + "match:\n  all:\n    - x\n    - fields: [tags]\n      any: [sanctions]\n"
    )
    assert verdict(rules, "x", tags=("sanctions",)) == "critical"
    assert verdict(rules, "x", tags=("news",)) == "none"


# --- proximity and direction ------------------------------------------------------


NEAR_RULE = HEAD + dedent(
    """\
    match:
      all:
        - near:
            - [$dprk]
            - [killed, captured]
          within: 3
    """
)


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("North Korean soldiers killed in Kursk", "", "critical"),
        ("Ukraine says it captured two North Korean soldiers", "", "critical"),
        (
            "North Korea held talks with Moscow on grain exports, while elsewhere civilians were killed",
            "",
            "none",
        ),
        ("North Korea sends envoy.", "Two soldiers were killed in Kharkiv.", "none"),
        ("Envoy from North Korea arrives. Soldiers killed in Kharkiv.", "", "none"),
    ],
)
def test_near_needs_the_groups_close_together_in_one_sentence(
    tmp_path: Path, title: str, summary: str, expected: str
) -> None:
    rules = ruleset(tmp_path, NEAR_RULE, dprk=DPRK_LIST, kpa=KPA_LIST)
    assert verdict(rules, title, summary) == expected


def test_ordered_near_tells_who_acts_on_whom(tmp_path: Path) -> None:
    rule = HEAD + dedent(
        """\
        match:
          all:
            - near: [[sanction*, blacklist*], [chinese, china]]
              within: 4
          none:
            - near: [[china, beijing], [sanction*, impose*]]
              within: 2
              ordered: true
        """
    )
    rules = ruleset(tmp_path, rule)
    assert verdict(rules, "US sanctions Chinese firms over drone parts") == "critical"
    assert verdict(rules, "Chinese firms sanctioned by the US") == "critical"
    assert verdict(rules, "China sanctions US defence firms") == "none"
    assert verdict(rules, "Beijing imposes sanctions on Lockheed") == "none"


# --- tiers and guards --------------------------------------------------------------


GUARDED = HEAD + dedent(
    """\
    match:
      all: [south korea, weapon*, ukraine]
    tiers:
      - severity: warning
        when: {any: [consider*]}
    guards:
      - name: denial
        cues: [denies, rules out]
        action: skip
      - name: hedge
        cues: [could, would, not rule out]
        action: lower
        to: warning
        questions: true
    """
)


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("South Korea sends weapons to Ukraine", "", "critical"),
        ("South Korea considers sending weapons to Ukraine", "", "warning"),
        ("South Korea could send weapons to Ukraine, official says", "", "warning"),
        ("South Korea does not rule out sending weapons to Ukraine", "", "warning"),
        ("Will South Korea send weapons to Ukraine?", "", "warning"),
        ("South Korea denies sending weapons to Ukraine", "", "none"),
        ("South Korea rules out sending weapons to Ukraine", "", "none"),
        # The cue is in another sentence than the statement: not hedged.
        ("South Korea sends weapons to Ukraine", "Critics said it could anger Moscow.", "critical"),
        # The cue is far from the matched words.
        (
            "South Korea sends weapons to Ukraine after a long debate in which many said the move could fail",
            "",
            "critical",
        ),
    ],
)
def test_tiers_and_guards_set_or_drop_the_severity(
    tmp_path: Path, title: str, summary: str, expected: str
) -> None:
    assert verdict(ruleset(tmp_path, GUARDED), title, summary) == expected


def test_a_guard_fires_only_if_every_claim_sentence_is_hedged(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, GUARDED)
    summary = "South Korea sent weapons to Ukraine last week. Some say South Korea could send more weapons to Ukraine."
    assert verdict(rules, "Seoul update", summary) == "critical"


# --- contradictions and schema ------------------------------------------------------


def test_a_condition_that_can_never_hold_is_an_error(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, HEAD + "match:\n  all: [x, y]\n  none: [y]\n")
    assert (
        problem
        == "rules/rule.yaml:6: can never match: 'y' is both required (all) and excluded (none)"
    )


def test_regular_expressions_are_refused_where_positions_are_needed(tmp_path: Path) -> None:
    rule = HEAD + "match:\n  all:\n    - near: [[x], ['re: y+']]\n"
    (problem,) = problems(tmp_path, rule)
    assert "regular expressions cannot be used in 'near'" in problem


def test_misspelt_keys_in_new_constructs_get_suggestions(tmp_path: Path) -> None:
    rule = (
        HEAD
        + "match:\n  all:\n    - near: [[x], [y]]\n      withn: 3\nguards:\n  - cues: [could]\n    acton: skip\n"
    )
    found = problems(tmp_path, rule)
    assert "rules/rule.yaml:7: unknown key 'withn' (did you mean 'within'?)" in found
    assert "rules/rule.yaml:10: unknown key 'acton' (did you mean 'action'?)" in found


def test_matches_report_which_terms_matched_in_which_field(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path, HEAD + "match:\n  all: [$dprk, killed]\n", dprk=DPRK_LIST, kpa=KPA_LIST
    )
    (match,) = rules.match(make_item("DPRK soldiers killed", "North Korean units were hit"))
    assert match.matched == {"title": ("dprk", "killed"), "summary": ("north korean",)}
    assert match.severity is Severity.CRITICAL


def test_a_phrase_never_spans_two_sentences(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, HEAD + "match:\n  any: [troops north korea]\n")
    assert verdict(rules, "Talks on troops. North Korea says no.") == "none"
    assert verdict(rules, "Troops North Korea sent") == "critical"


def test_superseded_alerts_are_dropped_for_the_same_item(tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "a.yaml").write_text(
        HEAD.replace("id: r", "id: combat")
        + "supersedes: [deploy]\nmatch:\n  all: [troops, killed]\n"
    )
    (directory / "b.yaml").write_text(
        HEAD.replace("id: r", "id: deploy") + "match:\n  all: [troops]\n"
    )
    rules = load_rules(directory)
    assert [m.rule.id for m in rules.match(make_item("Troops killed"))] == ["combat"]
    assert [m.rule.id for m in rules.match(make_item("Troops arrive"))] == ["deploy"]
    (directory / "a.yaml").write_text(
        HEAD.replace("id: r", "id: combat") + "supersedes: [deplo]\nmatch:\n  all: [troops]\n"
    )
    with pytest.raises(
        RuleError, match="supersedes unknown rule 'deplo' \\(did you mean 'deploy'\\?\\)"
    ):
        load_rules(directory)


def test_keep_guard_shields_factual_wording_from_later_guards(tmp_path: Path) -> None:
    rule = HEAD + dedent(
        """\
        match:
          all: [sanction*, chinese]
        guards:
          - name: fact
            cues: [imposes]
            action: keep
          - name: hedge
            cues: [threaten*]
            action: skip
        """
    )
    rules = ruleset(tmp_path, rule)
    assert verdict(rules, "US threatens sanctions on Chinese banks") == "none"
    assert verdict(rules, "US imposes sanctions on Chinese banks it had threatened") == "critical"


# --- review fixes -----------------------------------------------------------------


def test_near_finds_a_match_after_many_near_misses(tmp_path: Path) -> None:
    rule = HEAD + "match:\n  all:\n    - near: [[alpha], [beta], [gamma]]\n      within: 1\n"
    rules = ruleset(tmp_path, rule)
    summary = "alpha x x x x beta x x x x gamma. " * 30 + "Then alpha beta gamma."
    assert verdict(rules, "Report", summary) == "critical"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "match:\n  all:\n    - none: [x]\n",
            "would alert on items that contain none of its terms",
        ),
        ("match:\n  any: ['re: x|']\n", "matches the empty text, so it would match every item"),
        (
            "match:\n  any: [x]\nguards:\n  - cues: [y]\n    action: lower\n    to: critical\n",
            "a guard can only lower it",
        ),
        ("supersedes: [r]\nmatch:\n  any: [x]\n", "supersedes itself"),
        ("match: &m\n  any: [x, *m]\n", "YAML anchors and aliases"),
    ],
)
def test_rules_that_cannot_work_as_written_are_refused(
    tmp_path: Path, rule: str, message: str
) -> None:
    head = HEAD.replace("severity: critical", "severity: warning")
    found = problems(tmp_path, head + rule)
    assert any(message in p for p in found), found


def test_rules_superseding_each_other_are_refused(tmp_path: Path) -> None:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "a.yaml").write_text(
        HEAD.replace("id: r", "id: a") + "supersedes: [b]\nmatch:\n  any: [x]\n"
    )
    (directory / "b.yaml").write_text(
        HEAD.replace("id: r", "id: b") + "supersedes: [a]\nmatch:\n  any: [x]\n"
    )
    with pytest.raises(RuleError, match="supersedes itself, directly or through other rules"):
        load_rules(directory)


def test_a_comma_inside_a_number_does_not_split_a_clause(tmp_path: Path) -> None:
    rule = (
        HEAD
        + "match:\n  all: [troops, killed]\nguards:\n  - cues: [reportedly]\n    action: skip\n"
    )
    rules = ruleset(tmp_path, rule)
    assert verdict(rules, "Reportedly 1,000 troops killed") == "none"
    assert verdict(rules, "Troops killed, reportedly near the border") == "critical"


def test_the_first_tier_that_holds_wins(tmp_path: Path) -> None:
    rule = HEAD + dedent(
        """\
        match:
          any: [x]
        tiers:
          - severity: warning
            when: {any: [y]}
          - severity: info
            when: {any: [y]}
        """
    )
    assert verdict(ruleset(tmp_path, rule), "x y") == "warning"


def test_guards_measure_from_the_words_that_satisfied_near(tmp_path: Path) -> None:
    rule = HEAD + dedent(
        """\
        match:
          all:
            - near: [[alpha], [beta]]
              within: 0
        guards:
          - cues: [could]
            action: skip
            clause: false
            window: 2
        """
    )
    rules = ruleset(tmp_path, rule)
    assert verdict(rules, "alpha beta and later a beta could return") == "critical"
    assert verdict(rules, "could alpha beta return") == "none"


NEAR_AND_CONTEXT = HEAD + dedent(
    """\
    match:
      all:
        - near: [[troops], [killed]]
          within: 0
        - any: [moscow]
    guards:
    """
)


@pytest.mark.parametrize(
    ("guard", "headline", "expected"),
    [
        # A term the rule only requires somewhere says what the item is
        # about, not who does what: with anchors: near a cue beside it is no cue.
        (
            "{cues: [warns], action: skip, anchors: near}",
            "Troops killed in Kursk, Kyiv warns Moscow of more losses",
            "critical",
        ),
        ("{cues: [warns], action: skip, anchors: near}", "Kyiv warns troops killed", "none"),
        # By default every matched term anchors: a denial names what it denies.
        ("{cues: [denies], action: skip}", "Troops killed in Kursk, Moscow denies", "none"),
    ],
)
def test_a_guard_anchored_on_near_ignores_cues_beside_context_terms(
    tmp_path: Path, guard: str, headline: str, expected: str
) -> None:
    rules = ruleset(tmp_path, f"{NEAR_AND_CONTEXT}  - {guard}\n")
    assert verdict(rules, headline) == expected


def test_near_anchors_fall_back_to_every_matched_term_when_no_near_holds(
    tmp_path: Path,
) -> None:
    rule = HEAD + dedent(
        """\
        match:
          any:
            - near: [[troops], [killed]]
              within: 0
            - all: [casualties, moscow]
        guards:
          - cues: [warns]
            action: skip
            window: 1
            anchors: near
        """
    )
    rules = ruleset(tmp_path, rule)
    assert verdict(rules, "Casualties mount as Kyiv warns Moscow") == "none"
    assert verdict(rules, "Casualties near Moscow, and later Kyiv warns") == "critical"


def test_matched_lists_only_the_terms_that_made_the_rule_hold(tmp_path: Path) -> None:
    rule = HEAD + "match:\n  any:\n    - all: [alpha, beta]\n    - all: [gamma, delta]\n"
    (match,) = ruleset(tmp_path, rule).match(make_item("alpha beta gamma"))
    assert match.matched == {"title": ("alpha", "beta")}


# --- named selections and sentence scope ---------------------------------------

SELECTIONS_RULE = (
    HEAD
    + """\
selections:
  korean-soldiers:
    near: [[north korean], [troops, soldiers]]
    within: 1
  soldiers-in-combat:
    scope: sentence
    all: [$korean-soldiers, any: [killed, captured]]
match:
  any: [$soldiers-in-combat]
"""
)


def test_selections_are_named_conditions_used_like_lists(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, SELECTIONS_RULE)
    assert verdict(rules, "Three North Korean soldiers killed near Sudzha") == "critical"
    assert verdict(rules, "Killed in Kursk: North Korean troops, says Kyiv") == "critical", (
        "sentence scope holds in any order"
    )


def test_sentence_scope_needs_every_part_in_one_sentence(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, SELECTIONS_RULE)
    assert (
        verdict(rules, "North Korean troops arrive in Russia. Ukraine says many were killed.")
        == "none"
    ), "the troops in one sentence and the killing in the next"
    assert (
        verdict(rules, "Report from Kursk", "Ukraine says North Korean soldiers were captured.")
        == "critical"
    ), "one sentence of the summary holds it all"


def test_the_trace_names_the_selection_and_the_sentence_tried(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, SELECTIONS_RULE)
    item = make_item("North Korean troops arrive. Many killed.")
    _, trace = rules.matcher.explain(item)["r"]
    text = "\n".join(trace)
    assert "$soldiers-in-combat (selection):" in text
    assert "in title sentence 1:" in text and "in title sentence 2:" in text
    assert "no single sentence holds all of it" in text


def test_guards_anchor_on_the_sentence_where_a_scoped_condition_holds(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        SELECTIONS_RULE + "guards:\n  - cues: [could]\n    action: skip\n",
    )
    assert verdict(rules, "North Korean troops could be killed, Kyiv warns") == "none"
    assert (
        verdict(rules, "North Korean soldiers captured", "Kyiv says more could follow.")
        == "critical"
    ), "the hedge is in a sentence that does not carry the statement"


@pytest.mark.parametrize(
    ("selections", "match", "message"),
    [
        (
            "  a:\n    all: [alpha]\n",
            "all: [$b]",
            "undefined list or selection '$b'",
        ),
        (
            "  a:\n    all: [alpha]\n  b:\n    all: [beta]\n",
            "all: [$a]",
            "selection '$b' is defined but never used",
        ),
        (
            "  a:\n    all: [$b]\n  b:\n    all: [$a]\n",
            "all: [$a]",
            "selections use each other: $a -> $b -> $a",
        ),
        (
            "  a:\n    all: [alpha]\n",
            "all: [near: [[$a], [beta]]]",
            "'$a' is a selection, a condition: it can be an entry of all/any/none but not a term",
        ),
        (
            "  dprk:\n    all: [alpha]\n",
            "all: [$dprk]",
            "selection '$dprk' has the name of the list rules/lists/dprk.yaml",
        ),
        (
            "  a:\n    all: [alpha]\n    scope: paragraph\n",
            "all: [$a]",
            "scope",
        ),
    ],
)
def test_selection_mistakes_are_reported_with_file_and_line(
    tmp_path: Path, selections: str, match: str, message: str
) -> None:
    found = problems(
        tmp_path,
        HEAD + "selections:\n" + selections + f"match:\n  {match}\n",
        dprk=DPRK_LIST,
        kpa=KPA_LIST,
    )
    assert any(message in p for p in found), found
    assert all(p.startswith("rules/rule.yaml:") for p in found), found


def test_matched_cues_ignore_lets_a_statement_carry_a_cue_word(tmp_path: Path) -> None:
    rule = (
        HEAD
        + """\
match:
  all:
    - near: [[china], [urges], [stop listing]]
      within: 3
      ordered: true
guards:
  - cues: [urges, could]
    action: skip
    matched_cues: MODE
"""
    )
    counted = ruleset(tmp_path / "count", rule.replace("MODE", "count"))
    ignored = ruleset(tmp_path / "ignore", rule.replace("MODE", "ignore"))
    title = "China urges EU to stop listing its firms"
    assert verdict(counted, title) == "none", "the default: a cue counts wherever it is"
    assert verdict(ignored, title) == "critical", "the cue is a word of the statement itself"
    assert verdict(ignored, "China urges EU to stop listing its firms and could retaliate") == (
        "none"
    ), "another cue beside the statement still counts"


LEDE_RULE = (
    HEAD
    + """\
selections:
  soldiers-killed:
    near: [[north korean], [troops, soldiers], [killed, captured]]
    within: 3
match:
  all:
    - fields: [title]
      all: [north korean]
    - fields: [summary]
      scope: sentence
      all: [$soldiers-killed]
guards:
  - name: denial
    cues: [denies]
    action: skip
"""
)


def test_a_hedge_in_the_lede_that_completes_the_headline_drops_the_alert(
    tmp_path: Path,
) -> None:
    rules = ruleset(tmp_path, LEDE_RULE)
    assert (
        verdict(rules, "North Korean troops in Kursk", "Kyiv says North Korean troops were killed.")
        == "critical"
    )
    assert (
        verdict(
            rules,
            "North Korean troops in Kursk",
            "Moscow denies North Korean soldiers were killed there.",
        )
        == "none"
    ), "the lede carries the statement, and denies it"


def test_a_keep_guard_shields_a_statement_in_parts_only_if_it_covers_every_part(
    tmp_path: Path,
) -> None:
    rule = LEDE_RULE.replace(
        "guards:\n",
        "guards:\n  - name: fact\n    cues: [confirms]\n    action: keep\n",
    )
    rules = ruleset(tmp_path, rule)
    assert (
        verdict(
            rules,
            "Seoul confirms North Korean deployment",
            "Moscow denies North Korean soldiers were killed there.",
        )
        == "none"
    ), "the shield is in the headline; the denial in the lede still counts"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "scope: sentence\n    all: ['re: \\bK-?9\\b', ukraine]",
            "regular expressions cannot be used under 'scope: sentence'",
        ),
        (
            "scope: sentence\n    all: [ukraine, {fields: [tags], any: [news]}]",
            "fields tags have no sentences",
        ),
        (
            "scope: sentence\n    none: [considering]",
            "'scope: sentence' needs 'all' or 'any'",
        ),
    ],
)
def test_what_cannot_hold_within_one_sentence_is_refused(
    tmp_path: Path, condition: str, message: str
) -> None:
    found = problems(
        tmp_path,
        HEAD + f"selections:\n  s:\n    {condition}\nmatch:\n  all: [alpha, $s]\n",
    )
    assert any(message in p for p in found), found
    assert all(p.startswith("rules/rule.yaml:") for p in found), found
