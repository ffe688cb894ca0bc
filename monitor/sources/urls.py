"""What a feed URL may be and where a fetch of it may lead: pure URL policy.

No I/O here: which URLs a fetch accepts (and config.toml with it), which
host's slots a fetch takes, where a redirect may not lead, and how the
credentials in a URL are split from it. The HTTP client
(:mod:`monitor.sources.http`) applies these rules.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import LocationValueError

from monitor.errors import FetchError
from monitor.redact import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_HTTP = "not an http(s) URL with a host"


def is_local_path(url: str) -> bool:
    """True for a ``file://`` URL or a plain path (Windows drive paths too)."""
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
    """The file a local ``url`` (see :func:`is_local_path`) names."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)


def host_of(url: str) -> str:
    """The host ``url`` names, for messages; the URL itself if it names none."""
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def exception_reason(exc: BaseException) -> str:
    """An exception's message, else its type's name."""
    return str(exc) or type(exc).__name__


# --- which URLs a fetch accepts -------------------------------------------------


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested as an http(s) URL, or None if it can.

    The test a fetch applies before connecting, so that config.toml refuses
    what a poll would: another scheme, no host, a port that is no number or
    out of range, a host with spaces or control characters.
    """
    try:
        _check_http_url(url)
    except (LocationValueError, ValueError) as exc:
        return exception_reason(exc)
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
def checked_url(candidate: str, feed_url: str, *, redirect: bool, base: str = "") -> str:
    """``candidate`` (resolved against ``base``) if it can be requested, else
    a FetchError saying what is wrong with it. Remembered: every poll of a
    feed asks about the same URL."""
    try:
        absolute = urljoin(base, candidate) if base else candidate
        _check_http_url(absolute)
    except (LocationValueError, ValueError) as exc:
        reason = exception_reason(exc)
        if redirect:
            raise FetchError(
                "redirects",
                f"{host_of(feed_url)} redirected to an invalid URL: "
                f"{redact_url(candidate)!r} ({reason})",
            ) from exc
        raise FetchError("url", f"invalid feed URL {redact_url(feed_url)!r}: {reason}") from exc
    return absolute


@functools.lru_cache(maxsize=4096)
def request_target(url: str) -> tuple[str, str, int | None, str]:
    """Scheme, host, port and request target of a checked URL, as
    PoolManager.urlopen works them out (host IDNA-encoded, the target's
    invalid characters percent-encoded). Remembered, like checked_url."""
    parts = urllib3.util.parse_url(url)
    return parts.scheme or "http", parts.host or "", parts.port, parts.request_uri


# --- where a redirect may lead --------------------------------------------------


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


# --- credentials in a URL -------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, lower-cased host and port: where credentials may go."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def basic_authorization(url: str) -> str | None:
    """The Authorization header the userinfo of ``url`` stands for, if any."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return urllib3.make_headers(basic_auth=credentials)["authorization"]


def without_credentials(url: str) -> str:
    """``url`` without its userinfo."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
