"""Fetching feed bytes: HTTP through httpx, or a local file.

feedparser's own network code has no timeout, so it is never used. This
module owns timeouts, the size cap, redirects, conditional GET, and the
translation of transport failures into :class:`FetchError` with a ``kind``
that an operator can act on (DNS, connect, timeout, HTTP status, size).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx

from monitor.errors import FetchError

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators remembered between polls for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


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


def is_local_path(url: str) -> bool:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and url[1:3] in (":\\", ":/"))


def local_path(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)


class HttpFetcher:
    """Fetches feeds over HTTP(S) with httpx; plain paths and file:// URLs are read from disk."""

    def __init__(self, limits: FetchLimits, transport: httpx.BaseTransport | None = None) -> None:
        self.limits = limits
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(limits.timeout, connect=limits.connect_timeout),
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            headers={"User-Agent": limits.user_agent, "Accept": ACCEPT},
            transport=transport,
            # A fresh connection per fetch: the deadline watchdog shuts a
            # connection's socket down, and such a socket must never be reused.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fetch(self, url: str, validators: Validators = Validators()) -> FetchResult:
        if is_local_path(url):
            return self._read_file(url)
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""  # a malformed URL: the fetch itself reports it
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
        watchdog = _Deadline(self.limits.timeout)
        try:
            return self._get(url, headers, watchdog)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if watchdog.expired:
                raise _timed_out(url, self.limits) from exc
            raise _translate(exc, url, self.limits) from exc
        except (ValueError, UnicodeError) as exc:
            # Malformed URLs, in config or in a redirect's Location, surface
            # from urllib, idna and httpx as plain ValueErrors.
            raise FetchError("url", f"invalid URL for feed {url!r}: {exc}") from exc
        finally:
            watchdog.cancel()

    def _get(self, url: str, headers: dict[str, str], watchdog: _Deadline) -> FetchResult:
        deadline = time.monotonic() + self.limits.timeout
        with self._client.stream(
            "GET", url, headers=headers, extensions={"trace": watchdog.trace}
        ) as response:
            final_url = str(response.url)
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                return FetchResult(final_url, 304, None, response_headers, _validators(response))
            if response.status_code >= 400:
                raise _status_error(response, _peek(response))
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.limits.max_bytes:
                raise _too_large(self.limits.max_bytes, f"it declares {int(declared):,} bytes")
            chunks: list[bytes] = []
            size = 0
            # Counting decoded bytes caps gzip bombs too, not only large transfers.
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.limits.max_bytes:
                    raise _too_large(self.limits.max_bytes, "the body is larger")
                chunks.append(chunk)
                # The watchdog needs a real socket; this check also holds for
                # transports without one.
                if time.monotonic() > deadline:
                    raise _timed_out(url, self.limits)
            return FetchResult(
                final_url,
                response.status_code,
                b"".join(chunks),
                response_headers,
                _validators(response),
            )

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


class _Deadline:
    """Enforces the whole-fetch deadline, even on a server that drips bytes.

    httpx's timeouts bound each read, not the whole exchange: a server that
    sends a byte of headers every few seconds never trips them. At the
    deadline this shuts down the fetch's sockets, which makes the blocked
    read fail at once.
    """

    def __init__(self, seconds: float) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = threading.Event()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._expired.is_set()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            sock = info["return_value"].get_extra_info("socket")
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._sockets.append(sock)
                if self.expired:
                    self._shutdown(sock)

    def _expire(self) -> None:
        self._expired.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _validators(response: httpx.Response) -> Validators:
    return Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))


_CHALLENGE = re.compile(
    rb"cf-chl|challenge-platform|captcha|just a moment|attention required|checking your browser|"
    rb"ddos-guard|perimeterx|are you a robot|access denied",
    re.I,
)


def _peek(response: httpx.Response, limit: int = 8192) -> bytes:
    """The start of an error page, to tell a bot wall from a plain error."""
    head = b""
    with contextlib.suppress(httpx.HTTPError):
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= limit:
                break
    return head[:limit]


def _status_error(response: httpx.Response, body: bytes = b"") -> FetchError:
    reason = response.reason_phrase or ""
    detail = f"HTTP {response.status_code} {reason}".strip()
    if response.status_code in (403, 429, 503) and (
        _CHALLENGE.search(body) or "cloudflare" in response.headers.get("Server", "").lower()
    ):
        return FetchError(
            "blocked",
            f"{detail}: the site's bot protection answered with a challenge page instead of the feed",
        )
    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after and response.status_code in (429, 503):
        detail += f" (Retry-After: {retry_after})"
    error = FetchError("http", detail)
    error.retry_after = float(retry_after) if retry_after.isdigit() else None
    return error


def _timed_out(url: str, limits: FetchLimits) -> FetchError:
    host = urlsplit(url).hostname or url
    return FetchError("timeout", f"{host} did not deliver the feed within {limits.timeout:g}s")


def _too_large(limit: int, why: str) -> FetchError:
    return FetchError("too-large", f"feed exceeds the size limit of {limit:,} bytes: {why}")


def _translate(
    exc: httpx.HTTPError | httpx.InvalidURL, url: str, limits: FetchLimits
) -> FetchError:
    if isinstance(exc, httpx.InvalidURL):
        return FetchError("url", f"invalid feed URL {url!r}: {exc}")
    host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError(
            "timeout", f"could not connect to {host} within {limits.connect_timeout:g}s"
        )
    if isinstance(exc, httpx.TimeoutException):
        return _timed_out(url, limits)
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchError("redirects", f"more than {limits.max_redirects} redirects")
    if isinstance(exc, httpx.ConnectError):
        if _is_dns_failure(exc):
            return FetchError("dns", f"cannot resolve host {host} (DNS lookup failed)")
        return FetchError("connect", f"cannot connect to {host}: {_reason(exc)}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError("url", f"invalid feed URL {url!r}: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc).lower():
        return FetchError("redirects", f"{host} redirected to an invalid URL: {_reason(exc)}")
    if isinstance(exc, httpx.DecodingError):
        return FetchError("http", f"the response from {host} could not be decoded: {_reason(exc)}")
    return FetchError("connect", f"connection to {host} failed: {_reason(exc)}")


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
