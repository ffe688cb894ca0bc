"""`monitor replay` and `monitor preview`: feed documents through the rules,
touching no state and no Slack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from monitor.clock import utc_now
from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.policy import route
from monitor.delivery.render import render_entry
from monitor.domain.alert import OutboxEntry
from monitor.domain.listing import LISTING_CHANGES, ListingChange
from monitor.errors import FeedError
from monitor.pipeline.reload import load_rule_set
from monitor.pipeline.replay import (
    ListReplay,
    ReplayResult,
    SkippedByTags,
    replay,
    replay_list,
    rules_skipped_by_tags,
)
from monitor.rules.compiled import Match
from monitor.rules.load import RuleSet
from monitor.sources.registry import LIST_TYPES
from monitor.validation import did_you_mean
from monitor.wiring import replay_readers


def replay_sources(
    loaded: LoadedConfig,
    sources: Sequence[str],
    *,
    tags: tuple[str, ...] | None,
    as_json: bool,
    explain: bool,
    console: Console,
    source_type: str | None = None,
) -> ExitCode:
    """What the rules would alert on in each source (a file or URL); with
    ``explain``, how each rule decided on each item. ``source_type``: read
    them as this type; an official list's takes two snapshots (see
    :func:`replay_list_change`)."""
    if source_type in LIST_TYPES:
        return replay_list_change(
            loaded, sources, list_type=source_type, tags=tags, as_json=as_json, console=console
        )
    rules = load_rule_set(loaded)
    skipped = rules_skipped_by_tags(sources, loaded=loaded, rules=rules) if tags is None else None
    if skipped is not None:
        console.warn(skipped_notice(skipped, len(sources)))
    errors = items = matched = 0
    with replay_readers(loaded) as readers:
        for result in replay(
            sources,
            loaded=loaded,
            rules=rules,
            readers=readers,
            tags=tags,
            source_type=source_type,
        ):
            if result.error is not None:
                errors += 1
                console.warn(f"{result.source}: {result.error.kind}: {result.error}")
                continue
            items += len(result.items)
            matched += len(result.matches)
            if explain:
                _print_explanation(result, rules, console)
            else:
                _print_matches(result, as_json=as_json, console=console)
    console.warn(f"replay: {items} items, {matched} matches, {errors} sources failed")
    return ExitCode.PROBLEMS if errors else ExitCode.OK


def replay_list_change(
    loaded: LoadedConfig,
    sources: Sequence[str],
    *,
    list_type: str,
    tags: tuple[str, ...] | None,
    as_json: bool,
    console: Console,
) -> ExitCode:
    """What the second of two snapshots of an official list would alert after
    the first: the alerts a poll would queue, and every change."""
    if len(sources) != 2:
        console.warn(
            f"replay --type {list_type} takes two snapshots of the list, OLD NEW "
            f"(got {len(sources)}): it shows what NEW would alert after OLD"
        )
        return ExitCode.UNUSABLE
    rules = load_rule_set(loaded)
    with replay_readers(loaded) as readers:
        try:
            result = replay_list(
                sources[0],
                sources[1],
                list_type=list_type,
                loaded=loaded,
                rules=rules,
                readers=readers,
                tags=tags,
                now=utc_now(),
            )
        except FeedError as exc:
            console.warn(f"replay: {exc.kind}: {exc}")
            return ExitCode.PROBLEMS
    diff = result.plan.diff
    counts = {change: len(diff.of_change(change)) for change in LISTING_CHANGES}
    if as_json:
        console.say(json.dumps(_list_replay_json(result, counts), ensure_ascii=False), flush=True)
    else:
        for alert in result.alerts:
            console.say(f"{alert.severity.value.upper():<8} {alert.rule_id}  {alert.title}")
            for line in alert.summary.splitlines():
                console.say(f"    {line}")
        for event in diff.events:
            entry = event.entry
            console.say(
                f"{event.change:<8} {entry.key}  {entry.name}  ({entry.entity_type}; "
                f"{', '.join(entry.countries) or 'no country'}; {', '.join(entry.programs)})"
            )
    summary = ", ".join(f"{count} {change}" for change, count in counts.items())
    if diff.refused:
        console.warn(f"replay: the new snapshot would be REFUSED: {diff.refused}")
        return ExitCode.PROBLEMS
    console.warn(
        f"replay: {result.new.list_name} {result.old.publication} -> {result.new.publication}: "
        f"{summary}; {len(result.alerts)} alerts"
    )
    return ExitCode.OK


def _list_replay_json(result: ListReplay, counts: dict[ListingChange, int]) -> dict[str, Any]:
    return {
        "list": result.new.list_name,
        "old": result.old.publication,
        "new": result.new.publication,
        "refused": result.plan.diff.refused,
        "counts": counts,
        "alerts": [
            {
                "rule": alert.rule_id,
                "severity": alert.severity.value,
                "title": alert.title,
                "summary": alert.summary,
                "link": alert.link,
                "publication": alert.item_guid,
            }
            for alert in result.alerts
        ],
        "matches": [
            {
                "rule": m.rule.id,
                "severity": m.severity.value,
                "change": m.item.listing.change,
                "key": m.item.listing.entry.key,
            }
            for m in result.matches
            if m.item.listing is not None
        ],
        "changes": [
            {"change": event.change, **event.entry.to_json()} for event in result.plan.diff.events
        ],
    }


def skipped_notice(skipped: SkippedByTags, source_count: int) -> str:
    """One line: the rules left out (on which sources, where they differ),
    and the --tag options that include them."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for source, rule_ids in skipped.by_source:
        groups.setdefault(rule_ids, []).append(source)

    def listed(rule_ids: tuple[str, ...]) -> str:
        return ", ".join(f"{r} ({', '.join(skipped.feed_tags[r])})" for r in rule_ids)

    if len(groups) == 1 and len(skipped.by_source) == source_count:
        which = listed(skipped.by_source[0][1])
    else:
        which = "; ".join(
            f"on {', '.join(sources)}: {listed(rule_ids)}" for rule_ids, sources in groups.items()
        )
    count = len(skipped.feed_tags)
    options = " ".join(f"--tag {tag}" for tag in skipped.tags)
    return (
        f"replay: {count} rule{'s' if count != 1 else ''} limited by feed_tags not tried, "
        f"as the items have none of their tags: {which}; add {options} to include them"
    )


def _print_matches(result: ReplayResult, *, as_json: bool, console: Console) -> None:
    for match in result.matches:
        if as_json:
            console.say(json.dumps(match_json(match), ensure_ascii=False), flush=True)
        else:
            item = match.item
            console.say(
                f"{match.severity.value.upper():<8} {match.rule.id}  {item.title}  "
                f"<{item.link or 'no link'}>  [{item.feed}]  matched: {', '.join(match.matched_terms)}",
                flush=True,
            )


def _print_explanation(result: ReplayResult, rules: RuleSet, console: Console) -> None:
    for item in result.items:
        console.say(f"== {item.title}  <{item.link or 'no link'}>  [{item.feed}]")
        document_hits = rules.matcher.explain(item, rules.matcher.candidates_for(item))
        alerting = {m.rule.id for m in rules.match(item)}
        for rule_id, (found, trace) in document_hits.items():
            verdict = f"ALERT {found.severity.value}" if found else "no alert"
            if found and rule_id not in alerting:
                verdict = "matches, but no alert: superseded by another rule that matches"
            console.say(f"  {rule_id}: {verdict}")
            for line in trace:
                console.say(f"    {line}")
        others = len(rules.rules) - len(document_hits)
        if others:
            console.say(f"  ({others} other rules: a term they require does not appear)")
        console.say(flush=True)


def match_json(match: Match) -> dict[str, Any]:
    """One (item, rule) match as `monitor replay --json` prints it."""
    item = match.item
    return {
        "rule": match.rule.id,
        "severity": match.severity.value,
        "id": item.guid or item.identity,
        "identity": item.identity,
        "title": item.title,
        "link": item.link,
        "feed": item.feed,
        "tags": list(item.feed_tags),
        "published": item.timestamp.isoformat() if item.timestamp else None,
        "matched_terms": list(match.matched_terms),
        "matched": {name: list(terms) for name, terms in match.matched.items()},
    }


def preview(
    loaded: LoadedConfig,
    rule_id: str,
    *,
    item_source: str,
    tags: tuple[str, ...] | None,
    console: Console,
) -> ExitCode:
    """The exact Slack payload, per channel, that a rule would send for the
    items of one feed document."""
    rules = load_rule_set(loaded)
    rule = rules.by_id(rule_id)
    if rule is None:
        hint = did_you_mean(rule_id, [r.id for r in rules.rules])
        console.warn(f"monitor preview: no rule '{rule_id}'{hint}")
        return ExitCode.UNUSABLE
    now = utc_now()
    shown = 0
    with replay_readers(loaded) as readers:
        for result in replay([item_source], loaded=loaded, rules=rules, readers=readers, tags=tags):
            if result.error is not None:
                console.warn(f"{result.source}: {result.error.kind}: {result.error}")
                return ExitCode.PROBLEMS
            for match in (m for m in result.matches if m.rule.id == rule.id):
                alert = match.to_alert(now)
                for target in route(alert, loaded.config.slack):
                    entry = OutboxEntry(0, alert, 0, target.channel, target.mentions)
                    message = render_entry(entry, now)
                    payload = {
                        "channel": target.channel,
                        "text": message.text,
                        "blocks": message.blocks,
                        "unfurl_links": loaded.config.slack.unfurl_links,
                        "unfurl_media": loaded.config.slack.unfurl_links,
                    }
                    console.say(json.dumps(payload, indent=2, ensure_ascii=False))
                    shown += 1
    if not shown:
        console.warn(
            f"rule '{rule.id}' matches no item of {loaded.config.redactor().url(item_source)} "
            "(try monitor replay --explain)"
        )
        return ExitCode.PROBLEMS
    return ExitCode.OK
