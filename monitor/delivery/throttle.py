"""How fast delivery may go: posts to one channel at least the sink's
interval apart, and the waits the destination asked for (one channel rate
limited, or everything while the destination is down).

In memory: a restart forgets them, and the next failure sets them again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime


class Throttle:
    """The pace of posts per channel, and the holds a failure set."""

    def __init__(self, *, sleep: Callable[[float], None], monotonic: Callable[[], float]) -> None:
        """``sleep`` and ``monotonic``: the waiting and its clock (tests pass fakes)."""
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_post: dict[str, float] = {}
        self._hold_all_until: datetime | None = None
        self._channel_holds: dict[str, datetime] = {}

    def pace(self, channel: str, interval: float) -> None:
        """Wait until the last post to ``channel`` is ``interval`` seconds old."""
        if interval <= 0:
            return
        last = self._last_post.get(channel)
        if last is not None:
            wait = interval - (self._monotonic() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_post[channel] = self._monotonic()

    def hold_all(self, until: datetime) -> None:
        """Nothing goes out before ``until`` (the destination is down)."""
        self._hold_all_until = until

    def hold_channel(self, channel: str, until: datetime) -> None:
        """Nothing goes to ``channel`` before ``until`` (it is rate limited)."""
        self._channel_holds[channel] = until

    def all_held(self, now: datetime) -> bool:
        """Whether everything still waits at ``now``; a hold that ended is forgotten."""
        if self._hold_all_until is not None and now < self._hold_all_until:
            return True
        self._hold_all_until = None
        return False

    def held_channels(self, now: datetime) -> list[str]:
        """The channels still waiting at ``now``, sorted; holds that ended are forgotten."""
        self._channel_holds = {c: u for c, u in self._channel_holds.items() if now < u}
        return sorted(self._channel_holds)

    def channel_held(self, channel: str) -> bool:
        """Whether ``channel`` waits (a hold set earlier in this run counts)."""
        return channel in self._channel_holds

    def any_channel_held(self) -> bool:
        """Whether some channel waits."""
        return bool(self._channel_holds)
