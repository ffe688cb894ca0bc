"""Rendering alerts as text: Slack mrkdwn and a one-line console form. Pure."""

from __future__ import annotations

from datetime import datetime

from monitor.alerts.model import Alert
from monitor.rules.model import Severity

SNIPPET_CHARS = 300
TITLE_CHARS = 300
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


def slack_text(alert: Alert) -> str:
    """The message body in Slack mrkdwn. Every piece of feed text is escaped."""
    marker = SEVERITY_MARKERS[alert.severity]
    # Truncated before escaping, which can make text up to five times longer.
    title = escape_mrkdwn(truncate(alert.title or "(untitled item)", TITLE_CHARS))
    headline = f"<{_safe_url(alert.link)}|{title}>" if alert.link else f"*{title}*"
    lines = [
        f"{marker} *{alert.severity.value.upper()}* · {escape_mrkdwn(alert.rule_title)}",
        headline,
        f"{escape_mrkdwn(alert.feed)} · {format_time(alert.published)}",
    ]
    if alert.summary:
        lines.append("> " + escape_mrkdwn(truncate(alert.summary, SNIPPET_CHARS)))
    footer = f"rule `{escape_mrkdwn(alert.rule_id)}`"
    if alert.matched_terms:
        footer += " · matched: " + ", ".join(escape_mrkdwn(t) for t in alert.matched_terms[:8])
    lines.append(footer)
    return "\n".join(lines)


def console_line(alert: Alert) -> str:
    """One readable line per alert for a terminal or a log file."""
    when = alert.published.strftime("%Y-%m-%dT%H:%MZ") if alert.published else "-"
    link = alert.link or "(no link)"
    return (
        f"ALERT {alert.severity.value.upper():<8} {alert.rule_id} [{alert.feed}] {when} "
        f"{truncate(alert.title, 200)} <{link}>"
    )
