"""The outbox and silences from the command line: `outbox`, `retry`,
`silence`, `silences`, `unsilence`, and `slack-test` for the Slack side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from monitor.clock import utc_now
from monitor.commands.console import Console, ExitCode
from monitor.config import LoadedConfig
from monitor.delivery.message import format_time
from monitor.domain.kinds import OutboxStatus
from monitor.domain.ops import OPS_RULE_IDS
from monitor.pipeline.reload import load_rule_set
from monitor.store.factory import open_store
from monitor.units import parse_duration
from monitor.validation import did_you_mean
from monitor.wiring import slack_test


def list_outbox(loaded: LoadedConfig, *, everything: bool, console: Console) -> ExitCode:
    """Alerts waiting for delivery and failed ones, with reasons (with
    ``everything``, sent and silenced ones too), then the count per status."""
    statuses: list[OutboxStatus] = ["pending", "sending", "failed"]
    if everything:
        statuses += ["sent", "silenced"]
    with open_store(loaded.state_path) as store:
        entries = store.outbox(statuses, limit=1000)
        counts = store.outbox_counts()
    redactor = loaded.config.redactor()
    for entry in entries:
        alert = entry.alert
        reason = f"  ({redactor.text(entry.last_error)})" if entry.last_error else ""
        console.say(
            f"{entry.id:>6} {entry.status:<8} {entry.channel:<18} {alert.severity.value:<8} "
            f"{alert.rule_id}  {alert.title[:80]}{reason}"
        )
    console.say(", ".join(f"{n} {status}" for status, n in counts.items()))
    return ExitCode.OK


def retry(loaded: LoadedConfig, alert_ids: Sequence[int], *, console: Console) -> ExitCode:
    """Queue failed alerts again: those of ``alert_ids``, or every failed one."""
    with open_store(loaded.state_path) as store:
        queued = store.requeue(alert_ids, now=utc_now())
    console.say(
        f"{queued} failed alerts queued again; a running monitor sends them at its next delivery run"
    )
    return ExitCode.OK if queued or not alert_ids else ExitCode.PROBLEMS


def silence(
    loaded: LoadedConfig, rule_id: str, *, duration: str, reason: str, console: Console
) -> ExitCode:
    """Record a rule's alerts without sending them for ``duration`` (as written, e.g. 6h)."""
    rules = load_rule_set(loaded)
    if rules.by_id(rule_id) is None and rule_id not in OPS_RULE_IDS:
        hint = did_you_mean(rule_id, [*(r.id for r in rules.rules), *OPS_RULE_IDS])
        console.warn(f"monitor silence: no rule '{rule_id}'{hint}")
        return ExitCode.UNUSABLE
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        console.warn(f"monitor silence: {exc}")
        return ExitCode.UNUSABLE
    assert isinstance(length, timedelta)
    now = utc_now()
    with open_store(loaded.state_path) as store:
        added = store.add_silence(rule_id=rule_id, until=now + length, reason=reason, now=now)
    console.say(
        f"silence {added.id}: {added.rule_id} until {format_time(added.until)} ({added.reason})"
    )
    return ExitCode.OK


def list_silences(loaded: LoadedConfig, *, console: Console) -> ExitCode:
    """The silences in force now."""
    with open_store(loaded.state_path) as store:
        silences = store.active_silences(utc_now())
    for active in silences:
        console.say(
            f"{active.id:>4} {active.rule_id:<32} until {format_time(active.until)}  {active.reason}"
        )
    if not silences:
        console.say("no active silences")
    return ExitCode.OK


def unsilence(loaded: LoadedConfig, silence_id: int, *, console: Console) -> ExitCode:
    """End a silence now; PROBLEMS when none by that id is in force."""
    with open_store(loaded.state_path) as store:
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
