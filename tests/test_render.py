"""What the desk sees: feed text can never ping anyone or hide a link."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.alerts.model import Alert
from monitor.alerts.render import console_line, escape_mrkdwn, slack_text
from monitor.rules.model import Severity


def alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "rule_id": "dprk-troops-combat",
        "rule_title": "North Korean troops in combat",
        "severity": Severity.CRITICAL,
        "feed": "bbc-world",
        "item_identity": "guid:x",
        "item_guid": "x",
        "title": "Troops killed",
        "link": "https://news.example/a",
        "summary": "Summary text",
        "published": datetime(2026, 12, 1, 9, 5, tzinfo=UTC),
        "matched_terms": ("north korean", "killed"),
        "created_at": datetime(2026, 12, 1, 9, 6, tzinfo=UTC),
    }
    fields.update(overrides)
    return Alert(**fields)  # type: ignore[arg-type]


def test_mentions_and_links_in_feed_text_stay_literal() -> None:
    text = slack_text(
        alert(
            title="<!channel> alert <http://evil.example|click> & more", summary="<@U123> <!here>"
        )
    )
    assert "<!channel>" not in text and "<!here>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt; alert &lt;http://evil.example|click&gt; &amp; more" in text
    assert "&lt;@U123&gt; &lt;!here&gt;" in text


def test_link_cannot_break_out_of_slack_link_syntax() -> None:
    text = slack_text(alert(link="https://news.example/a|<!channel>"))
    assert "<https://news.example/a%7C%3C!channel%3E|Troops killed>" in text


def test_message_shows_severity_rule_feed_time_snippet_and_terms() -> None:
    lines = slack_text(alert()).splitlines()
    assert lines[0] == ":red_circle: *CRITICAL* · North Korean troops in combat"
    assert lines[1] == "<https://news.example/a|Troops killed>"
    assert lines[2] == "bbc-world · 2026-12-01 09:05 UTC"
    assert lines[3] == "> Summary text"
    assert lines[4] == "rule `dprk-troops-combat` · matched: north korean, killed"


def test_long_summary_is_truncated_visibly() -> None:
    text = slack_text(alert(summary="word " * 200))
    snippet = text.splitlines()[3]
    assert len(snippet) <= 302 and snippet.endswith("…")


def test_escape_covers_ampersand_and_angle_brackets() -> None:
    assert escape_mrkdwn("AT&T <b> &lt;") == "AT&amp;T &lt;b&gt; &amp;lt;"


def test_a_huge_title_stays_far_below_slacks_message_limit() -> None:
    text = slack_text(alert(title="<&>" * 5000, summary="<&>" * 5000))
    assert len(text) < 4000


def test_console_line_is_one_readable_line() -> None:
    assert console_line(alert()) == (
        "ALERT CRITICAL dprk-troops-combat [bbc-world] 2026-12-01T09:05Z Troops killed <https://news.example/a>"
    )


def test_alert_round_trips_through_json() -> None:
    original = alert(published=None, link=None)
    assert Alert.from_json(original.to_json()) == original
