"""The gauges /metrics shows, read from the store just before a scrape."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from monitor.pipeline.feed_status import feed_status_counts
from monitor.server import Metrics
from monitor.settings import Config
from monitor.store.ports import FeedStates, Incidents, OutboxReview


class GaugeStore(FeedStates, Incidents, OutboxReview, Protocol):
    """The store as the gauges read it."""


def refresh_gauges(
    metrics: Metrics, store: GaugeStore, config: Config, watched: Collection[str], now: datetime
) -> None:
    """Set the outbox, incident and feed-status gauges from the store."""
    counts = store.outbox_counts()
    metrics.outbox_pending.set(counts["pending"] + counts["sending"])
    incidents = [i for i in store.open_incidents() if i.feed in watched]
    for kind in ("failing", "silent"):
        metrics.open_incidents.labels(kind).set(sum(i.kind == kind for i in incidents))
    # From the stored states, not from polls in a time window: a feed
    # backed off to polling.max_backoff is polled rarely and still failing.
    states = {state.name: state for state in store.feed_states()}
    for status, count in feed_status_counts(config, states, now=now).items():
        metrics.feeds.labels(status.value).set(count)
