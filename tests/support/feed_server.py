"""A scriptable RSS/Atom feed server on a real loopback socket.

Why a real server instead of a mock transport: the monitor's fetcher has to prove that
timeouts, redirects, gzip, conditional GETs and response-size caps work through real sockets,
exactly as they will against production feeds. A mock transport bypasses the parts of the HTTP
client that implement those behaviours.

The module also holds :class:`LoopbackServer`, the start/stop plumbing shared with
:mod:`tests.support.slack_emulator`, so that both servers shut down the same careful way.
"""

from __future__ import annotations

import gzip as gzip_codec
import html
import socket
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self, cast

__all__ = ["FeedServer", "LoopbackServer", "RecordedRequest"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# --------------------------------------------------------------------------------------
# Shared plumbing
# --------------------------------------------------------------------------------------


class _Httpd(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its owning test server and ignores dropped clients.

    Tests deliberately make clients give up (read timeouts, size caps), so the handler often
    writes into a socket the peer already closed. Those errors are expected and must not
    spray tracebacks over the test output; anything else is still reported.
    """

    daemon_threads = True

    def __init__(self, owner: LoopbackServer, handler: type[BaseHTTPRequestHandler]) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Base request handler: HTTP/1.1 framing, one request per connection, no access log.

    Every response carries ``Connection: close``. That keeps HTTP/1.1 features available
    (chunked transfer encoding) while guaranteeing no idle keep-alive connection pins a
    handler thread after the test that opened it is over.
    """

    protocol_version = "HTTP/1.1"
    # Socket timeout for handler threads, so a client that stops reading cannot wedge one.
    timeout = 10

    @property
    def owner(self) -> LoopbackServer:
        return cast(_Httpd, self.server).owner

    def handle(self) -> None:
        self.owner._handler_started()
        try:
            super().handle()
        finally:
            self.owner._handler_finished()

    def send_body(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Send a complete response with Content-Length; ``headers`` may override defaults."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name in headers):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log; tests inspect recorded requests instead."""


class LoopbackServer:
    """Owns a ThreadingHTTPServer bound to 127.0.0.1 on an ephemeral port, plus its thread.

    Subclasses supply the handler class. ``stop()`` interrupts any artificial delay (see
    :meth:`pause`), shuts the server down, closes the listening socket, joins the serving
    thread and waits (bounded) for in-progress handlers to finish, so a test never leaves
    threads or sockets behind for the next one.
    """

    handler_class: ClassVar[type[LoopbackHandler]] = LoopbackHandler
    # serve_forever() notices shutdown() only between polls; the default 0.5 s would add
    # half a second to every test that uses a server.
    _POLL_INTERVAL: ClassVar[float] = 0.01
    _DRAIN_TIMEOUT: ClassVar[float] = 5.0

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._wake_lock = threading.Lock()
        self._handlers = 0
        self._handlers_done = threading.Condition()
        self._httpd: _Httpd | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and start serving in a background thread. Returns self for chaining."""
        if self._httpd is not None or self._stopping.is_set():
            raise RuntimeError(f"{type(self).__name__} can only be started once")
        self._httpd = _Httpd(self, self.handler_class)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": self._POLL_INTERVAL},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release everything. Safe to call more than once."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.release_delays()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        with self._handlers_done:
            self._handlers_done.wait_for(lambda: self._handlers == 0, self._DRAIN_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    # -- interruptible delays ----------------------------------------------------------

    def pause(self, seconds: float) -> bool:
        """Sleep for an artificial delay; return False if the server is stopping meanwhile.

        Waiting on an Event rather than ``time.sleep`` lets :meth:`stop` (and
        :meth:`release_delays`) cut every pending delay short, so a test that provokes a
        client timeout with a 30 s delay still tears down instantly.
        """
        with self._wake_lock:
            wake = self._wake
        wake.wait(seconds)
        return not self._stopping.is_set()

    def release_delays(self) -> None:
        """End every delay currently in progress; delays that start later are unaffected."""
        with self._wake_lock:
            self._wake.set()
            self._wake = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- handler bookkeeping (called from LoopbackHandler) -----------------------------

    def _handler_started(self) -> None:
        with self._handlers_done:
            self._handlers += 1

    def _handler_finished(self) -> None:
        with self._handlers_done:
            self._handlers -= 1
            self._handlers_done.notify_all()


# --------------------------------------------------------------------------------------
# Feed server
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Page:
    body: bytes
    status: int
    content_type: str
    etag: str | None
    last_modified: str | None
    gzip: bool
    delay: float
    headers: dict[str, str]


@dataclass(frozen=True)
class _Redirect:
    location: str
    status: int


@dataclass(frozen=True)
class _Stream:
    chunk: bytes
    count: int
    chunked: bool
    content_type: str


_Route = _Page | _Redirect | _Stream


class _FeedHandler(LoopbackHandler):
    @property
    def feed(self) -> FeedServer:
        return cast(FeedServer, self.owner)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self.close_connection = True
        headers = {name.lower(): value for name, value in self.headers.items()}
        host = _host_key(headers.get("host", ""))
        feed = self.feed
        feed._request_started(RecordedRequest(self.command, self.path, headers), host)
        try:
            route = feed._route_for(self.path)
            if isinstance(route, _Page):
                self._send_page(route, headers)
            elif isinstance(route, _Redirect):
                self.send_body(route.status, b"", {"Location": route.location})
            elif isinstance(route, _Stream):
                self._send_stream(route)
            else:
                self._send_not_found()
        finally:
            feed._request_finished(host)

    def _send_page(self, page: _Page, request_headers: dict[str, str]) -> None:
        if page.delay > 0 and not self.feed.pause(page.delay):
            return  # Server stopping: drop the connection without a response.
        validators: dict[str, str] = {}
        if page.etag is not None:
            validators["ETag"] = page.etag
        if page.last_modified is not None:
            validators["Last-Modified"] = page.last_modified
        if 200 <= page.status < 300 and _not_modified(page, request_headers):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            return
        body = page.body
        headers = {"Content-Type": page.content_type, **validators}
        if page.gzip:
            headers["Vary"] = "Accept-Encoding"
            if _accepts_gzip(request_headers.get("accept-encoding", "")):
                body = gzip_codec.compress(body, mtime=0)
                headers["Content-Encoding"] = "gzip"
        self.send_body(page.status, body, _merge_headers(headers, page.headers))

    def _send_stream(self, stream: _Stream) -> None:
        """Send a body whose size the client can only learn by reading it."""
        self.send_response(200)
        self.send_header("Content-Type", stream.content_type)
        if stream.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        for _ in range(stream.count):
            if self.feed.stopping:
                return
            if stream.chunked:
                self.wfile.write(f"{len(stream.chunk):x}\r\n".encode() + stream.chunk + b"\r\n")
            else:
                self.wfile.write(stream.chunk)
        if stream.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _send_not_found(self) -> None:
        body = (
            "<html><head><title>404 Not Found</title></head><body>"
            f"<h1>Not Found</h1><p>No feed at {html.escape(self.path)}</p></body></html>"
        ).encode()
        self.send_body(404, body, {"Content-Type": "text/html; charset=utf-8"})


class FeedServer(LoopbackServer):
    """Serves scripted feed documents over real HTTP on 127.0.0.1.

    Routes can be (re)defined at any time, also while the application under test is polling,
    and every request is recorded so tests can assert on conditional-GET headers, poll counts
    and per-host concurrency.
    """

    handler_class = _FeedHandler

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Condition()
        self._routes: dict[str, _Route] = {}
        self._requests: list[RecordedRequest] = []
        self._in_flight: Counter[str] = Counter()
        self._max_by_host: dict[str, int] = {}
        self._max_total = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return self.origin

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + _normalise_path(path)

    # -- scripting ---------------------------------------------------------------------

    def set(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Define or replace the document served at ``path``.

        ``etag``/``last_modified`` enable 304 answers to matching If-None-Match /
        If-Modified-Since. ``gzip`` compresses only for clients that accept gzip. ``delay``
        holds the whole response back (interruptibly) to provoke client read timeouts.
        ``headers`` are sent last and override the defaults of the same name.
        """
        if delay < 0:
            raise ValueError("delay must be >= 0")
        data = body.encode() if isinstance(body, str) else bytes(body)
        page = _Page(
            data, status, content_type, etag, last_modified, gzip, delay, dict(headers or {})
        )
        self._add_route(path, page)

    def redirect(self, path: str, to_path: str, status: int = 301) -> None:
        """Answer ``path`` with a redirect to ``to_path`` (a path here, or an absolute URL)."""
        if status not in _REDIRECT_STATUSES:
            raise ValueError(f"not a redirect status: {status}")
        location = to_path if "://" in to_path else self.url(to_path)
        self._add_route(path, _Redirect(location, status))

    def set_stream(
        self,
        path: str,
        chunk: bytes,
        count: int,
        *,
        chunked: bool = False,
        content_type: str = "application/rss+xml; charset=utf-8",
    ) -> None:
        """Serve ``count`` copies of ``chunk`` without a Content-Length header.

        By default the body is delimited by closing the connection; ``chunked=True`` uses
        chunked transfer encoding instead. Either way a client-side size cap has to count
        bytes as they arrive rather than trusting a declared length.
        """
        if not chunk or count < 0:
            raise ValueError("chunk must be non-empty and count >= 0")
        self._add_route(path, _Stream(bytes(chunk), count, chunked, content_type))

    def remove(self, path: str) -> None:
        """Forget the route at ``path`` so that it answers 404 again."""
        with self._lock:
            self._routes.pop(_normalise_path(path), None)

    # -- observation -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """How many requests targeted ``path`` (with or without a query string)."""
        wanted = _normalise_path(path)
        return sum(1 for r in self.requests if wanted in (r.path, r.path.split("?", 1)[0]))

    def max_concurrent(self, host: str | None = None) -> int:
        """Highest number of simultaneous in-flight requests seen so far.

        ``host`` selects requests by their Host header (port optional, case-insensitive);
        ``None`` counts all requests together, whatever their Host.
        """
        with self._lock:
            if host is None:
                return self._max_total
            return self._max_by_host.get(_host_key(host), 0)

    def wait_for_in_flight(self, count: int, timeout: float = 10.0) -> None:
        """Block until at least ``count`` requests are in flight at once.

        Lets concurrency tests observe overlap deterministically: serve a route with a long
        ``delay``, wait here, assert, then :meth:`release_delays`.
        """
        with self._lock:
            reached = self._lock.wait_for(lambda: self._in_flight.total() >= count, timeout)
            if not reached:
                raise AssertionError(
                    f"expected {count} concurrent requests within {timeout}s, "
                    f"in flight now: {dict(self._in_flight)}"
                )

    # -- internals ---------------------------------------------------------------------

    def _add_route(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[_normalise_path(path)] = route

    def _route_for(self, target: str) -> _Route | None:
        with self._lock:
            route = self._routes.get(target)
            if route is None:
                route = self._routes.get(target.split("?", 1)[0])
            return route

    def _request_started(self, request: RecordedRequest, host: str) -> None:
        with self._lock:
            self._requests.append(request)
            self._in_flight[host] += 1
            self._max_by_host[host] = max(self._max_by_host.get(host, 0), self._in_flight[host])
            self._max_total = max(self._max_total, self._in_flight.total())
            self._lock.notify_all()

    def _request_finished(self, host: str) -> None:
        with self._lock:
            self._in_flight[host] -= 1
            if self._in_flight[host] <= 0:
                del self._in_flight[host]


def _normalise_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _host_key(host: str) -> str:
    """Host header without port, lower-cased: ``"Feeds.Example:8080"`` -> ``"feeds.example"``."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal, e.g. "[::1]:8080"
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0]


def _merge_headers(defaults: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """Overlay ``overrides`` on ``defaults``, matching header names case-insensitively."""
    lowered = {name.lower() for name in overrides}
    merged = {name: value for name, value in defaults.items() if name.lower() not in lowered}
    merged.update(overrides)
    return merged


def _not_modified(page: _Page, request_headers: dict[str, str]) -> bool:
    """RFC 9110 precedence: If-None-Match, when present, decides alone."""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        return page.etag is not None and _etag_listed(page.etag, if_none_match)
    if_modified_since = request_headers.get("if-modified-since")
    if if_modified_since is not None and page.last_modified is not None:
        return _not_modified_since(page.last_modified, if_modified_since)
    return False


def _etag_listed(etag: str, header: str) -> bool:
    """Weak comparison against a comma-separated If-None-Match list (or ``*``)."""
    if header.strip() == "*":
        return True
    wanted = etag.strip().removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _not_modified_since(last_modified: str, if_modified_since: str) -> bool:
    if if_modified_since.strip() == last_modified.strip():
        return True
    try:
        return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False


def _accepts_gzip(accept_encoding: str) -> bool:
    """True if gzip (or ``*``) is listed with a non-zero quality value."""
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding.lower() not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            return True
    return False
