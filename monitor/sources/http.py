"""The HTTP client: feed bytes over HTTP through urllib3, or from a local file.

feedparser's own network code has no timeout, so it is never used. This
module owns timeouts, the size cap, redirects, conditional GET, per-host
slots and Retry-After; what a URL may be and where a redirect may lead is
:mod:`monitor.sources.urls`, the connections kept alive under a whole-fetch
deadline :mod:`monitor.sources.connections`, and the translation of
transport failures into FetchError kinds :mod:`monitor.sources.fetch_errors`.

urllib3 rather than httpx: a poll is mostly the HTTP client's own Python
work (a 304 or an unchanged body needs nothing else), and urllib3 does a
request in a fraction of httpx's CPU, reading bodies in C.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error

from monitor.domain.feed import Validators
from monitor.errors import FetchError
from monitor.redact import redact_url
from monitor.sources.bodies import (
    READ_CHUNK,
    copy_local_file,
    read_local_file,
    spool_body,
)
from monitor.sources.bodies import (
    FetchResult as FetchResult,  # re-exported: what every fetcher returns
)
from monitor.sources.connections import (
    WATCHDOG,
    Deadline,
    Resolver,
    this_fetch,
    with_watched_connections,
)
from monitor.sources.fetch_errors import (
    closed_by_server,
    peek,
    status_error,
    timed_out,
    too_large,
    translate,
)
from monitor.sources.urls import (
    IPAddress,
    IPNetwork,
    basic_authorization,
    checked_url,
    host_key,
    host_of,
    is_internal_address,
    origin,
    refused_redirect_address,
    request_target,
    without_credentials,
)

log = logging.getLogger("monitor.fetch")

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


class Fetcher(Protocol):
    """Reads the bytes at a URL, conditionally on the validators of the last read."""

    def fetch(self, url: str, validators: Validators) -> FetchResult:
        """The response, or 304's empty one; a FetchError when the bytes never arrived whole."""
        ...

    def close(self) -> None:
        """Let go of every connection kept open."""
        ...


AddressResolver = Callable[[str], Sequence[str]]
"""Host name to every address it resolves to; raises socket.gaierror if it has none."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on every fetch: time, size, redirects, and load on one host."""

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


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
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
        self._direct = with_watched_connections(urllib3.PoolManager(**options))
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
        """Let go of every pooled connection (a fetch after this opens new ones)."""
        self._direct_pools.clear()
        self._direct.clear()
        for manager in self._proxied.values():
            manager.clear()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch(self, url: str, validators: Validators = Validators()) -> FetchResult:
        """GET ``url`` (a conditional GET with ``validators``), or read the file it names."""
        host = host_key(url)
        if host is None:
            return read_local_file(url, self.limits.max_bytes)
        with self._host_slot(host):
            return self._fetch_http(url, validators)

    def download(self, url: str, validators: Validators, into: BinaryIO) -> FetchResult:
        """As :meth:`fetch`, but the body is written to ``into`` (from its
        current position) and hashed as it arrives, never held in memory
        whole: the result's ``body`` is empty (None for a 304) and its
        ``sha256`` set. For documents of tens of megabytes (official lists)."""
        host = host_key(url)
        if host is None:
            return copy_local_file(url, self.limits.max_bytes, into)
        with self._host_slot(host):
            return self._fetch_http(url, validators, into)

    @contextlib.contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's slots for the duration of a fetch: one host
        is never hammered, however many of its feeds fall due together."""
        with self._hosts_lock:
            slot = self._hosts.setdefault(host, threading.BoundedSemaphore(self.limits.per_host))
        with slot:
            yield

    def _fetch_http(
        self, url: str, validators: Validators, into: BinaryIO | None = None
    ) -> FetchResult:
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        deadline = WATCHDOG.start(self.limits.timeout)
        this_fetch.deadline = deadline
        this_fetch.resolver = self._resolver
        this_fetch.keepalive = self.limits.keepalive
        try:
            return self._follow(url, headers, deadline, into)
        except FetchError:
            if deadline.expired:
                raise timed_out(url, self.limits.timeout) from None
            raise
        except (Urllib3Error, OSError, HTTPException) as exc:
            if deadline.expired:
                raise timed_out(url, self.limits.timeout) from exc
            raise translate(
                exc, url, timeout=self.limits.timeout, connect_timeout=self.limits.connect_timeout
            ) from exc
        except (ValueError, UnicodeError) as exc:
            # Malformed URLs and hosts surface from urllib and idna as plain ValueErrors.
            raise FetchError("url", f"invalid URL for feed {redact_url(url)!r}: {exc}") from exc
        finally:
            deadline.cancel()
            this_fetch.deadline = None
            this_fetch.resolver = None

    def _follow(
        self, url: str, headers: dict[str, str], deadline: Deadline, into: BinaryIO | None
    ) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects.

        Credentials in the feed's URL (``https://user:token@host/feed``) go
        as Basic authorization to that URL's origin, never to another.
        """
        current = checked_url(url, url, redirect=False)
        feed_origin, authorization = origin(current), basic_authorization(current)
        for _ in range(self.limits.max_redirects + 1):
            sent = {**self._options["headers"], **headers}
            if authorization and origin(current) == feed_origin:
                sent["Authorization"] = authorization
            response = self._get(current, sent, deadline)
            try:
                location = response.headers.get("Location")
                if response.status in _REDIRECTS and location:
                    _finish_small_body(response)
                    current = checked_url(location.strip(), url, redirect=True, base=current)
                    self._check_redirect_target(url, current)
                    continue
                return self._result(current, response, deadline, into)
            finally:
                # A body read to its end has handed the connection back to the
                # pool already; any other is closed with its connection.
                response.close()
                response.release_conn()
        raise FetchError("redirects", f"more than {self.limits.max_redirects} redirects")

    def _check_redirect_target(self, feed_url: str, target: str) -> None:
        """Refuse a redirect from a public feed to an internal address,
        judged by the addresses the names resolve to, not by the names."""
        feed_host, target_host = host_of(feed_url).lower(), host_of(target).lower()
        if target_host == feed_host:
            return
        target_addresses = resolved_addresses(target_host, self._redirect_resolver)
        if not any(is_internal_address(address) for address in target_addresses):
            return
        refused = refused_redirect_address(
            resolved_addresses(feed_host, self._redirect_resolver),
            target_addresses,
            self.limits.allow_private,
        )
        if refused is not None:
            raise FetchError(
                "private-redirect",
                f"{feed_host} redirected to {target_host} ({refused}), an internal address; "
                "not followed (list its network in fetch.allow_private to allow it)",
            )

    def _get(
        self, url: str, headers: dict[str, str], deadline: Deadline
    ) -> urllib3.BaseHTTPResponse:
        """The response's status and headers; on a kept-alive connection the
        server dropped as it was reused, asked again once on a new one."""
        manager = self._manager_for(url)
        for attempt in range(2):
            this_fetch.reused_connection = False
            this_fetch.fresh_connection = attempt > 0
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
                    without_credentials(url),
                    headers=headers,
                    redirect=False,
                    preload_content=False,
                    decode_content=True,
                )
            except (Urllib3Error, OSError, HTTPException) as exc:
                # Only a GET on a kept-alive connection that the server
                # dropped before the response's headers were in goes again:
                # once, on a new connection, in time.
                retry = this_fetch.reused_connection and closed_by_server(exc)
                if attempt or not retry or deadline.expired:
                    raise
            finally:
                this_fetch.fresh_connection = False
        raise AssertionError("unreachable")  # pragma: no cover

    def _direct_pool(self, url: str) -> tuple[HTTPConnectionPool, str]:
        """The pool for ``url``'s origin, and the request target (path and query)."""
        scheme, host, port, target = request_target(url)
        pool_key = (scheme, host, port)
        pool = self._direct_pools.get(pool_key)
        if pool is None:
            # Pools hold no socket once idle (the watchdog closes those): a
            # fleet's worth costs little, and this bound only stops a leak.
            if len(self._direct_pools) >= _MAX_POOLS:
                self._direct_pools.clear()
            pool = self._direct.connection_from_host(host, port=port, scheme=scheme)
            self._direct_pools[pool_key] = pool
        return pool, target

    def _manager_for(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
            return self._direct
        with self._proxied_lock:
            manager = self._proxied.get(proxy)
            if manager is None:
                manager = with_watched_connections(_proxy_manager(proxy, self._options))
                self._proxied[proxy] = manager
        return manager

    def _result(
        self,
        url: str,
        response: urllib3.BaseHTTPResponse,
        deadline: Deadline,
        into: BinaryIO | None = None,
    ) -> FetchResult:
        if deadline.expired:
            # The watchdog cut the headers short; http.client takes what came as all.
            raise timed_out(url, self.limits.timeout)
        response_headers = {name.lower(): response.headers[name] for name in response.headers}
        validators = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
        if response.status == 304:
            _finish_small_body(response)
            return FetchResult(url, 304, None, response_headers, validators)
        if response.status >= 400:
            raise status_error(response, peek(response))
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise too_large(self.limits.max_bytes, f"it declares {int(declared):,} bytes")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if into is not None:
            digest = spool_body(
                response,
                into,
                url=url,
                max_bytes=self.limits.max_bytes,
                deadline=deadline,
                timeout=self.limits.timeout,
            )
            return FetchResult(url, response.status, b"", response_headers, validators, digest)
        # A chunked body has no length, whatever Content-Length claims.
        if declared.isdigit() and encoding == "identity" and not response.chunked:
            # Its size is known and within the cap: read at once, in C.
            body = response.read(decode_content=False)
            if deadline.expired:  # a body cut short at the deadline ends like a whole one
                raise timed_out(url, self.limits.timeout)
            return FetchResult(url, response.status, body, response_headers, validators)
        chunks: list[bytes] = []
        size = 0
        # Counting decoded bytes caps gzip bombs too, not only large transfers.
        for chunk in response.stream(READ_CHUNK):
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise too_large(self.limits.max_bytes, "the body is larger")
            chunks.append(chunk)
            if deadline.expired:
                raise timed_out(url, self.limits.timeout)
        if deadline.expired:  # a body cut short at the deadline ends like a whole one
            raise timed_out(url, self.limits.timeout)
        return FetchResult(url, response.status, b"".join(chunks), response_headers, validators)


_MAX_POOLS = 4096


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
    return urllib3.ProxyManager(without_credentials(proxy), proxy_headers=proxy_headers, **options)


def _one_address(resolver: Resolver, host: str) -> list[str]:
    return [resolver(host)]


def resolved_addresses(host: str, resolver: AddressResolver) -> list[IPAddress]:
    """The addresses ``host`` is or resolves to; none if it resolves to none
    (the fetch then fails on its own, saying so)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        answers = resolver(host)
    except (OSError, UnicodeError, ValueError):
        return []
    addresses: list[IPAddress] = []
    for answer in answers:
        with contextlib.suppress(ValueError):
            addresses.append(ipaddress.ip_address(answer))
    return addresses


def _system_addresses(host: str) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


def _tls_context() -> ssl.SSLContext:
    """Verified TLS: certifi's CA bundle, or the system's where the environment names it."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


_SMALL_BODY = 64 * 1024


def _finish_small_body(response: urllib3.BaseHTTPResponse) -> None:
    """Read the rest of a body that is not the feed (a 304's, a redirect's)
    when it is declared and small: a body read to its end hands the
    connection back to the pool for the next fetch."""
    remaining = getattr(response, "length_remaining", None)
    if remaining is not None and remaining <= _SMALL_BODY:
        response.drain_conn()
