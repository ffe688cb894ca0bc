"""Backfill as data: which rules are new or changed since the rules were last
loaded, and what they would have raised on archived items. Pure: rules,
records and items in, alerts out (the run is :mod:`monitor.pipeline.backfill_run`).

A rule is known by a fingerprint of what decides its verdicts: its matching
tree, tiers, guards, severity, feed tags and escalation, with every term
written out as text. Its title, description, test cases and file are left
out (editing them changes no verdict), and so are term ids, which move when
another rule gains a term.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.domain.alert import Alert
from monitor.domain.archive import ArchivedItem
from monitor.domain.item import Item
from monitor.domain.severity import Severity
from monitor.pipeline.backtest import did_alert
from monitor.pipeline.decide import AlertPolicy, decide
from monitor.pipeline.feed_health import counted
from monitor.pipeline.flood import standing_for
from monitor.rules.compiled import Match, Rule, TermRef

FINGERPRINT_VERSION = "v1"
"""Stamped on every fingerprint: a change to what is fingerprinted changes
the stamp, which is not taken for a changed rule (see :func:`rules_to_backfill`)."""

_LEFT_OUT = frozenset(
    {"id", "title", "description", "cases", "source", "positive_terms", "term_texts", "required"}
)
"""Fields of a compiled rule that change no verdict, or restate others by term id."""


def _canonical(value: object) -> object:
    """``value`` as JSON-ready data that is the same in every process: sets
    sorted, terms as their text."""
    if isinstance(value, TermRef):
        return value.text
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "@": type(value).__name__,
            **{
                field.name: _canonical(getattr(value, field.name))
                for field in dataclasses.fields(value)
                if field.compare and field.name not in _LEFT_OUT
            },
        }
    if isinstance(value, frozenset | set):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def rule_fingerprint(rule: Rule) -> str:
    """What decides the rule's verdicts, hashed (see the module's doc)."""
    text = json.dumps(_canonical(rule), sort_keys=True, ensure_ascii=False)
    return f"{FINGERPRINT_VERSION}:{hashlib.sha256(text.encode()).hexdigest()}"


def rule_fingerprints(rules: Iterable[Rule]) -> dict[str, str]:
    """Each rule's fingerprint, by id."""
    return {rule.id: rule_fingerprint(rule) for rule in rules}


def rules_to_backfill(current: Mapping[str, str], recorded: Mapping[str, str]) -> tuple[str, ...]:
    """The rules loaded now that are new or changed since ``recorded``, by id.

    None when nothing was ever recorded (a first start, or the first start of
    a version that records rules): every rule would look new, and those that
    ran before raised their alerts then. A rule recorded under another
    fingerprint version is not taken for changed either."""
    if not recorded:
        return ()
    return tuple(
        sorted(
            rule_id
            for rule_id, fingerprint in current.items()
            if recorded.get(rule_id) != fingerprint
            and _version(recorded.get(rule_id)) in (None, _version(fingerprint))
        )
    )


def _version(fingerprint: str | None) -> str | None:
    return fingerprint.partition(":")[0] if fingerprint else None


def backfill_alerts(
    archived: Sequence[ArchivedItem],
    matches_of: Callable[[Item], Sequence[Match]],
    policy: AlertPolicy,
    *,
    rule_ids: Iterable[str],
    now: datetime,
    supersedes: Mapping[str, frozenset[str]] | None = None,
) -> list[Alert]:
    """What ``rule_ids`` would have raised on the archived items (each judged
    as the poll that first read it judged it, see
    :func:`~monitor.pipeline.backtest.would_alert`), minus what those rules
    did raise on them: raised ``now``, marked as backfill, oldest item first.
    An item two feeds carried is judged in each feed's copy (its feed tags)
    and alerts once; an item that alerted on a rule the backfilled rule
    ``supersedes`` has been posted already."""
    wanted = frozenset(rule_ids)
    replaced = supersedes or {}
    alerts: list[Alert] = []
    # Raised so far per item: a copy another feed carried is judged with
    # that feed's tags, as its poll judged it, but an item alerts once.
    raised: dict[str, dict[str, Severity]] = {}
    for entry in sorted(archived, key=lambda a: a.first_seen_at):
        did = raised.setdefault(entry.item.identity, did_alert(entry))
        decision = decide(
            matches_of(entry.item),
            now=entry.first_seen_at,
            first_poll=entry.first_poll,
            policy=policy,
        )
        for alert in decision.alerts:
            if (
                alert.rule_id in wanted
                and alert.rule_id not in did
                and not (replaced.get(alert.rule_id, frozenset()) & did.keys())
            ):
                alerts.append(replace(alert, created_at=now, backfill_of=entry.first_seen_at))
                did[alert.rule_id] = alert.severity
    return alerts


@dataclass(frozen=True)
class FoldedBackfill:
    """One rule's backfill, too many alerts to post one by one."""

    alert: Alert
    """The one alert posted for them all."""
    folded: tuple[Alert, ...]


@dataclass(frozen=True)
class BackfillDecision:
    alerts: tuple[Alert, ...]
    """What to post: each rule's alerts within the limit, and one alert per folded rule."""
    folds: tuple[FoldedBackfill, ...]


def fold_backfill(
    alerts: Sequence[Alert],
    *,
    threshold: int,
    window: timedelta,
    now: datetime,
    fingerprints: Mapping[str, str],
) -> BackfillDecision:
    """Each rule's backfill of more than ``threshold`` alerts folded into one
    alert saying how many and where to see them; the others unchanged.

    A new rule that would have raised dozens of alerts over the last hours
    is a rule to look at, not dozens of events to post now."""
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(alert.rule_id, []).append(alert)
    folds = {
        rule: _fold(group, window=window, now=now, fingerprint=fingerprints.get(rule, ""))
        for rule, group in groups.items()
        if len(group) > threshold
    }
    kept = [a for a in alerts if a.rule_id not in folds]
    kept.extend(fold.alert for fold in folds.values())
    return BackfillDecision(tuple(kept), tuple(folds.values()))


def _fold(
    group: Sequence[Alert], *, window: timedelta, now: datetime, fingerprint: str
) -> FoldedBackfill:
    first = group[0]
    hours = max(1, round(window.total_seconds() / 3600))
    alert = standing_for(
        group,
        kind="backfill",
        title=f"Backfill: rule “{first.rule_title}” would have raised "
        f"{counted(len(group), 'alert')} on items read in the last {hours} h",
        advice=f"The rule is new or changed: check it with monitor backtest {first.rule_id} "
        f"--since {hours}h, which lists every one.",
        now=now,
    )
    alert = replace(
        alert,
        # One summary per version of the rule, whoever backfills it and when.
        item_identity=f"backfill:{first.rule_id}:{fingerprint}",
        published=None,
        backfill_of=min(a.backfill_of or now for a in group),
    )
    return FoldedBackfill(alert, tuple(group))
