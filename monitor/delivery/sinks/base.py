"""The sink contract: what delivery asks of wherever alerts go.

A sink posts a :data:`~monitor.delivery.message.Message` to a channel,
rendering it its own way, and returns what the destination said
(:class:`Posted`), or raises a :class:`~monitor.errors.TransientDeliveryError`,
a :class:`~monitor.errors.PermanentDeliveryError`, or a
:class:`~monitor.errors.TokenRejectedError` when the destination refuses
the credentials themselves; the outbox decides what to do about each.
A sink translates its client library's errors itself, and nothing else does.

Two abilities are optional, each a property of the sink's type rather than
a flag: a :class:`ThreadingSink` can address its posts again (reply in a
thread, edit, find a post whose answer was lost), and a
:class:`OneChannelSink` posts everything to one fixed channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TextIO, runtime_checkable

from monitor.delivery.message import AlertPost, Message


@dataclass(frozen=True)
class Posted:
    """What the destination said about a post: its own references for the
    post and for the channel, when it gives any."""

    ref: str | None = None
    channel_ref: str | None = None


class Sink(Protocol):
    """Where messages go: the one ability every sink has."""

    @property
    def destination(self) -> str:
        """Where alerts go, for logs and the outbox (never contains secrets)."""
        ...

    @property
    def min_interval(self) -> float:
        """Least seconds between two posts to one channel."""
        ...

    def post(self, channel: str, message: Message) -> Posted:
        """Post a message at the top level of ``channel``."""
        ...


@runtime_checkable
class ThreadingSink(Sink, Protocol):
    """A sink whose posts can be addressed again: a later source of a story
    replies in its first alert's thread, the first alert is edited to count
    the sources, and after a lost answer the channel is searched for the post."""

    def reply(self, channel: str, thread_ref: str, message: AlertPost) -> Posted:
        """Post an alert in the thread of the post ``thread_ref``."""
        ...

    def edit(self, channel: str, channel_ref: str, ref: str, message: AlertPost) -> None:
        """Replace the post ``ref`` in the channel ``channel_ref`` (the
        sink's own reference; ``channel`` names it in errors)."""
        ...

    def find_posted(
        self, channel: str, alert_id: int, oldest: datetime, channel_ref: str | None = None
    ) -> Posted | None:
        """The alert's own post, if the channel has it since ``oldest``
        (``channel_ref``: the channel's reference from an earlier answer, if known)."""
        ...


class OneChannelSink:
    """Base of a sink whose every post lands in one fixed channel, whatever
    channel it is given (an incoming webhook): an alert routed to several
    channels is posted once there, with all their mentions."""


def posts_to_one_channel(sink: Sink) -> bool:
    """Whether every post of ``sink`` lands in one fixed channel."""
    return isinstance(sink, OneChannelSink)


@dataclass(frozen=True)
class SinkSetup:
    """What a sink factory is given: the settings of delivery, and the
    secret the chosen sink authenticates with."""

    min_interval: float = 1.0
    timeout: float = 15.0
    api_url: str = "https://slack.com/api/"
    unfurl_links: bool = False
    secret: str | None = None
    """The token or URL the environment gave for the sink (never logged)."""
    console: TextIO | None = None
    """Where a console sink prints (default: standard output at each print)."""
