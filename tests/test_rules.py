"""Rule files: strict validation with file:line errors, and the pure matcher."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from monitor.errors import RuleError
from monitor.rules.load import RuleSet, load_rules
from tests.support.records import make_item


def write_rules(directory: Path, **files: str) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(dedent(text), encoding="utf-8")
    return directory


def problems_for(directory: Path) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules(directory, shown_dir="rules")
    return [str(p) for p in caught.value.problems]


VALID = dedent(
    """\
    id: test-rule
    title: Test rule
    severity: warning
    match:
      all:
        - any: [north korean, dprk]
        - any: [troops, soldiers]
      none: [korean war]
    """
)


item = make_item


def load(tmp_path: Path, text: str = VALID) -> RuleSet:
    return load_rules(write_rules(tmp_path / "rules", rule=text))


# --- validation ---------------------------------------------------------------


def test_misspelt_key_names_file_line_and_suggestion(tmp_path: Path) -> None:
    text = VALID.replace("severity: warning", "serverity: warning")
    problems = problems_for(write_rules(tmp_path / "rules", dprk=text))
    assert "rules/dprk.yaml:3: unknown key 'serverity' (did you mean 'severity'?)" in problems


def test_misspelt_nested_key_is_found_at_its_line(tmp_path: Path) -> None:
    text = VALID.replace("none:", "nnone:")
    assert problems_for(write_rules(tmp_path / "rules", r=text)) == [
        "rules/r.yaml:8: unknown key 'nnone' (did you mean 'none'?)"
    ]


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path / "rules",
        a=VALID.replace("severity: warning", "severity: urgent"),
        b="id: x\ntitle: [unclosed\n",
        c=VALID.replace("title: Test rule\n", ""),
    )
    problems = problems_for(rules)
    assert problems[0].startswith(
        "rules/a.yaml:3: severity: must be one of info, warning, critical (got 'urgent')"
    )
    assert problems[1].startswith("rules/b.yaml:3: invalid YAML")
    assert problems[2] == "rules/c.yaml:1: missing required key 'title'"


def test_duplicate_key_and_duplicate_rule_id_are_errors(tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path / "rules",
        a=VALID,
        b=VALID,
        c=VALID.replace("id: test-rule", "id: other").replace(
            "title: Test rule", "title: A\ntitle: B"
        ),
    )
    problems = problems_for(rules)
    assert "rules/b.yaml:1: duplicate rule id 'test-rule' (also in rules/a.yaml)" in problems
    assert "rules/c.yaml:3: duplicate key 'title' (first given on line 2)" in problems


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (
            "any: [troops, soldiers]",
            "rules/r.yaml:7: match.all[1].any[0]: YAML read this term as the boolean",
        ),
        (
            "any: [troops, '!!!']",
            "rules/r.yaml:7: match.all[1].any[1]: term '!!!' has no letters or digits",
        ),
        ("any: []", "rules/r.yaml:7: match.all[1]: 'any' is empty"),
    ],
)
def test_terms_that_cannot_match_are_rejected(
    tmp_path: Path, replacement: str, message: str
) -> None:
    text = VALID.replace("any: [troops, soldiers]", replacement)
    if "boolean" in message:
        text = VALID.replace("any: [troops, soldiers]", "any: [no, soldiers]")
    (problem,) = problems_for(write_rules(tmp_path / "rules", r=text))
    assert problem.startswith(message)


def test_only_none_would_match_everything_and_is_rejected(tmp_path: Path) -> None:
    text = "id: r\ntitle: R\nseverity: info\nmatch:\n  none: [x]\n"
    (problem,) = problems_for(write_rules(tmp_path / "rules", r=text))
    assert "match has only 'none'" in problem


def test_numbers_are_accepted_as_terms(tmp_path: Path) -> None:
    rules = load(tmp_path, VALID.replace("none: [korean war]", "none: [1950]"))
    assert rules.match(item("North Korean troops in 1950")) == []


@pytest.mark.parametrize(
    ("written", "as_yaml_11_reads_it"),
    [("0755", "493"), ("1_000", "1000"), ("1:20", "80"), ("1.0e+3", "1000.0"), ("12.50", "12.5")],
)
def test_unquoted_numbers_are_terms_as_written(
    tmp_path: Path, written: str, as_yaml_11_reads_it: str
) -> None:
    rules = load(tmp_path, VALID.replace("none: [korean war]", f"none: [{written}]"))
    assert rules.match(item(f"North Korean troops {written}")) == []
    assert len(rules.match(item(f"North Korean troops {as_yaml_11_reads_it}"))) == 1


def test_numbers_in_settings_are_still_numbers(tmp_path: Path) -> None:
    text = VALID.replace(
        "- any: [troops, soldiers]", "- near: [[north korean], [troops]]\n      within: 1"
    )
    rules = load(tmp_path, text)
    assert len(rules.match(item("North Korean elite troops"))) == 1
    assert rules.match(item("North Korean army units and troops")) == []


def test_empty_or_missing_directory_is_an_error(tmp_path: Path) -> None:
    assert problems_for(tmp_path / "absent") == ["rules: rules directory not found"]
    (tmp_path / "empty").mkdir()
    assert problems_for(tmp_path / "empty") == [
        "rules: no rule files (*.yaml) in the rules directory"
    ]


# --- matching -----------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "North Korean troops reach the front",
        "NORTH-KOREAN SOLDIERS seen",
        "DPRK troops: report",
        "Report says north  korean\ntroops moved",
    ],
)
def test_terms_match_whole_words_case_and_punctuation_insensitive(
    tmp_path: Path, title: str
) -> None:
    (match,) = load(tmp_path).match(item(title))
    assert match.rule.id == "test-rule"


@pytest.mark.parametrize(
    "title",
    [
        "North Koreanist troops",  # not a whole word
        "DPRKtroops",
        "North Korean diplomats",  # second group missing
        "North Korean troops in the Korean War",  # excluded
    ],
)
def test_non_matches(tmp_path: Path, title: str) -> None:
    assert load(tmp_path).match(item(title)) == []


def test_terms_may_be_split_between_title_and_summary_but_phrases_may_not(tmp_path: Path) -> None:
    rules = load(tmp_path)
    assert rules.match(item("DPRK update", "Troops seen near Kursk"))
    assert not rules.match(item("Talks with North", "Korean troops"))


def test_matched_terms_are_reported(tmp_path: Path) -> None:
    (match,) = load(tmp_path).match(item("North Korean troops and DPRK soldiers"))
    assert match.matched_terms == ("north korean", "troops", "dprk", "soldiers")


def test_feed_tags_limit_a_rule(tmp_path: Path) -> None:
    rules = load(tmp_path, VALID + "feed_tags: [sanctions]\n")
    assert not rules.match(make_item("North Korean troops", tags=("news",)))
    assert rules.match(make_item("North Korean troops", tags=("sanctions",)))


def test_nested_conditions(tmp_path: Path) -> None:
    text = """\
        id: nested
        title: Nested
        severity: info
        match:
          any:
            - all: [alpha, beta]
            - all:
                - gamma
                - none: [delta]
        """
    rules = load(tmp_path, text)
    assert rules.match(item("alpha and beta"))
    assert rules.match(item("gamma alone"))
    assert not rules.match(item("gamma with delta"))
    assert not rules.match(item("alpha only"))
