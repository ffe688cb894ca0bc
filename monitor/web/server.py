"""The web console's HTTP server: waitress, on a thread of its own, until stopped.

waitress reads and writes every connection on one event loop and hands only
complete requests to its worker threads, so a client that trickles its
request, or never finishes it, holds no thread; it holds one of
``CONNECTION_LIMIT`` connections until ``IDLE_TIMEOUT`` passes without a
byte from it. Past the limit, waitress stops accepting until one closes.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import ThreadedTaskDispatcher
from waitress.trigger import trigger

THREADS = 4
"""Requests answered at once; a page is a few reads of the state database."""
CONNECTION_LIMIT = 32
"""Connections held at once (a browser opens about six)."""
IDLE_TIMEOUT = 30
"""Seconds a connection may stay silent before it is closed."""
MAX_REQUEST_HEADER_BYTES = 16 * 1024
MAX_REQUEST_BODY_BYTES = 16 * 1024
"""The console takes no body (GET and HEAD only): a larger one is refused unread."""
STOP_TIMEOUT = 5.0


class WebConsoleServer:
    """Serves a WSGI app on ``host``:``port`` (0: a free port) until :meth:`stop`.

    Binding happens here: an address in use raises OSError at once."""

    def __init__(self, app: Flask, host: str, port: int) -> None:
        # Every socket of the server, and the trigger that wakes its loop,
        # live in this map: emptying it ends the loop.
        self._sockets: dict[Any, Any] = {}
        # The worker threads, made here so that a failed bind can end them too.
        workers = ThreadedTaskDispatcher()
        workers.set_thread_count(THREADS)
        try:
            self._server = self._create(app, host, port, workers)
        except OSError:
            # A socket that could not bind, and the server's trigger, are in the map already.
            wasyncore.close_all(self._sockets)
            workers.shutdown(timeout=int(STOP_TIMEOUT))
            raise
        self._wake = trigger(self._sockets)
        self._thread = threading.Thread(target=self._server.run, name="web-console", daemon=True)

    def _create(
        self, app: Flask, host: str, port: int, workers: ThreadedTaskDispatcher
    ) -> MultiSocketServer | BaseWSGIServer:
        return create_server(
            app,
            map=self._sockets,
            _dispatcher=workers,
            host=host,
            port=port,
            threads=THREADS,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_TIMEOUT,
            cleanup_interval=min(10, IDLE_TIMEOUT),
            max_request_header_size=MAX_REQUEST_HEADER_BYTES,
            max_request_body_size=MAX_REQUEST_BODY_BYTES,
            expose_tracebacks=False,
            ident="monitor",
            asyncore_use_poll=True,
        )

    @property
    def port(self) -> int:
        """The port it listens on (the one picked, when asked for 0)."""
        server = self._server
        if isinstance(server, MultiSocketServer):
            return int(server.effective_listen[0][1])
        assert server.socket is not None
        return int(server.socket.getsockname()[1])

    def start(self) -> WebConsoleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listening sockets, then let the
        worker threads finish the requests they hold (for a few seconds)."""
        if self._thread.is_alive():
            # Closed on the loop's own thread, between two of its polls.
            self._wake.pull_trigger(self._close_all)
            self._thread.join(timeout=STOP_TIMEOUT)
        else:
            self._close_all()
        self._server.task_dispatcher.shutdown(timeout=int(STOP_TIMEOUT))

    def _close_all(self, _: None = None) -> None:
        # The unused argument: waitress calls a trigger's thunk with none,
        # but its type stubs declare one.
        wasyncore.close_all(self._sockets)
