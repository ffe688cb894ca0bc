"""StoryThread threads: a later source of a story joins the thread of its first
alert in the channel, and the first alert is edited to count the sources.

Only a :class:`~monitor.delivery.sinks.base.ThreadingSink` has threads;
with any other sink every alert is posted on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from monitor.delivery.message import AlertPost, entry_post
from monitor.delivery.policy import find_story
from monitor.delivery.sinks.base import Posted, ThreadingSink
from monitor.domain.alert import OutboxEntry, StoryThread
from monitor.domain.listing import is_listing_identity
from monitor.domain.ops import is_ops_alert
from monitor.domain.story import is_escalation
from monitor.errors import DeliveryError
from monitor.store.ports import Outbox, Stories, Threads

log = logging.getLogger("monitor")

STORY_WAIT_STEP = timedelta(seconds=5)
THREADS_EVER = datetime(1970, 1, 1, tzinfo=UTC)
"""The least a story's later alert waits before it looks again for its first."""


class ThreadStore(Threads, Stories, Protocol):
    """The store as story threads use it: the threads, and the stories they tell."""


class StoryThreads:
    """Finds the story an alert belongs to, and records stories and their sources."""

    def __init__(
        self, *, stories: ThreadStore, outbox: Outbox, clock: Callable[[], datetime]
    ) -> None:
        """``outbox``: where a story's first alert is read back, to edit its post."""
        self._stories = stories
        self._outbox = outbox
        self._clock = clock

    def story_of(
        self, sink: ThreadingSink | None, entry: OutboxEntry, now: datetime, window: timedelta
    ) -> StoryThread | None:
        """The earlier alert of the same story whose thread this one joins, if
        any (``window``: how long the rule's stories take later sources).

        Ops alerts are never threaded: those of two feeds read alike but are
        separate incidents, and a recovery notice must be seen in the channel.
        Nor is an official list's publication: each is its own action, and
        two of one list share a link and a title's shape.
        """
        alert = entry.alert
        if (
            sink is None
            or is_ops_alert(alert)
            or is_listing_identity(alert.item_identity)
            or is_escalation(alert)
        ):
            return None
        if alert.story is not None:
            # Grouped across feeds when it was queued (monitor.pipeline.story_assign).
            # Past the thread window a story's later source posts at the top
            # again, and begins the story's next thread there.
            return self._stories.thread_of_story(alert.story, entry.channel, since=now - window)
        stories = self._stories.recent_threads(
            rule_id=entry.alert.rule_id, channel=entry.channel, since=now - window
        )
        return find_story(entry.alert, stories)

    def top_post(self, entry: OutboxEntry, now: datetime) -> AlertPost:
        """What an alert posted at the top says: a story's first counts the
        sources it gathered while it was held."""
        story = self._stories.story(entry.alert.story) if entry.alert.story else None
        if story is None or len(story.sources) < 2 or is_escalation(entry.alert):
            return entry_post(entry, now)
        return entry_post(entry, now, sources=len(story.sources), source_names=story.sources)

    def waits_for_its_story(self, entry: OutboxEntry, now: datetime) -> bool:
        """Whether a story's later alert must wait for the story's first in
        the channel (held for more sources, or further back in the queue):
        the first posts at the top, the rest reply in its thread. A waiting
        alert is put back, due when the first is."""
        story = entry.alert.story
        if story is None:
            return False
        if self._stories.thread_of_story(story, entry.channel, since=THREADS_EVER) is not None:
            return False  # its first is posted: the thread is there to join
        due = self._outbox.story_waits(story, entry.channel, before_id=entry.id)
        if due is None:
            return False
        self._outbox.reschedule(
            entry.id,
            attempts=entry.attempts,
            next_attempt_at=max(due, now + STORY_WAIT_STEP),
            error="waiting for its story's first alert in the channel",
        )
        return True

    def record(
        self,
        sink: ThreadingSink | None,
        entry: OutboxEntry,
        story: StoryThread | None,
        posted: Posted,
        *,
        window: timedelta,
    ) -> None:
        """After a post: a new story begins with a top-level alert, or a
        reply counts one more source on its story's first alert.

        A story has one thread per channel in its ``window``: when another
        sender began the story's thread there first (both posted at the top
        at once), this post stays where it went, and counts as one more
        source of that thread, which later sources join."""
        now = self._clock()
        if story is None:
            if is_escalation(entry.alert):
                return  # the story's thread is its first alert's
            if posted.ref is None or sink is None or is_ops_alert(entry.alert):
                return
            began = self._stories.add_thread(
                StoryThread(
                    0,
                    entry.alert.rule_id,
                    entry.channel,
                    posted.channel_ref,
                    entry.alert.link,
                    entry.alert.title,
                    entry.id,
                    posted.ref,
                    story_key=entry.alert.story,
                ),
                now=now,
                since=now - window,
            )
            if began.parent_alert_id == entry.id:
                return
            log.info(
                "alert %d began story %s in %s at the top, but alert %d had begun its "
                "thread there first: counted as a source of that thread",
                entry.id,
                entry.alert.story,
                entry.channel,
                began.parent_alert_id,
            )
            story = began
        sources = self._stories.add_thread_source(story.id, now=now)
        told = self._stories.story(entry.alert.story) if entry.alert.story else None
        names: tuple[str, ...] = ()
        if told is not None:
            # Independent sources, not posts: a wire copy counts once.
            sources, names = max(1, len(told.sources)), told.sources
        parent = self._outbox.entry(story.parent_alert_id)
        if parent is None or sink is None:
            return
        # No mentions in the edit: the parent already notified when it was posted.
        edited = entry_post(replace(parent, mentions=()), now, sources=sources, source_names=names)
        try:
            sink.edit(
                parent.channel,
                story.channel_ref or posted.channel_ref or entry.channel,
                story.parent_ref,
                edited,
            )
        except DeliveryError as exc:
            log.warning("could not update the thread parent of alert %d: %s", entry.id, exc)
