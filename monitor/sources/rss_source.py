"""The RSS source: RSS, Atom and RDF feeds read over HTTP (or from a file)
and parsed by feedparser, the large documents in parser processes."""

from __future__ import annotations

import hashlib

from monitor.errors import NotAFeedError
from monitor.sources.base import Document, SourceRequest, Unchanged
from monitor.sources.http import Fetcher, FetchResult
from monitor.sources.parser_pool import ParserPool
from monitor.sources.rss import ParseOptions

_BodySeen = tuple[str, str, str | None]
"""A body as the not-a-feed verdict depends on it: URL, digest, Content-Type."""


class RssSource:
    """Fetches a feed with ``fetcher`` and parses it with ``parser``; both are
    shared with the rest of the monitor, which closes them.

    Per feed it remembers the last body that was no feed (an HTML page, a
    JSON document) with the verdict: the same again, at the same URL and
    with the same Content-Type, gets the same verdict without a parse. In
    memory only, so that a monitor upgraded to read more formats looks
    again; only the message is kept, not the error with its traceback,
    which holds the body. A read that finds a feed, or nothing changed,
    forgets it.
    """

    def __init__(self, fetcher: Fetcher, parser: ParserPool) -> None:
        self.fetcher = fetcher
        self.parser = parser
        self._not_a_feed: dict[str, tuple[_BodySeen, str]] = {}

    def read(self, request: SourceRequest) -> Unchanged | Document:
        """Fetch (conditionally) and parse the feed; raises FeedError."""
        result = self.fetcher.fetch(request.url, request.validators)
        if result.body is None:
            self._not_a_feed.pop(request.feed, None)
            return Unchanged("HTTP 304", result.max_age)
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == request.last_body_hash:  # a server ignoring validators
            self._not_a_feed.pop(request.feed, None)
            return Unchanged("same body", result.max_age)
        seen = (request.url, body_hash, result.headers.get("content-type"))
        known = self._not_a_feed.get(request.feed)
        if known is not None and known[0] == seen:
            raise NotAFeedError(known[1])
        try:
            parsed = self.parser.parse(
                result.body, options=self._options(request, result), rules=request.rules
            )
        except NotAFeedError as exc:
            self._not_a_feed[request.feed] = (seen, str(exc))
            raise
        self._not_a_feed.pop(request.feed, None)
        asked = [s for s in (result.max_age, parsed.ttl_minutes and parsed.ttl_minutes * 60) if s]
        return Document(
            parsed.items,
            validators=result.validators,
            body_hash=body_hash,
            warning=parsed.warning,
            asked_wait=max(asked) if asked else None,
            matches=parsed.matches,
            skipped=parsed.skipped,
        )

    @staticmethod
    def _options(request: SourceRequest, result: FetchResult) -> ParseOptions:
        return ParseOptions(
            feed_name=request.feed,
            feed_url=request.redact(request.url),
            tags=request.tags,
            headers=result.headers,
            base_url=request.redact(result.url),
        )

    def close(self) -> None:
        """Forget the not-a-feed verdicts (the fetcher and parser are not this source's)."""
        self._not_a_feed.clear()
