"""The monitor's one exception tree.

Every error the monitor raises on purpose derives from :class:`MonitorError`,
so a caller can catch the whole family in one place, and library errors
(urllib3, feedparser, slack-sdk, sqlite3, PyYAML) are translated at the adapter
that calls the library, with the original chained as ``__cause__``::

    MonitorError
    ├── ConfigError                  config.toml unreadable or invalid
    ├── RuleError                    a rule file is unreadable or invalid
    ├── CorpusError                  a labelled corpus is unreadable, invalid or mislabelled
    ├── FeedError                    one feed could not be read (carries ``kind``)
    │   ├── FetchError               transport: DNS, connect, timeout, HTTP status, size
    │   └── NotAFeedError            the body is not RSS/Atom/RDF (HTML page, empty)
    ├── DeliveryError                a sink could not deliver an alert
    │   ├── TransientDeliveryError   try again later (rate limit, 5xx, network)
    │   └── PermanentDeliveryError   not without a fix (bad message, channel, scope)
    │       └── TokenRejectedError   the token itself is refused: every delivery holds
    ├── StateError                   the state database is unusable
    └── SearchError                  an archive search query is not valid

Validation errors carry a list of :class:`Problem` so that ``monitor check``
can report every mistake at once, each with its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.domain.kinds import DeliveryScope, FeedErrorKind


@dataclass(frozen=True)
class Problem:
    """One validation finding, printable as ``file:line: message``."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""


class _ProblemsError(MonitorError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(_ProblemsError):
    """config.toml cannot be read or does not validate."""


class RuleError(_ProblemsError):
    """One or more rule files cannot be read or do not validate."""


class CorpusError(_ProblemsError):
    """A labelled corpus (``monitor eval``) cannot be read or does not
    validate, or its labels cannot be tied to the rules."""


class FeedError(MonitorError):
    """A feed could not be read this time; ``kind`` names the failure class.

    Kinds: ``dns``, ``connect``, ``timeout``, ``http``, ``too-large``,
    ``redirects``, ``private-redirect`` (a public feed redirecting to an
    internal address), ``url``, ``file``, ``blocked`` (a bot wall),
    ``not-a-feed``, ``parse``, and ``state``
    or ``internal`` for a fault of the monitor itself.
    """

    def __init__(self, kind: FeedErrorKind, message: str) -> None:
        self.kind: FeedErrorKind = kind
        self.retry_after: float | None = None
        """Seconds the server asked us to wait (Retry-After), if it said."""
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt field by field: subclasses take other arguments than
        # (kind, message), and a parser process sends these back pickled.
        return (_rebuild_feed_error, (type(self), self.kind, str(self), self.retry_after))


def _rebuild_feed_error(
    cls: type[FeedError], kind: FeedErrorKind, message: str, retry_after: float | None
) -> FeedError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.kind = kind
    error.retry_after = retry_after
    return error


class FetchError(FeedError):
    """The transport failed: the feed's bytes never arrived whole."""


class NotAFeedError(FeedError):
    """The bytes arrived but are not a feed (an HTML page, an empty body)."""

    def __init__(self, message: str) -> None:
        super().__init__("not-a-feed", message)


class DeliveryError(MonitorError):
    """An alert could not be delivered by a sink."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later.

    ``retry_after``: seconds the server asked us to wait. ``scope``: what is
    failing, and so what must wait: ``message`` (only this alert), ``channel``
    (every alert for this channel: a rate limit), or ``destination``
    (everything: Slack is down or unreachable).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        scope: DeliveryScope = "destination",
        uncertain: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.scope: DeliveryScope = scope
        self.uncertain = uncertain
        """The request may have arrived (a timeout): look before sending again."""
        super().__init__(message)


class PermanentDeliveryError(DeliveryError):
    """Retrying as it is cannot help: the message is refused (too long,
    invalid blocks), or the channel is (not in channel, archived), or the
    token lacks a scope. The alert is kept as failed; ``monitor retry`` queues it again
    once a person has fixed the cause."""


class TokenRejectedError(PermanentDeliveryError):
    """The destination refuses the credentials themselves (Slack's
    ``invalid_auth``, ``token_revoked``...): no alert can go out until a
    person fixes the token, and no alert is to blame. Delivery holds every
    alert pending, attempts untouched, instead of failing them one by one.
    ``code``: the destination's own name for the refusal."""

    def __init__(self, message: str, *, code: str) -> None:
        self.code = code
        super().__init__(message)


class StateError(MonitorError):
    """The state database cannot be opened or has an unknown schema."""


class SearchError(MonitorError):
    """An archive search (``monitor search``) cannot run as asked: the query
    is not valid full-text syntax, or says nothing. The message says why and
    how to write it."""
