"""The outbox and silences from the command line: `outbox`, `retry`,
`silence`, `silences`, `unsilence`, and `slack-test` for the Slack side."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta

from monitor.clock import utc_now
from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.message import format_time
from monitor.delivery.silence_notices import author_text, scope_text
from monitor.domain.alert import SilenceScope
from monitor.domain.kinds import OutboxStatus
from monitor.domain.ops import OPS_RULE_IDS
from monitor.pipeline.reload import load_rule_set
from monitor.store.factory import open_store
from monitor.text import fold_for_matching
from monitor.units import parse_duration
from monitor.validation import did_you_mean
from monitor.wiring import slack_test


def list_outbox(loaded: LoadedConfig, *, everything: bool, console: Console) -> ExitCode:
    """Alerts waiting for delivery and failed ones, with their story and
    reasons (with ``everything``, sent and silenced ones too), then the
    count per status."""
    statuses: list[OutboxStatus] = ["pending", "sending", "failed"]
    if everything:
        statuses += ["sent", "silenced"]
    with open_store(loaded.state_location) as store:
        entries = store.outbox(statuses, limit=1000)
        counts = store.outbox_counts()
    redactor = loaded.config.redactor()
    for entry in entries:
        alert = entry.alert
        reason = f"  ({redactor.text(entry.last_error)})" if entry.last_error else ""
        story = f"  [story {alert.story}]" if alert.story else ""  # what `silence --story` takes
        console.say(
            f"{entry.id:>6} {entry.status:<8} {entry.channel:<18} {alert.severity.value:<8} "
            f"{alert.rule_id}  {alert.title[:80]}{story}{reason}"
        )
    console.say(", ".join(f"{n} {status}" for status, n in counts.items()))
    return ExitCode.OK


def retry(loaded: LoadedConfig, alert_ids: Sequence[int], *, console: Console) -> ExitCode:
    """Queue failed alerts again: those of ``alert_ids``, or every failed one."""
    with open_store(loaded.state_location) as store:
        queued = store.requeue(alert_ids, now=utc_now())
    console.say(
        f"{queued} failed alerts queued again; a running monitor sends them at its next delivery run"
    )
    return ExitCode.OK if queued or not alert_ids else ExitCode.PROBLEMS


def silence(
    loaded: LoadedConfig,
    scope: SilenceScope,
    *,
    duration: str,
    reason: str,
    author: str | None,
    console: Console,
) -> ExitCode:
    """Record the alerts ``scope`` covers without sending them for
    ``duration`` (as written, e.g. 6h). ``author``: who sets it (by default
    $USER, else "cli"). Refused: no scope at all, a rule or feed this config
    does not know, a story the state does not hold, a keyword with no word."""
    if problem := _scope_problem(loaded, scope):
        console.warn(f"monitor silence: {problem}")
        return ExitCode.UNUSABLE
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        console.warn(f"monitor silence: {exc}")
        return ExitCode.UNUSABLE
    assert isinstance(length, timedelta)
    now = utc_now()
    with open_store(loaded.state_location) as store:
        if scope.story_key and store.story(scope.story_key) is None:
            console.warn(f"monitor silence: no story '{scope.story_key}' in the state")
            return ExitCode.UNUSABLE
        added = store.add_silence(
            scope=scope,
            until=now + length,
            reason=reason,
            author=author or os.environ.get("USER") or "cli",
            now=now,
        )
    console.say(
        f"silence {added.id}: {scope_text(added.scope)} until {format_time(added.until)} "
        f"({added.reason})"
    )
    return ExitCode.OK


def _scope_problem(loaded: LoadedConfig, scope: SilenceScope) -> str | None:
    """Why the scope cannot be a silence's, or None."""
    if scope == SilenceScope():
        return (
            "say what to silence: a RULE, or --story, --feed, --severity or --keyword "
            "(a silence of everything is refused)"
        )
    if scope.rule_id is not None:
        rules = load_rule_set(loaded)
        if rules.by_id(scope.rule_id) is None and scope.rule_id not in OPS_RULE_IDS:
            hint = did_you_mean(scope.rule_id, [*(r.id for r in rules.rules), *OPS_RULE_IDS])
            return f"no rule '{scope.rule_id}'{hint}"
    if scope.feed is not None:
        config = loaded.config
        feeds = [f.name for f in (*config.feeds, *config.disabled_feeds)]
        if scope.feed not in feeds:
            return f"no feed '{scope.feed}'{did_you_mean(scope.feed, feeds)}"
    if scope.keyword is not None and not fold_for_matching(scope.keyword):
        return f"keyword '{scope.keyword}' has no word to match"
    return None


def list_silences(loaded: LoadedConfig, *, console: Console) -> ExitCode:
    """The silences in force now: what each covers, until when, who set it and why."""
    with open_store(loaded.state_location) as store:
        silences = store.active_silences(utc_now())
        stories = {
            key: found.title
            for s in silences
            if (key := s.scope.story_key) and (found := store.story(key)) is not None
        }
    for active in silences:
        covered = scope_text(active.scope)
        if active.scope.story_key in stories:
            covered += f' ("{stories[active.scope.story_key][:60]}")'
        console.say(
            f"{active.id:>4} {covered:<32} until {format_time(active.until)}  "
            f"by {author_text(active)}  {active.reason}"
        )
    if not silences:
        console.say("no active silences")
    return ExitCode.OK


def unsilence(loaded: LoadedConfig, silence_id: int, *, console: Console) -> ExitCode:
    """End a silence now; PROBLEMS when none by that id is in force."""
    with open_store(loaded.state_location) as store:
        removed = store.remove_silence(silence_id, now=utc_now())
    if not removed:
        console.warn(f"monitor unsilence: no active silence {silence_id}")
        return ExitCode.PROBLEMS
    console.say(f"silence {silence_id} ended")
    return ExitCode.OK


def check_slack(loaded: LoadedConfig, *, console: Console) -> ExitCode:
    """Post a test message to every channel alerts can go to and check the token's scopes."""
    works = slack_test(loaded, say=lambda line: console.say(line, flush=True))
    if works is None:
        console.warn(
            "monitor slack-test: set SLACK_BOT_TOKEN (or SLACK_WEBHOOK_URL) to test Slack delivery"
        )
        return ExitCode.UNUSABLE
    return ExitCode.OK if works else ExitCode.PROBLEMS
