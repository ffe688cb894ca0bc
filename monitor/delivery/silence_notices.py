"""The ops notice that a silence ended: which one, what it covered, who set
it and how many alerts it held back.

A delivery run queues the notices first (:func:`queue_ended_notices`), so
they go out in that same run. Each silence gets one notice, across
restarts and processes: the notice's identity is the silence's, so the
outbox takes it once, and the silence is then marked as noticed. A silence
removed by hand (`monitor unsilence`) gets none: whoever removed it knows.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from monitor.delivery.message import format_time
from monitor.delivery.ports import OutboxSettings
from monitor.domain.alert import Alert, Silence, SilenceScope, Target
from monitor.domain.ops import SILENCE_ENDED_RULE_ID
from monitor.domain.severity import Severity
from monitor.errors import StateError
from monitor.store.ports import Outbox, Silences

log = logging.getLogger("monitor")

NEWS_FOR = timedelta(days=1)
"""A silence that ended longer ago than this when a run first sees it (the
monitor was stopped, or a database from before notices was upgraded) is
marked without a notice: its end is no news to anyone by then."""

NOTICE_FEED = "silences"
"""What a notice shows where an alert shows its feed."""


class OpsSwitch(Protocol):
    """config.ops, as the notices read it."""

    @property
    def enabled(self) -> bool:
        """Whether the monitor posts alerts about itself at all."""
        ...


class NoticeSettings(Protocol):
    """The config, as the notices read it: whether ops alerts are on, and where they go."""

    @property
    def ops(self) -> OpsSwitch:
        """The ops settings."""
        ...

    def ops_channel(self) -> str:
        """Where ops alerts go."""
        ...


class DeliveryRunSettings(OutboxSettings, NoticeSettings, Protocol):
    """The config, as a delivery run reads it (once per run)."""


def scope_text(scope: SilenceScope) -> str:
    """The scope as the CLI and the notice show it: ``dprk-troops-combat``
    for a rule alone (as before scopes), else its fields in order, e.g.
    ``story 3f2a…, severity warning, keyword "kursk"``."""
    parts = [scope.rule_id] if scope.rule_id else []
    if scope.story_key:
        parts.append(f"story {scope.story_key}")
    if scope.feed:
        parts.append(f"feed {scope.feed}")
    if scope.severity:
        parts.append(f"severity {scope.severity.value}")
    if scope.keyword:
        parts.append(f'keyword "{scope.keyword}"')
    return ", ".join(parts)


def author_text(silence: Silence) -> str:
    """Who set the silence, or that it is not known (set before authors were recorded)."""
    return silence.author or "unknown"


def ended_notice(silence: Silence, held_back: int, now: datetime) -> Alert:
    """The ops alert saying that ``silence`` ended, having held back ``held_back`` alerts."""
    alerts = "1 alert" if held_back == 1 else f"{held_back} alerts"
    return Alert(
        rule_id=SILENCE_ENDED_RULE_ID,
        rule_title="Silence ended",
        severity=Severity.INFO,
        feed=NOTICE_FEED,
        item_identity=f"ops:silence:{silence.id}:ended",
        item_guid=None,
        title=f"Silence {silence.id} ended: {scope_text(silence.scope)}",
        link=None,
        summary=(
            f"Set by {author_text(silence)} at {format_time(silence.created_at)} "
            f"until {format_time(silence.until)} ({silence.reason}). It held back {alerts}; "
            "what it covered is sent again from now on."
        ),
        published=silence.until,
        matched_terms=(),
        created_at=now,
    )


def queue_ended_notices(
    outbox: Outbox, silences: Silences, settings: NoticeSettings, now: datetime
) -> int:
    """Queue one notice to the ops channel per silence that ended since the
    last run; how many were queued. A store failure is logged, and the
    notices wait for a later run: delivery goes on."""
    queued = 0
    try:
        for silence in silences.ended_silences(now):
            if settings.ops.enabled and now - silence.until <= NEWS_FOR:
                notice = ended_notice(silence, silences.silenced_count(silence.id), now)
                queued += outbox.queue_alerts([(notice, Target(settings.ops_channel()))], now=now)
            silences.mark_silence_ended_notice(silence.id, now=now)
            log.info(
                "silence %d (%s) ended at %s",
                silence.id,
                scope_text(silence.scope),
                format_time(silence.until),
            )
    except StateError as exc:
        log.error("cannot queue the notices of silences that ended: %s", exc)
    return queued
