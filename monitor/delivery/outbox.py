"""The outbox loop: sends what the outbox holds, through one sink.

Each run claims the due alerts in the store's order, skips what a silence
covers or a hold keeps back, paces posts per channel, threads a later
source of a known story under its first alert, rolls a storm's alerts
into one post, and writes every alert's fate back to the outbox. Digests
go out on their own schedule through :meth:`Deliverer.deliver_digest`.
Sink errors decide what waits: one alert, one channel, everything, or
everything until the token is fixed (see :mod:`monitor.errors`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from monitor.delivery.ledger import DeliveryReport, Ledger
from monitor.delivery.message import digest, entry_post, roll_up
from monitor.delivery.policy import as_reply, may_roll_up
from monitor.delivery.ports import DeliveryMetrics, OutboxSettings
from monitor.delivery.silence_notices import DeliveryRunSettings, queue_ended_notices
from monitor.delivery.sinks.base import Sink, ThreadingSink
from monitor.delivery.slack_check import TokenRejected, TokenVerdict
from monitor.delivery.threads import StoryThreads, ThreadStore
from monitor.delivery.throttle import Throttle
from monitor.delivery.token_hold import TokenGate
from monitor.domain.alert import OutboxEntry, StoryThread
from monitor.domain.ops import is_ops_alert
from monitor.errors import (
    DeliveryError,
    PermanentDeliveryError,
    StateError,
    TokenRejectedError,
    TransientDeliveryError,
)
from monitor.store.ports import ChannelPacing, Outbox, Silences

log = logging.getLogger("monitor")


Storms = dict[str, list[OutboxEntry]]
"""Per channel, the alerts a storm held back in this run, to roll up at its end."""


def in_storm(
    outbox: Outbox, channel: str, now: datetime, storms: Storms, settings: OutboxSettings
) -> bool:
    """True once the channel had its share of top-level posts in the storm
    window (counted in the store, whichever sender posted them)."""
    if channel in storms:
        return True
    slack = settings.slack
    posts = outbox.top_level_posts(channel, now - slack.storm_window)
    return posts >= slack.storm_threshold


class Deliverer:
    """Delivers the outbox through a sink: holds, pacing, storms, digests, threads."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        silences: Silences,
        stories: ThreadStore,
        pacing: ChannelPacing,
        sink: Sink,
        settings: Callable[[], DeliveryRunSettings],
        metrics: DeliveryMetrics,
        clock: Callable[[], datetime],
        jitter: Callable[[], float],
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        token_check: Callable[[], TokenVerdict] | None = None,
    ) -> None:
        """``settings``: the config running now, read once per run;
        ``pacing``: each channel's pace and holds, shared with every sender
        on the state; ``token_check``: asks the destination whether it
        accepts the token, None where there is none to ask about."""
        self.sink = sink
        """Where alerts go; read at each post, so a test may swap it between runs."""
        self._outbox = outbox
        self._silences = silences
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._ledger = Ledger(outbox=outbox, clock=clock, jitter=jitter)
        self._throttle = Throttle(pacing=pacing, clock=clock, sleep=sleep, monotonic=monotonic)
        self._threads = StoryThreads(stories=stories, outbox=outbox, clock=clock)
        self.token = TokenGate(check=token_check, clock=clock, rejected=metrics.token_rejected)
        """The hold while the destination rejects the token, and the check that lifts it."""

    def deliver_due(self) -> DeliveryReport:
        """Send the due alerts of the outbox, in the store's order (critical
        first, then turns across feed and rule; see Outbox.due_alerts).

        Runs one at a time in a process (a second caller returns at once);
        across processes, each alert is claimed in the store before sending.
        """
        if not self._lock.acquire(blocking=False):
            return DeliveryReport()
        try:
            report = self._deliver_batch(self._settings())
            for outcome in ("sent", "retrying", "failed", "silenced"):
                self._metrics.deliveries.labels(outcome).inc(getattr(report, outcome))
            return report
        except StateError as exc:
            log.error("delivery stopped: %s", exc)
            return DeliveryReport(held=True)
        finally:
            self._lock.release()

    def deliver_digest(self, channel: str, digest_schedule: str) -> DeliveryReport:
        """Post one channel's digest: every alert waiting for it, grouped by rule.

        The queue lives in the state database, so a restart loses nothing:
        what waited goes out at the next scheduled time.
        """
        with self._lock:
            report = DeliveryReport()
            now = self._clock()
            if self.token.held(now):
                return report.result(held=True)  # the queue waits for the next digest
            silences = self._silences.active_silences(now)
            entries = [
                entry
                for entry in self._outbox.digest_queue(channel, digest_schedule, now)
                if self._ledger.take(entry, silences, now, report)
            ]
            if not entries:
                return report.result()
            message = digest(channel, (e.alert for e in entries), now=now)
            self._throttle.pace(channel, self.sink.min_interval)
            try:
                posted = self.sink.post(channel, message)
            except TokenRejectedError as exc:
                self._hold_for_token(entries, exc)
                return report.result(held=True)
            except DeliveryError as exc:
                self._ledger.back_to_digest(entries, exc, now)
                report.retrying += len(entries)
                log.error(
                    "digest for %s failed, %d alerts wait for the next one: %s",
                    channel,
                    len(entries),
                    exc,
                )
                return report.result(held=True)
            self._ledger.sent(entries, posted, destination=self.sink.destination)
            report.sent += len(entries)
            log.info("digest for %s delivered: %d alerts", channel, len(entries))
            return report.result()

    def _deliver_batch(self, settings: DeliveryRunSettings) -> DeliveryReport:
        report = DeliveryReport()
        now = self._clock()
        queue_ended_notices(self._outbox, self._silences, settings, now)
        if self.token.held(now) or self._throttle.read_holds(now):
            return DeliveryReport(held=True)
        held = self._throttle.held_channels()
        silences = self._silences.active_silences(now)
        threads = self.sink if isinstance(self.sink, ThreadingSink) else None
        storms: Storms = {}
        due = self._outbox.due_alerts(now, settings.delivery.batch_size, skip_channels=held)
        for entry in due:
            if self._throttle.channel_held(entry.channel):
                continue  # throttled earlier in this run
            if not self._ledger.take(entry, silences, now, report):
                continue
            window = settings.slack.story_window(entry.alert.rule_id)
            if entry.uncertain and self._already_posted(threads, entry, report, window):
                continue
            if self._threads.waits_for_its_story(entry, now):
                continue
            story = self._threads.story_of(threads, entry, now, window)
            # An ops alert is never rolled up: a blind feed must stand out, mentions and all.
            if (
                story is None
                and may_roll_up(entry.alert)
                and not is_ops_alert(entry.alert)
                and in_storm(self._outbox, entry.channel, now, storms, settings)
            ):
                storms.setdefault(entry.channel, []).append(entry)
                continue
            if self._send(threads, entry, story, report, settings, storms):
                return report.result(held=True)
        for channel, entries in storms.items():
            if self._roll_up(channel, entries, report, settings):
                return report.result(held=True)
        return report.result(held=self._throttle.any_channel_held())

    def _send(
        self,
        threads: ThreadingSink | None,
        entry: OutboxEntry,
        story: StoryThread | None,
        report: DeliveryReport,
        settings: OutboxSettings,
        storms: Storms,
    ) -> bool:
        """Post one alert (a reply, when it joins a story); True when the run must stop."""
        self._throttle.pace(entry.channel, self.sink.min_interval)
        try:
            if story is not None and threads is not None:
                posted = threads.reply(
                    entry.channel, story.parent_ref, entry_post(as_reply(entry), self._clock())
                )
            else:
                posted = self.sink.post(entry.channel, self._threads.top_post(entry, self._clock()))
        except TransientDeliveryError as exc:
            return self._retry_later(entry, exc, report, settings)
        except TokenRejectedError as exc:
            self._hold_for_token([entry, *(e for held in storms.values() for e in held)], exc)
            return True
        except PermanentDeliveryError as exc:
            self._ledger.give_up(entry, str(exc), report)
            return False
        except Exception as exc:
            # A bug or an error no sink translated: retry this alert with
            # backoff rather than let one alert stop the delivery job.
            log.exception("unexpected error delivering alert %d", entry.id)
            unexpected = TransientDeliveryError(f"{type(exc).__name__}: {exc}", scope="message")
            self._retry_later(entry, unexpected, report, settings)
            return False
        try:
            self._ledger.sent(
                [entry],
                posted,
                destination=self.sink.destination,
                thread_ref=story.parent_ref if story else None,
            )
            window = settings.slack.story_window(entry.alert.rule_id)
            self._threads.record(threads, entry, story, posted, window=window)
        except StateError as exc:
            log.error(
                "alert %d was delivered to %s but could not be recorded as sent (%s); "
                "it may be sent once more after its claim expires",
                entry.id,
                entry.channel,
                exc,
            )
            return True
        report.sent += 1
        self._metrics.delivery_latency.observe(
            max(0.0, (self._clock() - entry.alert.created_at).total_seconds())
        )
        log.info(
            "delivered alert %d (%s: %s) to %s %s",
            entry.id,
            entry.alert.rule_id,
            entry.alert.title[:80],
            self.sink.destination,
            entry.channel,
        )
        return False

    def _roll_up(
        self,
        channel: str,
        entries: list[OutboxEntry],
        report: DeliveryReport,
        settings: OutboxSettings,
    ) -> bool:
        """Post one summary for alerts held back by a storm; True if the run must stop."""
        message = roll_up(channel, entries, window=settings.slack.storm_window)
        self._throttle.pace(channel, self.sink.min_interval)
        try:
            posted = self.sink.post(channel, message)
        except TokenRejectedError as exc:
            self._hold_for_token(entries, exc)
            return True
        except DeliveryError as exc:
            stop = False
            for entry in entries:
                if isinstance(exc, TransientDeliveryError):
                    stop = self._retry_later(entry, exc, report, settings) or stop
                else:
                    self._ledger.give_up(entry, str(exc), report)
            return stop
        self._ledger.sent(
            entries, posted, destination=self.sink.destination, ref=f"rollup:{entries[0].id}"
        )
        report.sent += len(entries)
        report.rolled_up += len(entries)
        log.warning(
            "alert storm in %s: %d alerts rolled into one summary message", channel, len(entries)
        )
        return False

    def _already_posted(
        self,
        threads: ThreadingSink | None,
        entry: OutboxEntry,
        report: DeliveryReport,
        window: timedelta,
    ) -> bool:
        """After a timeout or a dead sender, look for the alert's own post
        before posting it again: the sink may have taken it without our knowing."""
        if threads is None:
            return False  # a sink that cannot look its posts up posts again
        oldest = entry.alert.created_at - timedelta(minutes=1)
        try:
            found = threads.find_posted(
                entry.channel, entry.id, oldest, self._outbox.known_channel_ref(entry.channel)
            )
        except TokenRejectedError:
            return False  # the post that follows meets the same refusal and holds delivery
        except DeliveryError as exc:
            log.warning(
                "cannot check whether %s already has alert %d (%s); posting it again may show it twice",
                entry.channel,
                entry.id,
                exc,
            )
            return False
        if found is None:
            return False
        self._ledger.sent([entry], found, destination=self.sink.destination)
        # A story's thread begins there.
        self._threads.record(threads, entry, None, found, window=window)
        report.sent += 1
        log.info(
            "alert %d was already in %s (its answer was lost); not posting it again",
            entry.id,
            entry.channel,
        )
        return True

    def _retry_later(
        self,
        entry: OutboxEntry,
        exc: TransientDeliveryError,
        report: DeliveryReport,
        settings: OutboxSettings,
    ) -> bool:
        """Reschedule one alert; True when every delivery must wait (the destination is down)."""
        next_at = self._ledger.retry_later(entry, exc, report, settings.delivery)
        if next_at is None:
            return False
        # Rate limited: that channel waits; down or unreachable: everything waits,
        # since the next alerts would only fail the same way.
        if exc.scope == "channel":
            self._throttle.hold_channel(entry.channel, next_at)
        elif exc.scope == "destination":
            self._throttle.hold_all(next_at)
            return True
        return False

    def _hold_for_token(self, entries: Sequence[OutboxEntry], exc: TokenRejectedError) -> None:
        self._ledger.release(entries, str(exc))
        self.token.hold_delivery(TokenRejected(exc.code))
