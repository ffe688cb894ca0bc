"""The poll schedule: adaptive interval, backoff, server waits, jitter (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.pipeline.schedule import adaptive_interval, next_poll_delay, publish_gap

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOUNDS = {
    "floor": timedelta(minutes=2),
    "ceiling": timedelta(minutes=30),
    "default": timedelta(minutes=5),
}


def every(minutes: float, count: int) -> list[datetime]:
    return [NOW - timedelta(minutes=minutes * n) for n in range(count)]


def test_the_gap_is_the_median_of_the_newest_items() -> None:
    assert publish_gap(every(10, 15), NOW) == timedelta(minutes=10)


def test_one_burst_or_one_old_item_does_not_swing_the_gap() -> None:
    dates = [*every(10, 10), NOW - timedelta(days=30), NOW - timedelta(minutes=1)]
    assert publish_gap(dates, NOW) == timedelta(minutes=10)


def test_only_the_newest_items_count() -> None:
    # A feed that used to publish daily and now publishes every 5 minutes.
    fast = every(5, 20)
    slow = [NOW - timedelta(days=n) for n in range(2, 40)]
    assert publish_gap(fast + slow, NOW) == timedelta(minutes=5)


@pytest.mark.parametrize(
    "dates",
    [
        [],
        [None, None],
        [NOW - timedelta(hours=1)],
        [NOW - timedelta(hours=1)] * 30,  # every item stamped with the build time
        [NOW + timedelta(hours=n) for n in range(1, 5)],  # all in the future
    ],
)
def test_no_rate_without_two_distinct_past_dates(dates: list[datetime | None]) -> None:
    assert publish_gap(dates, NOW) is None


def test_the_interval_is_half_the_gap_within_floor_and_ceiling() -> None:
    assert adaptive_interval(timedelta(minutes=20), **BOUNDS) == timedelta(minutes=10)
    assert adaptive_interval(timedelta(minutes=1), **BOUNDS) == timedelta(minutes=2)
    assert adaptive_interval(timedelta(days=14), **BOUNDS) == timedelta(minutes=30)
    assert adaptive_interval(None, **BOUNDS) == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("failures", "minutes"),
    [(0, 5), (1, 10), (2, 20), (3, 40), (4, 60), (50, 60)],
)
def test_failing_feeds_back_off_to_a_cap_and_are_never_given_up(
    failures: int, minutes: int
) -> None:
    delay = next_poll_delay(timedelta(minutes=5), failures=failures, max_backoff=timedelta(hours=1))
    assert delay == timedelta(minutes=minutes)


def test_a_cap_below_the_interval_never_polls_faster_than_the_interval() -> None:
    delay = next_poll_delay(timedelta(hours=2), failures=3, max_backoff=timedelta(hours=1))
    assert delay == timedelta(hours=2)


def test_a_longer_wait_the_server_asked_for_wins_up_to_the_cap() -> None:
    def delay(asked: timedelta) -> timedelta:
        return next_poll_delay(
            timedelta(minutes=5), failures=0, max_backoff=timedelta(hours=1), asked_wait=asked
        )

    assert delay(timedelta(minutes=20)) == timedelta(minutes=20)
    assert delay(timedelta(minutes=1)) == timedelta(minutes=5)
    assert delay(timedelta(days=2)) == timedelta(hours=1)


@pytest.mark.parametrize("unit", [0.0, 0.25, 0.999])
def test_jitter_only_ever_adds_so_floors_and_retry_after_hold(unit: float) -> None:
    delay = next_poll_delay(
        timedelta(minutes=10),
        failures=0,
        max_backoff=timedelta(hours=1),
        asked_wait=timedelta(minutes=10),
        jitter=0.1,
        random_unit=unit,
    )
    assert timedelta(minutes=10) <= delay < timedelta(minutes=11)
    assert delay == timedelta(minutes=10) * (1 + 0.1 * unit)
