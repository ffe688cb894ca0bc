"""How fast delivery may go: posts to one channel at least the sink's
interval apart, and the waits the destination asked for (one channel rate
limited, or everything while the destination is down).

Both live in the state store (monitor.store.ports.ChannelPacing), shared by
every sender on it: another instance that takes delivery over, or this one
after a restart, paces each channel from the last post booked and honours
the holds set before. Each post books its moment in the store and waits
for it, so two senders booking one channel at once post an interval apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.store.ports import ChannelPacing


class Throttle:
    """The pace of posts per channel, and the holds a failure set."""

    def __init__(
        self,
        *,
        pacing: ChannelPacing,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        """``pacing``: where bookings and holds are kept; ``clock``: the time
        they are booked by; ``sleep`` and ``monotonic``: the waiting, and the
        time passed since it ended (tests pass fakes)."""
        self._pacing = pacing
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._woke: tuple[datetime, float] | None = None
        self._channel_holds: dict[str, datetime] = {}

    def pace(self, channel: str, interval: float) -> None:
        """Book the next post to ``channel``, ``interval`` seconds after the
        last one any sender booked, and wait until its moment."""
        if interval <= 0:
            return
        now = self._now()
        slot = self._pacing.reserve_post(channel, now=now, interval=timedelta(seconds=interval))
        wait = (slot - now).total_seconds()
        if wait > 0:
            self._sleep(wait)
            self._woke = (slot, self._monotonic())

    def _now(self) -> datetime:
        """The clock's time, but never before the moment the last wait ended
        (plus the time passed since): a clock that stands still while the
        throttle sleeps (a test's) or steps back must not make a post wait
        for a moment that has passed."""
        now = self._clock()
        if self._woke is None:
            return now
        slot, at = self._woke
        return max(now, slot + timedelta(seconds=max(0.0, self._monotonic() - at)))

    def read_holds(self, now: datetime) -> bool:
        """Read the holds running at ``now``, as every sender set them: this
        run's view, which ``held_channels`` and ``channel_held`` answer from.
        Whether everything waits."""
        holds = self._pacing.holds(now)
        self._channel_holds = dict(holds.channels)
        return holds.everything is not None

    def hold_all(self, until: datetime) -> None:
        """Nothing goes out before ``until`` (the destination is down): the
        run that sets it stops, and the next ones read it."""
        self._pacing.hold_all(until)

    def hold_channel(self, channel: str, until: datetime) -> None:
        """Nothing goes to ``channel`` before ``until`` (it is rate limited)."""
        self._pacing.hold_channel(channel, until)
        self._channel_holds[channel] = max(until, self._channel_holds.get(channel, until))

    def held_channels(self) -> list[str]:
        """The channels held when the holds were read, sorted."""
        return sorted(self._channel_holds)

    def channel_held(self, channel: str) -> bool:
        """Whether ``channel`` waits (a hold set earlier in this run counts)."""
        return channel in self._channel_holds

    def any_channel_held(self) -> bool:
        """Whether some channel waits."""
        return bool(self._channel_holds)
