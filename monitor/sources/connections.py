"""Kept-alive connections under a whole-fetch deadline.

urllib3 bounds each read, not a whole exchange, and keeps connections alive
without knowing which fetch uses them. Here one watchdog thread shuts down
the sockets of a fetch past its deadline, and closes connections left idle
for the keep-alive time; a connection reused by a fetch is watched by that
fetch's deadline only, so no deadline can cut off a later fetch.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

log = logging.getLogger("monitor.fetch")

Resolver = Callable[[str], str]
"""Host name to the address to connect to; raises socket.gaierror if it has none."""


class ThisFetch(threading.local):
    """What the connections a fetch opens or reuses must know of that fetch."""

    deadline: Deadline | None = None
    resolver: Resolver | None = None
    keepalive: float = 0.0
    reused_connection = False
    """The last request went out on a kept-alive connection."""
    fresh_connection = False
    """Reuse no kept-alive connection (retrying on one the server closed)."""


this_fetch = ThisFetch()
"""The fetch under way on this thread, for the connections it opens."""


_IDLE_LOCK = threading.Lock()
"""Held to take a connection from a pool, and to close an idle one."""


class _WatchedHTTPConnection(HTTPConnection):
    """A connection whose sockets the deadline of the fetch using it watches."""

    deadline: Deadline | None = None
    idle_since = 0.0
    _resolved_name: str | None = None
    _idle_close: _IdleClose | None = None

    def _new_conn(self) -> socket.socket:
        resolver = this_fetch.resolver
        if resolver is not None:
            # The name, not the address it gave last time: a kept-alive
            # connection object connects again after it was closed.
            name = self._resolved_name or self._dns_host
            self._resolved_name = name
            try:
                self._dns_host = resolver(name)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc
        sock = super()._new_conn()
        self._watch(sock)
        return sock

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self._watch(self.sock)  # for HTTPS, the TLS socket

    def _watch(self, sock: socket.socket) -> None:
        deadline = this_fetch.deadline
        if deadline is not None:
            self.deadline = deadline
            deadline.watch(sock)

    def take(self) -> bool:
        """Taken from the pool by a fetch (under _IDLE_LOCK): True if it is
        still connected, and then the fetch's deadline watches its socket."""
        pending, self._idle_close = self._idle_close, None
        if pending is not None:
            pending.cancelled = True
        if self.sock is None:
            return False
        self._watch(self.sock)
        return True

    def put_away(self) -> bool:
        """Back to the pool: no deadline may touch it now, and the watchdog
        closes it once it has been idle for the keep-alive time. False if
        its fetch's deadline has shut it down (it cannot be reused)."""
        deadline, self.deadline = self.deadline, None
        if deadline is not None and not deadline.release(self.sock):
            return False
        self.idle_since = time.monotonic()
        if self.sock is not None:
            idle_close = _IdleClose(self, self.idle_since + this_fetch.keepalive)
            with _IDLE_LOCK:
                self._idle_close = idle_close
            WATCHDOG.schedule(idle_close)
        return True

    def close_if_idle(self, idle_close: _IdleClose) -> None:
        """Close the connection if it has sat in the pool since ``idle_close``
        was scheduled (a server would drop it soon anyway, and until then its
        socket holds a file descriptor on both sides)."""
        with _IDLE_LOCK:
            if self._idle_close is not idle_close:
                return  # taken by a fetch since
            self._idle_close = None
            self.close()


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _KeptAlivePool(HTTPConnectionPool):
    """Keeps connections alive between fetches, safely.

    A reused connection is watched by the deadline of the fetch reusing it,
    and released by that deadline before it goes back to the pool, so that
    no deadline can cut off a later fetch's request. A connection idle for
    the keep-alive time is closed: by the watchdog, or by a fetch that takes
    it from the pool before the watchdog got to it.
    """

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        with _IDLE_LOCK:  # the watchdog closes no connection as it is taken
            conn = super()._get_conn(timeout)
            watched = conn if isinstance(conn, _WatchedHTTPConnection) else None
            connected = watched is not None and watched.take()
        if watched is not None and connected:
            idle = time.monotonic() - watched.idle_since
            if this_fetch.fresh_connection or idle > this_fetch.keepalive:
                conn.close()
            else:
                this_fetch.reused_connection = True
        return conn

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        if isinstance(conn, _WatchedHTTPConnection) and not conn.put_away():
            conn.close()
        super()._put_conn(conn)


class _WatchedHTTPPool(_KeptAlivePool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_KeptAlivePool, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_Manager = TypeVar("_Manager", bound=urllib3.PoolManager)


def with_watched_connections(manager: _Manager) -> _Manager:
    """``manager``, making pools of kept-alive connections that deadlines watch."""
    manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
    return manager


class Deadline:
    """The whole-fetch deadline of one fetch.

    urllib3's timeouts bound each read, not the whole exchange: a server that
    sends a byte of headers every few seconds never trips them. At the
    deadline the watchdog shuts down the fetch's sockets, which makes the
    blocked read fail at once.
    """

    def __init__(self, at: float) -> None:
        self.at = at
        self._sockets: list[socket.socket] = []
        # Sockets are shut down under the lock, so that once release() or
        # cancel() returns, this deadline can touch none of their sockets:
        # a kept-alive connection may serve another fetch the next moment.
        self._lock = threading.Lock()
        self._expired = False
        self.cancelled = False

    @property
    def expired(self) -> bool:
        """The deadline has passed (whether or not the watchdog acted yet)."""
        return self._expired or time.monotonic() >= self.at

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once if it has passed)."""
        with self._lock:
            if self._expired:
                _shutdown(sock)
            elif not self.cancelled:
                self._sockets.append(sock)

    def release(self, sock: socket.socket | None) -> bool:
        """Stop watching ``sock``, and sockets already closed (such as the one
        a TLS socket was wrapped around); False if the deadline has shut it
        down."""
        with self._lock:
            if self._expired:
                return False
            self._sockets = [s for s in self._sockets if s is not sock and s.fileno() != -1]
            return True

    def expire(self) -> None:
        """The deadline is here: shut down every socket watched."""
        with self._lock:
            if self.cancelled:
                return
            self._expired = True
            for sock in self._sockets:
                _shutdown(sock)
            self._sockets.clear()

    def cancel(self) -> None:
        """The fetch is over: touch none of its sockets any more."""
        with self._lock:
            self.cancelled = True
            self._sockets.clear()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Timed(Protocol):
    at: float
    cancelled: bool

    def expire(self) -> None: ...


class _IdleClose:
    """The closing of a kept-alive connection still idle at ``at``."""

    def __init__(self, connection: _WatchedHTTPConnection, at: float) -> None:
        self.connection = connection
        self.at = at
        self.cancelled = False

    def expire(self) -> None:
        self.connection.close_if_idle(self)


class _Watchdog:
    """One thread for the deadlines of every fetch and the closing of idle
    connections (a timer thread per fetch cost more than many a fetch)."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, _Timed]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now, watched from now."""
        deadline = Deadline(time.monotonic() + seconds)
        self.schedule(deadline)
        return deadline

    def schedule(self, entry: _Timed) -> None:
        """Have ``entry`` expire at its time, unless cancelled by then."""
        with self._wakeup:
            heapq.heappush(self._queue, (entry.at, next(self._order), entry))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="fetch-watchdog", daemon=True
                )
                self._thread.start()
            elif self._queue[0][2] is entry:
                self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while self._queue and self._queue[0][2].cancelled:
                    heapq.heappop(self._queue)
                if not self._queue:
                    self._wakeup.wait(60.0)
                    continue
                at, _, entry = self._queue[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._wakeup.wait(wait)
                    continue
                heapq.heappop(self._queue)
            try:
                entry.expire()
            except Exception:  # one entry's failure must not stop the watchdog
                log.exception("the fetch watchdog could not act on %r", entry)


WATCHDOG = _Watchdog()
