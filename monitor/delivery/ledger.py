"""Each alert's fate, written to the outbox, counted in the run's report and
logged: claimed (or silenced), sent, retried later, or failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.delivery.policy import retry_delay, silence_for
from monitor.delivery.ports import RetrySettings
from monitor.delivery.sinks.base import Posted
from monitor.domain.alert import OutboxEntry, Silence
from monitor.errors import DeliveryError, TransientDeliveryError
from monitor.store.ports import Outbox

log = logging.getLogger("monitor")


@dataclass
class DeliveryReport:
    """What one delivery run did; counted up while it runs."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    silenced: int = 0
    rolled_up: int = 0
    """Of those sent, how many went out inside a storm summary."""
    held: bool = False
    """True when some delivery paused because Slack asked us to wait or is down."""

    def result(self, *, held: bool = False) -> DeliveryReport:
        """The report, finished: ``held`` says whether delivery paused."""
        self.held = held
        return self


class Ledger:
    """Writes what became of each alert to the outbox."""

    def __init__(
        self, *, outbox: Outbox, clock: Callable[[], datetime], jitter: Callable[[], float]
    ) -> None:
        """``jitter``: a number in [0, 1) per retry, spreading retries apart."""
        self._outbox = outbox
        self._clock = clock
        self._jitter = jitter

    def take(
        self, entry: OutboxEntry, silences: Sequence[Silence], now: datetime, report: DeliveryReport
    ) -> bool:
        """Claim an alert for sending; False if another process has it or a silence covers it."""
        if not self._outbox.claim(entry.id, now=self._clock()):
            return False
        silence = silence_for(entry.alert, silences, now)
        if silence is None:
            return True
        self._outbox.mark_silenced(entry.id, now=self._clock(), silence=silence)
        report.silenced += 1
        log.info(
            "alert %d (%s) to %s silenced by silence %d: %s",
            entry.id,
            entry.alert.rule_id,
            entry.channel,
            silence.id,
            silence.reason,
        )
        return False

    def sent(
        self,
        entries: Iterable[OutboxEntry],
        posted: Posted,
        *,
        destination: str,
        ref: str | None = None,
        thread_ref: str | None = None,
    ) -> None:
        """Settle alerts as sent in one post (``ref``: the post's reference
        when the answer gave none; ``thread_ref``: the parent of a reply)."""
        now = self._clock()
        for entry in entries:
            self._outbox.mark_sent(
                entry.id,
                now=now,
                destination=destination,
                ref=posted.ref or ref,
                channel_ref=posted.channel_ref,
                thread_ref=thread_ref,
            )

    def retry_later(
        self,
        entry: OutboxEntry,
        exc: TransientDeliveryError,
        report: DeliveryReport,
        settings: RetrySettings,
    ) -> datetime | None:
        """Reschedule one alert with backoff; when it is due again, or None
        when it used up its attempts and failed."""
        attempts = entry.attempts + 1
        if exc.scope == "message" and attempts >= settings.max_attempts:
            self.give_up(entry, f"gave up after {attempts} attempts: {exc}", report)
            return None
        if exc.retry_after is not None:
            delay = timedelta(seconds=exc.retry_after)
        else:
            delay = retry_delay(
                attempts,
                initial=settings.retry_initial,
                maximum=settings.retry_max,
                jitter=self._jitter(),
            )
        next_at = self._clock() + delay
        self._outbox.reschedule(
            entry.id,
            attempts=attempts,
            next_attempt_at=next_at,
            error=str(exc),
            uncertain=exc.uncertain,
        )
        report.retrying += 1
        log.warning(
            "delivery of alert %d (%s) to %s failed, attempt %d, retry in %.0fs: %s",
            entry.id,
            entry.alert.rule_id,
            entry.channel,
            attempts,
            delay.total_seconds(),
            exc,
        )
        return next_at

    def give_up(self, entry: OutboxEntry, reason: str, report: DeliveryReport) -> None:
        """Mark an alert failed: it stays in the outbox until `monitor retry`."""
        self._outbox.mark_failed(
            entry.id, attempts=entry.attempts + 1, now=self._clock(), error=reason
        )
        report.failed += 1
        log.error(
            "delivery of alert %d (%s) to %s FAILED, kept in the outbox (monitor retry %d): %s",
            entry.id,
            entry.alert.rule_id,
            entry.channel,
            entry.id,
            reason,
        )

    def release(self, entries: Iterable[OutboxEntry], error: str) -> None:
        """Back to pending as they were, due now: no alert is to blame, so no attempt counts."""
        now = self._clock()
        for entry in entries:
            self._outbox.reschedule(
                entry.id, attempts=entry.attempts, next_attempt_at=now, error=error
            )

    def back_to_digest(
        self, entries: Sequence[OutboxEntry], exc: DeliveryError, now: datetime
    ) -> None:
        """A digest that failed: its alerts wait for the next one (no backoff:
        the schedule is the pace)."""
        for entry in entries:
            self._outbox.reschedule(
                entry.id, attempts=entry.attempts + 1, next_attempt_at=now, error=str(exc)
            )
