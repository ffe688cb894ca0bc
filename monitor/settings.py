"""What config.toml may say: one pydantic model per table, validated as read.

Only the shape and the rules between settings live here; reading the file,
the environment's part and line numbers for errors are in monitor.config.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, PrivateAttr, field_validator, model_validator

from monitor import __version__
from monitor.cron import cron_trigger
from monitor.domain.severity import Severity
from monitor.pipeline.schedule import adaptive_interval
from monitor.redact import Redactor, redact_url
from monitor.settings_memory import ArchiveSettings, StoriesSettings, Tag
from monitor.settings_state import StateSettings
from monitor.settings_web import WebSettings
from monitor.sources.registry import DEFAULT_TYPE, PROBING_TYPES, SOURCE_TYPES
from monitor.sources.urls import NOT_HTTP, IPNetwork, http_url_problem, is_local_path
from monitor.units import ByteSize, Duration, format_duration
from monitor.validation import StrictModel, did_you_mean

DEFAULT_USER_AGENT = (
    f"watchdesk-monitor/{__version__} (+https://github.com/watch-desk/monitor; feed monitor)"
)

FeedName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]


class RulesSettings(StrictModel):
    """[rules]: the rules directory and how often it is checked for edits."""

    dir: Path = Path("rules")
    reload_interval: Duration = timedelta(seconds=10)
    backfill: Duration = timedelta(hours=6)
    """How far back a new or changed rule is run over the archive when it is
    loaded (at start or on a reload); what it would have raised is alerted
    once, marked as backfill. 0 turns backfill off."""


_MENTION = re.compile(r"^(@here|@channel|@everyone|subteam:S[A-Z0-9]+|user:[UW][A-Z0-9]+)$")


def _check_mention(value: str) -> str:
    if not _MENTION.match(value):
        raise ValueError(
            f"invalid mention {value!r}: use @here, @channel, @everyone, subteam:S0123ABC "
            "(a user group) or user:U0123ABC"
        )
    return value


Mention = Annotated[str, AfterValidator(_check_mention)]
Channel = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[#@]?[A-Za-z0-9._-]+$")]


class RouteSettings(StrictModel):
    """Where alerts of some rules or severities go, and how."""

    rules: tuple[str, ...] = ()
    severities: tuple[Severity, ...] = ()
    channels: tuple[Channel, ...] = ()
    mentions: tuple[Mention, ...] = ()
    digest: str | None = None
    """A cron expression (minute hour day month weekday, UTC): instead of a
    post each, these alerts go out together in one digest per channel at
    those times."""

    @field_validator("digest")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            cron_trigger(value)
        return value

    def applies(self, rule_id: str, severity: Severity) -> bool:
        """Whether this route takes an alert of this rule and severity."""
        return (not self.rules or rule_id in self.rules) and (
            not self.severities or severity in self.severities
        )


class SlackSettings(StrictModel):
    """[slack]: channels, routes, mentions, pacing, threads and storms."""

    channel: Channel
    """The default channel: alerts no route claims go here."""
    api_url: str = "https://slack.com/api/"
    timeout: Duration = timedelta(seconds=15)
    unfurl_links: bool = False
    routes: tuple[RouteSettings, ...] = ()
    mentions: dict[Severity, tuple[Mention, ...]] = Field(default_factory=dict)
    """Mentions per severity, in every channel the alert goes to."""
    min_interval: Duration = timedelta(seconds=1)
    """Least time between two posts to one channel (Slack allows about one a second)."""
    thread_window: Duration = timedelta(hours=12)
    """A later item of the same story (same link, or a near-identical title)
    for the same rule and channel is posted in the first alert's thread."""
    cooldown: dict[str, Duration] = Field(default_factory=dict)
    """Per rule: at most one top-level alert per story in this period
    (default: thread_window)."""

    storm_threshold: int = Field(default=10, ge=1)
    storm_window: Duration = timedelta(minutes=10)
    """Once storm_threshold top-level alerts went to a channel within
    storm_window, further ones are rolled into one summary message per
    delivery run instead of a post each."""

    def story_window(self, rule_id: str) -> timedelta:
        """How long a story of this rule stays one thread (its cooldown, else thread_window)."""
        return self.cooldown.get(rule_id, self.thread_window)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"api_url must be an http(s) URL, got {value!r}")
        return value if value.endswith("/") else value + "/"


class FetchSettings(StrictModel):
    """[fetch]: the HTTP client's limits, concurrency and parser processes."""

    timeout: Duration = timedelta(seconds=20)
    connect_timeout: Duration = timedelta(seconds=10)
    max_bytes: ByteSize = Field(default=10 * 2**20, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = Field(default=4, ge=1, le=64)
    per_host: int = Field(default=2, ge=1, le=16)
    parse_processes: int | None = Field(default=None, ge=0, le=16)
    """Processes that parse large feed documents beside the poll threads
    (feedparser holds the GIL). 0 parses in the poll threads; unset means
    one per CPU core (at most 8) on a machine with more than one."""
    allow_private: list[str] = Field(default_factory=list)
    """Internal addresses or networks (CIDR) a redirect from a feed on a
    public address may lead to; any other internal target is refused."""

    @field_validator("allow_private")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"allow_private entries must be IP addresses or CIDR networks "
                    f"such as 10.0.0.0/8, got {entry!r}"
                ) from exc
        return [entry.strip() for entry in value]

    secret_query_params: list[str] = Field(default_factory=list)
    """Query parameters, besides monitor.redact.DEFAULT_SECRET_PARAMS, whose
    values are secrets: hidden wherever a feed URL is shown or stored."""

    @property
    def allowed_private_networks(self) -> tuple[IPNetwork, ...]:
        """allow_private as networks."""
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in self.allow_private)

    @field_validator("secret_query_params")
    @classmethod
    def _param_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip() or re.search(r"[\s=&#?]", name.strip()):
                raise ValueError(
                    f"secret_query_params entries must be query parameter names "
                    f"such as access_key, got {name!r}"
                )
        return [name.strip().lower() for name in value]


class PollBounds(StrictModel):
    """Limits on how often one class of feeds (a tag) is polled."""

    floor: Duration | None = None
    """Never poll more often than this, however fast the feed publishes."""
    ceiling: Duration | None = None
    """Never poll less often than this, however slowly it publishes."""

    @field_validator("floor", "ceiling")
    @classmethod
    def _at_least_a_second(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() < 1:
            raise ValueError("must be at least 1s")
        return value


class PollingSettings(StrictModel):
    """[polling]: intervals, backoff, baselines, floods and retention."""

    default_interval: Duration = timedelta(minutes=5)
    """How often a feed is polled until its publishing rate is known."""
    floor: Duration = timedelta(minutes=2)
    ceiling: Duration = timedelta(minutes=30)
    """A feed's interval follows how often it publishes (half its typical gap
    between items), kept between floor and ceiling."""
    jitter: float = Field(default=0.1, ge=0.0, le=0.5)
    """Each wait is lengthened by a random share of up to this, so feeds on
    one host drift apart instead of polling in lockstep (never shortened: a
    floor or a Retry-After is a promise to the publisher)."""
    tags: dict[Tag, PollBounds] = Field(default_factory=dict)
    """Per feed tag: a tighter (or looser) floor and ceiling, e.g. sanctions."""
    max_backoff: Duration = timedelta(hours=1)
    """After failures a feed is polled at its interval doubled per failure, up
    to this; never less often, and never given up on."""
    baseline_window: Duration = timedelta(hours=6)
    max_item_age: Duration = timedelta(days=3)
    flood_threshold: int = Field(default=20, ge=1)
    """A poll raising more alerts than this for one rule from one feed posts
    one flood alert for them (the count and a few examples) and an ops
    notice; the alerts it stands for stay in the outbox, folded."""
    list_max_loss_share: float = Field(default=0.2, ge=0.0, le=1.0)
    """An official list's new snapshot that lost more than this share of the
    last one's entries is refused (a truncated download far likelier than a
    mass delisting): no alerts from it, an ops alert, the last good one kept."""
    seen_retention: Duration = timedelta(days=90)
    """Records of items seen are kept this long after the item left its feed;
    must exceed max_item_age, so that an item whose record is pruned is too
    old to alert if it ever comes back."""

    @model_validator(mode="after")
    def _consistent(self) -> PollingSettings:
        if self.floor.total_seconds() < 1:
            raise ValueError("polling.floor must be at least 1s")
        if self.floor > self.ceiling:
            raise ValueError(
                f"polling.floor ({format_duration(self.floor)}) is longer than "
                f"polling.ceiling ({format_duration(self.ceiling)})"
            )
        if self.seen_retention <= self.max_item_age:
            raise ValueError(
                f"polling.seen_retention ({format_duration(self.seen_retention)}) must be longer "
                f"than polling.max_item_age ({format_duration(self.max_item_age)}): an item "
                "whose seen record was pruned could otherwise alert a second time"
            )
        return self


class OpsSettings(StrictModel):
    """Alerts about the monitor's own sources: feeds failing or gone silent."""

    enabled: bool = True
    channel: Channel | None = None
    """Where ops alerts go (default: slack.channel)."""
    mentions: tuple[Mention, ...] = ()
    failing_after: Duration = timedelta(hours=1)
    """A feed failing without a break for this long raises one ops alert."""
    silent_factor: float = Field(default=4.0, ge=1.0)
    silent_min: Duration = timedelta(days=1)
    """A feed that brings no new item for silent_factor times its typical gap
    between items, and at least silent_min, raises one ops alert (a feed can
    set its own silent_after)."""


class DeliverySettings(StrictModel):
    """[delivery]: the outbox loop's pace, retries and claims."""

    interval: Duration = timedelta(seconds=10)
    retry_initial: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(minutes=30)
    batch_size: int = Field(default=50, ge=1, le=1000)
    max_attempts: int = Field(default=20, ge=1)
    claim_lease: Duration = timedelta(minutes=10)


class FeedSettings(StrictModel):
    """One [[feeds]] entry."""

    name: FeedName
    url: str = Field(min_length=1)
    tags: tuple[Tag, ...] = ()
    interval: Duration | None = None
    """A fixed interval: this feed is polled this often, whatever it publishes."""
    floor: Duration | None = None
    ceiling: Duration | None = None
    silent_after: Duration | None = None
    """Raise an ops alert when the feed brings nothing new for this long."""
    type: str = DEFAULT_TYPE
    """Which source reads the feed: one of monitor.sources.registry.SOURCE_TYPES."""
    probe_url: str | None = None
    """Where a list source first asks, cheaply, whether its list changed (the
    EU's RSS of checksums): the list is downloaded only when it did."""
    enabled: bool = True
    """false: checked like any feed, never polled (a source not yet verified,
    or one that needs a key not set)."""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in SOURCE_TYPES:
            known = sorted(SOURCE_TYPES)
            raise ValueError(
                f"unknown feed type {value!r}{did_you_mean(value, known)}; "
                f"known types: {', '.join(known)}"
            )
        return value

    @field_validator("url", "probe_url")
    @classmethod
    def _fetchable(cls, value: str | None) -> str | None:
        if value is None or is_local_path(value):
            return value
        problem = http_url_problem(value)
        if problem == NOT_HTTP:
            raise ValueError(
                f"feed URLs must be http(s) URLs, file:// URLs or paths, got {redact_url(value)!r}"
            )
        if problem is not None:
            raise ValueError(f"invalid URL {redact_url(value)!r}: {problem}")
        return value

    @field_validator("interval", "floor", "ceiling", "silent_after")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() < 1:
            raise ValueError("must be at least 1s")
        return value

    @model_validator(mode="after")
    def _probe_where_used(self) -> FeedSettings:
        if self.probe_url is not None and self.type not in PROBING_TYPES:
            raise ValueError(
                f"probe_url is read only by feeds of type {' or '.join(sorted(PROBING_TYPES))}; "
                f"a {self.type!r} feed would ignore it"
            )
        return self

    @model_validator(mode="after")
    def _fixed_or_adaptive(self) -> FeedSettings:
        if self.interval is not None and (self.floor is not None or self.ceiling is not None):
            raise ValueError(
                "interval fixes how often the feed is polled; floor and ceiling bound an "
                "adaptive interval: set one or the other"
            )
        return self


class ServerSettings(StrictModel):
    """[server]: the health and metrics endpoint."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535)
    """0 picks a free port (it is logged)."""


class Config(StrictModel):
    """The whole of config.toml."""

    state: StateSettings = StateSettings()
    rules: RulesSettings = RulesSettings()
    slack: SlackSettings
    fetch: FetchSettings = FetchSettings()
    polling: PollingSettings = PollingSettings()
    stories: StoriesSettings = StoriesSettings()
    delivery: DeliverySettings = DeliverySettings()
    server: ServerSettings = ServerSettings()
    ops: OpsSettings = OpsSettings()
    archive: ArchiveSettings = ArchiveSettings()
    web: WebSettings = WebSettings()
    feeds: tuple[FeedSettings, ...] = ()
    _disabled_feeds: tuple[FeedSettings, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _archive_within_alert_history(self) -> Config:
        if self.archive.retention > self.polling.seen_retention:
            raise ValueError(  # older archived items would show no alert, and backtests "add" them
                "archive.retention may not exceed polling.seen_retention (sent alerts are "
                f"forgotten then): {format_duration(self.archive.retention)} > "
                f"{format_duration(self.polling.seen_retention)}"
            )
        return self

    @model_validator(mode="after")
    def _unique_feeds(self) -> Config:
        for attribute in ("name", "url"):
            seen: set[str] = set()
            for feed in self.feeds:
                value = getattr(feed, attribute)
                if value in seen:
                    shown = redact_url(value) if attribute == "url" else value
                    raise ValueError(f"two feeds have the same {attribute} {shown!r}")
                seen.add(value)
        # A feed is known by its URL as shown (see monitor.redact); two whose
        # URLs differ only in their secrets would share item identities.
        shown_by: dict[str, str] = {}
        redactor = Redactor.for_urls((), self.fetch.secret_query_params)
        for feed in self.feeds:
            other = shown_by.setdefault(redactor.url(feed.url), feed.name)
            if other != feed.name:
                raise ValueError(
                    f"feeds {other!r} and {feed.name!r} have URLs that differ only in their "
                    f"secrets ({redactor.url(feed.url)!r} with the secrets hidden), and the "
                    "monitor tells feeds apart by what it shows of their URLs: end each URL "
                    f"with a fragment of its own, such as #{feed.name} (not sent to the server)"
                )
        for feed in self.feeds:
            floor, ceiling = self.poll_bounds(feed)
            if floor > ceiling:
                raise ValueError(
                    f"feed {feed.name!r}: its floor ({format_duration(floor)}) is longer than its "
                    f"ceiling ({format_duration(ceiling)}); each comes from the feed itself, "
                    "else from its tags in polling.tags, else from polling.floor/ceiling"
                )
        # Disabled feeds are validated with the rest, then set apart: every
        # part of the monitor that polls, schedules or watches reads `feeds`.
        self._disabled_feeds = tuple(feed for feed in self.feeds if not feed.enabled)
        if self._disabled_feeds:
            object.__setattr__(self, "feeds", tuple(feed for feed in self.feeds if feed.enabled))
        return self

    @property
    def disabled_feeds(self) -> tuple[FeedSettings, ...]:
        """The feeds set ``enabled = false``: validated, never polled (not in :attr:`feeds`)."""
        return self._disabled_feeds

    def poll_bounds(self, feed: FeedSettings) -> tuple[timedelta, timedelta]:
        """The least and the most time between two polls of a feed.

        A fixed interval pins both. Otherwise the feed's own floor and
        ceiling win, then its tags' (the tightest where several tags set
        one: a feed that is both news and sanctions is polled as sanctions),
        then polling's.
        """
        if feed.interval is not None:
            return feed.interval, feed.interval
        tagged = [self.polling.tags[tag] for tag in feed.tags if tag in self.polling.tags]
        floors = [b.floor for b in tagged if b.floor is not None]
        ceilings = [b.ceiling for b in tagged if b.ceiling is not None]
        floor = feed.floor or (min(floors) if floors else self.polling.floor)
        ceiling = feed.ceiling or (min(ceilings) if ceilings else self.polling.ceiling)
        return floor, ceiling

    def interval_of(self, feed: FeedSettings) -> timedelta:
        """How often a feed is polled before anything is known of its rate."""
        floor, ceiling = self.poll_bounds(feed)
        return min(max(self.polling.default_interval, floor), ceiling)

    def interval_for(self, feed: FeedSettings, publish_gap: timedelta | None) -> timedelta:
        """A feed's interval (before backoff and jitter) given its publishing rate."""
        floor, ceiling = self.poll_bounds(feed)
        return adaptive_interval(
            publish_gap, floor=floor, ceiling=ceiling, default=self.interval_of(feed)
        )

    def feed_names(self) -> frozenset[str]:
        """Every configured feed's name."""
        return frozenset(feed.name for feed in self.feeds)

    def ops_channel(self) -> str:
        """Where ops alerts go."""
        return self.ops.channel or self.slack.channel

    def feed_by_url(self, url: str) -> FeedSettings | None:
        """The feed configured with exactly this URL, if any."""
        return next((f for f in self.feeds if f.url == url), None)

    def redactor(self) -> Redactor:
        """What hides the secrets of the feed URLs (probe URLs and disabled
        feeds' too) wherever one is shown or stored."""
        feeds = (*self.feeds, *self.disabled_feeds)
        urls = [url for f in feeds for url in (f.url, f.probe_url) if url is not None]
        return Redactor.for_urls(urls, self.fetch.secret_query_params)
