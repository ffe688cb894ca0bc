"""The store's ports for what was read and decided before: each list
source's last snapshot, the archive of items, and the rules' versions. Part
of ``Store`` (monitor.store.ports), kept apart for size; import them from
either module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from monitor.domain.archive import ArchivedItem
from monitor.domain.backfill import BackfillOutcome
from monitor.domain.listing import LISTING_CHANGES, ListingChange, RecordedListing


class ListSnapshots(Protocol):
    """Each list source's last snapshot of its list (sanctions lists): the
    list's own keys, each with the digest and the JSON of its entry, so that
    the next snapshot is diffed against it. Entries are opaque here."""

    def list_snapshot(self, source: str) -> dict[str, str] | None:
        """Each key of the source's last snapshot with its entry's digest;
        None if the source never had one (its first snapshot is a baseline)."""
        ...

    def list_entry(self, source: str, key: str) -> str | None:
        """The JSON of one entry of the source's last snapshot; None if absent."""
        ...

    def replace_list_snapshot(
        self,
        source: str,
        entries: Mapping[str, tuple[str, str]],
        *,
        published: date | None,
        now: datetime,
    ) -> None:
        """Make ``entries`` (key -> (digest, entry JSON)) the source's
        snapshot, taken ``now`` of the list published at ``published`` (when
        the list says). The whole snapshot is replaced in one transaction:
        keys not in ``entries`` are gone, and a failure leaves the old one."""
        ...

    def list_snapshot_taken(self, source: str) -> datetime | None:
        """When the source's last snapshot was stored; None if it has none."""
        ...

    def listing_history(
        self,
        *,
        since: datetime,
        changes: Sequence[ListingChange] = LISTING_CHANGES,
        source: str | None = None,
    ) -> list[RecordedListing]:
        """Listing events recorded at or after ``since`` (of ``changes``, of
        one source if given), oldest first. An accepted snapshot records its
        events in the poll's commit (:attr:`PollOutcome.list_update`); a
        publication read twice records them once."""
        ...


class Archive(Protocol):
    """Each new item's text as a poll first read it (PollOutcome.archive,
    written in the poll's commit), for search and backtests; pruned by age
    (see Maintenance.prune). Each comes with the alerts it raised."""

    def search(
        self,
        query: str,
        *,
        since: datetime | None = None,
        feed: str | None = None,
        tag: str | None = None,
        limit: int = 50,
    ) -> list[ArchivedItem]:
        """Items whose title or summary match ``query`` (words, "a phrase",
        pre*, AND / OR / NOT), first seen at or after ``since``, of one feed
        or feed tag if given; newest first, at most ``limit``. A query that
        is not valid raises SearchError saying how to write one."""
        ...

    def archived(self, *, since: datetime, until: datetime | None = None) -> list[ArchivedItem]:
        """Items first seen at or after ``since`` (and before ``until``), oldest first."""
        ...


class RuleVersions(Protocol):
    """Each rule's version as last loaded, so that a start or reload knows
    which rules are new or changed, and a backfill committed with them."""

    def rule_versions(self) -> dict[str, str]:
        """Each rule's fingerprint as last recorded; empty when none ever was."""
        ...

    def commit_backfill(self, outcome: BackfillOutcome, *, now: datetime) -> int:
        """Queue the backfill's alerts (one per rule, item and channel, as
        every alert), keep its folded alerts and stories, and replace the
        recorded versions with ``outcome.rule_versions``, in one write; how
        many alerts were queued."""
        ...
