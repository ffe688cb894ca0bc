"""One sender at a time: of the instances sharing a state, the one holding
the "delivery" duty (monitor.store.coordination.Duties) sends the outbox,
the ops alerts in it and the digests; the others poll and queue. The
holder renews the duty at each delivery run and heartbeat; when it stops
it gives the duty up, and when it dies the duty passes on once its lease
(``state.sender_lease``) ends, at once for a dead process of the same host.

A single sender keeps Slack's per-channel pace and a story's one thread
without the instances racing for them; the pace and the holds a 429 sets
are also kept in the state (monitor.delivery.throttle), so the next
sender inherits them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.errors import StateError
from monitor.store.coordination import Duties

log = logging.getLogger("monitor")


class SenderDuty:
    """Whether this instance is the sender now; says so when that changes."""

    def __init__(self, duties: Duties, *, clock: Callable[[], datetime], lease: timedelta) -> None:
        self._duties = duties
        self._clock = clock
        self._lease = lease
        self._lock = threading.Lock()
        self._holding: bool | None = None

    def held(self) -> bool:
        """Take or renew the duty: whether this instance sends now. A state
        out of reach answers no (the holder's lease ends on its own)."""
        with self._lock:
            try:
                holding = self._duties.hold_duty("delivery", now=self._clock(), lease=self._lease)
            except StateError as exc:
                if self._holding is not False:
                    log.error("not sending alerts: cannot ask the state who sends (%s)", exc)
                self._holding = False
                return False
            if holding != self._holding:
                log.info(
                    "this instance sends the alerts and digests now"
                    if holding
                    else "another instance sends the alerts and digests; this one polls"
                )
            self._holding = holding
            return holding

    def release(self) -> None:
        """Give the duty up (stopping), so another instance sends at once."""
        with self._lock:
            if not self._holding:
                return
            self._holding = False
            try:
                self._duties.release_duty("delivery")
            except StateError as exc:
                log.warning(
                    "could not hand the sending on (%s); it passes when its lease ends", exc
                )
