"""Slack's rendering of a message: Block Kit with a plain-text fallback.

Pure: a :mod:`~monitor.delivery.message` in, the payload out. Both Slack
sinks (the Web API and an incoming webhook) post what this renders.

Every piece of feed text is mrkdwn-escaped, and Slack's limits (50 blocks,
3,000 characters a section, 150 a header) are met by visible truncation,
never by an error from Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor.delivery.message import (
    AlertPost,
    Digest,
    Listed,
    Mark,
    Message,
    Notice,
    RollUp,
    alert_post,
    entry_post,
    format_time,
    truncate,
)
from monitor.domain.alert import Alert, OutboxEntry
from monitor.domain.kinds import FeedbackKind
from monitor.domain.severity import Severity

SNIPPET_CHARS = 300
TITLE_CHARS = 300
HEADER_CHARS = 150
SECTION_CHARS = 3000
MAX_BLOCKS = 50
LINE_TITLE_CHARS = 150
"""A title's length as one line of a roll-up or a digest."""
SEVERITY_MARKERS = {
    Severity.CRITICAL: ":red_circle:",
    Severity.WARNING: ":large_orange_circle:",
    Severity.INFO: ":large_blue_circle:",
}


@dataclass(frozen=True)
class Button:
    """A button of an alert post: how Block Kit draws it, and the action id
    its click comes back with (see monitor.interactivity.actions)."""

    kind: FeedbackKind
    action_id: str
    label: str
    style: Literal["primary", "danger"] | None = None
    confirm: tuple[str, str, str] | None = None
    """The title, text and yes-button of a dialog that asks before the click counts."""


BUTTONS: dict[FeedbackKind, Button] = {
    button.kind: button
    for button in (
        Button("acknowledged", "monitor.ack", "Acknowledge", style="primary"),
        Button(
            "muted",
            "monitor.mute",
            "Mute this story",
            confirm=(
                "Mute this story?",
                "Its later sources are recorded but not posted in the thread. "
                "`monitor silences` lists the mute and `monitor unsilence` ends it.",
                "Mute",
            ),
        ),
        Button("false-alarm", "monitor.false_alarm", "False alarm", style="danger"),
        Button("not-relevant", "monitor.not_relevant", "Not relevant to this desk"),
    )
}
"""Every button an alert post may carry, in the order it shows them."""
ACTIONS_BLOCK_ID = "monitor.feedback"
"""The block_id of an alert's buttons."""
_MARK_TEXT: dict[FeedbackKind, str] = {
    "acknowledged": ":white_check_mark: Acknowledged by {who} {when}",
    "muted": ":mute: Story muted by {who} {when}{until}: its later sources are not posted",
    "false-alarm": ":x: Marked a false alarm by {who} {when}",
    "not-relevant": ":heavy_minus_sign: Marked not relevant to this desk by {who} {when}",
}
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


@dataclass(frozen=True)
class SlackMessage:
    """A Block Kit payload: what chat.postMessage and a webhook are sent."""

    text: str
    """The plain fallback: notifications, screen readers, clients without blocks."""
    blocks: list[dict[str, Any]]


def mention_syntax(mention: str) -> str:
    """Slack's syntax for a mention as config writes it; only this syntax notifies."""
    if mention.startswith("@"):
        return f"<!{mention[1:]}>"
    kind, _, ident = mention.partition(":")
    return f"<!subteam^{ident}>" if kind == "subteam" else f"<@{ident}>"


def mention_text(mentions: tuple[str, ...]) -> str:
    """The mentions, in Slack's syntax, as one run of text."""
    return " ".join(mention_syntax(m) for m in mentions)


def escape_mrkdwn(text: str) -> str:
    """Escape feed text for Slack so it can never form a mention or a link.

    Slack reads ``<!channel>``, ``<@U123>`` and ``<http://x|y>`` as control
    sequences; with ``&``, ``<`` and ``>`` escaped they stay literal text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_url(url: str) -> str:
    """A URL that cannot break out of Slack's ``<url|label>`` syntax."""
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


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


def render(message: Message) -> SlackMessage:
    """The Block Kit payload of any message."""
    if isinstance(message, AlertPost):
        return _alert(message)
    if isinstance(message, RollUp):
        return _roll_up(message)
    if isinstance(message, Digest):
        return _digest(message)
    return _notice(message)


def slack_message(
    alert: Alert, *, now: datetime, mentions: tuple[str, ...] = (), sources: int = 1
) -> SlackMessage:
    """The Block Kit message for an alert posted at ``now`` (``mentions`` as config writes them)."""
    return _alert(alert_post(alert, now=now, mentions=mentions, sources=sources))


def render_entry(entry: OutboxEntry, now: datetime) -> SlackMessage:
    """The Block Kit message an outbox entry is posted as, mentions and all."""
    return _alert(entry_post(entry, now))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, HEADER_CHARS), "emoji": True},
    }


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _link(url: str | None, label: str) -> str:
    return f"<{_safe_url(url)}|{label}>" if url else label


def live_time(value: datetime | None) -> str:
    """A moment as Slack shows it to each reader: in their time zone, with
    how long ago it was, kept current as the message is read later
    (``<!date^...>``); the text after ``|`` is for clients that cannot."""
    if value is None:
        return format_time(None)
    return f"<!date^{int(value.timestamp())}^{{date_short_pretty}} {{time}} ({{ago}})|{format_time(value)}>"


SHOWN_SOURCES = 6
"""Sources a story's parent names; the rest are counted."""


def _sources(count: int, names: tuple[str, ...]) -> str:
    if not names:
        return f"{count} sources"
    shown = ", ".join(escape_mrkdwn(name) for name in names[:SHOWN_SOURCES])
    more = f" +{len(names) - SHOWN_SOURCES}" if len(names) > SHOWN_SOURCES else ""
    return f"{count} sources: {shown}{more}"


def _listed(lines: tuple[str, ...]) -> str:
    """The lines as a bulleted list, whole lines only, within a section's
    limit (an escaped "&amp;" cut in two would show as text)."""
    shown: list[str] = []
    size = 0
    for number, line in enumerate(lines):
        bullet = "• " + escape_mrkdwn(truncate(line, LINE_TITLE_CHARS * 2))
        rest = len(lines) - number - 1
        if size + len(bullet) + 40 > SECTION_CHARS:
            shown.append(f"… and {rest + 1} more")
            break
        shown.append(bullet)
        size += len(bullet) + 1
    return "\n".join(shown)


def _alert(post: AlertPost) -> SlackMessage:
    marker = SEVERITY_MARKERS[post.severity]
    header = f"{marker} {post.severity.value.upper()} · {post.rule_title}"
    title = escape_mrkdwn(truncate(post.headline, TITLE_CHARS))
    headline = f"*{_link(post.link, title)}*"
    mentions = mention_text(post.mentions)
    lead = f"{mentions} {headline}" if mentions else headline
    blocks: list[dict[str, Any]] = [_header(header), _section(truncate(lead, SECTION_CHARS))]
    if post.summary:
        snippet = emphasise(
            escape_mrkdwn(truncate(post.summary, SNIPPET_CHARS)), post.matched_terms
        )
        blocks.append(_section(truncate("> " + snippet, SECTION_CHARS)))
    if post.details:
        blocks.append(_section(_listed(post.details)))
    publisher = post.shown_publisher
    context = [
        f"*{escape_mrkdwn(publisher)}* via {escape_mrkdwn(post.feed)}"
        if publisher
        else f"*{escape_mrkdwn(post.feed)}*",
        live_time(post.published),
        f"rule `{escape_mrkdwn(post.rule_id)}`",
    ]
    if post.sources > 1:
        context.append(_sources(post.sources, post.source_names))
    if post.backfill_of is not None:
        # Not news: a rule added or changed since ran over what was read before.
        context.append(f"backfill: read {live_time(post.backfill_of)}, before this rule")
    blocks.append(_context(truncate(" · ".join(context), SECTION_CHARS)))
    if post.marks:
        blocks.append(_context(truncate("\n".join(map(_mark, post.marks)), SECTION_CHARS)))
    if post.buttons:
        blocks.append(_buttons(post.alert_id, post.buttons))
    fallback = (
        f"{mentions + ' ' if mentions else ''}{post.severity.value.upper()}"
        f"{' (backfill)' if post.backfill_of is not None else ''}: "
        f"{escape_mrkdwn(truncate(post.rule_title, 150))}: {title}"
    )
    return SlackMessage(text=truncate(fallback, SECTION_CHARS), blocks=blocks[:MAX_BLOCKS])


def _moment(value: datetime) -> str:
    """A moment as each reader's clock shows it, with a plain fallback."""
    return (
        f"<!date^{int(value.timestamp())}^{{date_short_pretty}} at {{time}}|{format_time(value)}>"
    )


def _mark(mark: Mark) -> str:
    """One line of what the desk said: what, who (a mention, which does
    not notify in an edit), and when."""
    if _SLACK_USER_ID.fullmatch(mark.user_id):
        who = f"<@{mark.user_id}>"
    else:
        who = escape_mrkdwn(mark.user_name or mark.user_id)
    until = f" until {_moment(mark.until)}" if mark.until is not None else ""
    return _MARK_TEXT[mark.kind].format(who=who, when=_moment(mark.at), until=until)


def _buttons(alert_id: int, kinds: tuple[FeedbackKind, ...]) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    for button in BUTTONS.values():
        if button.kind not in kinds:
            continue
        element: dict[str, Any] = {
            "type": "button",
            "action_id": button.action_id,
            "text": {"type": "plain_text", "text": button.label, "emoji": True},
            "value": str(alert_id),
        }
        if button.style is not None:
            element["style"] = button.style
        if button.confirm is not None:
            title, text, yes = button.confirm
            element["confirm"] = {
                "title": {"type": "plain_text", "text": title},
                "text": {"type": "mrkdwn", "text": text},
                "confirm": {"type": "plain_text", "text": yes},
                "deny": {"type": "plain_text", "text": "Cancel"},
            }
        elements.append(element)
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": elements}


def _line_title(line: Listed) -> str:
    return _link(line.link, escape_mrkdwn(truncate(line.headline, LINE_TITLE_CHARS)))


def _roll_up(message: RollUp) -> SlackMessage:
    lines = [
        f"• {SEVERITY_MARKERS[line.severity]} `{escape_mrkdwn(line.rule_id)}` {_line_title(line)}"
        for line in message.lines
    ]
    if message.more:
        lines.append(f"… and {message.more} more (monitor outbox --all lists them)")
    mentions = mention_text(message.mentions)
    # The mentions lead, so that truncating a long list never drops them.
    body = truncate("\n".join([mentions, *lines] if mentions else lines), SECTION_CHARS)
    blocks = [
        _header(f":zap: {message.title}"),
        _context(escape_mrkdwn(message.heading)),
        _section(body),
    ]
    fallback = f"{mentions} {message.heading}" if mentions else message.heading
    return SlackMessage(text=truncate(fallback, SECTION_CHARS), blocks=blocks)


def _digest(message: Digest) -> SlackMessage:
    blocks: list[dict[str, Any]] = [_header(f":newspaper: {message.heading}")]
    for group in message.groups:
        lines = [
            f"*{SEVERITY_MARKERS[group.severity]} {escape_mrkdwn(group.rule_title)}* "
            f"(`{escape_mrkdwn(group.rule_id)}`, {group.count})"
        ]
        lines.extend(
            f"• {_line_title(line)} · {escape_mrkdwn(line.feed)} · {format_time(line.published)}"
            for line in group.lines
        )
        if group.more:
            lines.append(f"… and {group.more} more")
        blocks.append(_section(truncate("\n".join(lines), SECTION_CHARS)))
    if len(blocks) > MAX_BLOCKS:
        blocks = [
            *blocks[: MAX_BLOCKS - 1],
            _context(f"… and {len(blocks) - MAX_BLOCKS + 1} more rules"),
        ]
    return SlackMessage(text=escape_mrkdwn(message.heading), blocks=blocks)


def _notice(message: Notice) -> SlackMessage:
    text = escape_mrkdwn(message.text)
    return SlackMessage(text=text, blocks=[_section(text)])
