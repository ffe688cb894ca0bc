"""The Slack sink with buttons: every top-level alert post carries them, and
every edit of it shows what the desk said of the alert so far.

It wraps the sink delivery posts through, so the outbox's own edits (a
story's parent counting a new source) keep the buttons and the lines, and
the edits a click makes (:mod:`.handler`) go through the same place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from monitor.delivery.message import AlertPost, Message
from monitor.delivery.sinks.base import Posted, ThreadingSink
from monitor.domain.kinds import FEEDBACK_KINDS
from monitor.domain.story import Feedback
from monitor.errors import StateError, TransientDeliveryError
from monitor.interactivity.marks import marks_of, offered_buttons, possible_buttons
from monitor.store.ports import Outbox, Stories


class ButtonStore(Outbox, Stories, Protocol):
    """The store as the buttons read it: the alert behind a post, and what was said of it."""


def feedback_of(store: Stories, alert_id: int) -> list[Feedback]:
    """What the desk said of one alert."""
    return store.feedback(FEEDBACK_KINDS, alert_id=alert_id)


@contextmanager
def _unreadable_state_waits() -> Iterator[None]:
    """A post or an edit whose buttons cannot be read is not made: posted
    without them, or edited without the marks, it would show less than
    the desk said. It waits as a message-scoped delivery failure."""
    try:
        yield
    except StateError as exc:
        raise TransientDeliveryError(
            f"cannot read what the desk said of the alert: {exc}", scope="message"
        ) from exc


class ButtonSink:
    """A :class:`ThreadingSink` that adds the buttons and the desk's marks
    to the alert posts of the one it wraps; thread replies, roll-ups,
    digests and notices pass unchanged."""

    def __init__(self, inner: ThreadingSink, store: ButtonStore) -> None:
        self._inner = inner
        self._store = store
        # Each edit reads the marks and sends them under this lock, so that
        # of two edits of one post (a new source, a click) the later shows both.
        self._edits = threading.RLock()

    @property
    def destination(self) -> str:
        return self._inner.destination

    @property
    def min_interval(self) -> float:
        return self._inner.min_interval

    def post(self, channel: str, message: Message) -> Posted:
        """Post at the top level; an alert with every button it may carry
        (a new post: nobody has said anything of it yet)."""
        if isinstance(message, AlertPost):
            with _unreadable_state_waits():
                entry = self._store.entry(message.alert_id)
            if entry is not None:
                message = replace(message, buttons=possible_buttons(entry.alert), marks=())
        return self._inner.post(channel, message)

    def reply(self, channel: str, thread_ref: str, message: AlertPost) -> Posted:
        """A thread reply: no buttons (its story's parent has them)."""
        return self._inner.reply(channel, thread_ref, replace(message, buttons=(), marks=()))

    def edit(self, channel: str, channel_ref: str, ref: str, message: AlertPost) -> None:
        """Replace a post, with what the desk has said of its alert so far
        and the buttons still worth offering."""
        with self._edits:
            with _unreadable_state_waits():
                marked = self._marked(message)
            self._inner.edit(channel, channel_ref, ref, marked)

    def refresh(
        self, channel: str, channel_ref: str, ref: str, build: Callable[[], AlertPost | None]
    ) -> None:
        """Edit a post into what ``build`` says it is now (nothing if None),
        built under the edit lock so that no other edit of it slips between."""
        with self._edits:
            post = build()
            if post is not None:
                self.edit(channel, channel_ref, ref, post)

    def find_posted(
        self, channel: str, alert_id: int, oldest: datetime, channel_ref: str | None = None
    ) -> Posted | None:
        return self._inner.find_posted(channel, alert_id, oldest, channel_ref)

    def _marked(self, post: AlertPost) -> AlertPost:
        entry = self._store.entry(post.alert_id)
        if entry is None:
            return post
        marks = marks_of(feedback_of(self._store, post.alert_id))
        return replace(post, marks=marks, buttons=offered_buttons(entry.alert, marks))
