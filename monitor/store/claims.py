"""Who holds a claim on an alert being sent, and whether that process is gone.

A claim names its owner: the host, the pid, the process's start time
(``/proc/<pid>/stat``, in clock ticks since boot, so that a pid reused by
another process is not taken for the owner), the kernel's boot id and the
PID namespace the pid is counted in. A hostname alone does not say that two
processes see the same pids: containers sharing the host's network, or given
one fixed hostname, each count pids in their own namespace, and an owner's
pid missing from this process's ``/proc`` says nothing about the owner. So a
claim can be judged, and taken over at once when its owner is gone, only
where host, boot id and PID namespace all match this process's. Any other
claim (another host, another namespace or boot, a system without ``/proc``,
or a claim in an older format that does not name them) ends only with
``delivery.claim_lease``.
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

_BOOT_MARK = "boot"
_NAMESPACE_MARK = "pidns"


@dataclass(frozen=True)
class ClaimOwner:
    host: str
    pid: int
    started: int | None
    """Start time of the process in clock ticks since boot; None where unknown."""
    boot: str | None = None
    """The kernel's boot id (``/proc/sys/kernel/random/boot_id``); None where unknown."""
    pid_namespace: int | None = None
    """Inode of the PID namespace ``pid`` is counted in; None where unknown."""

    def __str__(self) -> str:
        started = "" if self.started is None else self.started
        namespace = "" if self.pid_namespace is None else self.pid_namespace
        return (
            f"{self.host}/{self.pid}/{started} "
            f"{_BOOT_MARK}={self.boot or ''} {_NAMESPACE_MARK}={namespace}"
        )

    @classmethod
    def parse(cls, text: str | None) -> ClaimOwner | None:
        """The owner a claim names; None for a claim that names none.

        Claims written before boot id and namespace were recorded
        (``host/pid/start``) are read with both unknown. A mark this version
        does not know (a later version's) makes the owner unreadable, so that
        its claim keeps the lease rather than be judged on part of its identity.
        """
        if not text:
            return None
        process, *marks = text.split(" ")
        host, _, started = process.rpartition("/")
        host, _, pid = host.rpartition("/")
        values: dict[str, str] = {}
        for mark in marks:
            name, equals, value = mark.partition("=")
            if not equals or name not in (_BOOT_MARK, _NAMESPACE_MARK) or name in values:
                return None
            values[name] = value
        namespace = values.get(_NAMESPACE_MARK)
        try:
            return cls(
                host,
                int(pid),
                int(started) if started else None,
                values.get(_BOOT_MARK) or None,
                int(namespace) if namespace else None,
            )
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


def boot_id(proc: Path = PROC) -> str | None:
    """The kernel's id of the current boot; None where ``proc`` does not tell."""
    try:
        text = (proc / "sys" / "kernel" / "random" / "boot_id").read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    return text.strip() or None


def pid_namespace(proc: Path = PROC) -> int | None:
    """The PID namespace this process counts pids in, provided ``proc``
    counts them in that same namespace; None otherwise.

    A ``/proc`` mounted for another namespace (a process that entered a new
    one without remounting it) shows other processes under those numbers, so
    nothing it says about a pid could be trusted. Its ``NSpid`` line lists
    this process's pid in each namespace from the one ``proc`` belongs to
    down to its own: a single entry, our own pid, means they are the same.
    """
    try:
        status = (proc / "self" / "status").read_text(encoding="ascii", errors="replace")
        namespace = os.stat(proc / "self" / "ns" / "pid").st_ino
    except OSError:
        return None
    seen = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
    return namespace if seen == [str(os.getpid())] else None


def this_process(proc: Path = PROC) -> ClaimOwner:
    """The owner this process writes into its claims."""
    pid = os.getpid()
    namespace = pid_namespace(proc)
    started: int | None = None
    if namespace is not None:
        try:
            started = process_start(pid, proc)
        except (OSError, ValueError, IndexError):
            started = None
    return ClaimOwner(socket.gethostname(), pid, started, boot_id(proc), namespace)


def sees_pids_of(here: ClaimOwner, owner: ClaimOwner) -> bool:
    """Whether ``owner``'s pid means in ``here``'s ``/proc`` what it meant to
    the owner: the same host, the same boot and the same PID namespace, each
    known on both sides (a hostname is shared by containers that count pids
    apart, and a namespace's number by two boots)."""
    return (
        owner.host == here.host
        and None not in (owner.boot, owner.pid_namespace, owner.started, here.started)
        and owner.boot == here.boot
        and owner.pid_namespace == here.pid_namespace
    )


def owner_gone(owner: ClaimOwner, *, here: ClaimOwner, running_since: int | None) -> bool:
    """Whether ``owner`` is known to be gone, seen from ``here`` where its pid
    runs a process started at ``running_since`` (None: no process has it).

    Only a claim whose pid ``here`` can look up (``sees_pids_of``), by an
    owner whose start time is known, can be judged; this process itself is alive.
    """
    if not sees_pids_of(here, owner) or owner == here:
        return False
    return running_since != owner.started


def claim_owner_gone(text: str | None, here: ClaimOwner, proc: Path = PROC) -> bool:
    """``owner_gone`` for the owner a claim names, looked up in ``/proc``."""
    owner = ClaimOwner.parse(text)
    if owner is None or not sees_pids_of(here, owner):
        return False
    try:
        running_since = process_start(owner.pid, proc)
    except (OSError, ValueError, IndexError):
        return False
    return owner_gone(owner, here=here, running_since=running_since)
