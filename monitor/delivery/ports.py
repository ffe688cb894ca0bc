"""What delivery reads from the rest of the monitor, as narrow protocols:
the settings it obeys (routing, retries, storms, threads) and the metrics
it counts.

The config's own models meet them as they are, so delivery never imports
the config module; a test passes any object of the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Protocol

from monitor.domain.severity import Severity


class Route(Protocol):
    """One of config.slack's routes, as routing reads it."""

    @property
    def channels(self) -> tuple[str, ...]:
        """The route's channels (none: the default channel)."""
        ...

    @property
    def mentions(self) -> tuple[str, ...]:
        """Who to notify, as config writes them."""
        ...

    @property
    def digest(self) -> str | None:
        """The cron schedule of the digest its alerts wait for, if any."""
        ...

    def applies(self, rule_id: str, severity: Severity) -> bool:
        """Whether the route takes alerts of this rule and severity."""
        ...


class RoutingSettings(Protocol):
    """config.slack, as routing reads it."""

    @property
    def channel(self) -> str:
        """The default channel."""
        ...

    @property
    def routes(self) -> Sequence[Route]:
        """The routes, in config order."""
        ...

    @property
    def mentions(self) -> Mapping[Severity, Sequence[str]]:
        """Mentions per severity, in every channel."""
        ...


class RetrySettings(Protocol):
    """config.delivery, as the outbox reads it."""

    @property
    def batch_size(self) -> int:
        """Most alerts one delivery run takes."""
        ...

    @property
    def max_attempts(self) -> int:
        """Attempts before an alert failing on its own is marked failed."""
        ...

    @property
    def retry_initial(self) -> timedelta:
        """The first retry's delay; each later one doubles it."""
        ...

    @property
    def retry_max(self) -> timedelta:
        """The longest delay between two attempts."""
        ...


class ChannelSettings(Protocol):
    """config.slack, as the outbox reads it: storms and story threads."""

    @property
    def storm_threshold(self) -> int:
        """Top-level posts to a channel in a storm window that start a storm."""
        ...

    @property
    def storm_window(self) -> timedelta:
        """How far back a storm counts top-level posts."""
        ...

    def story_window(self, rule_id: str) -> timedelta:
        """How long a rule's story keeps taking later sources into its thread."""
        ...


class OutboxSettings(Protocol):
    """The config, as the outbox reads it (read once per delivery run, so
    that a reload never changes the settings halfway through one)."""

    @property
    def delivery(self) -> RetrySettings:
        """Batch size and retries."""
        ...

    @property
    def slack(self) -> ChannelSettings:
        """Storms and story threads."""
        ...


class Count(Protocol):
    """A counter (one label's)."""

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        ...


class LabelledCount(Protocol):
    """A counter with one label."""

    def labels(self, *labelvalues: str) -> Count:
        """The counter of one label value."""
        ...


class Observations(Protocol):
    """A histogram."""

    def observe(self, amount: float) -> None:
        """Record one value."""
        ...


class Level(Protocol):
    """A gauge."""

    def set(self, value: float) -> None:
        """Set the current value."""
        ...


class DeliveryMetrics(Protocol):
    """The monitor's metrics that delivery moves."""

    @property
    def deliveries(self) -> LabelledCount:
        """Deliveries by outcome (sent, retrying, failed, silenced)."""
        ...

    @property
    def delivery_latency(self) -> Observations:
        """Seconds from an alert's creation to its delivery."""
        ...

    @property
    def token_rejected(self) -> Level:
        """1 while delivery is held because the token is rejected, else 0."""
        ...
