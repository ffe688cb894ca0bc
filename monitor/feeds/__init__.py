"""Feeds: fetching bytes (HTTP or file) and parsing them into items."""

from monitor.feeds.fetch import Fetcher, FetchLimits, FetchResult, HttpFetcher, Validators
from monitor.feeds.parse import ParsedFeed, parse_feed

__all__ = [
    "FetchLimits",
    "FetchResult",
    "Fetcher",
    "HttpFetcher",
    "ParsedFeed",
    "Validators",
    "parse_feed",
]
