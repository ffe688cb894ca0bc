"""Story threads: a later source of a story joins the thread of its first
alert in the channel, and the first alert is edited to count the sources.

Only a :class:`~monitor.delivery.sinks.base.ThreadingSink` has threads;
with any other sink every alert is posted on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.delivery.message import entry_post
from monitor.delivery.policy import find_story
from monitor.delivery.sinks.base import Posted, ThreadingSink
from monitor.domain.alert import OutboxEntry, Story
from monitor.domain.listing import is_listing_identity
from monitor.domain.ops import is_ops_alert
from monitor.errors import DeliveryError
from monitor.store.ports import Outbox, Stories

log = logging.getLogger("monitor")


class StoryThreads:
    """Finds the story an alert belongs to, and records stories and their sources."""

    def __init__(self, *, stories: Stories, outbox: Outbox, clock: Callable[[], datetime]) -> None:
        """``outbox``: where a story's first alert is read back, to edit its post."""
        self._stories = stories
        self._outbox = outbox
        self._clock = clock

    def story_of(
        self, sink: ThreadingSink | None, entry: OutboxEntry, now: datetime, window: timedelta
    ) -> Story | None:
        """The earlier alert of the same story whose thread this one joins, if
        any (``window``: how long the rule's stories take later sources).

        Ops alerts are never threaded: those of two feeds read alike but are
        separate incidents, and a recovery notice must be seen in the channel.
        Nor is an official list's publication: each is its own action, and
        two of one list share a link and a title's shape.
        """
        alert = entry.alert
        if sink is None or is_ops_alert(alert) or is_listing_identity(alert.item_identity):
            return None
        stories = self._stories.recent_stories(
            rule_id=entry.alert.rule_id, channel=entry.channel, since=now - window
        )
        return find_story(entry.alert, stories)

    def record(
        self, sink: ThreadingSink | None, entry: OutboxEntry, story: Story | None, posted: Posted
    ) -> None:
        """After a post: a new story begins with a top-level alert, or a
        reply counts one more source on its story's first alert."""
        now = self._clock()
        if story is None:
            if posted.ref is not None and sink is not None and not is_ops_alert(entry.alert):
                self._stories.add_story(
                    Story(
                        0,
                        entry.alert.rule_id,
                        entry.channel,
                        posted.channel_ref,
                        entry.alert.link,
                        entry.alert.title,
                        entry.id,
                        posted.ref,
                    ),
                    now=now,
                )
            return
        sources = self._stories.add_source(story.id, now=now)
        parent = self._outbox.entry(story.parent_alert_id)
        if parent is None or sink is None:
            return
        # No mentions in the edit: the parent already notified when it was posted.
        edited = entry_post(replace(parent, mentions=()), now, sources=sources)
        try:
            sink.edit(
                parent.channel,
                story.channel_ref or posted.channel_ref or entry.channel,
                story.parent_ref,
                edited,
            )
        except DeliveryError as exc:
            log.warning("could not update the thread parent of alert %d: %s", entry.id, exc)
