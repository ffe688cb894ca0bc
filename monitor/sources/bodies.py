"""What a fetch brings back, and the bodies read without the network: a
local file (``monitor replay`` on saved documents, feeds given as paths), or
a large body written to a file as it arrives (see
:meth:`monitor.sources.http.HttpFetcher.download`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import BinaryIO

import urllib3

from monitor.domain.feed import Validators
from monitor.errors import FetchError
from monitor.sources.connections import Deadline
from monitor.sources.fetch_errors import timed_out, too_large
from monitor.sources.urls import local_path

READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What one fetch brought: the body (None for 304 Not Modified), its
    headers (names lower-cased) and the validators for the next fetch."""

    url: str
    """The URL the body finally came from (after redirects): the base for relative links."""
    status: int
    body: bytes | None
    """None when the server answered 304 Not Modified."""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = Validators()
    sha256: str | None = None
    """For :meth:`HttpFetcher.download`: the hex digest of the body, which
    went to a file (``body`` is then empty)."""

    @property
    def not_modified(self) -> bool:
        """The server answered 304 Not Modified."""
        return self.body is None

    @property
    def max_age(self) -> float | None:
        """Cache-Control max-age in seconds, when the server sets one."""
        match = re.search(r"max-age\s*=\s*(\d+)", self.headers.get("cache-control", ""))
        return float(match.group(1)) if match else None


def spool_body(
    response: urllib3.BaseHTTPResponse,
    into: BinaryIO,
    *,
    url: str,
    max_bytes: int,
    deadline: Deadline,
    timeout: float,
) -> str:
    """Write the response's (decoded) body to ``into`` within ``max_bytes``; its sha256."""
    digest = hashlib.sha256()
    size = 0
    for chunk in response.stream(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes, "the body is larger")
        digest.update(chunk)
        into.write(chunk)
        if deadline.expired:
            raise timed_out(url, timeout)
    if deadline.expired:  # a body cut short at the deadline ends like a whole one
        raise timed_out(url, timeout)
    return digest.hexdigest()


def copy_local_file(url: str, max_bytes: int, into: BinaryIO) -> FetchResult:
    """The file a local ``url`` names, copied to ``into`` within the size cap, hashed."""
    path = local_path(url)
    digest = hashlib.sha256()
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise too_large(max_bytes, f"the file has {size:,} bytes")
        with path.open("rb") as source:
            while chunk := source.read(READ_CHUNK):
                digest.update(chunk)
                into.write(chunk)
    except OSError as exc:
        raise FetchError("file", f"cannot read file {str(path)!r}: {exc.strerror or exc}") from exc
    return FetchResult(path.resolve().as_uri(), 200, b"", sha256=digest.hexdigest())


def read_local_file(url: str, max_bytes: int) -> FetchResult:
    """The bytes of the file a local ``url`` names, within the size cap."""
    path = local_path(url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise too_large(max_bytes, f"the file has {size:,} bytes")
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError("file", f"cannot read file {str(path)!r}: {exc.strerror or exc}") from exc
    return FetchResult(path.resolve().as_uri(), 200, body)
