"""What a new snapshot of an official list changes, decided without I/O.

A list's last good snapshot is kept as key -> digest; the entries behind it
are asked for one at a time (only removals and changes need them). A
snapshot that lost too many keys is far likelier a truncated or half-served
download than a mass delisting, so it is refused whole: the last good
snapshot stays, and no event is made from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from monitor.domain.listing import ListingChange, ListingEntry, ListingEvent, digest_version

DEFAULT_MAX_LOSS_SHARE = 0.2
"""The share of a list's keys a new snapshot may lose (or add) before it is refused."""
MASS_ADDITIONS = 100
"""Additions past the share are refused only beyond this many: a small list
(a fixture, a young list) may well grow by half in one publication."""


@dataclass(frozen=True)
class SnapshotDiff:
    """The verdict on one new snapshot of a list.

    ``baseline``: the list had no snapshot yet; this one is kept and alerts
    nothing. ``refused``: why the snapshot must not replace the last good one
    (``None`` when it may); a refused snapshot has no events. ``unresolved``:
    removed keys whose earlier entry could not be found, so no event could be
    made for them (their removal is still part of the accepted snapshot).
    ``restamped``: keys whose stored digest was made by another version of
    the digest (see :data:`~monitor.domain.listing.DIGEST_VERSION`): whether
    they changed cannot be told, so they make no event and their digest is
    rewritten.
    """

    baseline: bool
    events: tuple[ListingEvent, ...]
    refused: str | None
    unresolved: tuple[str, ...] = ()
    restamped: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """Whether the new snapshot becomes the list's last good one."""
        return self.refused is None

    def of_change(self, change: ListingChange) -> tuple[ListingEvent, ...]:
        """The events of one kind, in the diff's order."""
        return tuple(event for event in self.events if event.change == change)


def snapshot_digests(current: Mapping[str, ListingEntry]) -> dict[str, str]:
    """The key -> digest form of a snapshot, as the next diff takes it."""
    return {key: entry.digest() for key, entry in current.items()}


def diff_snapshot(
    previous: Mapping[str, str] | None,
    current: Mapping[str, ListingEntry],
    *,
    previous_entries: Callable[[str], ListingEntry | None],
    max_loss_share: float = DEFAULT_MAX_LOSS_SHARE,
) -> SnapshotDiff:
    """Diff ``current`` (key -> entry) against ``previous`` (key -> digest).

    ``previous`` is ``None`` for a list never seen before: the snapshot is a
    baseline. Events come added first, then changed (both in ``current``'s
    order), then removed (in ``previous``'s order). The snapshot is refused if
    it is empty while the last was not, or if more than ``max_loss_share`` of
    the previous keys are gone, or more than that share added (beyond
    :data:`MASS_ADDITIONS`: the last snapshot was likelier short); a first
    snapshot is refused if it is empty.
    """
    if not 0.0 <= max_loss_share <= 1.0:
        raise ValueError(f"max_loss_share must lie between 0 and 1, not {max_loss_share}")
    if previous is None:
        empty = "the list's first snapshot is empty: no baseline is taken from it"
        return SnapshotDiff(baseline=True, events=(), refused=None if current else empty)
    refusal = _refusal(previous, current, max_loss_share)
    if refusal is not None:
        return SnapshotDiff(baseline=False, events=(), refused=refusal)

    added: list[ListingEvent] = []
    changed: list[ListingEvent] = []
    restamped: list[str] = []
    for key, entry in current.items():
        old_digest = previous.get(key)
        if old_digest is None:
            added.append(ListingEvent("added", entry, None))
            continue
        new_digest = entry.digest()
        if old_digest == new_digest:
            continue
        if digest_version(old_digest) != digest_version(new_digest):
            restamped.append(key)
        else:
            changed.append(ListingEvent("changed", entry, previous_entries(key)))
    removed: list[ListingEvent] = []
    unresolved: list[str] = []
    for key in previous:
        if key in current:
            continue
        old_entry = previous_entries(key)
        if old_entry is None:
            unresolved.append(key)
        else:
            removed.append(ListingEvent("removed", old_entry, None))
    return SnapshotDiff(
        baseline=False,
        events=(*added, *changed, *removed),
        refused=None,
        unresolved=tuple(unresolved),
        restamped=tuple(restamped),
    )


def _refusal(
    previous: Mapping[str, str], current: Mapping[str, ListingEntry], max_loss_share: float
) -> str | None:
    if not previous:
        return None
    if not current:
        return f"the new snapshot is empty where the last held {len(previous)} entries"
    lost = sum(1 for key in previous if key not in current)
    if lost / len(previous) > max_loss_share:
        return (
            f"the new snapshot lost {lost} of the last snapshot's {len(previous)} entries, "
            f"more than the {max_loss_share:.0%} a real update plausibly removes"
        )
    gained = sum(1 for key in current if key not in previous)
    if gained > MASS_ADDITIONS and gained / len(previous) > max_loss_share:
        return (
            f"the new snapshot adds {gained} entries to the last snapshot's {len(previous)}, "
            f"more than the {max_loss_share:.0%} a real update plausibly adds "
            "(was the last snapshot short?)"
        )
    return None
