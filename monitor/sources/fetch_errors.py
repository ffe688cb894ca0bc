"""Transport failures as FetchErrors of a kind an operator can act on.

DNS, connect, timeout, HTTP status, size, a bot wall: each failure of
urllib3 or the OS becomes one :class:`FetchError` whose ``kind`` says what
to look at, and whose message names the host but never the URL's secrets.
"""

from __future__ import annotations

import contextlib
import re
import socket
from http.client import HTTPException

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    NameResolutionError,
    NewConnectionError,
    ProxyError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from monitor.errors import FetchError
from monitor.sources.urls import exception_reason, host_of

_CHALLENGE = re.compile(
    rb"cf-chl|challenge-platform|captcha|just a moment|attention required|checking your browser|"
    rb"ddos-guard|perimeterx|are you a robot|access denied",
    re.I,
)


def closed_by_server(exc: BaseException) -> bool:
    """The server closed the connection before answering (as servers close
    idle kept-alive connections), rather than failing in some other way."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return True  # RemoteDisconnected too: no status line came
        seen = seen.__cause__ or seen.__context__
    return False


def peek(response: urllib3.BaseHTTPResponse, limit: int = 8192) -> bytes:
    """The start of an error page, to tell a bot wall from a plain error."""
    head = b""
    with contextlib.suppress(Urllib3Error, OSError, HTTPException):
        for chunk in response.stream(limit):
            head += chunk
            if len(head) >= limit:
                break
    return head[:limit]


def status_error(response: urllib3.BaseHTTPResponse, body: bytes = b"") -> FetchError:
    """An error status as a FetchError: ``blocked`` for a bot wall (judged by
    the start of the page, ``body``), else ``http`` with any Retry-After."""
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


def timed_out(url: str, timeout: float) -> FetchError:
    """The fetch of ``url`` ran past its whole-fetch ``timeout``."""
    return FetchError("timeout", f"{host_of(url)} did not deliver the feed within {timeout:g}s")


def too_large(limit: int, why: str) -> FetchError:
    """The body is over the size cap of ``limit`` bytes."""
    return FetchError("too-large", f"feed exceeds the size limit of {limit:,} bytes: {why}")


def translate(
    exc: BaseException, url: str, *, timeout: float, connect_timeout: float
) -> FetchError:
    """A transport failure of urllib3 or the OS as the FetchError it amounts to."""
    host = host_of(url)
    # NewConnectionError is a ConnectTimeoutError in urllib3 2, so it goes first.
    if isinstance(exc, NameResolutionError) or _is_dns_failure(exc):
        return FetchError("dns", f"cannot resolve host {host} (DNS lookup failed)")
    if isinstance(exc, (NewConnectionError, ProxyError)):
        return FetchError("connect", f"cannot connect to {host}: {exception_reason(_root(exc))}")
    if isinstance(exc, ConnectTimeoutError):
        return FetchError("timeout", f"could not connect to {host} within {connect_timeout:g}s")
    if isinstance(exc, (Urllib3Timeout, TimeoutError)):
        return timed_out(url, timeout)
    if isinstance(exc, DecodeError):
        return FetchError(
            "http", f"the response from {host} could not be decoded: {exception_reason(exc)}"
        )
    return FetchError("connect", f"connection to {host} failed: {exception_reason(_root(exc))}")


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
