"""Who may read the web console. Pure: the credentials come in from the
environment (never from config.toml) and each request's headers are judged
against them; nothing here logs or shows a secret.

Two ways in, either enough: ``MONITOR_WEB_TOKEN`` as ``Authorization:
Bearer`` (scripts), ``MONITOR_WEB_PASSWORD`` as HTTP basic auth (a browser
prompts for it). With neither, the console serves loopback only (unless
``[web] open``), and then answers only requests that name a loopback host,
so that a page elsewhere cannot read it through a DNS name rebound to
127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN_ENV = "MONITOR_WEB_TOKEN"  # noqa: S105 - the variable's name, not a secret
PASSWORD_ENV = "MONITOR_WEB_PASSWORD"  # noqa: S105 - the variable's name, not a secret
REALM = "monitor web console"

LOOPBACK_NAMES = frozenset({"localhost"})
"""Host names taken for loopback besides the addresses themselves."""


@dataclass(frozen=True)
class Credentials:
    """What a request must present; neither secret set: nothing is asked."""

    user: str
    token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, user: str) -> Credentials:
        """The secrets the environment sets (blank counts as unset)."""
        return cls(
            user=user,
            token=environ.get(TOKEN_ENV, "").strip() or None,
            password=environ.get(PASSWORD_ENV, "").strip() or None,
        )

    @property
    def required(self) -> bool:
        """Whether a request must present a secret."""
        return self.token is not None or self.password is not None

    def describe(self) -> str:
        """What the console asks for, in words for the log (no secret in them)."""
        asked = []
        if self.token is not None:
            asked.append(f"a bearer token ({TOKEN_ENV})")
        if self.password is not None:
            asked.append(f"user {self.user!r} and a password ({PASSWORD_ENV})")
        return " or ".join(asked) if asked else "no credentials"


def authorized(credentials: Credentials, authorization: str | None) -> bool:
    """Whether a request's ``Authorization`` header satisfies ``credentials``."""
    if not credentials.required:
        return True
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and credentials.token is not None:
        return _same(value, credentials.token)
    if scheme.lower() == "basic" and credentials.password is not None:
        given = _basic_pair(value)
        if given is None:
            return False
        user_ok = _same(given[0], credentials.user)
        password_ok = _same(given[1], credentials.password)
        return user_ok and password_ok
    return False


def challenges(credentials: Credentials) -> list[str]:
    """The ``WWW-Authenticate`` values of a 401: basic first, so that a browser prompts."""
    found = []
    if credentials.password is not None:
        found.append(f'Basic realm="{REALM}", charset="UTF-8"')
    if credentials.token is not None:
        found.append(f'Bearer realm="{REALM}"')
    return found


def _same(given: str, expected: str) -> bool:
    # Bytes: compare_digest refuses str holding anything but ASCII.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _basic_pair(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name as [web] host holds it) is loopback only."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def refusal(host: str, credentials: Credentials, *, open_to_all: bool) -> str | None:
    """Why the console may not serve ``host`` as set up, or None if it may."""
    if credentials.required or open_to_all or is_loopback(host):
        return None
    return (
        f"it would serve {host} without credentials: set {TOKEN_ENV} or {PASSWORD_ENV} "
        "in the environment, or [web] open = true to serve it to anyone who reaches it"
    )


def loopback_host_header(host_header: str | None) -> bool:
    """Whether a request's ``Host`` names a loopback host (its port aside);
    a malformed one does not."""
    if not host_header:
        return False
    value = host_header.strip()
    if value.startswith("["):  # an IPv6 address, [::1]:9109
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return False
        port = rest[1:]
    else:
        name, _, port = value.partition(":")
    return (not port or port.isdigit()) and is_loopback(name)
