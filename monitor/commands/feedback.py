"""`monitor feedback`: what the desk said of alerts with their buttons in
Slack, as a list, JSON lines, or rule test cases for the false alarms."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.message import format_time
from monitor.domain.kinds import FEEDBACK_KINDS, FeedbackKind
from monitor.domain.listing import is_listing_identity
from monitor.domain.story import Feedback
from monitor.errors import RuleError
from monitor.pipeline.reload import load_rule_set
from monitor.store.factory import open_store

LISTED = 1000
"""The most feedback listed, newest first."""
CASE_KINDS: tuple[FeedbackKind, ...] = ("false-alarm", "not-relevant")
"""What makes a rule test case: the rule should not have alerted."""
_SAID = {"false-alarm": "false alarm", "not-relevant": "not relevant to this desk"}


@dataclass(frozen=True)
class RuleFiles:
    """What a case needs of the rules: each rule's file and feed tags."""

    files: Mapping[str, str]
    tags: Mapping[str, frozenset[str]]


def feedback(
    loaded: LoadedConfig,
    *,
    kinds: Sequence[FeedbackKind] = (),
    as_json: bool = False,
    as_cases: bool = False,
    console: Console,
) -> ExitCode:
    """List feedback of ``kinds`` (every kind when none), newest first; or,
    ``as_cases``, the false alarms and the not relevant as rule test cases."""
    wanted = tuple(kinds) or (CASE_KINDS if as_cases else FEEDBACK_KINDS)
    with open_store(loaded.state_location) as store:
        found = store.feedback(wanted, limit=LISTED)
    if as_cases:
        feed_tags = {feed.name: tuple(feed.tags) for feed in loaded.config.feeds}
        text, skipped = rule_cases(found, rules=_rule_files(loaded, console), feed_tags=feed_tags)
        for notice in skipped:
            console.warn(notice)
        if text:
            console.say(text)
        elif not skipped:
            console.warn("no false alarm and nothing marked not relevant yet")
        return ExitCode.OK
    for said in found:
        console.say(json.dumps(as_record(said), ensure_ascii=False) if as_json else _line(said))
    if not found and not as_json:
        console.warn("no feedback recorded yet")
    return ExitCode.OK


def as_record(said: Feedback) -> dict[str, Any]:
    """One feedback as a JSON object."""
    alert = said.alert
    return {
        "id": said.id,
        "kind": said.kind,
        "at": said.at.isoformat(),
        "user_id": said.user_id,
        "user_name": said.user_name,
        "alert_id": said.alert_id,
        "rule_id": alert.rule_id,
        "severity": alert.severity.value,
        "feed": alert.feed,
        "title": alert.title,
        "link": alert.link,
        "story": alert.story,
    }


def rule_cases(
    feedback: Iterable[Feedback], *, rules: RuleFiles, feed_tags: Mapping[str, tuple[str, ...]]
) -> tuple[str, list[str]]:
    """The false alarms and the not relevant as rule test cases, each rule's
    under a comment naming its file, ready to paste under its ``tests:``;
    and a notice for each item that cannot be one. An item marked by
    several people (or posted to several channels) is one case."""
    by_rule: dict[str, dict[tuple[str, str], list[Feedback]]] = {}
    skipped: list[str] = []
    for said in sorted(feedback, key=lambda f: (f.at, f.id)):
        alert = said.alert
        if said.kind not in CASE_KINDS:
            continue
        if is_listing_identity(alert.item_identity):
            skipped.append(
                f"alert {said.alert_id} ({alert.rule_id}) is an official list's change: "
                "write its case by hand with listing: (see rules/README.md, Tests)"
            )
            continue
        if not alert.title.strip():
            skipped.append(f"alert {said.alert_id} ({alert.rule_id}) has no title to test")
            continue
        cases = by_rule.setdefault(alert.rule_id, {})
        cases.setdefault((alert.title, alert.summary), []).append(said)
    sections = []
    for rule_id, cases in by_rule.items():
        where = rules.files.get(rule_id)
        heading = f"# {rule_id}" + (f" ({where})" if where else " (not among the rules now)")
        items = [_case(marked, rules.tags.get(rule_id), feed_tags) for marked in cases.values()]
        dumped = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=1000)
        indented = "\n".join(f"  {line}" for line in dumped.splitlines())
        sections.append(f"{heading}: add under tests:\n{indented}")
    return "\n\n".join(sections), skipped


def _case(
    marked: Sequence[Feedback],
    rule_tags: frozenset[str] | None,
    feed_tags: Mapping[str, tuple[str, ...]],
) -> dict[str, Any]:
    alert = marked[0].alert
    case: dict[str, Any] = {"title": alert.title}
    if alert.summary:
        case["summary"] = alert.summary
    tags = feed_tags.get(alert.feed)
    # The case's item defaults to the rule's feed tags; the feed's own are
    # written only where they differ, so the case reads the item as it came.
    if tags is not None and rule_tags is not None and frozenset(tags) != rule_tags:
        case["tags"] = list(tags)
    case["expect"] = "none"
    said = dict.fromkeys(
        f"{_SAID[f.kind]}: marked by {f.user_name} ({f.user_id}) on {format_time(f.at)}"
        for f in marked
    )
    source = f"feed {alert.feed}" + (f", {alert.link}" if alert.link else "")
    case["note"] = "; ".join([*said, source])
    return case


def _line(said: Feedback) -> str:
    alert = said.alert
    return (
        f"{format_time(said.at)}  {said.kind:<12}  {said.user_name} ({said.user_id})  "
        f"{alert.rule_id}  {alert.title[:80]}  {alert.link or '(no link)'}"
    )


def _rule_files(loaded: LoadedConfig, console: Console) -> RuleFiles:
    try:
        rules = load_rule_set(loaded)
    except RuleError as exc:
        console.warn(f"the rules do not load ({exc}); the cases name no files")
        return RuleFiles({}, {})
    return RuleFiles(
        {rule.id: rule.source for rule in rules.rules},
        {rule.id: rule.feed_tags for rule in rules.rules},
    )
