"""The monitor instances sharing one state database, as ``monitor status`` lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InstanceRecord:
    """One instance (a ``monitor run`` process) as its heartbeats left it."""

    host: str
    pid: int
    started_at: datetime
    """Its first heartbeat."""
    last_heartbeat: datetime
    version: str
    """The monitor's version it runs, as of its last heartbeat."""
    feeds_claimed: int
    """How many feed leases it holds at the time of the listing."""
