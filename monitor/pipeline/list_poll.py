"""What a new publication of an official list does, decided without I/O.

A list source hands the poll a whole publication. It is diffed against the
list's last snapshot (:func:`~monitor.pipeline.listings.diff_snapshot`):
the first snapshot is a baseline, a snapshot that lost too much is refused,
and otherwise each addition, removal and change becomes a listing event,
and an item for the rules (:func:`~monitor.domain.listing_item.listing_item`).
The matches are then grouped into one alert per rule for the whole
publication (:func:`publication_alerts`): a desk wants "OFAC added 14
entries, 9 in China or Hong Kong", not fourteen posts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from monitor.domain.alert import Alert
from monitor.domain.item import Item
from monitor.domain.listing import (
    LISTING_IDENTITY_PREFIX,
    ListingChange,
    ListingEntry,
    ListingEvent,
    ListPublication,
    ListUpdate,
    RecordedListing,
)
from monitor.domain.listing_item import listing_item
from monitor.domain.ops import LIST_REFUSED_RULE_ID
from monitor.domain.severity import Severity
from monitor.pipeline.listings import SnapshotDiff, diff_snapshot
from monitor.rules.compiled import Match
from monitor.text import fold_for_matching

MAX_NAMED_ENTRIES = 15
"""Entities an alert names one by one; the rest are counted. A publication
can add hundreds at once, and a post naming them all is unreadable."""


@dataclass(frozen=True)
class ListPlan:
    """A publication diffed: the verdict, one item per event, and what to write."""

    diff: SnapshotDiff
    items: tuple[Item, ...]
    update: ListUpdate | None
    """None when the snapshot is refused: the last good one stays."""


def plan_list_poll(
    publication: ListPublication,
    *,
    feed: str,
    feed_tags: tuple[str, ...],
    previous: Mapping[str, str] | None,
    previous_entry: Callable[[str], ListingEntry | None],
    max_loss_share: float,
) -> ListPlan:
    """Diff ``publication`` against the last snapshot (``previous``: key ->
    digest, None if the source has none) and plan the write and the items."""
    diff = diff_snapshot(
        previous,
        publication.entries,
        previous_entries=previous_entry,
        max_loss_share=max_loss_share,
    )
    if not diff.accepted:
        return ListPlan(diff, (), None)
    events = tuple(
        RecordedListing(
            change=event.change,
            entry=event.entry,
            on=_event_date(event, publication),
            publication=publication.publication,
        )
        for event in diff.events
    )
    if diff.baseline:
        upserts = {key: _stored(entry) for key, entry in publication.entries.items()}
        removed: tuple[str, ...] = ()
    else:
        upserts = {
            event.entry.key: _stored(event.entry)
            for event in diff.events
            if event.change != "removed"
        }
        upserts.update((key, _stored(publication.entries[key])) for key in diff.restamped)
        removed = (
            *(e.entry.key for e in diff.events if e.change == "removed"),
            *diff.unresolved,
        )
    update = ListUpdate(
        source=feed,
        published=publication.published,
        baseline=diff.baseline,
        upserts=upserts,
        removed=removed,
        events=events,
    )
    items = tuple(
        listing_item(event, feed=feed, feed_tags=feed_tags, publication=publication.publication)
        for event in diff.events
    )
    return ListPlan(diff, items, update)


def _stored(entry: ListingEntry) -> tuple[str, str]:
    return entry.digest(), json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True)


def _event_date(event: ListingEvent, publication: ListPublication) -> date | None:
    """An addition dates from the entry's own listing date where the list
    gives one; otherwise, and for removals and changes, from the publication."""
    if event.change == "added" and event.entry.listed_on is not None:
        return event.entry.listed_on
    return publication.published


def publication_alerts(
    matches: Sequence[Match],
    publication: ListPublication,
    *,
    feed: str,
    events: Sequence[ListingEvent],
    now: datetime,
) -> list[Alert]:
    """One alert per rule for the publication: its matched events counted
    against all of the publication's, the entities named up to
    :data:`MAX_NAMED_ENTRIES`, linked to the list. The alert's identity is
    the publication's, so a publication read again never alerts twice."""
    by_rule: dict[str, list[Match]] = {}
    for match in matches:
        if match.item.listing is not None:
            by_rule.setdefault(match.rule.id, []).append(match)
    totals = Counter(event.change for event in events)
    published = (
        datetime.combine(publication.published, time(0, 0), tzinfo=UTC)
        if publication.published
        else None
    )
    alerts = []
    for rule_matches in by_rule.values():
        rule = rule_matches[0].rule
        matched_terms = tuple(dict.fromkeys(term for m in rule_matches for term in m.matched_terms))
        alerts.append(
            Alert(
                rule_id=rule.id,
                rule_title=rule.title,
                severity=max((m.severity for m in rule_matches), key=lambda s: s.rank),
                feed=feed,
                item_identity=f"{LISTING_IDENTITY_PREFIX}{feed}:{publication.publication}",
                item_guid=publication.publication,
                title=publication_headline(publication, rule_matches, totals),
                link=publication.link,
                summary=_publication_summary(publication, len(rule_matches)),
                published=published,
                matched_terms=matched_terms,
                created_at=now,
                details=_named_entries(rule_matches),
            )
        )
    return alerts


def publication_headline(
    publication: ListPublication, matches: Sequence[Match], totals: Mapping[ListingChange, int]
) -> str:
    """ "OFAC added 14 entries, 9 in China or Hong Kong (RUSSIA-EO14024)": per
    kind of change the rule matched, the publication's count, how many of
    them the rule matched, where (the countries the rule asked for, else the
    commonest), and under which programmes."""
    parts = []
    for change in ("added", "changed", "removed"):
        matched = [m for m in matches if m.item.listing and m.item.listing.change == change]
        if not matched:
            continue
        total = totals.get(change, len(matched))
        noun = "entry" if total == 1 else "entries"
        where = _where(matched)
        count = f"{total} {noun}"
        if len(matched) == total:
            part = f"{change} {count}" + (f" in {where}" if where else "")
        else:
            part = f"{change} {count}, {len(matched)} " + (f"in {where}" if where else "matching")
        programs = _commonest(
            p for m in matched if m.item.listing for p in m.item.listing.entry.programs
        )
        if programs:
            part += f" ({programs})"
        parts.append(part)
    return f"{publication.publisher} " + "; ".join(parts)


def _where(matches: Sequence[Match]) -> str:
    """The countries the rule asked for, as the entries spell them, else the
    commonest countries of the matched entries."""
    asked = {fold_for_matching(term) for m in matches for term in m.matched.get("country", ())}
    countries = [
        country
        for m in matches
        if m.item.listing
        for country in m.item.listing.entry.countries
        if not asked or fold_for_matching(country) in asked
    ]
    ranked = [country for country, _ in Counter(countries).most_common()]
    if not ranked:
        return ""
    shown = ranked[:3]
    text = " or ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return text + (f" and {len(ranked) - 3} more countries" if len(ranked) > 3 else "")


def _commonest(values: Iterable[str], limit: int = 3) -> str:
    ranked = [value for value, _ in Counter(values).most_common()]
    shown = ", ".join(ranked[:limit])
    return shown + (f" +{len(ranked) - limit} more" if len(ranked) > limit else "")


def _named_entries(matches: Sequence[Match]) -> tuple[str, ...]:
    """The first :data:`MAX_NAMED_ENTRIES` entities: name, type, where, under what."""
    lines = []
    for match in matches[:MAX_NAMED_ENTRIES]:
        listing = match.item.listing
        if listing is None:
            continue
        entry = listing.entry
        facts = [entry.entity_type, *entry.countries[:3], *entry.programs[:3]]
        lines.append(f"{entry.name} ({'; '.join(facts)}), {listing.change}")
    return tuple(lines)


def _publication_summary(publication: ListPublication, matched: int) -> str:
    rest = matched - MAX_NAMED_ENTRIES
    more = (
        f"{matched} entries; the first {MAX_NAMED_ENTRIES} are named, {rest} more. "
        if rest > 0
        else ""
    )
    when = f", published {publication.published.isoformat()}" if publication.published else ""
    return f"{more}{publication.list_name}{when}."


def refused_snapshot_alert(
    feed: str, *, list_name: str, link: str | None, reason: str, marker: str, now: datetime
) -> Alert:
    """The ops alert for a refused snapshot (implausible, or unreadable): the
    desk must know the list is not followed until a good publication comes.
    ``marker`` names the refused file (its digest, or the error), so the same
    file refused at every poll is one alert."""
    return Alert(
        rule_id=LIST_REFUSED_RULE_ID,
        rule_title="Official list update refused",
        severity=Severity.WARNING,
        feed=feed,
        item_identity=f"list-refused:{feed}:{marker}",
        item_guid=None,
        title=f"{list_name} ({feed}): new publication refused, last good snapshot kept",
        link=link,
        summary=(
            f"{reason}. No listing alerts were made from it; the monitor keeps diffing "
            "against the last good snapshot and tries again at every poll. If the list "
            "really changed that much, raise polling.list_max_loss_share for one poll "
            "(SIGHUP reloads it), then set it back."
        ),
        published=None,
        matched_terms=(),
        created_at=now,
    )
