"""The fixed sets of the monitor, as Literals: a misspelt value fails mypy, not production."""

from __future__ import annotations

from typing import Literal, get_args

FeedErrorKind = Literal[
    "dns",
    "connect",
    "timeout",
    "http",
    "too-large",
    "redirects",
    "private-redirect",
    "url",
    "file",
    "blocked",
    "not-a-feed",
    "parse",
    "refused",
    "state",
    "internal",
]
"""Why a feed could not be read (see :class:`FeedError`); ``refused``: an
official list read whole but refused as implausible (see monitor.pipeline.listings)."""

DeliveryScope = Literal["message", "channel", "destination"]
"""What a transient delivery failure holds back (see :class:`TransientDeliveryError`)."""

OutboxStatus = Literal["pending", "sending", "sent", "failed", "silenced"]
"""Where an alert stands in the outbox (the alerts table's CHECK holds the same set)."""

IncidentKind = Literal["failing", "silent"]
"""Why an ops incident is open on a feed: it fails to be read, or it has gone quiet."""

FeedbackKind = Literal["acknowledged", "muted", "false-alarm", "not-relevant"]
"""What a desk member said of an alert with its buttons (the feedback table's CHECK holds the same set)."""
FEEDBACK_KINDS: tuple[FeedbackKind, ...] = get_args(FeedbackKind)
