"""One poll as decisions, apart from the I/O that carries them out
(:mod:`monitor.pipeline.poller`): which state the poll continues from, which
matches alert, when the feed is due again. Pure: ``now`` and data in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.domain.alert import Alert
from monitor.domain.feed import FeedState, Validators
from monitor.domain.item import effective_time
from monitor.pipeline.schedule import next_poll_delay
from monitor.rules.compiled import Match
from monitor.settings import Config, FeedSettings


@dataclass(frozen=True)
class PollStart:
    """What a poll knows before it fetches."""

    state: FeedState | None
    """The feed's stored state, if it is of the feed's current URL: a feed
    repointed at another URL is a new source, whose schedule, validators and
    body digest start afresh."""
    first_poll: bool
    """No successful read at this URL yet: the backlog is baselined."""

    @property
    def validators(self) -> Validators:
        """The conditional-request state to send."""
        return self.state.validators if self.state is not None else Validators()

    @property
    def last_body_hash(self) -> str | None:
        """The digest of the body last read from this URL."""
        return self.state.body_hash if self.state is not None else None


def poll_start(state: FeedState | None, shown_url: str, redact: Callable[[str], str]) -> PollStart:
    """Where a poll of the feed at ``shown_url`` (redacted) starts from.
    URLs are stored redacted: one with a new password is the same source."""
    same_source = state is not None and redact(state.url) == shown_url
    kept = state if same_source else None
    return PollStart(state=kept, first_poll=kept is None or kept.first_success_at is None)


def next_poll_at(
    config: Config,
    feed: FeedSettings,
    *,
    now: datetime,
    random_unit: float,
    failures: int,
    publish_gap: timedelta | None = None,
    asked_wait: timedelta | None = None,
) -> datetime:
    """When the feed is due again: its interval (adapted to how often it
    publishes, within its floor and ceiling), backed off after failures, or
    later where the server asked (Retry-After, Cache-Control max-age, RSS
    ttl), up to polling.max_backoff; plus jitter (``random_unit`` in [0, 1))."""
    polling = config.polling
    delay = next_poll_delay(
        config.interval_for(feed, publish_gap),
        failures=failures,
        max_backoff=polling.max_backoff,
        asked_wait=asked_wait,
        jitter=polling.jitter,
        random_unit=random_unit,
    )
    return now + delay


def newest_item_at(timestamps: Iterable[datetime | None], now: datetime) -> datetime | None:
    """When the newest of a poll's new items appeared: its date, capped at
    ``now`` (a fast clock); an undated item, or one dated far ahead, is news now."""
    return max((min(effective_time(t, now) or now, now) for t in timestamps), default=None)


@dataclass(frozen=True)
class AlertPolicy:
    baseline_window: timedelta
    """On a feed's first successful poll, only items this recent alert."""
    max_item_age: timedelta
    """Items older than this never alert (a feed re-publishing its archive)."""


@dataclass(frozen=True)
class Decision:
    alerts: tuple[Alert, ...]
    baselined: int = 0
    """Matches withheld because they are a new feed's backlog."""
    stale: int = 0
    """Matches withheld because the item is older than max_item_age."""


def decide(
    matches: Iterable[Match], *, now: datetime, first_poll: bool, policy: AlertPolicy
) -> Decision:
    """Turn the matches of new items into alerts.

    A newly added feed is baselined: its backlog is remembered silently, so
    subscribing to a feed does not flood the desk, but an item published
    within ``baseline_window`` still alerts because it is news. An item
    without a date cannot prove it is recent, so on a first poll it is
    baselined too; so is one dated far in the future (see
    :func:`~monitor.domain.item.effective_time`), which proves nothing either.
    """
    alerts: list[Alert] = []
    baselined = stale = 0
    for match in matches:
        when = effective_time(match.item.timestamp, now)
        if first_poll and (when is None or when < now - policy.baseline_window):
            baselined += 1
        elif when is not None and when < now - policy.max_item_age:
            stale += 1
        else:
            alerts.append(match.to_alert(now))
    return Decision(alerts=tuple(alerts), baselined=baselined, stale=stale)
