"""Fetching feed bytes: HTTP through urllib3, or a local file.

feedparser's own network code has no timeout, so it is never used. This
module owns timeouts, the size cap, redirects, conditional GET, and the
translation of transport failures into :class:`FetchError` with a ``kind``
that an operator can act on (DNS, connect, timeout, HTTP status, size).

urllib3 rather than httpx: a poll is mostly the HTTP client's own Python
work (a 304 or an unchanged body needs nothing else), and urllib3 does a
request in a quarter of httpx's CPU, reading bodies in C (measured with
both on the 200 real-world feeds served on loopback: 0.08-0.10 s against
0.34-0.44 s for 200 requests).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import ipaddress
import itertools
import logging
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    LocationValueError,
    NameResolutionError,
    NewConnectionError,
    ProxyError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from monitor.domain.feed import Validators
from monitor.errors import FetchError
from monitor.redact import redact_url

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

log = logging.getLogger("monitor.fetch")

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class FetchResult:
    url: str
    """The URL the body finally came from (after redirects): the base for relative links."""
    status: int
    body: bytes | None
    """None when the server answered 304 Not Modified."""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = Validators()

    @property
    def not_modified(self) -> bool:
        return self.body is None

    @property
    def max_age(self) -> float | None:
        """Cache-Control max-age in seconds, when the server sets one."""
        match = re.search(r"max-age\s*=\s*(\d+)", self.headers.get("cache-control", ""))
        return float(match.group(1)) if match else None


class Fetcher(Protocol):
    def fetch(self, url: str, validators: Validators) -> FetchResult: ...


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 20.0
    """Seconds for the whole fetch, and for any single read."""
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 2**20
    max_redirects: int = 5
    user_agent: str = "watchdesk-monitor"
    per_host: int = 2
    """Requests to one host at a time, however many feeds it serves."""
    keepalive: float = 15.0
    """Seconds a connection may sit idle and still be reused. Servers close
    idle connections (Apache after 5 s, nginx after 75 s); one already closed
    is noticed before use, and one closed just as it is reused costs a retry."""
    allow_private: tuple[IPNetwork, ...] = ()
    """Internal networks a redirect from a public feed may still lead to
    (see :func:`refused_redirect_address`)."""


def is_local_path(url: str) -> bool:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and url[1:3] in (":\\", ":/"))


def host_key(url: str) -> str | None:
    """The host whose ``per_host`` slots a fetch of ``url`` takes: its name,
    lower-cased; None for a local file, which has no such limit."""
    if is_local_path(url):
        return None
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""  # a malformed URL: the fetch itself reports it


def local_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)


Resolver = Callable[[str], str]
"""Host name to the address to connect to; raises socket.gaierror if it has none."""

AddressResolver = Callable[[str], Sequence[str]]
"""Host name to every address it resolves to; raises socket.gaierror if it has none."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_internal_address(address: IPAddress) -> bool:
    """Loopback, private, link-local (cloud metadata), shared, reserved or
    unspecified: anything but a public address, IPv4 behind IPv6 included."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global


def refused_redirect_address(
    feed_addresses: Iterable[IPAddress],
    target_addresses: Iterable[IPAddress],
    allowed: Iterable[IPNetwork],
) -> IPAddress | None:
    """The address a redirect may not lead to, or None if it may be followed.

    A feed on a public address may not send the monitor to an internal one:
    that would make it fetch, and post, what only the monitor can reach. A
    feed configured on an internal address is trusted to redirect within the
    network, and ``allowed`` names internal networks any feed may reach.
    """
    if any(is_internal_address(address) for address in feed_addresses):
        return None
    networks = tuple(allowed)
    for address in target_addresses:
        plain = address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            plain = address.ipv4_mapped
        if is_internal_address(plain) and not any(plain in network for network in networks):
            return address
    return None


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 256 * 1024
ACCEPT_ENCODING = "gzip, deflate"


class HttpFetcher:
    """Fetches feeds over HTTP(S) with urllib3; plain paths and file:// URLs are read from disk.

    Connections are kept alive between fetches to one host, up to
    ``per_host`` of them, for ``keepalive`` seconds (see _KeptAlivePool).

    ``resolver`` stands in for DNS (tests never make real DNS queries), and
    ``redirect_resolver`` for the DNS answers the redirect policy judges a
    host by (by default ``resolver``'s, else the system's).
    Proxies come from the usual environment variables (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``NO_PROXY``); CA certificates from certifi, unless
    ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` name others.
    """

    def __init__(
        self,
        limits: FetchLimits,
        resolver: Resolver | None = None,
        redirect_resolver: AddressResolver | None = None,
    ) -> None:
        self.limits = limits
        self._resolver = resolver
        if redirect_resolver is None and resolver is not None:
            redirect_resolver = functools.partial(_one_address, resolver)
        self._redirect_resolver = redirect_resolver or _system_addresses
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()
        options: dict[str, Any] = {
            "num_pools": 256,
            "maxsize": limits.per_host,
            "block": False,
            "retries": False,
            "timeout": urllib3.Timeout(connect=limits.connect_timeout, read=limits.timeout),
            "headers": {
                "User-Agent": limits.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            "ssl_context": _tls_context(),
        }
        self._options = options
        self._direct = _with_watched_connections(urllib3.PoolManager(**options))
        # Origin -> its pool, made by _direct but then taken from here, past
        # PoolManager.urlopen, which parses the whole URL and builds a pool
        # key on every request. (urllib3 2 drops a pool it evicts without
        # closing it, so one kept here goes on working.)
        self._direct_pools: dict[tuple[str, str, int | None], HTTPConnectionPool] = {}
        self._proxied: dict[str, urllib3.ProxyManager] = {}
        self._proxied_lock = threading.Lock()
        # Read once: reading them walks the whole environment, every fetch.
        self._proxies = urllib.request.getproxies()

    def close(self) -> None:
        self._direct_pools.clear()
        self._direct.clear()
        for manager in self._proxied.values():
            manager.clear()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch(self, url: str, validators: Validators = Validators()) -> FetchResult:
        host = host_key(url)
        if host is None:
            return self._read_file(url)
        with self._host_slot(host):
            return self._fetch_http(url, validators)

    @contextlib.contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots for the duration of a fetch: one host
        is never hammered, however many of its feeds fall due together."""
        with self._hosts_lock:
            slot = self._hosts.setdefault(host, threading.BoundedSemaphore(self.limits.per_host))
        with slot:
            yield

    def _fetch_http(self, url: str, validators: Validators) -> FetchResult:
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        deadline = _WATCHDOG.start(self.limits.timeout)
        _this_fetch.deadline = deadline
        _this_fetch.resolver = self._resolver
        _this_fetch.keepalive = self.limits.keepalive
        try:
            return self._follow(url, headers, deadline)
        except FetchError:
            if deadline.expired:
                raise _timed_out(url, self.limits) from None
            raise
        except (Urllib3Error, OSError, HTTPException) as exc:
            if deadline.expired:
                raise _timed_out(url, self.limits) from exc
            raise _translate(exc, url, self.limits) from exc
        except (ValueError, UnicodeError) as exc:
            # Malformed URLs and hosts surface from urllib and idna as plain ValueErrors.
            raise FetchError("url", f"invalid URL for feed {redact_url(url)!r}: {exc}") from exc
        finally:
            deadline.cancel()
            _this_fetch.deadline = None
            _this_fetch.resolver = None

    def _follow(self, url: str, headers: dict[str, str], deadline: _Deadline) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects.

        Credentials in the feed's URL (``https://user:token@host/feed``) go
        as Basic authorization to that URL's origin, never to another.
        """
        current = _checked_url(url, url, redirect=False)
        origin, authorization = _origin(current), _basic_authorization(current)
        for _ in range(self.limits.max_redirects + 1):
            sent = {**self._options["headers"], **headers}
            if authorization and _origin(current) == origin:
                sent["Authorization"] = authorization
            response = self._get(current, sent, deadline)
            try:
                location = response.headers.get("Location")
                if response.status in _REDIRECTS and location:
                    _finish_small_body(response)
                    current = _checked_url(location.strip(), url, redirect=True, base=current)
                    self._check_redirect_target(url, current)
                    continue
                return self._result(current, response, deadline)
            finally:
                # A body read to its end has handed the connection back to the
                # pool already; any other is closed with its connection.
                response.close()
                response.release_conn()
        raise FetchError("redirects", f"more than {self.limits.max_redirects} redirects")

    def _check_redirect_target(self, feed_url: str, target: str) -> None:
        """Refuse a redirect from a public feed to an internal address,
        judged by the addresses the names resolve to, not by the names."""
        feed_host, target_host = _host_of(feed_url).lower(), _host_of(target).lower()
        if target_host == feed_host:
            return
        target_addresses = self._addresses(target_host)
        if not any(is_internal_address(address) for address in target_addresses):
            return
        refused = refused_redirect_address(
            self._addresses(feed_host), target_addresses, self.limits.allow_private
        )
        if refused is not None:
            raise FetchError(
                "private-redirect",
                f"{feed_host} redirected to {target_host} ({refused}), an internal address; "
                "not followed (list its network in fetch.allow_private to allow it)",
            )

    def _addresses(self, host: str) -> list[IPAddress]:
        """The addresses ``host`` resolves to; none if it resolves to none
        (the fetch then fails on its own, saying so)."""
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            answers = self._redirect_resolver(host)
        except (OSError, UnicodeError, ValueError):
            return []
        addresses: list[IPAddress] = []
        for answer in answers:
            with contextlib.suppress(ValueError):
                addresses.append(ipaddress.ip_address(answer))
        return addresses

    def _get(
        self, url: str, headers: dict[str, str], deadline: _Deadline
    ) -> urllib3.BaseHTTPResponse:
        """The response's status and headers; on a kept-alive connection the
        server dropped as it was reused, asked again once on a new one."""
        manager = self._manager_for(url)
        for attempt in range(2):
            _this_fetch.reused_connection = False
            _this_fetch.fresh_connection = attempt > 0
            try:
                if manager is self._direct:
                    pool, target = self._direct_pool(url)
                    return pool.urlopen(
                        "GET",
                        target,
                        headers=headers,
                        redirect=False,
                        assert_same_host=False,
                        preload_content=False,
                        decode_content=True,
                    )
                return manager.urlopen(
                    "GET",
                    _without_credentials(url),
                    headers=headers,
                    redirect=False,
                    preload_content=False,
                    decode_content=True,
                )
            except (Urllib3Error, OSError, HTTPException) as exc:
                # Only a GET on a kept-alive connection that the server
                # dropped before the response's headers were in goes again:
                # once, on a new connection, in time.
                retry = _this_fetch.reused_connection and _closed_by_server(exc)
                if attempt or not retry or deadline.expired:
                    raise
            finally:
                _this_fetch.fresh_connection = False
        raise AssertionError("unreachable")  # pragma: no cover

    def _direct_pool(self, url: str) -> tuple[HTTPConnectionPool, str]:
        """The pool for ``url``'s origin, and the request target (path and query)."""
        scheme, host, port, target = _request_target(url)
        origin = (scheme, host, port)
        pool = self._direct_pools.get(origin)
        if pool is None:
            # Pools hold no socket once idle (the watchdog closes those): a
            # fleet's worth costs little, and this bound only stops a leak.
            if len(self._direct_pools) >= _MAX_POOLS:
                self._direct_pools.clear()
            pool = self._direct.connection_from_host(host, port=port, scheme=scheme)
            self._direct_pools[origin] = pool
        return pool, target

    def _manager_for(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
            return self._direct
        with self._proxied_lock:
            manager = self._proxied.get(proxy)
            if manager is None:
                manager = _with_watched_connections(_proxy_manager(proxy, self._options))
                self._proxied[proxy] = manager
        return manager

    def _result(
        self, url: str, response: urllib3.BaseHTTPResponse, deadline: _Deadline
    ) -> FetchResult:
        if deadline.expired:
            # The watchdog cut the headers short; http.client takes what came as all.
            raise _timed_out(url, self.limits)
        response_headers = {name.lower(): response.headers[name] for name in response.headers}
        validators = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        if response.status == 304:
            _finish_small_body(response)
            return FetchResult(url, 304, None, response_headers, validators)
        if response.status >= 400:
            raise _status_error(response, _peek(response))
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise _too_large(self.limits.max_bytes, f"it declares {int(declared):,} bytes")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        # A chunked body has no length, whatever Content-Length claims.
        if declared.isdigit() and encoding == "identity" and not response.chunked:
            # Its size is known and within the cap: read at once, in C.
            body = response.read(decode_content=False)
            if deadline.expired:  # a body cut short at the deadline ends like a whole one
                raise _timed_out(url, self.limits)
            return FetchResult(url, response.status, body, response_headers, validators)
        chunks: list[bytes] = []
        size = 0
        # Counting decoded bytes caps gzip bombs too, not only large transfers.
        for chunk in response.stream(READ_CHUNK):
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise _too_large(self.limits.max_bytes, "the body is larger")
            chunks.append(chunk)
            if deadline.expired:
                raise _timed_out(url, self.limits)
        if deadline.expired:  # a body cut short at the deadline ends like a whole one
            raise _timed_out(url, self.limits)
        return FetchResult(url, response.status, b"".join(chunks), response_headers, validators)

    def _read_file(self, url: str) -> FetchResult:
        path = local_path(url)
        try:
            size = path.stat().st_size
            if size > self.limits.max_bytes:
                raise _too_large(self.limits.max_bytes, f"the file has {size:,} bytes")
            body = path.read_bytes()
        except OSError as exc:
            raise FetchError(
                "file", f"cannot read file {str(path)!r}: {exc.strerror or exc}"
            ) from exc
        return FetchResult(path.resolve().as_uri(), 200, body)


NOT_HTTP = "not an http(s) URL with a host"


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested as an http(s) URL, or None if it can.

    The test a fetch applies before connecting, so that config.toml refuses
    what a poll would: another scheme, no host, a port that is no number or
    out of range, a host with spaces or control characters.
    """
    try:
        _check_http_url(url)
    except (LocationValueError, ValueError) as exc:
        return _reason(exc)
    return None


def _check_http_url(url: str) -> None:
    parts = urlsplit(url)
    parts.port  # noqa: B018 - raises ValueError for a port that is no number
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(NOT_HTTP)
    if any(char.isspace() or not char.isprintable() for char in parts.hostname):
        raise ValueError("the host name has a space or a control character")
    urllib3.util.parse_url(url)


@functools.lru_cache(maxsize=4096)
def _checked_url(candidate: str, feed_url: str, *, redirect: bool, base: str = "") -> str:
    """``candidate`` (resolved against ``base``) if it can be requested, else
    a FetchError saying what is wrong with it. Remembered: every poll of a
    feed asks about the same URL."""
    try:
        absolute = urljoin(base, candidate) if base else candidate
        _check_http_url(absolute)
    except (LocationValueError, ValueError) as exc:
        reason = _reason(exc)
        if redirect:
            raise FetchError(
                "redirects",
                f"{_host_of(feed_url)} redirected to an invalid URL: "
                f"{redact_url(candidate)!r} ({reason})",
            ) from exc
        raise FetchError("url", f"invalid feed URL {redact_url(feed_url)!r}: {reason}") from exc
    return absolute


_MAX_POOLS = 4096


@functools.lru_cache(maxsize=4096)
def _request_target(url: str) -> tuple[str, str, int | None, str]:
    """Scheme, host, port and request target of a checked URL, as
    PoolManager.urlopen works them out (host IDNA-encoded, the target's
    invalid characters percent-encoded). Remembered, like _checked_url."""
    parts = urllib3.util.parse_url(url)
    return parts.scheme or "http", parts.host or "", parts.port, parts.request_uri


def _proxy_manager(proxy: str, options: dict[str, Any]) -> urllib3.ProxyManager:
    """A proxy as HTTPS_PROXY and its kin give it: the scheme may be left out
    (``proxy.corp:3128``), and credentials in it go as Proxy-Authorization."""
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    parts = urlsplit(proxy)
    proxy_headers = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        proxy_headers = urllib3.make_headers(proxy_basic_auth=credentials)
    return urllib3.ProxyManager(_without_credentials(proxy), proxy_headers=proxy_headers, **options)


def _basic_authorization(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.username is None:
        return None
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return urllib3.make_headers(basic_auth=credentials)["authorization"]


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _one_address(resolver: Resolver, host: str) -> list[str]:
    return [resolver(host)]


def _system_addresses(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _tls_context() -> ssl.SSLContext:
    """Verified TLS: certifi's CA bundle, or the system's where the environment names it."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


# --- the whole-fetch deadline -------------------------------------------------


class _ThisFetch(threading.local):
    deadline: _Deadline | None = None
    resolver: Resolver | None = None
    keepalive: float = 0.0
    reused_connection = False
    """The last request went out on a kept-alive connection."""
    fresh_connection = False
    """Reuse no kept-alive connection (retrying on one the server closed)."""


_this_fetch = _ThisFetch()
"""The fetch under way on this thread, for the connections it opens."""


_IDLE_LOCK = threading.Lock()
"""Held to take a connection from a pool, and to close an idle one."""


class _WatchedHTTPConnection(HTTPConnection):
    """A connection whose sockets the deadline of the fetch using it watches."""

    deadline: _Deadline | None = None
    idle_since = 0.0
    _resolved_name: str | None = None
    _idle_close: _IdleClose | None = None

    def _new_conn(self) -> socket.socket:
        resolver = _this_fetch.resolver
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
        deadline = _this_fetch.deadline
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
            idle_close = _IdleClose(self, self.idle_since + _this_fetch.keepalive)
            with _IDLE_LOCK:
                self._idle_close = idle_close
            _WATCHDOG.schedule(idle_close)
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
            if _this_fetch.fresh_connection or idle > _this_fetch.keepalive:
                conn.close()
            else:
                _this_fetch.reused_connection = True
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


def _with_watched_connections(manager: _Manager) -> _Manager:
    manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
    return manager


class _Deadline:
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
        return self._expired or time.monotonic() >= self.at

    def watch(self, sock: socket.socket) -> None:
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
        with self._lock:
            if self.cancelled:
                return
            self._expired = True
            for sock in self._sockets:
                _shutdown(sock)
            self._sockets.clear()

    def cancel(self) -> None:
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

    def start(self, seconds: float) -> _Deadline:
        deadline = _Deadline(time.monotonic() + seconds)
        self.schedule(deadline)
        return deadline

    def schedule(self, entry: _Timed) -> None:
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


_WATCHDOG = _Watchdog()


_CHALLENGE = re.compile(
    rb"cf-chl|challenge-platform|captcha|just a moment|attention required|checking your browser|"
    rb"ddos-guard|perimeterx|are you a robot|access denied",
    re.I,
)


_SMALL_BODY = 64 * 1024


def _finish_small_body(response: urllib3.BaseHTTPResponse) -> None:
    """Read the rest of a body that is not the feed (a 304's, a redirect's)
    when it is declared and small: a body read to its end hands the
    connection back to the pool for the next fetch."""
    remaining = getattr(response, "length_remaining", None)
    if remaining is not None and remaining <= _SMALL_BODY:
        response.drain_conn()


def _closed_by_server(exc: BaseException) -> bool:
    """The server closed the connection before answering (as servers close
    idle kept-alive connections), rather than failing in some other way."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return True  # RemoteDisconnected too: no status line came
        seen = seen.__cause__ or seen.__context__
    return False


def _peek(response: urllib3.BaseHTTPResponse, limit: int = 8192) -> bytes:
    """The start of an error page, to tell a bot wall from a plain error."""
    head = b""
    with contextlib.suppress(Urllib3Error, OSError, HTTPException):
        for chunk in response.stream(limit):
            head += chunk
            if len(head) >= limit:
                break
    return head[:limit]


def _status_error(response: urllib3.BaseHTTPResponse, body: bytes = b"") -> FetchError:
    reason = response.reason or ""
    detail = f"HTTP {response.status} {reason}".strip()
    if response.status in (403, 429, 503) and (
        _CHALLENGE.search(body) or "cloudflare" in response.headers.get("Server", "").lower()
    ):
        return FetchError(
            "blocked",
            f"{detail}: the site's bot protection answered with a challenge page instead of the feed",
        )
    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after and response.status in (429, 503):
        detail += f" (Retry-After: {retry_after})"
    error = FetchError("http", detail)
    error.retry_after = float(retry_after) if retry_after.isdigit() else None
    return error


def _timed_out(url: str, limits: FetchLimits) -> FetchError:
    return FetchError(
        "timeout", f"{_host_of(url)} did not deliver the feed within {limits.timeout:g}s"
    )


def _too_large(limit: int, why: str) -> FetchError:
    return FetchError("too-large", f"feed exceeds the size limit of {limit:,} bytes: {why}")


def _translate(exc: BaseException, url: str, limits: FetchLimits) -> FetchError:
    host = _host_of(url)
    # NewConnectionError is a ConnectTimeoutError in urllib3 2, so it goes first.
    if isinstance(exc, NameResolutionError) or _is_dns_failure(exc):
        return FetchError("dns", f"cannot resolve host {host} (DNS lookup failed)")
    if isinstance(exc, (NewConnectionError, ProxyError)):
        return FetchError("connect", f"cannot connect to {host}: {_reason(_root(exc))}")
    if isinstance(exc, ConnectTimeoutError):
        return FetchError(
            "timeout", f"could not connect to {host} within {limits.connect_timeout:g}s"
        )
    if isinstance(exc, (Urllib3Timeout, TimeoutError)):
        return _timed_out(url, limits)
    if isinstance(exc, DecodeError):
        return FetchError("http", f"the response from {host} could not be decoded: {_reason(exc)}")
    return FetchError("connect", f"connection to {host} failed: {_reason(_root(exc))}")


def _root(exc: BaseException) -> BaseException:
    """The OS error under urllib3's wrappers, which say more than they do."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, Urllib3Error):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def _is_dns_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        text = str(seen).lower()
        if (
            "name or service not known" in text
            or "name resolution" in text
            or "nodename nor servname" in text
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
