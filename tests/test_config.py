"""config.toml: validation errors name the file, the line and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = dedent(
    """\
    [state]
    path = "state/monitor.db"
    [rules]
    dir = "rules"
    [slack]
    channel = "#watch-desk"
    api_url = "https://slack.com/api/"   # a proxy or a local emulator can stand in
    [[feeds]]
    name = "bbc-world"
    url = "https://feeds.bbci.co.uk/news/world/rss.xml"
    tags = ["news"]
    interval = "5m"
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]


def test_issue_example_config_loads_and_resolves_paths_next_to_the_file(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL))
    assert loaded.state_path == tmp_path / "state/monitor.db"
    assert loaded.rules_dir == tmp_path / "rules"
    (feed,) = loaded.config.feeds
    assert (feed.name, feed.tags, feed.interval) == ("bbc-world", ("news",), timedelta(minutes=5))
    assert loaded.config.fetch.max_bytes == 10 * 2**20


def test_bundled_config_is_valid_and_covers_news_and_sanctions() -> None:
    loaded = load_config(ROOT / "config.toml")
    tags = {tag for feed in loaded.config.feeds for tag in feed.tags}
    assert tags == {"news", "sanctions"}
    assert all(feed.tags for feed in loaded.config.feeds)


def test_unknown_key_in_an_array_table_names_its_line(tmp_path: Path) -> None:
    text = MINIMAL.replace('interval = "5m"', 'intervl = "5m"')
    assert problems(tmp_path, text) == [
        "config.toml:12: unknown key 'intervl' (did you mean 'interval'?)"
    ]


def test_unknown_table_and_missing_key(tmp_path: Path) -> None:
    text = MINIMAL.replace("[rules]", "[rulez]").replace('channel = "#watch-desk"\n', "")
    assert problems(tmp_path, text) == [
        "config.toml:3: unknown key 'rulez' (did you mean 'rules'?)",
        "config.toml:5: missing required key 'channel' in slack",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'interval = "5m"',
            'interval = "5 minutes"',
            "config.toml:12: feeds[0].interval: invalid duration '5 minutes'",
        ),
        (
            'name = "bbc-world"',
            'name = "BBC World"',
            "config.toml:9: feeds[0].name: must be made of lower-case letters, digits, '.', '_' "
            "and '-', beginning with a lower-case letter or digit (got 'BBC World')",
        ),
        (
            'api_url = "https://slack.com/api/"',
            'api_url = "slack.com"',
            "config.toml:7: slack.api_url: api_url must be an http(s) URL",
        ),
    ],
)
def test_bad_values_name_key_and_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    (problem,) = problems(tmp_path, MINIMAL.replace(old, new))
    assert problem.startswith(expected)


def test_duplicate_feed_names_are_rejected(tmp_path: Path) -> None:
    text = MINIMAL + '[[feeds]]\nname = "bbc-world"\nurl = "https://other.example/rss"\n'
    (problem,) = problems(tmp_path, text)
    assert "two feeds have the same name 'bbc-world'" in problem


def test_a_feed_type_is_one_the_source_registry_knows(tmp_path: Path) -> None:
    (feed,) = load_config(write(tmp_path, MINIMAL)).config.feeds
    assert feed.type == "rss", "rss unless a feed says otherwise"
    typed = MINIMAL.replace('interval = "5m"', 'interval = "5m"\ntype = "rss"')
    assert load_config(write(tmp_path, typed)).config.feeds[0].type == "rss"
    (problem,) = problems(tmp_path, MINIMAL.replace('interval = "5m"', 'type = "rs"'))
    assert problem == (
        "config.toml:12: feeds[0].type: unknown feed type 'rs' (did you mean 'rss'?); "
        "known types: eu-fsf, federal-register, ofac-sdn, rss, trade-csl, uk-sanctions-list, un-sc"
    )


def test_a_disabled_feed_is_checked_but_never_polled(tmp_path: Path) -> None:
    disabled = MINIMAL.replace('interval = "5m"', 'interval = "5m"\nenabled = false')
    loaded = load_config(write(tmp_path, disabled))
    assert loaded.config.feeds == ()
    assert [feed.name for feed in loaded.config.disabled_feeds] == ["bbc-world"]
    broken = disabled.replace('interval = "5m"', 'interval = "0s"')
    (problem,) = problems(tmp_path, broken)
    assert "feeds[0].interval" in problem and "at least 1s" in problem


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, MINIMAL.replace('interval = "5m"', "interval = 5m"))
    assert (
        problem
        == "config.toml:12: invalid TOML: Expected newline or end of document after a statement"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_a_probe_url_is_refused_on_a_feed_that_would_ignore_it(tmp_path: Path) -> None:
    probing = MINIMAL.replace(
        'interval = "5m"', 'interval = "5m"\nprobe_url = "https://example.org/checksums.rss"'
    )
    (problem,) = problems(tmp_path, probing)
    assert "probe_url is read only by feeds of type eu-fsf or ofac-sdn" in problem
    assert "a 'rss' feed would ignore it" in problem


def test_the_archive_is_kept_no_longer_than_the_alerts_it_shows(tmp_path: Path) -> None:
    longer = MINIMAL + '[archive]\nretention = "120d"\n'
    (problem,) = problems(tmp_path, longer)
    assert "archive.retention may not exceed polling.seen_retention" in problem
