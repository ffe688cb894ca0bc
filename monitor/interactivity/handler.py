"""A click on an alert's button, applied: checked, recorded, and shown on its post.

Slack wants an answer within 3 seconds, or it tells the person the click
failed. What decides the answer is done at once, in the request: the
signature, the payload, and the store's writes (SQLite on this machine,
milliseconds), so that a 200 means the click is recorded and a refusal
means nothing changed. The post's update is a call to Slack's own API,
which may be slow or rate limited: it runs after the answer, on a thread
of its own, one update at a time in the order of the clicks.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from monitor.delivery.message import AlertPost, entry_post
from monitor.domain.alert import OutboxEntry, SilenceScope
from monitor.domain.story import is_escalation
from monitor.errors import DeliveryError, StateError
from monitor.interactivity.actions import Action, Refusal, check_signature, parse_action
from monitor.interactivity.marks import MUTE_FOR, MUTE_REASON, refusal, said_before
from monitor.interactivity.sink import ButtonSink, ButtonStore, feedback_of
from monitor.store.ports import Silences

log = logging.getLogger("monitor")

CLOSE_WAIT = 10.0
"""Seconds a closing monitor waits for the post updates still queued."""

Answer = tuple[int, bytes]
"""The HTTP status and body the endpoint answers Slack."""


class ActionStore(ButtonStore, Silences, Protocol):
    """The store as clicks use it: the alert, its feedback, and silences for mutes."""


class SlackActions:
    """The interactivity endpoint's work: each signed click on an alert's
    button recorded, and its post updated to say who did what, and when."""

    def __init__(
        self,
        *,
        secret: str,
        store: ActionStore,
        sink: ButtonSink,
        clock: Callable[[], datetime],
    ) -> None:
        """``secret``: the Slack app's signing secret (never logged)."""
        self._secret = secret
        self._store = store
        self._sink = sink
        self._clock = clock
        self._updates: queue.SimpleQueue[Action | None] = queue.SimpleQueue()
        self._worker = threading.Thread(
            target=self._update_posts, name="slack-actions", daemon=True
        )
        self._worker.start()

    def answer(
        self, body: bytes, *, timestamp: str | None, signature: str | None, peer: str = ""
    ) -> Answer:
        """Answer one request to the endpoint: 200 once the click is
        recorded; 401 for a missing, bad or stale signature, 400 for a
        payload that is no click on an alert's button, 500 when the store
        fails; nothing is changed unless 200."""
        now = self._clock()
        checked = check_signature(
            self._secret, body, timestamp=timestamp, signature=signature, now=now
        )
        action = checked or parse_action(body)
        if isinstance(action, Refusal):
            return self._refuse(action, peer)
        try:
            refused = self._apply(action, now)
        except StateError as exc:
            log.error(
                "could not record %s of alert %d from Slack: %s", action.kind, action.alert_id, exc
            )
            return 500, b"the monitor could not record the click; try again\n"
        if refused is not None:
            return self._refuse(refused, peer)
        self._updates.put(action)
        return 200, b""

    def close(self) -> None:
        """Stop after the post updates still queued (waiting :data:`CLOSE_WAIT` at most)."""
        self._updates.put(None)
        self._worker.join(timeout=CLOSE_WAIT)

    def _apply(self, action: Action, now: datetime) -> Refusal | None:
        entry = self._store.entry(action.alert_id)
        if entry is None:
            return Refusal(400, f"unknown alert {action.alert_id}")
        posted_as = self._store.post_ref(action.alert_id)
        if posted_as is not None and posted_as != action.message_ref:
            # A post from another state (restored, or started afresh) names
            # an alert id this state gave to another alert.
            return Refusal(400, f"alert {action.alert_id} was not posted as that message")
        refused = refusal(action, entry.alert)
        if refused is not None:
            return refused
        if said_before(action, feedback_of(self._store, action.alert_id)):
            log.info(
                "%s had already marked alert %d %s; nothing more recorded",
                action.user_name,
                action.alert_id,
                action.kind,
            )
            return None
        if action.kind == "muted" and entry.alert.story is not None:
            self._store.add_silence(
                scope=SilenceScope(story_key=entry.alert.story),
                until=now + MUTE_FOR,
                reason=MUTE_REASON,
                author=action.user_name,
                now=now,
            )
        recorded = self._store.record_feedback(
            action.kind,
            alert_id=action.alert_id,
            user_id=action.user_id,
            user_name=action.user_name,
            now=now,
        )
        if recorded is None:  # pruned between the two reads
            return Refusal(400, f"unknown alert {action.alert_id}")
        log.info(
            "%s (%s) marked alert %d (%s) %s from Slack",
            action.user_name,
            action.user_id,
            action.alert_id,
            entry.alert.rule_id,
            action.kind,
        )
        return None

    def _refuse(self, refused: Refusal, peer: str) -> Answer:
        log.warning(
            "refused a Slack action%s (HTTP %d): %s",
            f" from {peer}" if peer else "",
            refused.status,
            refused.reason,
        )
        return refused.status, f"refused: {refused.reason}\n".encode()

    def _update_posts(self) -> None:
        while (action := self._updates.get()) is not None:
            try:
                self._update_post(action)
            except (DeliveryError, StateError) as exc:
                log.warning("could not update the post of alert %d: %s", action.alert_id, exc)
            except Exception:
                # The click is recorded; a post left as it was must not stop later updates.
                log.exception("unexpected error updating the post of alert %d", action.alert_id)

    def _update_post(self, action: Action) -> None:
        entry = self._store.entry(action.alert_id)
        if entry is None:
            return
        self._sink.refresh(
            entry.channel, action.channel_ref, action.message_ref, lambda: self._post(entry)
        )

    def _post(self, entry: OutboxEntry) -> AlertPost:
        """The alert's post as it stands now: a story's first counts its
        sources, and the mentions, which notified when it was posted, are left out."""
        now = self._clock()
        quiet = replace(entry, mentions=())
        alert = entry.alert
        story = self._store.story(alert.story) if alert.story else None
        if story is None or len(story.sources) < 2 or is_escalation(alert):
            return entry_post(quiet, now)
        return entry_post(quiet, now, sources=len(story.sources), source_names=story.sources)
