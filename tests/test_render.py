"""What the desk sees: Block Kit within Slack's limits, with feed text that
can never ping anyone or hide a link; roll-ups and digests as Slack and the
console show them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.delivery.message import Notice, alert_post, digest, roll_up
from monitor.delivery.render import (
    emphasise,
    escape_mrkdwn,
    mention_syntax,
    render,
    slack_message,
)
from monitor.delivery.sinks.console import console_line, summary_line
from monitor.domain.alert import Alert, OutboxEntry
from monitor.domain.severity import Severity

NOW = datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


def alert(**overrides: Any) -> Alert:
    default = Alert(
        rule_id="dprk-troops-combat",
        rule_title="North Korean troops in combat",
        severity=Severity.CRITICAL,
        feed="bbc-world",
        item_identity="guid:x",
        item_guid="x",
        title="Troops killed",
        link="https://news.example/a",
        summary="Summary text",
        published=datetime(2026, 12, 1, 9, 5, tzinfo=UTC),
        matched_terms=("north korean", "killed"),
        created_at=datetime(2026, 12, 1, 9, 6, tzinfo=UTC),
    )
    return replace(default, **overrides)


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
    assert headline["text"]["text"] == "*<https://news.example/a|Troops killed>*"
    assert snippet["text"]["text"] == "> Ukraine says *North Korean* soldiers were *killed*"
    assert context["elements"][0]["text"] == (
        "*bbc-world* · <!date^1796115900^{date_short_pretty} {time} ({ago})|2026-12-01 09:05 UTC> · rule `dprk-troops-combat`"
    )
    assert message.text == "CRITICAL: North Korean troops in combat: Troops killed"


def test_mentions_use_slack_syntax_in_text_and_blocks() -> None:
    message = slack_message(alert(), now=NOW, mentions=("@here", "subteam:S0123"))
    assert message.text.startswith("<!here> <!subteam^S0123> CRITICAL:")
    assert message.blocks[1]["text"]["text"].startswith("<!here> <!subteam^S0123> *<")


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
        mentions=("@here",) * 2000,
    )
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    for block in message.blocks[1:]:
        text = block["text"]["text"] if "text" in block else block["elements"][0]["text"]
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
    assert console_line(alert_post(alert(), now=NOW), "#watch-desk") == (
        "ALERT CRITICAL dprk-troops-combat [bbc-world] 2026-12-01T09:05Z Troops killed "
        "<https://news.example/a> -> #watch-desk"
    )


def test_alert_round_trips_through_json() -> None:
    original = alert(published=None, link=None)
    assert Alert.from_json(original.to_json()) == original


def test_mentions_as_config_writes_them_become_slack_syntax() -> None:
    assert [mention_syntax(m) for m in ("@here", "subteam:S0123", "user:U0ABC")] == [
        "<!here>",
        "<!subteam^S0123>",
        "<@U0ABC>",
    ]


def entries(count: int, **overrides: object) -> list[OutboxEntry]:
    return [
        OutboxEntry(
            n,
            alert(title=f"Item <{n}>", link=f"https://news.example/{n}", **overrides),
            0,
            "#watch-desk",
            ("user:U0ANALYST",) if n % 2 else ("@here",),
        )
        for n in range(1, count + 1)
    ]


def test_a_roll_up_lists_25_titles_counts_the_rest_and_leads_with_every_mention() -> None:
    message = roll_up("#watch-desk", entries(27), window=timedelta(minutes=10))
    slack = render(message)
    heading = (
        "27 more alerts for #watch-desk, rolled into one message: "
        "the channel already had its share in the last 10 min"
    )
    assert slack.text == f"<@U0ANALYST> <!here> {heading}"
    header, context, section = slack.blocks
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": ":zap: 27 more alerts", "emoji": True},
    }
    assert context == {"type": "context", "elements": [{"type": "mrkdwn", "text": heading}]}
    lines = section["text"]["text"].split("\n")
    assert lines[0] == "<@U0ANALYST> <!here>"
    assert lines[1] == (
        "• :red_circle: `dprk-troops-combat` <https://news.example/1|Item &lt;1&gt;>"
    )
    assert len(lines) == 1 + 25 + 1
    assert lines[-1] == "… and 2 more (monitor outbox --all lists them)"
    assert summary_line(message, "#watch-desk") == f"{slack.text} -> #watch-desk"


def test_one_rolled_up_alert_is_said_in_the_singular() -> None:
    message = roll_up("#watch-desk", entries(1), window=timedelta(minutes=10))
    assert render(message).blocks[0]["text"]["text"] == ":zap: 1 more alert"
    assert message.heading.startswith("1 more alert for #watch-desk,")


def test_a_digest_groups_by_rule_and_ends_within_slack_block_limit() -> None:
    alerts = [
        alert(rule_id=f"rule-{n % 60}", rule_title=f"Rule {n % 60}", title=f"T{n}", link=None)
        for n in range(120)
    ]
    message = digest("#digest", alerts, now=NOW)
    assert [g.count for g in message.groups] == [2] * 60
    slack = render(message)
    assert slack.text == "Digest for #digest: 120 alerts (2026-12-01 12:05 UTC)"
    assert slack.blocks[0]["text"]["text"] == (
        ":newspaper: Digest for #digest: 120 alerts (2026-12-01 12:05 UTC)"
    )
    assert slack.blocks[1]["text"]["text"] == (
        "*:red_circle: Rule 0* (`rule-0`, 2)\n"
        "• T0 · bbc-world · 2026-12-01 09:05 UTC\n"
        "• T60 · bbc-world · 2026-12-01 09:05 UTC"
    )
    assert len(slack.blocks) == 50
    assert slack.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "… and 12 more rules"}],
    }
    assert summary_line(message, "#digest") == f"{slack.text} -> #digest"


def test_a_notice_is_escaped_text_in_one_section() -> None:
    slack = render(Notice("Test <message> & more"))
    assert slack.text == "Test &lt;message&gt; &amp; more"
    assert slack.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Test &lt;message&gt; &amp; more"}}
    ]


def test_an_alerts_details_are_listed_whole_within_the_section_limit() -> None:
    few = slack_message(alert(details=("ACME & SONS CO. (entity; China)", "B LTD")), now=NOW)
    listed = few.blocks[3]["text"]["text"]
    assert listed == "• ACME &amp; SONS CO. (entity; China)\n• B LTD"
    many = tuple(
        f"EXAMPLE PARTY {n} & CO., LIMITED (entity; China; RUSSIA-EO14024)" for n in range(200)
    )
    message = slack_message(alert(details=many), now=NOW)
    text = message.blocks[3]["text"]["text"]
    assert len(text) <= 3000
    lines = text.splitlines()
    assert all(line.endswith("RUSSIA-EO14024)") for line in lines[:-1])  # no line cut
    assert lines[-1] == f"… and {200 - len(lines) + 1} more"


def test_an_alert_without_details_has_no_list_and_old_payloads_still_read() -> None:
    assert len(slack_message(alert(), now=NOW).blocks) == 4
    stored = json.loads(alert().to_json())
    assert "details" not in stored
    assert Alert.from_json(json.dumps(stored)).details == ()
    noted = alert(details=("X: listed on the OFAC SDN List on 2026-12-01",))
    assert Alert.from_json(noted.to_json()) == noted
