"""`monitor check` reports every problem of every file in one run, in the
words of the files; `monitor replay` says which rules its items' tags leave
out; feed URLs are checked without httpx."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.errors import RuleError
from monitor.rules.load import load_rules
from tests.support.feeds import Entry, rss
from tests.support.setup import ROOT

PYDANTIC_WORDS = (
    "str-enum",
    "literal[",
    "function-after",
    "function-before",
    "tagged-union",
    "[key]",
    "Input should",
    "String should",
    "Tuple should",
    "Value error",
    "Field required",
    "Extra inputs",
    "valid dictionary",
    "instance of",
    "ConditionSpec",
    "NearSpec",
    "RuleSpec",
)


def monitor(*args: str, cwd: Path, hide: str | None = None) -> subprocess.CompletedProcess[str]:
    """The monitor command as a subprocess; ``hide`` makes a module
    unimportable in it, as if it were not installed."""
    code = "import sys; from monitor.cli import main; raise SystemExit(main(sys.argv[1:]))"
    if hide is not None:
        code = f"import sys; sys.modules[{hide!r}] = None; " + code
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")


# --- check: everything in one run ----------------------------------------------

MISTAKES = {
    "rules/lists/dprk.yaml": "terms: [north korea, north korean, dprk]\n",
    # Schema mistakes, and an undefined list in a named selection of the same file.
    "rules/bad-schema.yaml": """\
        id: bad-schema
        title: Schema mistakes
        severity: urgent
        selections:
          fighting:
            scope: paragraph
            all: [$dprk, $combat-words]
        match:
          all: [$fighting]
        tests:
          - title: North Korean troops fight
            expect: critical-ish
        """,
    # Valid schema: an undefined list in a sentence-scoped selection, a
    # selection never used, a contradiction, a misspelt superseded rule.
    "rules/contradiction.yaml": """\
        id: contradiction
        title: Contradiction
        severity: warning
        supersedes: [dprk-troop-deployment]
        selections:
          seen:
            scope: sentence
            all: [$dprk, $troop-nouns]
          spare:
            any: [spare]
        match:
          all: [$seen, killed]
          none: [killed]
        """,
    "rules/deployment.yaml": """\
        id: dprk-troops-deployment
        title: Deployment
        severity: info
        match:
          all: [$dprk, troops]
        """,
    # A key typo, and a route naming an unknown rule (bad-schema is invalid,
    # but its id is known: no problem for the first route).
    "config.toml": """\
        [rules]
        dir = "rules"

        [slack]
        channel = "#watch-desk"

        [[slack.routes]]
        rules = ["bad-schema", "dprk-troops-deployment"]
        channels = ["#korea-desk"]

        [[slack.routes]]
        rules = ["contradictoin"]
        channels = ["#korea-desk"]

        [polling]
        flor = "1m"

        [[feeds]]
        name = "news"
        url = "https://news.example/rss"
        tags = ["news"]
        """,
}

EVERY_PROBLEM = [
    "config.toml:12: slack.routes[1]: no rule 'contradictoin' (did you mean 'contradiction'?)",
    "config.toml:16: unknown key 'flor' (did you mean 'floor'?)",
    "rules/bad-schema.yaml:3: severity: must be one of info, warning, critical (got 'urgent')",
    "rules/bad-schema.yaml:6: selections.fighting.scope: must be one of item, sentence "
    "(got 'paragraph')",
    "rules/bad-schema.yaml:7: undefined list or selection '$combat-words'",
    "rules/bad-schema.yaml:12: tests[0].expect: must be one of info, warning, critical, none "
    "(got 'critical-ish')",
    "rules/contradiction.yaml:4: supersedes unknown rule 'dprk-troop-deployment' "
    "(did you mean 'dprk-troops-deployment'?)",
    "rules/contradiction.yaml:8: undefined list or selection '$troop-nouns'",
    "rules/contradiction.yaml:9: selection '$spare' is defined but never used "
    "(in match, tiers or another selection)",
    "rules/contradiction.yaml:13: can never match: 'killed' is both required (all) "
    "and excluded (none)",
]


def test_one_check_run_lists_every_problem_of_config_rules_and_references(
    tmp_path: Path,
) -> None:
    write(tmp_path, MISTAKES)
    result = monitor("check", "--config", "config.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == EVERY_PROBLEM, "all of them, grouped by file, by line"
    assert result.stderr.strip() == f"{len(EVERY_PROBLEM)} problems found"
    leaked = [word for word in PYDANTIC_WORDS if word in result.stdout]
    assert leaked == [], f"validator internals in the output: {leaked}"


def test_check_still_reads_the_rules_when_config_toml_is_invalid(tmp_path: Path) -> None:
    files = dict(MISTAKES)
    files["config.toml"] = MISTAKES["config.toml"].replace('channel = "#watch-desk"', "channel = 5")
    write(tmp_path, files)
    lines = monitor("check", "--config", "config.toml", cwd=tmp_path).stdout.splitlines()
    assert "config.toml:5: slack.channel: must be text (got 5)" in lines
    assert set(EVERY_PROBLEM) <= set(lines), "rules and routes checked all the same"


def test_rules_beside_a_config_that_is_no_toml_are_checked_too(tmp_path: Path) -> None:
    files = dict(MISTAKES)
    files["config.toml"] = "[rules\ndir = 'rules'\n"
    write(tmp_path, files)
    lines = monitor("check", "--config", "config.toml", cwd=tmp_path).stdout.splitlines()
    assert any(line.startswith("config.toml:") for line in lines), lines
    rule_problems = [p for p in EVERY_PROBLEM if p.startswith("rules/")]
    assert set(rule_problems) <= {line.split(str(tmp_path) + "/")[-1] for line in lines}, lines


def test_a_feed_with_invalid_tags_raises_no_false_tag_problems(tmp_path: Path) -> None:
    files = dict(MISTAKES)
    files["config.toml"] = MISTAKES["config.toml"].replace('tags = ["news"]', 'tags = "news"')
    files["rules/tagged.yaml"] = """\
        id: tagged
        title: Tagged
        severity: info
        feed_tags: [news]
        match:
          all: [alpha]
        """
    write(tmp_path, files)
    lines = monitor("check", "--config", "config.toml", cwd=tmp_path).stdout.splitlines()
    assert any("feeds[0].tags" in line for line in lines), lines
    assert not any("no configured feed has" in line for line in lines), lines


def test_a_valid_config_and_rules_still_pass(tmp_path: Path) -> None:
    result = monitor("check", "--config", str(ROOT / "config.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")


# --- the validator's errors in the words of the file ------------------------------

HEAD = "id: r\ntitle: R\nseverity: warning\n"


def rule_problems(tmp_path: Path, rule: str, lists: dict[str, str] | None = None) -> list[str]:
    directory = tmp_path / "rules"
    write(
        directory, {"rule.yaml": rule, **{f"lists/{k}.yaml": v for k, v in (lists or {}).items()}}
    )
    with pytest.raises(RuleError) as caught:
        load_rules(directory, shown_dir="rules")
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            HEAD + "match:\n  any: [x]\ntests:\n  - title: t\n    expect: maybe\n",
            "rules/rule.yaml:8: tests[0].expect: must be one of info, warning, critical, none "
            "(got 'maybe')",
        ),
        (
            HEAD.replace("id: r", "id: Bad_Id") + "match:\n  any: [x]\n",
            "rules/rule.yaml:1: id: must be made of lower-case letters, digits and '-', "
            "beginning with a lower-case letter or digit (got 'Bad_Id')",
        ),
        (
            HEAD + "match: dprk\n",
            "rules/rule.yaml:4: match: must be a mapping with keys among all, any, none, "
            "fields, scope (got 'dprk')",
        ),
        (
            HEAD + "selections:\n  dprk: 5\nmatch:\n  any: [$dprk]\n",
            "rules/rule.yaml:5: selections.dprk: must be a condition (a mapping with all, any "
            "or none) or a 'near' test (got 5)",
        ),
        (
            HEAD + "selections:\n  Bad Name:\n    any: [x]\nmatch:\n  any: [y]\n",
            "rules/rule.yaml:5: selections: the key 'Bad Name' must be made of lower-case "
            "letters, digits, '_' and '-', beginning with a lower-case letter or digit",
        ),
        (
            HEAD + "match:\n  all:\n    - near: [[x]]\n",
            "rules/rule.yaml:6: match.all[0].near: needs at least 2 entries (it has 1)",
        ),
        (
            HEAD + "match:\n  all:\n    - near: [[x], [y]]\n      within: 99\n",
            "rules/rule.yaml:7: match.all[0].within: must be at most 50 (got 99)",
        ),
        (
            HEAD + "match:\n  any: [x]\nguards:\n  - cues: [y]\n    action: lowr\n",
            "rules/rule.yaml:8: guards[0].action: must be one of skip, lower, keep (got 'lowr')",
        ),
        (
            "id: r\ntitle: R\nseverity:\nmatch:\n  any: [x]\n",
            "rules/rule.yaml:3: severity: must be one of info, warning, critical (got nothing)",
        ),
        (
            HEAD + "feed_tags: news\nmatch:\n  any: [x]\n",
            "rules/rule.yaml:4: feed_tags: must be a list (got 'news')",
        ),
    ],
)
def test_schema_errors_say_what_is_allowed(tmp_path: Path, rule: str, expected: str) -> None:
    found = rule_problems(tmp_path, rule)
    assert expected in found, found
    assert not [word for word in PYDANTIC_WORDS if any(word in p for p in found)], found


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # The entry the schema refuses is left out; the rest is still compiled.
        (
            HEAD + "match:\n  any:\n    - 're: (a'\n    - $dprc\n",
            "rules/rule.yaml:7: undefined list '$dprc' (did you mean '$dprk'?)",
        ),
        (
            HEAD + "match:\n  all:\n    - [a, b]\n    - near: [[$dprk], ['re: x+']]\n",
            "rules/rule.yaml:7: regular expressions cannot be used in 'near': they have no "
            "word positions",
        ),
        (
            HEAD.replace("severity: warning", "severity: high")
            + "match:\n  all: [x, y]\n  none: [y]\n",
            "rules/rule.yaml:6: can never match: 'y' is both required (all) and excluded (none)",
        ),
        (
            HEAD + "supersedes: [ghost]\nmatch: dprk\n",
            "rules/rule.yaml:4: supersedes unknown rule 'ghost'",
        ),
        (
            # A problem elsewhere leaves the conditions whole: unused selections are reported.
            HEAD + "selections:\n  a:\n    any: [x]\nmatch:\n  any: [y]\ntests:\n"
            "  - title: t\n    expect: maybe\n",
            "rules/rule.yaml:5: selection '$a' is defined but never used (in match, tiers or "
            "another selection)",
        ),
    ],
)
def test_a_rule_failing_the_schema_is_still_checked_where_it_is_readable(
    tmp_path: Path, rule: str, expected: str
) -> None:
    found = rule_problems(tmp_path, rule, {"dprk": "terms: [dprk]\n"})
    assert expected in found, found
    assert len(found) == 2, f"the schema error and this one, nothing invented: {found}"


@pytest.mark.parametrize(
    "rule",
    [
        # Whatever the schema refused might have used the selection, or held
        # the 'any' term that is not excluded: no guess is reported.
        HEAD + "selections:\n  a:\n    any: [x]\nmatch:\n  any: [$a, 're: (']\n",
        HEAD + "selections:\n  a:\n    any: [x]\nmatch:\n  any: [42.0.1, 're: (']\n  none: [x]\n",
        HEAD + "selections:\n  a:\n    any: [x]\n    scope: para\nmatch:\n  all: [$a]\n",
        HEAD + "selections:\n  a: 5\nmatch:\n  all: [$a]\n",
    ],
)
def test_what_the_schema_refused_is_no_ground_for_other_problems(tmp_path: Path, rule: str) -> None:
    found = rule_problems(tmp_path, rule)
    assert len(found) == 1, found


def test_an_undefined_list_in_any_is_not_also_called_excluded(tmp_path: Path) -> None:
    found = rule_problems(tmp_path, HEAD + "match:\n  any: [$dprc, x]\n  none: [x]\n")
    assert found == ["rules/rule.yaml:5: undefined list '$dprc'"]


def test_a_list_file_failing_the_schema_is_not_reported_again_as_undefined(
    tmp_path: Path,
) -> None:
    found = rule_problems(
        tmp_path,
        HEAD + "match:\n  all: [$dprk, $kpa]\n",
        {"dprk": "terms: north korea\n", "kpa": "terms: [kpa, 're: (']\n"},
    )
    assert found == [
        "rules/lists/dprk.yaml:1: terms: must be a list (got 'north korea')",
        "rules/lists/kpa.yaml:1: terms[1]: invalid regular expression '(': missing ): ( "
        "(RE2 syntax: no backreferences or lookaround)",
    ]


def test_a_rule_id_in_a_broken_file_is_no_unknown_rule_elsewhere(tmp_path: Path) -> None:
    """A file YAML cannot read at all has no known id; rules and routes naming
    its file's name are not reported too."""
    directory = tmp_path / "rules"
    write(
        directory,
        {
            "deployment.yaml": "id: deployment\ntitle: [unclosed\n",
            "combat.yaml": HEAD.replace("id: r", "id: combat")
            + "supersedes: [deployment]\nmatch:\n  any: [x]\n",
        },
    )
    with pytest.raises(RuleError) as caught:
        load_rules(directory, shown_dir="rules")
    (problem,) = caught.value.problems
    assert str(problem).startswith("rules/deployment.yaml:3: invalid YAML")


# --- replay: rules left out by their feed tags ------------------------------------

TAGGED = {
    "rules/sanctions.yaml": """\
        id: sanctions-entity-list
        title: Entity List
        severity: critical
        feed_tags: [sanctions]
        match:
          any: [entity list]
        """,
    "rules/regional.yaml": """\
        id: regional-sanctions
        title: Regional sanctions
        severity: info
        feed_tags: [sanctions, asia]
        match:
          any: [entity list]
        """,
    "rules/anywhere.yaml": """\
        id: anywhere
        title: Anywhere
        severity: info
        match:
          any: [entity list]
        """,
    "rules/news-only.yaml": """\
        id: news-only
        title: News only
        severity: info
        feed_tags: [news]
        match:
          any: [entity list]
        """,
}


def replay_setup(tmp_path: Path) -> None:
    write(tmp_path, TAGGED)
    write(
        tmp_path,
        {
            "config.toml": """\
                [slack]
                channel = "#watch-desk"
                [[feeds]]
                name = "wire"
                url = "wire.xml"
                tags = ["news"]
                """
        },
    )
    document = rss([Entry("Additions to the Entity List", link="https://fr.example/1")])
    for name in ("saved.xml", "other.xml", "wire.xml"):
        (tmp_path / name).write_text(document, encoding="utf-8")


def test_replay_without_tag_says_once_which_rules_it_left_out_and_how_to_include_them(
    tmp_path: Path,
) -> None:
    replay_setup(tmp_path)
    result = monitor("replay", "saved.xml", "other.xml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "feed_tags" in line]
    assert notices == [
        "replay: 3 rules limited by feed_tags not tried, as the items have none of their "
        "tags: news-only (news), regional-sanctions (asia, sanctions), sanctions-entity-list "
        "(sanctions); add --tag sanctions --tag news to include them"
    ]
    with_tags = monitor(
        "replay", "saved.xml", "--json", "--tag", "sanctions", "--tag", "news", cwd=tmp_path
    )
    assert "feed_tags" not in with_tags.stderr, "no notice once --tag is given"
    assert with_tags.stdout.count('"rule"') == 4, "the suggested tags include every rule"


def test_replay_suggestion_keeps_the_tags_a_configured_feed_gives(tmp_path: Path) -> None:
    replay_setup(tmp_path)
    result = monitor("replay", "wire.xml", "--json", cwd=tmp_path)
    (notice,) = [line for line in result.stderr.splitlines() if "feed_tags" in line]
    assert "news-only" not in notice, "the configured feed's tag includes it"
    assert notice.endswith(
        "sanctions-entity-list (sanctions); add --tag news --tag sanctions to include them"
    ), "--tag replaces the feed's tags, so news is kept"


def test_replay_names_the_sources_where_they_leave_out_other_rules(tmp_path: Path) -> None:
    replay_setup(tmp_path)
    result = monitor("replay", "wire.xml", "saved.xml", "other.xml", cwd=tmp_path)
    (notice,) = [line for line in result.stderr.splitlines() if "feed_tags" in line]
    assert notice == (
        "replay: 3 rules limited by feed_tags not tried, as the items have none of their "
        "tags: on wire.xml: regional-sanctions (asia, sanctions), sanctions-entity-list "
        "(sanctions); on saved.xml, other.xml: news-only (news), regional-sanctions (asia, "
        "sanctions), sanctions-entity-list (sanctions); add --tag news --tag sanctions to "
        "include them"
    )


# --- feed URLs without httpx ---------------------------------------------------------


def test_httpx_is_no_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.startswith("httpx")]


def test_config_is_checked_without_httpx_installed(tmp_path: Path) -> None:
    result = monitor("check", "--config", str(ROOT / "config.toml"), cwd=tmp_path, hide="httpx")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://feeds.example/rss", "feed URLs must be http(s) URLs, file:// URLs or paths"),
        ("https:///rss", "feed URLs must be http(s) URLs, file:// URLs or paths"),
        ("https://feeds.example:99999/rss", "invalid URL 'https://feeds.example:99999/rss': "),
        ("https://feeds.example:http/rss", "invalid URL 'https://feeds.example:http/rss': "),
        ("https://feeds example/rss", "the host name has a space or a control character"),
        ("https://[::1/rss", "invalid URL 'https://[::1/rss': Invalid IPv6 URL"),
    ],
)
def test_feed_urls_a_fetch_would_refuse_are_config_errors(
    tmp_path: Path, url: str, expected: str
) -> None:
    write(
        tmp_path,
        {
            "config.toml": f'[slack]\nchannel = "#x"\n[[feeds]]\nname = "f"\nurl = "{url}"\n',
            "rules/r.yaml": HEAD + "match:\n  any: [x]\n",
        },
    )
    result = monitor("check", "--config", "config.toml", cwd=tmp_path, hide="httpx")
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("config.toml:5: feeds[0].url: ") and expected in line, line
