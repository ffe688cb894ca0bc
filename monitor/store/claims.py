"""Who holds a claim on an alert being sent, and whether that process is gone.

A claim names its owner: the host, the pid and the process's start time
(``/proc/<pid>/stat``, in clock ticks since boot), so that a pid reused by
another process is not taken for the owner. On the owner's host a claim
whose owner is gone can be taken over at once; a claim made on another
host, by a process whose start time is unknown (no ``/proc``), or by a
monitor too old to name itself, ends only with ``delivery.claim_lease``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")

_GONE_STATES = frozenset({"Z", "X", "x"})
"""``/proc/<pid>/stat`` states of a process that has exited (a zombie is
dead; only its parent has not collected it yet)."""


@dataclass(frozen=True)
class ClaimOwner:
    host: str
    pid: int
    started: int | None
    """Start time of the process in clock ticks since boot; None where unknown."""

    def __str__(self) -> str:
        return f"{self.host}/{self.pid}/{'' if self.started is None else self.started}"

    @classmethod
    def parse(cls, text: str | None) -> ClaimOwner | None:
        """The owner a claim names; None for a claim that names none."""
        if not text:
            return None
        host, _, rest = text.rpartition("/")
        host, _, pid = host.rpartition("/")
        try:
            return cls(host, int(pid), int(rest) if rest else None)
        except ValueError:
            return None


def process_start(pid: int, proc: Path = PROC) -> int | None:
    """The start time of the running process ``pid``; None if there is none.

    Raises OSError when ``/proc`` cannot tell (absent, or not readable).
    """
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        if not (proc / "self").exists():
            raise
        return None
    # The command name (field 2) is in parentheses and may hold spaces or
    # parentheses itself: the other fields follow its last ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    state, started = fields[0], fields[19]
    return None if state in _GONE_STATES else int(started)


def this_process(proc: Path = PROC) -> ClaimOwner:
    """The owner this process writes into its claims."""
    pid = os.getpid()
    try:
        started = process_start(pid, proc)
    except (OSError, ValueError, IndexError):
        started = None
    return ClaimOwner(socket.gethostname(), pid, started)


def owner_gone(owner: ClaimOwner, *, here: ClaimOwner, running_since: int | None) -> bool:
    """Whether ``owner`` is known to be gone, seen from ``here`` where its pid
    runs a process started at ``running_since`` (None: no process has it).

    Only a claim of this host, by an owner whose start time is known, can be
    judged; this process itself is alive.
    """
    if owner.host != here.host or owner.started is None or here.started is None:
        return False
    if owner == here:
        return False
    return running_since != owner.started


def claim_owner_gone(text: str | None, here: ClaimOwner, proc: Path = PROC) -> bool:
    """``owner_gone`` for the owner a claim names, looked up in ``/proc``."""
    owner = ClaimOwner.parse(text)
    if owner is None or owner.host != here.host or owner.started is None:
        return False
    try:
        running_since = process_start(owner.pid, proc)
    except (OSError, ValueError, IndexError):
        return False
    return owner_gone(owner, here=here, running_since=running_since)
