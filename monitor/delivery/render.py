"""Rendering alerts: Slack Block Kit with a plain-text fallback, and a
one-line console form. Pure: the alert and ``now`` in, the payload out.

Every piece of feed text is mrkdwn-escaped, and Slack's limits (50 blocks,
3,000 characters a section, 150 a header) are met by visible truncation,
never by an error from Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.domain.alert import Alert
from monitor.domain.severity import Severity

SNIPPET_CHARS = 300
TITLE_CHARS = 300
HEADER_CHARS = 150
SECTION_CHARS = 3000
MAX_BLOCKS = 50
SEVERITY_MARKERS = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}


def escape_mrkdwn(text: str) -> str:
    """Escape feed text for Slack so it can never form a mention or a link.

    Slack reads ``<!channel>``, ``<@U123>`` and ``<http://x|y>`` as control
    sequences; with ``&``, ``<`` and ``>`` escaped they stay literal text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_url(url: str) -> str:
    """A URL that cannot break out of Slack's ``<url|label>`` syntax."""
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "date unknown"


def console_line(alert: Alert, channel: str | None = None) -> str:
    """One readable line per alert for a terminal or a log file."""
    when = alert.published.strftime("%Y-%m-%dT%H:%MZ") if alert.published else "-"
    link = alert.link or "(no link)"
    where = f" -> {channel}" if channel else ""
    return (
        f"ALERT {alert.severity.value.upper():<8} {alert.rule_id} [{alert.feed}] {when} "
        f"{truncate(alert.title, 200)} <{link}>{where}"
    )


def relative_time(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def emphasise(escaped: str, terms: tuple[str, ...]) -> str:
    """Bold the matched terms in already escaped text (a trailing * is a wildcard)."""
    patterns = []
    for term in terms:
        words = [
            re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in term.split()
        ]
        if words:
            patterns.append(r"[\W_]+".join(words))
    if not patterns:
        return escaped
    regex = re.compile(
        r"(?<![\w*])(" + "|".join(sorted(patterns, key=len, reverse=True)) + r")(?![\w*])", re.I
    )
    return regex.sub(lambda m: f"*{m.group(1)}*", escaped)


@dataclass(frozen=True)
class SlackMessage:
    text: str
    """The plain fallback: notifications, screen readers, clients without blocks."""
    blocks: list[dict[str, Any]]


def slack_message(
    alert: Alert, *, now: datetime, mentions: tuple[str, ...] = (), sources: int = 1
) -> SlackMessage:
    """The Block Kit message for an alert; ``mentions`` are already in Slack syntax."""
    marker = SEVERITY_MARKERS[alert.severity]
    header = truncate(f"{marker} {alert.severity.value.upper()} · {alert.rule_title}", HEADER_CHARS)
    title = escape_mrkdwn(truncate(alert.title or "(untitled item)", TITLE_CHARS))
    headline = f"*<{_safe_url(alert.link)}|{title}>*" if alert.link else f"*{title}*"
    mention_text = " ".join(mentions)
    lead = f"{mention_text} {headline}" if mention_text else headline
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": header, "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(lead, SECTION_CHARS)}},
    ]
    if alert.summary:
        snippet = emphasise(
            escape_mrkdwn(truncate(alert.summary, SNIPPET_CHARS)), alert.matched_terms
        )
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate("> " + snippet, SECTION_CHARS)},
            }
        )
    when = format_time(alert.published)
    ago = relative_time(alert.published, now)
    context = [
        f"*{escape_mrkdwn(alert.feed)}*",
        f"{when} ({ago})" if ago else when,
        f"rule `{escape_mrkdwn(alert.rule_id)}`",
    ]
    if sources > 1:
        context.append(f"{sources} sources")
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": truncate(" · ".join(context), SECTION_CHARS)}],
        }
    )
    fallback = f"{mention_text + ' ' if mention_text else ''}{alert.severity.value.upper()}: {escape_mrkdwn(truncate(alert.rule_title, 150))}: {title}"
    return SlackMessage(text=truncate(fallback, SECTION_CHARS), blocks=blocks[:MAX_BLOCKS])


ROLLUP_LINES = 25


def storm_summary(
    alerts: list[Alert], *, channel: str, window_minutes: int, mentions: tuple[str, ...] = ()
) -> SlackMessage:
    """One message standing for many alerts during a storm: count, titles, links.

    ``mentions`` (already in Slack syntax) are those of every alert it stands
    for, so that rolling alerts up never notifies fewer people.
    """
    lines = []
    for alert in alerts[:ROLLUP_LINES]:
        title = escape_mrkdwn(truncate(alert.title or "(untitled item)", 150))
        link = f"<{_safe_url(alert.link)}|{title}>" if alert.link else title
        lines.append(
            f"• {SEVERITY_MARKERS[alert.severity]} `{escape_mrkdwn(alert.rule_id)}` {link}"
        )
    if len(alerts) > ROLLUP_LINES:
        lines.append(f"… and {len(alerts) - ROLLUP_LINES} more (monitor outbox --all lists them)")
    heading = (
        f"{len(alerts)} more alert{'' if len(alerts) == 1 else 's'} for {channel}, "
        "rolled into one message: "
        f"the channel already had its share in the last {window_minutes} min"
    )
    mention_text = " ".join(mentions)
    # The mentions lead, so that truncating a long list never drops them.
    body = truncate("\n".join([mention_text, *lines] if mention_text else lines), SECTION_CHARS)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": truncate(
                    f":zap: {len(alerts)} more alert{'' if len(alerts) == 1 else 's'}",
                    HEADER_CHARS,
                ),
                "emoji": True,
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(heading)}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
    ]
    fallback = f"{mention_text} {heading}" if mention_text else heading
    return SlackMessage(text=truncate(fallback, SECTION_CHARS), blocks=blocks)


def digest_message(alerts: list[Alert], *, channel: str, now: datetime) -> SlackMessage:
    """One message for a channel's digest: the alerts grouped by rule."""
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule_id, []).append(alert)
    heading = f"Digest for {channel}: {len(alerts)} alerts ({format_time(now)})"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": truncate(f":newspaper: {heading}", HEADER_CHARS),
                "emoji": True,
            },
        },
    ]
    for rule_alerts in by_rule.values():
        first = rule_alerts[0]
        lines = [
            f"*{SEVERITY_MARKERS[first.severity]} {escape_mrkdwn(first.rule_title)}* "
            f"(`{escape_mrkdwn(first.rule_id)}`, {len(rule_alerts)})"
        ]
        for alert in rule_alerts[:ROLLUP_LINES]:
            title = escape_mrkdwn(truncate(alert.title or "(untitled item)", 150))
            link = f"<{_safe_url(alert.link)}|{title}>" if alert.link else title
            lines.append(f"• {link} · {escape_mrkdwn(alert.feed)} · {format_time(alert.published)}")
        if len(rule_alerts) > ROLLUP_LINES:
            lines.append(f"… and {len(rule_alerts) - ROLLUP_LINES} more")
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), SECTION_CHARS)},
            }
        )
    if len(blocks) > MAX_BLOCKS:
        blocks = [
            *blocks[: MAX_BLOCKS - 1],
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"… and {len(blocks) - MAX_BLOCKS + 1} more rules"}
                ],
            },
        ]
    return SlackMessage(text=escape_mrkdwn(heading), blocks=blocks)
