"""A loopback TCP relay in front of a real server (the test PostgreSQL), which
a test can take down or freeze: the network between an instance and its
database failing for real, with the server itself untouched.

``stop`` closes every relayed connection and the listening socket (a
client then meets "connection refused", as with a server that is down);
``start`` listens on the same port again. ``freeze`` keeps every
connection open but passes no byte either way (a server paused, or a
network that drops packets without a reset); ``thaw`` lets the held bytes
through.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self

CHUNK = 65536


class TcpRelay:
    """Relays 127.0.0.1:``port`` to ``target``; started at once."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.start()

    def url(self, dbname: str, query: str = "") -> str:
        """A PostgreSQL URL naming the database ``dbname`` through the relay."""
        return f"postgresql://127.0.0.1:{self.port}/{dbname}{'?' + query if query else ''}"

    def start(self) -> None:
        """Listen (again, on the same port) and relay new connections."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Close every relayed connection and stop listening: refused from now."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener is not None:
            _close(listener)
        for connection in connections:
            _close(connection)

    def freeze(self) -> None:
        """Pass nothing either way, connections kept open, until ``thaw``."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Pass the held bytes, and every byte from now."""
        self._flowing.set()

    def close(self) -> None:
        self.thaw()
        self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(server)
                    return
                self._connections += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            if data:
                self._flowing.wait()
            try:
                if not data:
                    break
                sink.sendall(data)
            except OSError:
                break
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already, or never connected
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
