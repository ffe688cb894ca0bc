"""The store's ports for several instances sharing one state (issue 19):
feed leases, so that no feed is polled by two instances at once; each
instance's heartbeats; duties only one instance may run at a time (the
delivery sender); and each channel's pace and holds, shared by every
sender. Part of ``Store`` (monitor.store.ports), kept apart for size;
import them from either module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal, NamedTuple, Protocol

from monitor.domain.instance import InstanceRecord

DutyName = Literal["delivery"]
"""The duties one instance runs at a time: ``delivery``, sending the outbox
and the digests (and with them the monitor's own ops alerts)."""


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

    def leave(self) -> None:
        """Forget this owner's instance: it stops cleanly, having released
        its leases, so ``monitor status`` does not list it as silent."""
        ...


class Duties(Protocol):
    """Work one instance runs at a time, each held as a lease by this
    store's owner: an instance runs a duty while ``hold_duty`` says it may,
    and calls it again before the lease ends to keep it. A duty passes to
    another instance when its holder releases it, when the lease runs out
    (the holder died or hangs), or at once when the holder is known to be
    gone (a process of this host that no longer runs: monitor.store.claims).

    Two instances asking at once never both get a duty: PostgreSQL settles
    it in one conditional upsert, SQLite in one write transaction."""

    def hold_duty(self, name: DutyName, *, now: datetime, lease: timedelta) -> bool:
        """Take or renew ``name`` for this owner until ``now + lease``:
        whether it is this owner's now. It is taken when nobody holds it,
        when its holder's lease ended by ``now``, when this owner holds it
        already (a renewal), or when its holder is known to be gone; else
        it is left to its holder and the answer is False."""
        ...

    def release_duty(self, name: DutyName) -> None:
        """Give ``name`` up (stopping): another instance may take it at once.
        A duty another owner holds is left alone."""
        ...

    def duty_holders(self, *, now: datetime) -> dict[DutyName, str]:
        """Who runs each duty at ``now``: its holder's owner (ClaimOwner as
        text) for each duty whose lease has not ended (``monitor status``)."""
        ...


class DeliveryHolds(NamedTuple):
    """The holds delivery honours at a moment: everything, or some channels."""

    everything: datetime | None
    """Until when nothing goes out (the destination is down); None: no such hold."""
    channels: dict[str, datetime]
    """Until when each rate-limited channel waits; only holds still running."""


PACING_HORIZON = timedelta(minutes=5)
"""How far ahead of a sender's clock a channel's last booking may lie before
it is taken for a clock set wrong (see ChannelPacing.reserve_post); far
more than several senders booking one channel at once could reach."""


class ChannelPacing(Protocol):
    """Each channel's pace and the holds failures set, shared by every
    sender on the state: posts to one channel go at least the sink's
    interval apart whichever instance sends them, and a hold one sender set
    (Retry-After of a rate-limited channel, an outage of the destination)
    is honoured by the next, in this process or another, after a restart
    or a hand-over of the delivery duty.

    Moments come from the senders' clocks (``now``): instances on several
    hosts rely on those clocks agreeing, as their leases do."""

    def reserve_post(self, channel: str, *, now: datetime, interval: timedelta) -> datetime:
        """Book the next post to ``channel``: the earliest moment at or after
        ``now`` that is at least ``interval`` after the channel's last booked
        post, recorded as its last booking in the same step, so two senders
        booking at once get slots ``interval`` apart. The sender waits until
        that moment, then posts. A last booking more than
        ``PACING_HORIZON`` ahead of ``now`` is taken for a clock that was
        wrong, and ignored, rather than hold the channel for so long."""
        ...

    def hold_channel(self, channel: str, until: datetime) -> None:
        """Nothing goes to ``channel`` before ``until`` (it is rate limited).
        A hold is never shortened: a running hold that ends later stays."""
        ...

    def hold_all(self, until: datetime) -> None:
        """Nothing goes out before ``until`` (the destination is down); never
        shortens a running hold either."""
        ...

    def holds(self, now: datetime) -> DeliveryHolds:
        """The holds running at ``now``; those that ended are left out."""
        ...
