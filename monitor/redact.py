"""Secrets in feed URLs: what is shown and stored in their place.

A feed URL may carry credentials: a user name and password in its userinfo
(sent as Basic authorization) or a token in its query. The monitor needs
them to fetch the feed and nowhere else, so the secret stays in config.toml:
every URL it shows or stores (logs, state, Slack, ``monitor status``,
``/healthz``) goes through :func:`redact_url`, and every message that may
quote one (errors from libraries quote a URL's path and query) through
:meth:`Redactor.text`. Pure: strings in, strings out; nothing here raises on
a malformed URL.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

from monitor.errors import FeedError

MASK = "***"

DEFAULT_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api-key",
        "api_key",
        "apikey",
        "auth",
        "auth_token",
        "client_secret",
        "key",
        "passwd",
        "password",
        "pwd",
        "secret",
        "session",
        "sessionid",
        "sid",
        "sig",
        "signature",
        "token",
        "x-amz-security-token",
        "x-amz-signature",
    }
)
"""Query parameters whose values are hidden in every feed URL, whatever
their case (``fetch.secret_query_params`` adds more)."""

MIN_SECRET_CHARS = 6
"""Shorter values are still hidden inside URLs, but not hunted for in free
text: a short value is too likely an ordinary word of the message."""

TOKEN_LIKE_USER_CHARS = 20
"""A user name this long is taken for a token (as GitHub's are) and hunted
for in free text; a shorter one beside a password is a name."""

# The characters urllib3 leaves unencoded in a request target: a value
# quoted this way is how it appears in urllib3's own messages.
_URLLIB3_SAFE = "!$&'()*+,;=:@/?~-._"

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s<>\"'|]*@")


def redact_url(url: str, secret_params: Iterable[str] = DEFAULT_SECRET_PARAMS) -> str:
    """``url`` with its whole userinfo and the values of its secret query
    (and fragment) parameters replaced by ``***``; unchanged, character for
    character, when it has none. A URL that cannot be parsed is redacted as
    text."""
    params = _lowered(secret_params)
    try:
        parts = urlsplit(url)
    except ValueError:
        return _redact_patterns(url, params)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = _redact_params(parts.query, params)
    fragment = _redact_params(parts.fragment, params)
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=fragment))


def url_secrets(url: str, secret_params: Iterable[str] = DEFAULT_SECRET_PARAMS) -> set[str]:
    """The secret values in ``url`` worth hunting for in free text: as
    written, decoded, and encoded the ways a library may quote them, and
    the Basic authorization its userinfo becomes."""
    params = _lowered(secret_params)
    try:
        parts = urlsplit(url)
    except ValueError:
        return set()
    values: set[str] = set()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, has_password, password = userinfo.partition(":")
        values.add(userinfo)
        if password:
            values.add(password)
        if not has_password or not password or len(unquote(user)) >= TOKEN_LIKE_USER_CHARS:
            values.add(user)
        basic = f"{unquote(user)}:{unquote(password)}".encode()
        values.add(base64.b64encode(basic).decode("ascii"))
    for piece in (*parts.query.split("&"), *parts.fragment.split("&")):
        name, equals, value = piece.partition("=")
        if equals and value and _param_name(name) in params:
            values.add(value)
    found: set[str] = set()
    for value in values:
        found.update(_spellings(value))
    return {value for value in found if len(value) >= MIN_SECRET_CHARS}


@dataclass(frozen=True)
class Redactor:
    """Hides the secrets of a config's feed URLs: in URLs by their shape, in
    free text by their shape and by their values."""

    secret_params: frozenset[str] = DEFAULT_SECRET_PARAMS
    secrets: tuple[str, ...] = ()
    """Known secret values, longest first (one may contain another)."""

    @classmethod
    def for_urls(cls, urls: Iterable[str], extra_params: Iterable[str] = ()) -> Redactor:
        params = DEFAULT_SECRET_PARAMS | _lowered(extra_params)
        found = {secret for url in urls for secret in url_secrets(url, params)}
        return cls(params, tuple(sorted(found, key=lambda secret: (-len(secret), secret))))

    def url(self, url: str) -> str:
        return redact_url(url, self.secret_params)

    def text(self, text: str) -> str:
        """``text`` with every known secret value, every URL's userinfo and
        every secret parameter's value replaced by ``***``."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _redact_patterns(text, self.secret_params)

    def error(self, error: FeedError) -> FeedError:
        """``error`` with its message redacted, in place: it is reported
        (logs, state, ``monitor once``) by its message."""
        message = str(error)
        redacted = self.text(message)
        if redacted != message:
            error.args = (redacted,)
        return error


def _redact_params(text: str, params: frozenset[str]) -> str:
    if "=" not in text:
        return text
    pieces = text.split("&")
    for number, piece in enumerate(pieces):
        name, equals, value = piece.partition("=")
        if equals and value and value != MASK and _param_name(name) in params:
            pieces[number] = f"{name}={MASK}"
    return "&".join(pieces)


def _redact_patterns(text: str, params: frozenset[str]) -> str:
    if "@" in text:
        text = _USERINFO.sub(rf"\1{MASK}@", text)
    if "=" in text:
        text = _param_pattern(params).sub(rf"\1{MASK}", text)
    return text


@functools.lru_cache(maxsize=16)
def _param_pattern(params: frozenset[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(name) for name in sorted(params, key=len, reverse=True))
    # A value already masked is left as it is, so that text redacts to itself.
    return re.compile(rf"(?i)([?&;#](?:{names})=)(?!\*\*\*(?:[&#\s'\"<>]|$))[^&#\s'\"<>]+")


def _param_name(name: str) -> str:
    return unquote_plus(name).strip().lower()


def _lowered(params: Iterable[str]) -> frozenset[str]:
    if isinstance(params, frozenset) and all(p == p.lower() for p in params):
        return params
    return frozenset(p.strip().lower() for p in params)


def _spellings(value: str) -> set[str]:
    decoded = {value, unquote(value), unquote_plus(value)}
    spelled = set(decoded)
    for plain in decoded:
        spelled.update(
            (quote(plain, safe=""), quote_plus(plain, safe=""), quote(plain, safe=_URLLIB3_SAFE))
        )
    return spelled
