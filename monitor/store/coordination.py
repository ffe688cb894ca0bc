"""The store's ports for several instances sharing one state (issue 19):
feed leases, so that no feed is polled by two instances at once, and each
instance's heartbeats. Part of ``Store`` (monitor.store.ports), kept apart
for size; import them from either module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from monitor.domain.instance import InstanceRecord


class FeedLeases(Protocol):
    """Which instance polls which feed: a feed due is leased to one instance
    (this store's owner) for a while, so that instances sharing the state
    never fetch one feed twice within its interval. A lease ends at its
    ``until``, when its owner releases it, or at once when its owner is
    known to be gone (see monitor.store.claims)."""

    def claim_due_feeds(
        self, due_first: Mapping[str, datetime], *, now: datetime, limit: int, lease: timedelta
    ) -> list[str]:
        """Lease up to ``limit`` of the feeds named in ``due_first`` that are
        due at ``now`` and leased to no one else, each until ``now + lease``;
        their names, soonest due first. A feed is due at its stored next poll
        (FeedState.next_poll_at, deferred writes of this store included) or,
        never given one, at the time ``due_first`` gave it when first named.
        A feed this owner holds already is not returned again; a feed not
        named is never leased (it left the configuration)."""
        ...

    def renew_feed_leases(
        self, feeds: Sequence[str], *, now: datetime, lease: timedelta
    ) -> list[str]:
        """Extend this owner's leases of ``feeds`` until ``now + lease`` (a
        poll running long); the feeds this owner still holds, in their order."""
        ...

    def release_feed(self, feed: str) -> None:
        """End this owner's lease of ``feed``: its poll is done and its next
        poll stored. A lease another owner took over is left alone."""
        ...


class Instances(Protocol):
    """The instances sharing the state, each as its heartbeats left it (``monitor status``)."""

    def heartbeat(self, *, now: datetime, version: str) -> None:
        """Record that this store's owner is alive at ``now``, running ``version``
        (its first heartbeat is kept as when it started)."""
        ...

    def instances(self, *, now: datetime) -> list[InstanceRecord]:
        """Every instance recorded, newest heartbeat first, each with the
        feed leases it holds at ``now``."""
        ...

    def forget_instances(self, *, before: datetime) -> int:
        """Forget the instances whose last heartbeat is older than ``before``
        (their leases are left to end on their own); how many."""
        ...
