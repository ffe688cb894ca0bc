"""Replays: the rules run over feed documents, touching neither state nor Slack."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.config import LoadedConfig
from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.listing import ListPublication
from monitor.errors import FeedError
from monitor.pipeline.list_poll import ListPlan, plan_list_poll, publication_alerts
from monitor.pipeline.listings import snapshot_digests
from monitor.redact import Redactor
from monitor.rules.compiled import Match
from monitor.rules.load import RuleSet
from monitor.sources.base import Document, ListDocument, Source, SourceRequest
from monitor.sources.registry import DEFAULT_TYPE


@dataclass(frozen=True)
class ReplayResult:
    source: str
    items: tuple[Item, ...] = ()
    matches: tuple[Match, ...] = ()
    error: FeedError | None = None


def replay(
    sources: Iterable[str],
    *,
    loaded: LoadedConfig,
    rules: RuleSet,
    readers: Mapping[str, Source],
    tags: tuple[str, ...] | None = None,
    source_type: str | None = None,
) -> Iterator[ReplayResult]:
    """Run the rules over feed documents without touching state or Slack.

    Items get the name and tags of the configured feed with the same URL,
    unless ``tags`` is given; a source no feed lists is named after itself.
    Results name each source as shown: a URL's secrets redacted. Each is
    read by ``readers``' source of ``source_type``, else of its feed's type
    (``rss`` if no feed lists it), as a first poll would read it: unconditionally (see
    :func:`monitor.wiring.replay_readers`).
    """
    sources = list(sources)
    redactor = Redactor.for_urls(sources, loaded.config.fetch.secret_query_params)
    for source in sources:
        feed = loaded.config.feed_by_url(source)
        shown = redactor.url(source)
        request = SourceRequest(
            feed=feed.name if feed else shown,
            url=source,
            redact=redactor.url,
            tags=replay_tags(source, loaded=loaded, tags=tags),
        )
        try:
            read = readers[source_type or (feed.type if feed else DEFAULT_TYPE)].read(request)
        except FeedError as exc:
            yield ReplayResult(shown, error=redactor.error(exc))
            continue
        if isinstance(read, ListDocument):
            kind = source_type or (feed.type if feed else DEFAULT_TYPE)
            hint = (
                f"{shown} is an official list ({kind}): a list alerts on what changed "
                f"between two publications; run replay --type {kind} OLD NEW"
            )
            yield ReplayResult(shown, error=FeedError("parse", hint))
            continue
        items = read.items if isinstance(read, Document) else ()
        matches = tuple(m for item in items for m in rules.match(item))
        yield ReplayResult(shown, items=items, matches=matches)


def replay_tags(
    source: str, *, loaded: LoadedConfig, tags: tuple[str, ...] | None
) -> tuple[str, ...]:
    """The feed tags a replay gives the items of ``source``: ``tags`` when
    given, else those of the configured feed with its URL, else none."""
    if tags is not None:
        return tags
    feed = loaded.config.feed_by_url(source)
    return feed.tags if feed else ()


@dataclass(frozen=True)
class SkippedByTags:
    """Rules a replay cannot try on some sources: they are limited to feed
    tags the items there do not get."""

    feed_tags: dict[str, tuple[str, ...]]
    """Each rule left out somewhere, with its feed_tags."""
    by_source: tuple[tuple[str, tuple[str, ...]], ...]
    """Each source that leaves rules out, with their ids."""
    tags: tuple[str, ...]
    """The --tag options that would include them all and keep every rule
    that is tried now (--tag replaces the configured feed's tags)."""


def rules_skipped_by_tags(
    sources: Sequence[str], *, loaded: LoadedConfig, rules: RuleSet
) -> SkippedByTags | None:
    """Which rules limited by feed_tags a replay without --tag leaves out."""
    skipped: dict[str, frozenset[str]] = {}
    by_source: list[tuple[str, tuple[str, ...]]] = []
    given: list[str] = []
    for source in sources:
        source_tags = frozenset(replay_tags(source, loaded=loaded, tags=None))
        left_out = [r for r in rules.rules if r.feed_tags and r.feed_tags.isdisjoint(source_tags)]
        given += sorted(source_tags - set(given))
        if left_out:
            shown = loaded.config.redactor().url(source)
            by_source.append((shown, tuple(sorted(rule.id for rule in left_out))))
            skipped.update((rule.id, rule.feed_tags) for rule in left_out)
    if not skipped:
        return None
    chosen = list(given)
    uncovered = {rule_id for rule_id, feed_tags in skipped.items() if feed_tags.isdisjoint(chosen)}
    while uncovered:
        # The tag most of the rules still left out have (the alphabetically
        # first of equals): a short option list, never a long one.
        best = min(
            {tag for rule_id in uncovered for tag in skipped[rule_id]},
            key=lambda tag: (-sum(tag in skipped[rule_id] for rule_id in uncovered), tag),
        )
        chosen.append(best)
        uncovered = {rule_id for rule_id in uncovered if best not in skipped[rule_id]}
    return SkippedByTags(
        feed_tags={rule_id: tuple(sorted(skipped[rule_id])) for rule_id in sorted(skipped)},
        by_source=tuple(by_source),
        tags=tuple(chosen),
    )


@dataclass(frozen=True)
class ListReplay:
    """What a new publication of a list would do after an old one."""

    old: ListPublication
    new: ListPublication
    plan: ListPlan
    matches: tuple[Match, ...]
    alerts: tuple[Alert, ...]


def replay_list(
    old_source: str,
    new_source: str,
    *,
    list_type: str,
    loaded: LoadedConfig,
    rules: RuleSet,
    readers: Mapping[str, Source],
    tags: tuple[str, ...] | None,
    now: datetime,
) -> ListReplay:
    """Read two publications of a list with the source of ``list_type`` and
    show what the second would alert, as a poll finding it after the first
    would (the truncation guard included); touches no state or Slack.
    Raises FeedError when either cannot be read as that list."""
    redactor = Redactor.for_urls((old_source, new_source), loaded.config.fetch.secret_query_params)
    feed = loaded.config.feed_by_url(new_source)
    name = feed.name if feed else list_type
    feed_tags = replay_tags(new_source, loaded=loaded, tags=tags)

    def read(source: str) -> ListPublication:
        request = SourceRequest(feed=name, url=source, redact=redactor.url, tags=feed_tags)
        try:
            document = readers[list_type].read(request)
        except FeedError as exc:
            raise redactor.error(exc) from None
        if not isinstance(document, ListDocument):
            raise FeedError("parse", f"{redactor.url(source)}: not read as an official list")
        return document.publication

    old, new = read(old_source), read(new_source)
    plan = plan_list_poll(
        new,
        feed=name,
        feed_tags=feed_tags,
        previous=snapshot_digests(old.entries),
        previous_entry=old.entries.get,
        max_loss_share=loaded.config.polling.list_max_loss_share,
    )
    matches = tuple(m for item in plan.items for m in rules.match(item))
    alerts = publication_alerts(matches, new, feed=name, events=plan.diff.events, now=now)
    return ListReplay(old, new, plan, matches, tuple(alerts))
