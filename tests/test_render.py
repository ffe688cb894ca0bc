"""What the desk sees: Block Kit within Slack's limits, with feed text that
can never ping anyone or hide a link."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from monitor.delivery.render import console_line, emphasise, escape_mrkdwn, slack_message
from monitor.domain.alert import Alert
from monitor.domain.severity import Severity

NOW = datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


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


def texts(message_blocks: list[dict[str, object]]) -> str:
    return json.dumps(message_blocks, ensure_ascii=False)


def test_blocks_show_severity_rule_link_source_time_snippet_and_rule_id() -> None:
    message = slack_message(
        alert(summary="Ukraine says North Korean soldiers were killed"), now=NOW
    )
    header, headline, snippet, context = message.blocks
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":red_circle: CRITICAL · North Korean troops in combat",
            "emoji": True,
        },
    }
    assert headline["text"]["text"] == "*<https://news.example/a|Troops killed>*"  # type: ignore[index]
    assert snippet["text"]["text"] == "> Ukraine says *North Korean* soldiers were *killed*"  # type: ignore[index]
    assert context["elements"][0]["text"] == (  # type: ignore[index]
        "*bbc-world* · 2026-12-01 09:05 UTC (3 h ago) · rule `dprk-troops-combat`"
    )
    assert message.text == "CRITICAL: North Korean troops in combat: Troops killed"


def test_mentions_use_slack_syntax_in_text_and_blocks() -> None:
    message = slack_message(alert(), now=NOW, mentions=("<!here>", "<!subteam^S0123>"))
    assert message.text.startswith("<!here> <!subteam^S0123> CRITICAL:")
    assert message.blocks[1]["text"]["text"].startswith("<!here> <!subteam^S0123> *<")  # type: ignore[index]


def test_mentions_and_links_in_feed_text_stay_literal() -> None:
    message = slack_message(
        alert(
            title="<!channel> alert <http://evil.example|click> & more", summary="<@U123> <!here>"
        ),
        now=NOW,
    )
    everything = message.text + texts(message.blocks)
    assert (
        "<!channel>" not in everything
        and "<!here>" not in everything
        and "<@U123>" not in everything
    )
    assert "&lt;!channel&gt; alert &lt;http://evil.example|click&gt; &amp; more" in everything
    assert "&lt;@U123&gt; &lt;!here&gt;" in everything


def test_link_cannot_break_out_of_slack_link_syntax() -> None:
    message = slack_message(alert(link="https://news.example/a|<!channel>"), now=NOW)
    assert "<https://news.example/a%7C%3C!channel%3E|Troops killed>" in texts(message.blocks)


def test_slack_limits_are_met_by_visible_truncation() -> None:
    message = slack_message(
        alert(title="<&>" * 5000, summary="<&>" * 5000, rule_title="R" * 400),
        now=NOW,
        mentions=("<!here>",) * 2000,
    )
    header = message.blocks[0]["text"]["text"]  # type: ignore[index]
    assert len(header) <= 150 and header.endswith("…")
    for block in message.blocks[1:]:
        text = block["text"]["text"] if "text" in block else block["elements"][0]["text"]  # type: ignore[index]
        assert len(text) <= 3000
    assert len(message.blocks) <= 50
    assert len(message.text) <= 3000


def test_emphasis_handles_wildcards_and_phrases() -> None:
    assert emphasise("US sanctioned Chinese firms", ("sanction*", "chinese firms")) == (
        "US *sanctioned* *Chinese firms*"
    )
    assert emphasise("nothing here", ()) == "nothing here"


def test_escape_covers_ampersand_and_angle_brackets() -> None:
    assert escape_mrkdwn("AT&T <b> &lt;") == "AT&amp;T &lt;b&gt; &amp;lt;"


def test_console_line_is_one_readable_line() -> None:
    assert console_line(alert(), "#watch-desk") == (
        "ALERT CRITICAL dprk-troops-combat [bbc-world] 2026-12-01T09:05Z Troops killed "
        "<https://news.example/a> -> #watch-desk"
    )


def test_alert_round_trips_through_json() -> None:
    original = alert(published=None, link=None)
    assert Alert.from_json(original.to_json()) == original
